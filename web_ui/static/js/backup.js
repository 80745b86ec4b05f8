// Settings → Backup and restore: the nightly backups kept on the device, and a restore that
// uploads the chosen file as it is (the server checks all of it before it replaces anything).

import { api, ApiError, setText } from "./api.js";

const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

async function showNightly() {
  const note = document.getElementById("backup-nightly");
  try {
    const status = await api("/api/backups");
    const newest = status.kept.at(-1);
    const text = newest
      ? `The device also keeps a backup of each night (the last ${status.kept.length}; newest: ${newest.name}).`
      : "The device also makes a backup each night and keeps the last 7.";
    setText(note, status.error ? `${text} ${status.error}` : text);
  } catch (error) {
    setText(note, "");
  }
}

async function restore(event) {
  event.preventDefault();
  const file = document.getElementById("restore-file").files[0];
  const status = document.getElementById("restore-status");
  if (!file) {
    setText(status, "Choose a backup file first (repcounter-backup-….zip).");
    return;
  }
  const button = document.getElementById("restore-submit");
  button.disabled = true;
  setText(status, "Checking and restoring…");
  try {
    const response = await fetch("/api/restore", {
      method: "POST",
      headers: { "X-CSRF-Token": csrfToken(), "Content-Type": "application/zip", Accept: "application/json" },
      body: file,
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data);
    const made = data.restored.created ?? "an unknown time";
    const restart = data.restart_required.length ? " Restart the service for the web server settings." : "";
    setText(status, `Restored the backup made ${made}. The data before is kept on the device in ${data.previous_data}.${restart}`);
  } catch (error) {
    setText(status, `Nothing was changed: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

document.getElementById("restore-form").addEventListener("submit", restore);
showNightly();
