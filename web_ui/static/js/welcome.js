// The setup guide: one step at a time, chosen by the address's #fragment, each skippable.
// People go through /api/people, the camera and MQTT through /api/settings.

import { api, setText } from "./api.js";
import { cameraPicker } from "./camera-picker.js";

const $ = (id) => document.getElementById(id);
const STEPS = ["people", "camera", "placement", "mqtt", "done"];

function show() {
  const step = STEPS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "people";
  for (const name of STEPS) $(name).hidden = name !== step;
  const at = STEPS.indexOf(step);
  for (const item of document.querySelectorAll(".wizard-steps li")) {
    const index = STEPS.indexOf(item.dataset.step);
    item.classList.toggle("done", index < at);
    if (index === at) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
  }
  $(step).querySelector("h2").focus?.();
}

async function showPeople() {
  const { people } = await api("/api/people");
  $("people-list").replaceChildren(
    ...people.map((person) => {
      const item = document.createElement("li");
      item.textContent = person.name;
      item.style.borderColor = person.colour;
      return item;
    }),
  );
}

const COLOURS = ["#e53935", "#43a047", "#fb8c00", "#8e24aa", "#00897b", "#6d4c41"];

async function addPerson(event) {
  event.preventDefault();
  const input = $("person-name");
  const name = input.value.trim();
  if (!name) {
    setText($("person-error"), "Type a name first.");
    return;
  }
  const count = $("people-list").children.length;
  try {
    await api("/api/people", { method: "POST", body: { name, colour: COLOURS[count % COLOURS.length] } });
    input.value = "";
    setText($("person-error"), "");
    await showPeople();
  } catch (error) {
    setText($("person-error"), error.message);
  }
}

async function saveCamera() {
  const source = $("camera-source").value;
  try {
    await api("/api/settings", { method: "PUT", body: { camera: { source } } });
    location.hash = "#placement";
  } catch (error) {
    setText($("camera-status"), `Not saved: ${error.message}`);
  }
}

function broker() {
  const password = $("mqtt-password").value;
  return {
    host: $("mqtt-host").value.trim(),
    port: Number($("mqtt-port").value),
    username: $("mqtt-username").value.trim(),
    ...(password ? { password } : {}),
  };
}

async function testBroker() {
  const status = $("mqtt-status");
  setText(status, "Connecting…");
  try {
    const result = await api("/api/mqtt/test", { method: "POST", body: broker() });
    status.classList.toggle("error", !result.ok);
    setText(status, result.ok ? `It works: ${result.message}.` : `It did not work: ${result.message}.`);
    return result.ok;
  } catch (error) {
    status.classList.add("error");
    setText(status, error.message);
    return false;
  }
}

async function saveBroker(event) {
  event.preventDefault();
  if (!(await testBroker())) return;
  try {
    await api("/api/settings", { method: "PUT", body: { mqtt: { enabled: true, ...broker() } } });
    location.hash = "#done";
  } catch (error) {
    const fields = error.body?.fields?.map((f) => `${f.field}: ${f.message}`).join("; ");
    setText($("mqtt-status"), `Not saved: ${fields ?? error.message}`);
  }
}

async function fillSaved() {
  const { settings } = await api("/api/settings");
  $("camera-source").value = settings.camera.source;
  if (settings.mqtt.host) $("mqtt-host").value = settings.mqtt.host;
  $("mqtt-port").value = settings.mqtt.port;
  $("mqtt-username").value = settings.mqtt.username;
}

window.addEventListener("hashchange", show);
$("person-form").addEventListener("submit", addPerson);
$("camera-save").addEventListener("click", saveCamera);
$("mqtt-test").addEventListener("click", testBroker);
$("mqtt-form").addEventListener("submit", saveBroker);
show();
showPeople();
fillSaved().then(() => cameraPicker($("camera-source")));
