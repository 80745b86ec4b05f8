// The settings page: a form built from the daemon's settings schema (every field with its
// documentation), the server's validation errors shown at their fields, camera snapshot,
// the model actually running, and this phone's audio choices.

import { api, ApiError, setText } from "./api.js";
import { beep, countWord, loadPrefs, savePrefs, say, unlock } from "./audio.js";
import { cameraPicker, syncCameraPickers } from "./camera-picker.js";
import { previewShown, setPreviewShown } from "./display.js";

const $ = (id) => document.getElementById(id);
// Basic groups are open on the page; the advanced ones sit folded under a warning.
const GROUPS = [
  { id: "camera", title: "Camera", basic: true, fields: ["camera.source", "camera.file_pace", "camera.file_loop"] },
  { id: "workout", title: "Exercise mode, sets and rest", basic: true, fields: ["workout.mode", "workout.set_idle_s", "workout.session_gap_s"] },
  { id: "picture", title: "Camera picture size and rate", fields: ["camera.width", "camera.height", "camera.fps", "camera.preview_width", "camera.preview_height"] },
  { id: "model", title: "Pose model and accelerator", fields: ["model.*"] },
  { id: "exercise", title: "Counting and cue thresholds", fields: ["exercise.*"] },
  { id: "storage", title: "Storage", fields: ["storage.*"] },
  { id: "server", title: "Web server", fields: ["server.*"] },
  { id: "mqtt", title: "Home Assistant (MQTT)", fields: ["mqtt.*"] },
];
const SECTIONS = ["camera", "model", "exercise", "workout", "storage", "server", "mqtt"];

let saved = {}; // the settings as the server last confirmed them
let schema = null;

const fieldId = (path) => `f-${path.replaceAll(".", "-").replaceAll("_", "-")}`;

// Labels in plain words where the setting's key does not read as one.
const LABELS = {
  "camera.source": "Camera or video",
  "camera.fps": "Frames per second",
  "camera.file_pace": "Video file speed",
  "camera.file_loop": "Play a video file again and again",
  "camera.preview_width": "Preview width on the phone (pixels)",
  "camera.preview_height": "Preview height on the phone (pixels)",
  "camera.width": "Picture width (pixels)",
  "camera.height": "Picture height (pixels)",
  "workout.mode": "Exercise",
  "workout.set_idle_s": "Set ends after (seconds without a rep)",
  "workout.session_gap_s": "New session after (seconds without a set)",
  "model.name": "Pose model",
  "model.accelerator": "Runs on",
  "model.precision": "Number precision",
  "model.edgetpu_library": "Coral (Edge TPU) driver file",
  "model.threads": "CPU threads for the model",
  "mqtt.enabled": "Send the count to Home Assistant",
  "mqtt.host": "Broker address",
  "mqtt.port": "Broker port",
  "mqtt.username": "Broker user name",
  "mqtt.password": "Broker password",
  "mqtt.topic_prefix": "Topic name start",
  "mqtt.discovery_prefix": "Home Assistant discovery topic",
  "server.host": "Listen on address",
  "server.port": "Web port",
  "server.allowed_hosts": "Names the page may be opened by",
  "server.threads": "Web server threads",
  "server.preview_fps": "Preview pictures per second",
  "server.preview_quality": "Preview picture quality (JPEG, 1-95)",
  "server.login_days": "Stay logged in for (days without a visit)",
  "server.login_max_days": "Log in again at the latest after (days)",
  "storage.warn_free_mb": "Warn when free disk space is under (MB)",
};
// Choices in plain words (the value sent stays the setting's).
const CHOICES = {
  auto: "Automatic", realtime: "Real time", fast: "As fast as possible", cpu: "CPU", edgetpu: "Coral USB Accelerator (Edge TPU)",
  lightning: "Lightning (fast)", thunder: "Thunder (more accurate, slower)", int8: "8-bit (fastest)", float16: "16-bit (more exact)",
  squat: "Squats only", pushup: "Push-ups only",
};

function title(name, spec, path = "") {
  if (LABELS[path]) return LABELS[path];
  const text = (spec.title ?? name).replace(/ S$/, " (seconds)").replace(/^Fps$/, "Frames per second");
  return text.charAt(0) + text.slice(1).toLowerCase();
}

const choiceLabel = (path, option) => (path === "workout.mode" && option === "auto" ? "Recognised by itself" : CHOICES[option] ?? option);

function hint(spec, path = "") {
  const parts = [];
  const low = spec.minimum ?? spec.exclusiveMinimum;
  const high = spec.maximum ?? spec.exclusiveMaximum;
  if (low !== undefined && high !== undefined) parts.push(`From ${low} to ${high}.`);
  else if (spec.exclusiveMinimum !== undefined) parts.push(`More than ${spec.exclusiveMinimum}.`);
  else if (low !== undefined) parts.push(`At least ${low}.`);
  else if (high !== undefined) parts.push(`At most ${high}.`);
  if (spec.multipleOf) parts.push(`A multiple of ${spec.multipleOf}.`);
  if (spec.default !== undefined && spec.default !== null) {
    const value = Array.isArray(spec.default) ? spec.default.join(", ") : String(spec.default);
    const shown = spec.enum ? choiceLabel(path, value) : spec.type === "boolean" ? (spec.default ? "on" : "off") : value;
    parts.push(value === "" ? "Empty by default." : `Default: ${shown}.`);
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
    for (const option of spec.enum) select.append(element("option", { value: option }, choiceLabel(path, option)));
    return select;
  }
  if (spec.type === "boolean") return element("input", { ...attrs, type: "checkbox" });
  if (spec.type === "array") return element("textarea", { ...attrs, rows: "3", spellcheck: "false" });
  if (spec.type === "integer" || spec.type === "number") {
    return element("input", { ...attrs, type: "number", step: "any", inputmode: spec.type === "integer" ? "numeric" : "decimal" });
  }
  if (spec.format === "password") return element("input", { ...attrs, type: "password", autocomplete: "off" });
  return element("input", { ...attrs, type: "text", autocapitalize: "off", spellcheck: "false" });
}

function fieldRow(path, name, spec) {
  const row = element("div", { class: spec.type === "boolean" ? "field check" : "field" });
  const control = input(path, spec);
  const label = element("label", { for: control.id }, title(name, spec, path));
  const help = element("p", { class: "help", id: `${control.id}-help` });
  help.textContent = [spec.description, spec.type === "array" ? "One per line." : "", hint(spec, path)].filter(Boolean).join(" ");
  const error = element("p", { class: "error", id: `${control.id}-error` });
  const reset = element("button", { type: "button", class: "reset", id: `${control.id}-reset`, hidden: "" }, "Use the default");
  reset.setAttribute("aria-label", `${label.textContent}: use the default`);
  reset.addEventListener("click", () => resetFields([path]));
  row.append(...(spec.type === "boolean" ? [control, label] : [label, control]), help, error, reset);
  return row;
}

function resolve(ref) {
  return schema.$defs[ref.split("/").pop()];
}

const sectionSpec = (section) => resolve(schema.properties[section].$ref);
const fieldSpec = (path) => {
  const [section, name] = path.split(".");
  return sectionSpec(section).properties[name];
};

/** The dotted paths of a group ("model.*" is every field of the model section). */
function groupPaths(group) {
  return group.fields.flatMap((path) => {
    const [section, name] = path.split(".");
    return name === "*" ? Object.keys(sectionSpec(section).properties).map((n) => `${section}.${n}`) : [path];
  });
}

/** A field's name for people: its label ("Width (camera picture size and rate)"). */
function fieldName(path) {
  const control = $(fieldId(path));
  const label = control && document.querySelector(`label[for="${control.id}"]`);
  const group = control?.closest("details.section")?.querySelector("h2")?.textContent;
  return label ? `${label.textContent}${group ? ` (${group.toLowerCase()})` : ""}` : path;
}

/** A field's label alone ("Broker port"). */
function fieldLabel(path) {
  const control = $(fieldId(path));
  return (control && document.querySelector(`label[for="${control.id}"]`)?.textContent) ?? path;
}

function build() {
  const basic = $("settings-fields");
  const advanced = $("advanced-fields");
  basic.replaceChildren();
  advanced.replaceChildren();
  for (const group of GROUPS) {
    const details = element("details", { class: "card section", id: `section-${group.id}` });
    details.open = Boolean(group.basic);
    const summary = element("summary");
    summary.append(element("h2", {}, group.title));
    details.append(summary);
    const section = group.fields[0].split(".")[0];
    const about = group.id === "picture" ? "" : sectionSpec(section).description ?? "";
    if (about) details.append(element("p", { class: "help" }, about));
    if (group.id === "model") details.append(element("p", { class: "running", id: "running", role: "status" }, "Checking what is running…"));
    for (const path of groupPaths(group)) details.append(fieldRow(path, path.split(".")[1], fieldSpec(path)));
    if (group.id === "camera") details.append(cameraTest());
    if (group.id === "mqtt") details.append(mqttTest());
    const reset = element("button", { type: "button", class: "reset-section", "data-group": group.id }, `Reset “${group.title}” to defaults`);
    reset.addEventListener("click", () => resetFields(groupPaths(group)));
    details.append(reset);
    (group.basic ? basic : advanced).append(details);
  }
}

const defaultOf = (spec) => spec.default ?? (spec.type === "array" ? [] : null);

/** Put the defaults in the form (not saved until Save). */
function resetFields(paths) {
  for (const path of paths) {
    const control = $(fieldId(path));
    setControl(control, defaultOf(fieldSpec(path)));
    clearErrors(control);
  }
  syncCameraPickers();
  markUnsaved();
}

function cameraTest() {
  const box = element("div", { class: "camera-test" });
  const button = element("button", { type: "button", id: "camera-test" }, "Test the camera: take a snapshot");
  const note = element("p", { class: "help", id: "camera-test-status", role: "status" }, "Shows a frame from the camera in use (save first to try a new source).");
  const image = element("img", { id: "snapshot", alt: "Camera snapshot", hidden: "" });
  button.addEventListener("click", async () => {
    setText(note, "Taking a snapshot…");
    image.hidden = true;
    // The preview keeps the last frame of a camera that has died: ask whether it still runs.
    const health = await api("/api/health").catch(() => null);
    const camera = health?.camera;
    if (!camera || camera.state !== "ok") {
      const warning = health?.warnings?.find((w) => w.kind === "camera");
      const why = warning ? `${warning.message} ${warning.fix}` : `the camera is ${camera?.state ?? "not answering"}.`;
      setText(note, `Camera test failed: ${why}`);
      note.classList.add("error");
      return;
    }
    note.classList.remove("error");
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
  const placement = element("a", { href: "/placement", class: "button" }, "Check where the camera stands");
  box.append(button, note, image, placement);
  return box;
}

// --- Home Assistant: the connection's state and a test -------------------------------------

const MQTT_STATES = { off: "Off", connecting: "Connecting…", connected: "Connected", unreachable: "Cannot reach the broker" };

/** The publisher's state from /api/health, in words. */
async function showMqttState() {
  const health = await api("/api/health").catch(() => null);
  const state = health?.mqtt?.state ?? "unknown";
  const words = MQTT_STATES[state] ?? state.charAt(0).toUpperCase() + state.slice(1);
  const line = $("mqtt-state");
  setText(line, `Now: ${words}${health?.mqtt?.broker ? ` (${health.mqtt.broker})` : ""}`);
  line.dataset.state = state === "connected" ? "ok" : state === "off" ? "" : "bad";
}

/** Try the broker with the form's values (saved or not): what failed, in words. */
async function testMqtt() {
  const result = $("mqtt-test-status");
  const values = {};
  for (const path of groupPaths(GROUPS.find((g) => g.id === "mqtt"))) {
    const name = path.split(".")[1];
    if (name !== "enabled") values[name] = read($(fieldId(path)), fieldSpec(path));
  }
  setText(result, "Testing…");
  result.classList.remove("error");
  try {
    const answer = await api("/api/mqtt/test", { method: "POST", body: values });
    setText(result, answer.ok ? `${answer.message}.` : `Connection failed (${answer.failure}): ${answer.message}.`);
    result.classList.toggle("error", !answer.ok);
    return answer;
  } catch (error) {
    if (error instanceof ApiError && error.body.fields) showErrors(error.body.fields);
    setText(result, `Not tested: ${error.message}`);
    result.classList.add("error");
    return null;
  }
}

function mqttTest() {
  const box = element("div", { class: "mqtt-test" });
  const state = element("p", { class: "running", id: "mqtt-state", role: "status" }, "Now: …");
  const button = element("button", { type: "button", id: "mqtt-test" }, "Test connection");
  const note = element("p", { class: "help", id: "mqtt-test-status", role: "status", "aria-live": "polite" }, "Tries the broker with the values above, saved or not.");
  button.addEventListener("click", testMqtt);
  box.append(state, button, note);
  return box;
}

function setControl(control, value) {
  if (control.type === "checkbox") control.checked = Boolean(value);
  else if (control.tagName === "TEXTAREA") control.value = (value ?? []).join("\n");
  else control.value = value ?? "";
}

function fill(settings) {
  for (const [section, values] of Object.entries(settings)) {
    for (const [name, value] of Object.entries(values)) {
      const control = $(fieldId(`${section}.${name}`));
      if (control) setControl(control, value);
    }
  }
  syncCameraPickers();
  markDefaults();
}

/** Show "Use the default" only beside the fields that differ from their default. */
function markDefaults() {
  for (const section of SECTIONS) {
    for (const [name, spec] of Object.entries(sectionSpec(section).properties)) {
      const control = $(fieldId(`${section}.${name}`));
      if (!control) continue;
      if (spec.default === undefined && spec.type !== "array") continue;
      const differs = JSON.stringify(read(control, spec)) !== JSON.stringify(defaultOf(spec));
      $(`${control.id}-reset`).hidden = !differs;
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
  for (const section of SECTIONS) {
    for (const [name, field] of Object.entries(sectionSpec(section).properties)) {
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
  for (const error of document.querySelectorAll("#settings-form .field .error")) {
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
    const text = plainWords(message, fieldSpec(control.name));
    if (!error.textContent.includes(text)) {
      error.textContent = error.textContent ? `${error.textContent} ${text}` : text;
    }
    control.setAttribute("aria-invalid", "true");
    openAround(control);
    first ??= control;
  }
  if (focus) first?.focus();
  return first;
}

/** Open every folded section around an element (the advanced part, then its group). */
function openAround(node) {
  for (let details = node.closest("details"); details; details = details.parentElement.closest("details")) {
    details.open = true;
  }
}

// The server's validation messages (pydantic's) in plain words.
const PLAIN = [
  [/greater than or equal to (\S+)/, (m) => `Must be ${m[1]} or more.`],
  [/greater than (\S+)/, (m) => `Must be more than ${m[1]}.`],
  [/less than or equal to (\S+)/, (m) => `Must be ${m[1]} or less.`],
  [/less than (\S+)/, (m) => `Must be less than ${m[1]}.`],
  [/valid integer/, () => "Must be a whole number."],
  [/valid number/, () => "Must be a number."],
  [/valid boolean/, () => "Must be on or off."],
  [/[Ff]ield required|not be None|valid (string|list)/, () => "Must be filled in."],
  [/^Input should be (.+)$/, (m) => `Must be ${m[1].replaceAll("'", "")}.`],
  [/^Value error, (.+)$/, (m) => m[1]],
];

function plainWords(message, spec) {
  for (const [pattern, say] of PLAIN) {
    const match = message.match(pattern);
    if (match) return say(match).replace(/\.?$/, ".");
  }
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return spec?.default !== undefined ? `${text.replace(/\.?$/, ".")} The default is ${spec.default}.` : text;
}

const SERVER_CONFIRM =
  "You changed the web server settings. They take effect only when the RepCounter service restarts " +
  "(sudo systemctl restart repcounter, or a reboot). A wrong address or port makes this page " +
  "unreachable until settings.toml is fixed on the device. Save them?";

async function save(event) {
  event.preventDefault();
  clearErrors();
  const diff = changes();
  if (!Object.keys(diff).length) {
    setText($("save-status"), "Nothing changed.");
    return;
  }
  if (diff.server && !window.confirm(SERVER_CONFIRM)) {
    setText($("save-status"), "Not saved: the web server changes are still in the form.");
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
      ? " The web server settings take effect after the service restarts."
      : "";
    const names = Object.entries(diff).flatMap(([section, values]) => Object.keys(values).map((name) => fieldName(`${section}.${name}`)));
    setText($("save-status"), `Saved: ${names.join(", ")}.${restart}`);
    showRunning();
    if (diff.mqtt && saved.mqtt.enabled) {
      // Saved is not connected: say at once when the broker cannot be reached.
      const answer = await testMqtt();
      if (answer && !answer.ok) setText($("save-status"), `Saved, but Home Assistant is not connected: ${answer.message}.`);
      setTimeout(showMqttState, 2000);
    } else if (diff.mqtt) showMqttState();
  } catch (error) {
    if (error instanceof ApiError && error.body.fields) {
      const names = [...new Set(error.body.fields.map((f) => fieldLabel(controlFor(f.field)?.name ?? f.field)))];
      const which = names.length === 1 ? `“${names[0]}” needs a fix` : `${names.length} fields need a fix: ${names.map((n) => `“${n}”`).join(", ")}`;
      setText($("save-status"), `Not saved: ${which}. See the message at the field.`);
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
  const spec = fieldSpec(`${section}.${name}`);
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
  for (const control of document.querySelectorAll("[data-audio]")) {
    const key = control.dataset.audio;
    if (control.type === "checkbox") control.checked = prefs[key];
    else control.value = String(prefs[key]);
    control.addEventListener("change", () => {
      savePrefs({ ...loadPrefs(), [key]: control.type === "checkbox" ? control.checked : Number(control.value) });
    });
  }
  const preview = $("display-preview");
  preview.checked = previewShown();
  preview.addEventListener("change", () => setPreviewShown(preview.checked));
  $("audio-test").addEventListener("click", async () => {
    await unlock();
    const current = { ...loadPrefs(), enabled: true };
    beep(current);
    say(current, current.count ? countWord(7) : null, current.speak ? "Go deeper" : null);
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
    setText($(`${id}-error`), `${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}.`);
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
  openAround(target);
  target.scrollIntoView();
  const focusable = target.querySelector("summary") ?? target;
  if (focusable === target) target.setAttribute("tabindex", "-1");
  focusable.focus({ preventScroll: true });
}

$("restore-broken").addEventListener("click", restoreBroken);

async function main() {
  try {
    schema = JSON.parse($("settings-schema").textContent);
    const loaded = await api("/api/settings");
    saved = loaded.settings;
    showSafeMode(loaded.safe_mode);
    build();
    fill(saved);
    cameraPicker($(fieldId("camera.source")));
    showRunning();
    showMqttState();
    openLinkedSection(); // the sections exist only now
  } catch (error) {
    setText($("settings-fields"), `Could not load the settings: ${error.message}`);
  }
}

/** Safe mode: the settings file could not be used and the defaults run; offer to restore what
 * was valid in it (saving any setting also ends safe mode). */
function showSafeMode(safeMode) {
  $("safe-mode").hidden = !safeMode;
  if (!safeMode) return;
  setText($("safe-mode-error"), `${safeMode.error}${safeMode.moved_to ? ` (set aside as ${safeMode.moved_to})` : ""}`);
}

async function restoreBroken() {
  const status = $("safe-mode-status");
  try {
    const result = await api("/api/settings/restore-broken", { method: "POST", body: {} });
    const dropped = result.dropped?.length ? ` Left at their defaults: ${result.dropped.join(", ")}.` : "";
    setText(status, `Restored.${dropped}`);
    saved = result.settings;
    showSafeMode(null);
    fill(saved);
  } catch (error) {
    setText(status, `Could not restore: ${error.message}`);
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
  markDefaults();
}

/** Leaving the page with changes not saved: the browser asks first. */
function warnBeforeLeaving(event) {
  if (!schema || !Object.keys(saved).length || !Object.keys(changes()).length) return;
  event.preventDefault();
  event.returnValue = ""; // older browsers need it set
}

window.addEventListener("hashchange", openLinkedSection);
$("settings-form").addEventListener("submit", save);
$("settings-form").addEventListener("input", markUnsaved);
$("settings-form").addEventListener("change", validateField);
window.addEventListener("beforeunload", warnBeforeLeaving);
$("password-form").addEventListener("submit", changePassword);
audioControls();
main();
