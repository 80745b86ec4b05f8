// First-run placement: the preview with the skeleton and the counting engine's own placement
// checks and advice (device/exercise/placement.py: the same the live page's banner and hint
// come from, held so the wording does not flip), until the person has been framed for a moment.
// Without a camera picture there is no advice about the person, only about the camera. It can
// be skipped.

import { setText } from "./api.js";
import { drawPose, overlayOptions } from "./skeleton.js";

const $ = (id) => document.getElementById(id);
const preview = $("preview");
const image = $("preview-img");
const canvas = $("skeleton");
const overlay = overlayOptions(preview);
const FRAMED_MS = 2000; // framed this long: ready

const seen = { state: null, camera: null, framedSince: null };

function mark(id, ok) {
  $(id).dataset.ok = String(ok);
}

/** The advice to show: the camera's problem, else the engine's (one wording per condition). */
function advice(checks, framed) {
  if (seen.camera && seen.camera.state !== "ok") return seen.camera.text;
  const state = seen.state;
  if (!state) return "Waiting for the camera…";
  if (state.placement) return state.placement.message;
  if (state.view_hint) return state.view_hint;
  if (framed) return checks.side ? "You are framed: start your set." : "You are framed for squats; for push-ups, turn 90° to the side.";
  if (!checks.person) return "Waiting for the camera…";
  if (!checks.body) return "Step back until your head is in the picture too.";
  return "Hold still a moment…";
}

function render() {
  const camera = !seen.camera || seen.camera.state === "ok";
  const checks = camera ? seen.state?.checks ?? {} : {};
  mark("check-person", Boolean(checks.person));
  mark("check-body", Boolean(checks.body));
  mark("check-side", Boolean(checks.side));
  const now = performance.now();
  seen.framedSince = checks.person && checks.body ? seen.framedSince ?? now : null;
  const framed = seen.framedSince !== null && now - seen.framedSince >= FRAMED_MS;
  document.body.classList.toggle("framed", framed);
  setText($("advice"), advice(checks, framed));
}

function onHealth(health) {
  const camera = health.camera ?? {};
  const warning = (health.warnings ?? []).find((w) => w.kind === "camera");
  const text = camera.state === "ok" ? "Waiting for the picture…" : `${warning?.message ?? `Camera ${camera.state}`} ${warning?.fix ?? ""}`;
  seen.camera = { state: camera.state, text };
  setText($("preview-empty-text"), text);
  render();
}

let pending = null;

function onPose(pose) {
  if (pending === null) {
    requestAnimationFrame(() => {
      drawPose(canvas, pending, overlay);
      render();
      pending = null;
    });
  }
  pending = pose;
}

function onState(state) {
  seen.state = state;
  render();
}

const source = new EventSource("/api/events?kinds=state,pose,health");
for (const [kind, handler] of Object.entries({ state: onState, pose: onPose, health: onHealth })) {
  source.addEventListener(kind, (event) => handler(JSON.parse(event.data)));
}
image.addEventListener("load", () => {
  preview.classList.add("has-image");
  if (image.naturalWidth) preview.style.aspectRatio = `${image.naturalWidth} / ${image.naturalHeight}`;
});
image.addEventListener("error", () => {
  preview.classList.remove("has-image");
  setTimeout(() => (image.src = `${image.dataset.src}?t=${Date.now()}`), 2000);
});
// The endless MJPEG answer would hold the page's load event (and a camera with no frames
// would hold it forever): the preview starts once the page has loaded.
const startPreview = () => (image.src = `${image.dataset.src}?t=${Date.now()}`);
if (document.readyState === "complete") startPreview();
else window.addEventListener("load", startPreview, { once: true });
render();
