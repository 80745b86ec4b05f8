// First-run placement: the preview with the skeleton and a live check of the framing (someone
// in view, head to feet inside the picture, side view) from the pose events and the counting
// engine's placement cues, until the person has been framed for a moment. It can be skipped.

import { setText } from "./api.js";
import { drawPose, overlayOptions } from "./skeleton.js";

const $ = (id) => document.getElementById(id);
const preview = $("preview");
const image = $("preview-img");
const canvas = $("skeleton");
const overlay = overlayOptions(preview);
const HEAD = ["nose", "left_eye", "right_eye", "left_ear", "right_ear"];
const FEET = ["left_ankle", "right_ankle"];
const EDGE = 0.02; // a keypoint this close to the picture's edge may be cut off
const FRAMED_MS = 2000; // framed this long: ready

const seen = { view: null, placement: null, framedSince: null };

/** Where the body is: which checks pass and what to do about the first that fails. */
function judge(pose) {
  if (!pose || pose.score < overlay.minPoseScore) {
    return { person: false, body: false, advice: seen.placement?.message ?? "Step into view." };
  }
  const inside = (name) => {
    const kp = pose.keypoints[name];
    if (!kp || kp[2] < overlay.minScore) return false;
    const [x, y] = [kp[0] / pose.width, kp[1] / pose.height];
    return x > EDGE && x < 1 - EDGE && y > EDGE && y < 1 - EDGE;
  };
  const head = HEAD.some(inside);
  const feet = FEET.some(inside);
  let advice = null;
  if (!head && !feet) advice = "Step back: the camera sees only part of you.";
  else if (!feet) advice = "Step back or tilt the camera down: your feet are out of view.";
  else if (!head) advice = "Step back or tilt the camera up: your head is out of view.";
  return { person: true, body: head && feet, advice: advice ?? seen.placement?.message ?? null };
}

function mark(id, ok) {
  $(id).dataset.ok = String(ok);
}

function render(pose) {
  const result = judge(pose);
  mark("check-person", result.person);
  mark("check-body", result.body);
  mark("check-side", seen.view === "side");
  const now = performance.now();
  seen.framedSince = result.person && result.body ? seen.framedSince ?? now : null;
  const framed = seen.framedSince !== null && now - seen.framedSince >= FRAMED_MS;
  document.body.classList.toggle("framed", framed);
  setText($("advice"), framed ? "You are framed: start your set." : result.advice ?? "Hold still a moment…");
}

function onHealth(health) {
  const camera = health.camera ?? {};
  const warning = (health.warnings ?? []).find((w) => w.kind === "camera");
  setText($("preview-empty-text"), camera.state === "ok" ? "Waiting for the picture…" : `${warning?.message ?? `Camera ${camera.state}`} ${warning?.fix ?? ""}`);
}

let pending = null;

function onPose(pose) {
  if (pending === null) {
    requestAnimationFrame(() => {
      drawPose(canvas, pending, overlay);
      render(pending);
      pending = null;
    });
  }
  pending = pose;
}

function onState(state) {
  seen.view = state.view ?? null;
  seen.placement = state.placement ?? null;
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
render(null);
