// The live page: MJPEG preview, skeleton from pose events, rep counter, cues, timer, tempo,
// health, sound. Reconnects by itself when the connection drops or the phone wakes up.

import { api, setText } from "./api.js";
import { beep, loadPrefs, savePrefs, say, unlock } from "./audio.js";
import { drawPose } from "./skeleton.js";

const $ = (id) => document.getElementById(id);
const preview = $("preview");
const image = $("preview-img");
const canvas = $("skeleton");
const overlay = {
  names: JSON.parse(preview.dataset.keypoints),
  edges: JSON.parse(preview.dataset.edges),
  minScore: Number(preview.dataset.minScore),
  minPoseScore: Number(preview.dataset.minPoseScore),
};
const EXERCISES = { squat: "Squats", pushup: "Push-ups" };
const PHASES = { idle: "Ready", top: "Top", down: "Down", up: "Up" };
const CUE_SHOW_MS = 5000;
const CUE_REPEAT_MS = 6000; // the same cue is not spoken again within this time
const STALE_MS = 10000; // health events come every second: silence this long means a dead link

const live = {
  set: null, // the open set {set_id, exercise, reps, partial_reps}
  lastSet: null, // the set that ended last, shown until the next rep
  setStart: null, // pose-clock time of the open set's first rep
  setStartFor: null,
  frozenElapsed: null,
  joined: null, // {elapsed, at}: a set joined part-way, until a pose gives the pose clock
  poseT: null,
  pose: null,
  exercise: null,
  placement: null,
  cameraOk: false,
};
let prefs = loadPrefs();

// --- scoreboard ---------------------------------------------------------------------------

function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function renderCount() {
  const shown = live.set ?? live.lastSet;
  const reps = shown?.reps ?? 0;
  setText($("rep-count"), String(reps));
  setText($("rep-count-label"), live.set || !live.lastSet ? (reps === 1 ? "rep" : "reps") : "reps last set");
  $("rep-count-box").classList.toggle("ended", !live.set && !!live.lastSet);
  setText($("partial"), `${shown?.partial_reps ?? 0} partial`);
  const exercise = live.exercise ?? shown?.exercise;
  setText($("exercise"), exercise ? EXERCISES[exercise] ?? exercise : "No exercise yet");
  // Before the first rep, say how to start (not while the camera is missing: its overlay says).
  $("hint").hidden = Boolean(shown) || !live.cameraOk;
}

function renderTimer() {
  if (live.set && live.setStart === null && live.joined && live.poseT !== null) {
    live.setStart = live.poseT - live.joined.elapsed - (performance.now() - live.joined.at) / 1000;
  }
  let elapsed = live.frozenElapsed;
  if (live.set && live.setStart !== null && live.poseT !== null) {
    elapsed = live.poseT - live.setStart;
  }
  setText($("set-timer"), elapsed === null ? "0:00" : formatDuration(elapsed));
}

function renderRep(rep) {
  setText($("tempo"), `${rep.down_s.toFixed(1)} / ${rep.up_s.toFixed(1)} s`);
  setText($("depth"), `${Math.round(rep.depth * 100)}%`);
}

/**
 * A set joined part-way: how long it has run, by the device's own clock (the answer's Date
 * header against the set's start), so a phone with a wrong clock still shows the right time.
 */
async function findSetStart(setId) {
  live.setStartFor = setId;
  try {
    const response = await fetch(`/api/sets/${setId}`, { cache: "no-store" });
    if (!response.ok) return;
    const { set } = await response.json();
    const elapsed = Date.parse(response.headers.get("Date")) / 1000 - set.started_at;
    if (live.set?.set_id === setId && live.setStart === null && Number.isFinite(elapsed)) {
      live.joined = { elapsed: Math.max(0, elapsed), at: performance.now() };
    }
  } catch {
    // the timer then starts at the next rep
  }
}

// --- cues ---------------------------------------------------------------------------------

const spoken = new Map();
let cueTimer = null;
let bannerPersistent = false; // showing the placement cue, which stays while it lasts

function showCue(cue, { persistent = false } = {}) {
  const banner = $("cue-banner");
  setText(banner, cue.message);
  banner.dataset.code = cue.code;
  banner.hidden = false;
  bannerPersistent = persistent;
  clearTimeout(cueTimer);
  if (!persistent) cueTimer = setTimeout(hideCue, CUE_SHOW_MS);
  const now = Date.now();
  if (now - (spoken.get(cue.code) ?? 0) > CUE_REPEAT_MS) {
    spoken.set(cue.code, now);
    say(prefs, cue.message);
  }
}

function hideCue() {
  if (live.placement) {
    showCue(live.placement, { persistent: true });
    return;
  }
  $("cue-banner").hidden = true;
  bannerPersistent = false;
}

// --- events -------------------------------------------------------------------------------

function onState(state) {
  live.exercise = state.exercise ?? null;
  setText($("phase"), PHASES[state.phase] ?? state.phase ?? "–");
  if (state.set) {
    if (live.set?.set_id !== state.set.set_id) {
      live.setStart = null;
      live.joined = null;
      live.frozenElapsed = null;
    }
    live.set = state.set;
    if (live.setStart === null && live.setStartFor !== state.set.set_id) {
      findSetStart(state.set.set_id);
    }
  }
  const placement = state.placement ?? null;
  if (placement?.code !== live.placement?.code) {
    live.placement = placement;
    if (placement) showCue(placement, { persistent: true });
    else if (bannerPersistent) hideCue();
  }
  renderCount();
}

function onRep(rep) {
  if (live.set?.set_id !== rep.set.set_id) {
    live.setStart = rep.t_start;
    live.setStartFor = rep.set.set_id;
    live.frozenElapsed = null;
  }
  live.set = rep.set;
  live.lastSet = null;
  renderCount();
  renderRep(rep);
  beep(prefs, rep.complete ? { frequency: 880 } : { frequency: 440, seconds: 0.2 });
  if (rep.cues?.length) showCue(rep.cues[0]);
}

function onSet(event) {
  if (event.event !== "end") return;
  if (live.set && live.set.set_id === event.set_id) {
    live.frozenElapsed = live.setStart !== null && live.poseT !== null ? live.poseT - live.setStart : null;
  }
  live.lastSet = event;
  live.set = null;
  live.setStart = null;
  renderCount();
  renderTimer();
}

function onHealth(health) {
  const camera = health.camera ?? {};
  const cameraChip = $("health-camera");
  setText(cameraChip, `Camera ${camera.state ?? "–"}`);
  cameraChip.dataset.state = ["ok", "ended"].includes(camera.state) ? "ok" : "bad";
  cameraChip.title = camera.error ?? camera.source ?? "";
  const backend = health.backend;
  const backendChip = $("health-backend");
  if (backend) {
    setText(backendChip, `${backend.accelerator === "edgetpu" ? "Edge TPU" : "CPU"} · ${backend.model}`);
    backendChip.dataset.state = "ok";
    backendChip.title = `${backend.runtime}, ${backend.model_file}, ${backend.threads} threads`;
  } else {
    setText(backendChip, "Model not running");
    backendChip.dataset.state = "bad";
    backendChip.title = health.pipeline ?? "";
  }
  setText($("health-fps"), `${Math.round(health.fps ?? 0)} fps`);
  renderCamera(camera, health.pipeline);
}

const CAMERA_TITLES = {
  missing: "No camera found",
  reconnecting: "Camera lost: reconnecting…",
  ended: "The video has ended",
  stopped: "Not counting",
};

/** The preview's overlay: what is wrong with the camera and what to do about it. */
function renderCamera(camera, pipeline) {
  const stopped = pipeline?.startsWith("stopped") ? pipeline.replace(/^stopped: /, "") : null;
  const state = stopped ? "stopped" : camera.state ?? "unknown";
  const problem = state !== "ok" && state !== "unknown";
  preview.classList.toggle("camera-problem", problem);
  preview.dataset.camera = state;
  setText($("preview-empty-title"), CAMERA_TITLES[state] ?? "Waiting for the camera…");
  let detail = stopped ?? (state === "ended" ? "Choose a camera in Settings to count again." : camera.error ?? "");
  if (/^no camera found/i.test(detail)) detail = ""; // the title and the advice say it already
  setText($("preview-empty-detail"), detail ? detail.charAt(0).toUpperCase() + detail.slice(1) : "");
  $("preview-empty-action").hidden = !["missing", "reconnecting", "stopped"].includes(state);
  live.cameraOk = state === "ok";
  renderCount();
}

let drawPending = false;

function onPose(pose) {
  live.pose = pose;
  live.poseT = pose.t;
  if (!drawPending) {
    drawPending = true;
    requestAnimationFrame(() => {
      drawPending = false;
      drawPose(canvas, live.pose, overlay);
      renderTimer();
    });
  }
}

// --- connection ---------------------------------------------------------------------------

let source = null;
let lastMessage = 0;
let retryMs = 1000;
let retryTimer = null;

function setConnection(state, text) {
  const chip = $("conn");
  chip.dataset.state = state;
  setText(chip, text);
}

function startPreview() {
  image.src = `${image.dataset.src}?t=${Date.now()}`;
}

function stopStreams() {
  source?.close();
  source = null;
  image.removeAttribute("src");
  clearTimeout(retryTimer);
}

function connect() {
  stopStreams();
  setConnection("connecting", "Connecting…");
  source = new EventSource("/api/events");
  lastMessage = Date.now();
  const handlers = { state: onState, rep: onRep, cue: showCue, set: onSet, health: onHealth, pose: onPose };
  for (const [kind, handler] of Object.entries(handlers)) {
    source.addEventListener(kind, (event) => {
      lastMessage = Date.now();
      handler(JSON.parse(event.data));
    });
  }
  source.onopen = () => {
    retryMs = 1000;
    setConnection("ok", "Live");
    startPreview();
  };
  source.onerror = () => {
    setConnection("bad", "Reconnecting…");
    if (source?.readyState === EventSource.CLOSED) scheduleReconnect();
  };
}

async function scheduleReconnect() {
  stopStreams();
  setConnection("bad", "Reconnecting…");
  try {
    const status = await api("/api/auth");
    if (!status.logged_in) {
      window.location.assign(status.setup_required ? "/setup" : "/login");
      return;
    }
  } catch {
    // the device is unreachable: keep trying
  }
  retryTimer = setTimeout(connect, retryMs);
  retryMs = Math.min(retryMs * 2, 15000);
}

setInterval(() => {
  if (source && document.visibilityState === "visible" && Date.now() - lastMessage > STALE_MS) {
    scheduleReconnect();
  }
  renderTimer();
}, 1000);

document.addEventListener("visibilitychange", () => {
  // A phone in a pocket should not hold two of the device's server threads.
  if (document.visibilityState === "hidden") stopStreams();
  else connect();
});
window.addEventListener("online", () => connect());
image.addEventListener("load", () => {
  preview.classList.add("has-image");
  if (image.naturalWidth && image.naturalHeight) {
    preview.style.aspectRatio = `${image.naturalWidth} / ${image.naturalHeight}`;
  }
});
image.addEventListener("error", () => {
  preview.classList.remove("has-image");
  if (source) setTimeout(() => source && startPreview(), 2000);
});
new ResizeObserver(() => drawPose(canvas, live.pose, overlay)).observe(canvas);

// --- sound --------------------------------------------------------------------------------

function renderSound() {
  const button = $("sound");
  button.setAttribute("aria-pressed", String(prefs.enabled));
  setText(button, prefs.enabled ? "Sound on: tap to mute" : "Sound off: tap to turn on");
}

$("sound").addEventListener("click", () => {
  prefs = { ...loadPrefs(), enabled: !prefs.enabled };
  savePrefs(prefs);
  if (prefs.enabled) {
    unlock();
    beep(prefs);
  } else if ("speechSynthesis" in window) {
    window.speechSynthesis.cancel();
  }
  renderSound();
});
// Browsers start audio only after a gesture: the first tap anywhere unlocks it.
document.addEventListener("pointerdown", unlock, { once: true });
document.addEventListener("keydown", unlock, { once: true });
window.addEventListener("storage", () => {
  prefs = loadPrefs();
  renderSound();
});

renderSound();
renderCount();
connect();
