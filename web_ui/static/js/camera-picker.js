// The camera choice as a list of the cameras the device finds (GET /api/cameras), with a test
// picture from the chosen one, in place of typing a device path. "Other / advanced" shows the
// text field for what no list can hold: an RTSP stream or a video file.

import { api, setText } from "./api.js";

const OTHER = "other";
const pickers = new Set();

function element(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

/** Put a camera list in front of the text input (its value is what gets saved). */
export async function cameraPicker(input) {
  const select = element("select", { id: `${input.id}-choice` });
  const label = document.querySelector(`label[for="${input.id}"]`);
  if (label) label.setAttribute("for", select.id);
  input.setAttribute("aria-label", "Camera source: an RTSP address or a video file path");
  const test = element("button", { type: "button", class: "camera-picture-button" }, "Test picture");
  const note = element("p", { class: "help", role: "status" });
  const image = element("img", { class: "camera-picture", alt: "Test picture from the chosen camera", hidden: "" });
  const row = element("div", { class: "camera-choice" });
  row.append(select, test);
  input.before(row);
  input.after(note, image);

  let listed = [];
  const sync = () => {
    const known = listed.some((camera) => camera.source === input.value) || input.value === "auto";
    select.value = known ? input.value : OTHER;
    input.hidden = known;
    test.disabled = select.value === OTHER;
  };
  const picker = { sync };
  pickers.add(picker);

  select.addEventListener("change", () => {
    image.hidden = true;
    setText(note, "");
    if (select.value === OTHER) {
      input.hidden = false;
      test.disabled = true;
      input.focus();
      return;
    }
    input.value = select.value;
    input.hidden = true;
    test.disabled = false;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
  test.addEventListener("click", async () => {
    const source = select.value === "auto" ? null : select.value;
    setText(note, "Taking a test picture…");
    image.hidden = true;
    const url = source
      ? `/api/cameras/picture?source=${encodeURIComponent(source)}&t=${Date.now()}`
      : `/api/preview.jpg?t=${Date.now()}`;
    image.src = url;
    image.hidden = false;
    try {
      await image.decode();
      setText(note, `Test picture taken at ${new Date().toLocaleTimeString()}.`);
    } catch {
      image.hidden = true;
      const response = await fetch(url, { cache: "no-store" }).catch(() => null);
      const body = await response?.json().catch(() => ({}));
      setText(note, `No picture: ${body?.error ?? "the device did not answer"}`);
    }
  });

  try {
    listed = (await api("/api/cameras")).cameras;
  } catch (error) {
    setText(note, `The camera list could not be read: ${error.message}`);
  }
  select.replaceChildren(
    element("option", { value: "auto" }, "Automatic: the Pi camera, else the first USB webcam"),
    ...listed.map((camera) => element("option", { value: camera.source }, camera.problem ? `${camera.name}: ${camera.problem}` : camera.name)),
    element("option", { value: OTHER }, "Other / advanced: an RTSP stream or a video file"),
  );
  if (!listed.length) setText(note, "No camera found: connect the Pi camera or a USB webcam, then reload this page.");
  sync();
  return picker;
}

/** After the form's values were set by code (loaded, reset): show them in the lists. */
export function syncCameraPickers() {
  for (const picker of pickers) picker.sync();
}
