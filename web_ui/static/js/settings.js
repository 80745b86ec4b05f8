// The settings page: a form built from the daemon's settings schema (every field with its
// documentation), the server's validation errors shown at their fields, camera snapshot,
// the model actually running, and this phone's audio choices.

import { api, ApiError, setText } from "./api.js";
import { beep, loadPrefs, savePrefs, say, unlock } from "./audio.js";

const $ = (id) => document.getElementById(id);
const SECTIONS = [
  ["camera", "Camera"],
  ["model", "Pose model and accelerator"],
  ["workout", "Exercise mode, sets and sessions"],
  ["exercise", "Counting and cue thresholds"],
  ["server", "Web server"],
];
const OPEN = new Set(["camera", "model", "workout"]);

let saved = {}; // the settings as the server last confirmed them
let schema = null;

const fieldId = (path) => `f-${path.replaceAll(".", "-").replaceAll("_", "-")}`;

function title(name, spec) {
  const text = (spec.title ?? name).replace(/ S$/, " (seconds)").replace(/^Fps$/, "Frames per second");
  return text.charAt(0) + text.slice(1).toLowerCase();
}

function hint(spec) {
  const parts = [];
  const low = spec.minimum ?? spec.exclusiveMinimum;
  const high = spec.maximum ?? spec.exclusiveMaximum;
  if (low !== undefined && high !== undefined) parts.push(`From ${low} to ${high}.`);
  else if (spec.exclusiveMinimum !== undefined) parts.push(`More than ${spec.exclusiveMinimum}.`);
  else if (low !== undefined) parts.push(`At least ${low}.`);
  else if (high !== undefined) parts.push(`At most ${high}.`);
  if (spec.multipleOf) parts.push(`A multiple of ${spec.multipleOf}.`);
  if (spec.default !== undefined) {
    const value = Array.isArray(spec.default) ? spec.default.join(", ") || "none" : String(spec.default);
    parts.push(`Default: ${value}.`);
  }
  return parts.join(" ");
}

function element(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function input(path, spec) {
  const attrs = { id: fieldId(path), name: path, "aria-describedby": `${fieldId(path)}-help ${fieldId(path)}-error` };
  if (spec.enum) {
    const select = element("select", attrs);
    for (const option of spec.enum) select.append(element("option", { value: option }, option));
    return select;
  }
  if (spec.type === "boolean") return element("input", { ...attrs, type: "checkbox" });
  if (spec.type === "array") return element("textarea", { ...attrs, rows: "3", spellcheck: "false" });
  if (spec.type === "integer" || spec.type === "number") {
    return element("input", { ...attrs, type: "number", step: "any", inputmode: spec.type === "integer" ? "numeric" : "decimal" });
  }
  return element("input", { ...attrs, type: "text", autocapitalize: "off", spellcheck: "false" });
}

function fieldRow(path, name, spec) {
  const row = element("div", { class: spec.type === "boolean" ? "field check" : "field" });
  const control = input(path, spec);
  const label = element("label", { for: control.id }, title(name, spec));
  const help = element("p", { class: "help", id: `${control.id}-help` });
  help.textContent = [spec.description, spec.type === "array" ? "One per line." : "", hint(spec)].filter(Boolean).join(" ");
  const error = element("p", { class: "error", id: `${control.id}-error` });
  row.append(...(spec.type === "boolean" ? [control, label] : [label, control]), help, error);
  return row;
}

function resolve(ref) {
  return schema.$defs[ref.split("/").pop()];
}

function build() {
  const container = $("settings-fields");
  container.replaceChildren();
  for (const [section, heading] of SECTIONS) {
    const spec = resolve(schema.properties[section].$ref);
    const details = element("details", { class: "card section", id: `section-${section}` });
    details.open = OPEN.has(section);
    const summary = element("summary");
    summary.append(element("h2", {}, heading));
    details.append(summary, element("p", { class: "help" }, spec.description ?? ""));
    if (section === "model") details.append(element("p", { class: "running", id: "running", role: "status" }, "Checking what is running…"));
    for (const [name, field] of Object.entries(spec.properties)) details.append(fieldRow(`${section}.${name}`, name, field));
    if (section === "camera") details.append(cameraTest());
    container.append(details);
  }
}

function cameraTest() {
  const box = element("div", { class: "camera-test" });
  const button = element("button", { type: "button", id: "camera-test" }, "Test the camera: take a snapshot");
  const note = element("p", { class: "help", id: "camera-test-status", role: "status" }, "Shows a frame from the camera in use (save first to try a new source).");
  const image = element("img", { id: "snapshot", alt: "Camera snapshot", hidden: "" });
  button.addEventListener("click", async () => {
    setText(note, "Taking a snapshot…");
    const url = `/api/preview.jpg?t=${Date.now()}`;
    image.src = url;
    image.hidden = false;
    try {
      await image.decode();
      setText(note, `Snapshot taken at ${new Date().toLocaleTimeString()}.`);
    } catch {
      // The page's security policy allows no blob: images, so ask again for the error text.
      image.hidden = true;
      const response = await fetch(url, { cache: "no-store" }).catch(() => null);
      const body = await response?.json().catch(() => ({}));
      setText(note, `No snapshot: ${body?.error ?? "the device did not answer"}`);
    }
  });
  box.append(button, note, image);
  return box;
}

function fill(settings) {
  for (const [section, values] of Object.entries(settings)) {
    for (const [name, value] of Object.entries(values)) {
      const control = $(fieldId(`${section}.${name}`));
      if (!control) continue;
      if (control.type === "checkbox") control.checked = Boolean(value);
      else if (control.tagName === "TEXTAREA") control.value = (value ?? []).join("\n");
      else control.value = value ?? "";
    }
  }
}

function read(control, spec) {
  if (spec.type === "boolean") return control.checked;
  if (spec.type === "array") return control.value.split("\n").map((line) => line.trim()).filter(Boolean);
  if (spec.enum) return control.value;
  if (spec.type === "integer" || spec.type === "number") {
    const text = control.value.trim();
    if (text === "") return null;
    const number = Number(text);
    return Number.isFinite(number) ? number : text; // the server names what is wrong
  }
  return control.value;
}

/** The fields that differ from the saved settings, as a partial settings object. */
function changes() {
  const diff = {};
  for (const [section] of SECTIONS) {
    const spec = resolve(schema.properties[section].$ref);
    for (const [name, field] of Object.entries(spec.properties)) {
      const value = read($(fieldId(`${section}.${name}`)), field);
      if (JSON.stringify(value) !== JSON.stringify(saved[section]?.[name])) {
        diff[section] ??= {};
        diff[section][name] = value;
      }
    }
  }
  return diff;
}

function controlFor(field) {
  // "server.allowed_hosts.0" belongs to the server.allowed_hosts control.
  const parts = field.split(".");
  while (parts.length) {
    const control = $(fieldId(parts.join(".")));
    if (control) return control;
    parts.pop();
  }
  return null;
}

function clearErrors(only = null) {
  for (const error of document.querySelectorAll("#settings-fields .error")) {
    const control = $(error.id.replace(/-error$/, ""));
    if (only && control !== only) continue;
    error.textContent = "";
    control?.removeAttribute("aria-invalid");
  }
}

function showErrors(fields, { focus = true } = {}) {
  let first = null;
  for (const { field, message } of fields) {
    const control = controlFor(field);
    if (!control) continue;
    const error = $(`${control.id}-error`);
    if (!error.textContent.includes(message)) {
      error.textContent = error.textContent ? `${error.textContent} ${message}` : message;
    }
    control.setAttribute("aria-invalid", "true");
    control.closest("details").open = true;
    first ??= control;
  }
  if (focus) first?.focus();
  return first;
}

async function save(event) {
  event.preventDefault();
  clearErrors();
  const diff = changes();
  if (!Object.keys(diff).length) {
    setText($("save-status"), "Nothing changed.");
    return;
  }
  $("save").disabled = true;
  $("save-status").classList.remove("unsaved");
  setText($("save-status"), "Saving…");
  try {
    const result = await api("/api/settings", { method: "PATCH", body: diff });
    saved = result.settings;
    fill(saved);
    const restart = result.restart_required?.length
      ? ` The ${result.restart_required.join(", ")} settings take effect after the service restarts.`
      : "";
    setText($("save-status"), `Saved (${result.changed.join(", ") || "no change"}).${restart}`);
    showRunning();
  } catch (error) {
    if (error instanceof ApiError && error.body.fields) {
      const names = error.body.fields.map((f) => f.field).join(", ");
      setText($("save-status"), `Not saved: fix ${names} (see the message at the field).`);
      showErrors(error.body.fields);
    } else {
      setText($("save-status"), `Not saved: ${error.message}`);
    }
  } finally {
    $("save").disabled = false;
  }
}

/** Ask the server about one changed field at once, so a bad value shows before saving. */
async function validateField(event) {
  const control = event.target;
  if (!control.name) return;
  const [section, name] = control.name.split(".");
  const spec = resolve(schema.properties[section].$ref).properties[name];
  clearErrors(control);
  try {
    await api("/api/settings/validate", { method: "POST", body: { [section]: { [name]: read(control, spec) } } });
  } catch (error) {
    if (error instanceof ApiError && error.body.fields) {
      showErrors(error.body.fields.filter((f) => controlFor(f.field) === control), { focus: false });
    }
  }
}

async function showRunning() {
  const running = $("running");
  try {
    const health = await api("/api/health");
    const backend = health.backend;
    const text = backend
      ? `Running now: MoveNet ${backend.model} on the ${backend.accelerator === "edgetpu" ? "Coral Edge TPU" : `CPU (${backend.threads} threads)`} with ${backend.runtime}, ${backend.model_file}; ${Math.round(health.fps)} frames per second.`
      : `Not running: ${health.pipeline}.`;
    setText(running, text);
  } catch (error) {
    setText(running, `Could not ask what is running: ${error.message}`);
  }
}

// --- this phone's audio -------------------------------------------------------------------

function audioControls() {
  const prefs = loadPrefs();
  $("audio-beep").checked = prefs.beep;
  $("audio-speak").checked = prefs.speak;
  $("audio-volume").value = String(prefs.volume);
  for (const control of document.querySelectorAll("[data-audio]")) {
    control.addEventListener("change", () => {
      const key = control.dataset.audio;
      savePrefs({ ...loadPrefs(), [key]: control.type === "checkbox" ? control.checked : Number(control.value) });
    });
  }
  $("audio-test").addEventListener("click", () => {
    unlock();
    const current = { ...loadPrefs(), enabled: true };
    beep(current);
    say(current, "Go deeper");
  });
}

// --- password -----------------------------------------------------------------------------

async function changePassword(event) {
  event.preventDefault();
  const form = event.target;
  for (const id of ["current-password", "new-password"]) {
    setText($(`${id}-error`), "");
    $(id).removeAttribute("aria-invalid");
  }
  try {
    const result = await api("/api/password", {
      method: "POST",
      body: { current: form.current.value, new: form.new.value },
    });
    document.querySelector('meta[name="csrf-token"]').content = result.csrf_token;
    form.reset();
    setText($("password-status"), "Password changed: other phones must log in again.");
  } catch (error) {
    const id = error.body?.field === "new" ? "new-password" : "current-password";
    setText($(`${id}-error`), error.message);
    $(id).setAttribute("aria-invalid", "true");
    $(id).focus();
    setText($("password-status"), "");
  }
}

/** A link to a section (the list at the top, the live page's "Settings → Camera") opens it. */
function openLinkedSection() {
  const id = decodeURIComponent(window.location.hash.slice(1));
  const target = id && document.getElementById(id);
  if (!target) return;
  if (target.tagName === "DETAILS") target.open = true;
  target.scrollIntoView();
  const focusable = target.querySelector("summary") ?? target;
  if (focusable === target) target.setAttribute("tabindex", "-1");
  focusable.focus({ preventScroll: true });
}

async function main() {
  try {
    schema = JSON.parse($("settings-schema").textContent);
    saved = (await api("/api/settings")).settings;
    build();
    fill(saved);
    showRunning();
    openLinkedSection(); // the sections exist only now
  } catch (error) {
    setText($("settings-fields"), `Could not load the settings: ${error.message}`);
  }
}

/** Say when the form holds changes not saved yet (and stop saying so once they are undone). */
function markUnsaved() {
  if (!schema || !Object.keys(saved).length) return;
  const status = $("save-status");
  const pending = Object.keys(changes()).length > 0;
  status.classList.toggle("unsaved", pending);
  if (pending) setText(status, "Unsaved changes: press Save to apply them.");
  else if (status.textContent.startsWith("Unsaved")) setText(status, "");
}

window.addEventListener("hashchange", openLinkedSection);
$("settings-form").addEventListener("submit", save);
$("settings-fields").addEventListener("input", markUnsaved);
$("settings-fields").addEventListener("change", validateField);
$("password-form").addEventListener("submit", changePassword);
audioControls();
main();
