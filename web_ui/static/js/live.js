// The live page: MJPEG preview, skeleton from pose events, rep counter, cues, timer, tempo,
// health, sound, last-set summary, full-screen warnings; who trains, the set's target, the rest
// countdown and the plan's step, all as the device's training state says (device/daemon/
// training.py), so every phone shows the same. Shows exactly what the device says:
// nothing before the first state arrives, an overlay when the device cannot be reached.
// Reconnects by itself when the connection drops or the phone wakes up.

import { api, setText } from "./api.js";
import { beep, countWord, loadPrefs, ready, savePrefs, say, sayNext, unlock } from "./audio.js";
import { previewShown, setPreviewShown } from "./display.js";
import { loadPeople, showActive } from "./people.js";
import { recordSentence, showRecordToast } from "./records.js";
import { FrameSync } from "./framesync.js";
import { drawPose, overlayOptions } from "./skeleton.js";
import { keepAwake } from "./wake.js";

const $ = (id) => document.getElementById(id);
const preview = $("preview");
const frameCanvas = $("preview-frame");
const canvas = $("skeleton");
const overlay = overlayOptions(preview);
// The picture and the skeleton of its own frame (web_ui/static/js/framesync.js).
const sync = new FrameSync(
  frameCanvas,
  (pose) => {
    drawPose(canvas, pose, overlay, live.body);
    canvas.dataset.frame = pose ? String(pose.frame) : "";
    frameCanvas.dataset.frame = String(sync.shown ?? "");
  },
  (width, height) => {
    preview.classList.add("has-image");
    preview.style.aspectRatio = `${width} / ${height}`;
  },
);
const EXERCISES = { squat: "Squats", pushup: "Push-ups" };

/** The skeleton of the picture on screen again (a new highlight, a new size). */
function redrawSkeleton() {
  drawPose(canvas, sync.shown === null ? null : sync.poseFor(sync.shown), overlay, live.body);
}
const CUE_SHOW_MS = 6000; // a training cue: long enough to read from across the room
const CUE_REPEAT_MS = 6000; // the same placement cue is not spoken again within this time
const STALE_MS = 10000; // health events come every second: silence this long means a dead link
// Warnings shown full screen (the others are banners); camera only when no frame can come.
const OVERLAY_CAMERA_STATES = new Set(["missing", "ended"]);

const live = {
  loaded: false, // the first state has arrived
  set: null, // the open set {set_id, exercise, reps, partial_reps}
  lastSet: null, // summary of the set that ended last, shown until the next set starts
  setStart: null, // pose-clock time of the open set's first rep
  setStartFor: null,
  joined: null, // {elapsed, at}: a set joined part-way, until a pose gives the pose clock
  poseT: null,
  pose: null,
  exercise: null,
  placement: null,
  state: null, // the last exercise state: placement advice and view hint
  health: null,
  unreachable: false,
  dismissed: null, // the overlay the person closed ("show the count"), until it changes
  body: null, // the body part the shown form cue is about, highlighted on the skeleton
  training: null, // the device's training state: target, rest, plan
  restEndsAt: null, // performance.now() when the rest ends, from the state's remaining_s
  paused: false, // counting paused on the device
  person: null, // who the reps count for
};
let prefs = loadPrefs();

// --- scoreboard ---------------------------------------------------------------------------

function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

const exerciseName = (exercise) => (exercise ? EXERCISES[exercise] ?? exercise : null);

function renderCount() {
  const box = $("rep-count-box");
  box.classList.toggle("waiting", !live.loaded);
  if (!live.loaded) return;
  const shown = live.set ?? live.lastSet;
  const ended = !live.set && Boolean(live.lastSet);
  box.classList.toggle("ended", ended);
  const reps = shown?.reps ?? 0;
  setText($("rep-count"), String(reps));
  const partial = shown?.partial_reps ? ` · ${shown.partial_reps} partial` : "";
  const ago = ended && live.lastSet.endedAt ? ` · ${timeAgo(live.lastSet.endedAt)}` : "";
  setText($("rep-count-label"), `${reps === 1 ? "rep" : "reps"}${partial}${ago}`);
  const exercise = live.set?.exercise ?? (ended ? live.lastSet.exercise : live.exercise);
  setText($("exercise"), exerciseName(exercise) ?? "Ready");
  renderTraining(reps);
  box.classList.toggle("paused", live.paused);
  if (live.paused) {
    box.classList.remove("ended", "resting");
    setText($("exercise"), "Paused");
    setText($("rep-count-label"), "Not counting · tap Resume");
  }
  renderControls();
  // The cue slot: the last set's cues after it, how to start before the first rep.
  let idle = "Form cues appear here";
  if (ended) idle = live.lastSet.cues || "Last set";
  else if (!shown) idle = "Stand where the camera sees your whole body, then start: squats or push-ups are recognised by themselves.";
  setText($("cue-idle"), idle);
  $("cue-idle").classList.toggle("summary", ended);
}

/** Whose reps these are: the person's name and colour on the count box. */
function renderPerson(person) {
  live.person = person ?? null;
  const tag = $("count-person");
  tag.hidden = !person;
  setText(tag, person ? person.name : "");
  $("rep-count-box").style.setProperty("--person", person?.colour ?? "var(--line)");
}

/** The controls that make sense now: in a set -1/+1 and End set, in a rest Skip and +30 s;
Pause (or Resume) always, once the device is live. */
function renderControls() {
  const resting = live.training?.phase === "rest" && !live.set;
  const shown = {
    "ctl-minus": Boolean(live.set) && !live.paused,
    "ctl-plus": Boolean(live.set) && !live.paused,
    "ctl-end": Boolean(live.set) && !live.paused,
    "ctl-skip": resting,
    "ctl-longer": resting,
    "ctl-pause": live.loaded,
  };
  for (const [id, on] of Object.entries(shown)) $(id).hidden = !on;
  $("ctl-minus").disabled = !live.set?.reps;
  const pause = $("ctl-pause");
  pause.setAttribute("aria-pressed", String(live.paused));
  setText(pause, live.paused ? "Resume counting" : "Pause");
  $("set-controls").dataset.mode = live.paused ? "paused" : live.set ? "set" : resting ? "rest" : "ready";
}

/** A control's request; a refusal (the set ended meanwhile) shows in the cue box. */
async function control(path, body = {}) {
  try {
    await api(path, { method: "POST", body });
  } catch (error) {
    showCue({ code: "control", message: `Not done: ${error.message}` }, { speak: false });
  }
}

const restLeft = () => Math.max(0, (live.restEndsAt - performance.now()) / 1000);

/** "Squats, set 2 of 3, 10 reps" for the plan's current step, or null. */
function stepText(plan) {
  if (!plan || plan.done) return null;
  return `${exerciseName(plan.exercise)}, set ${plan.set} of ${plan.sets}, ${plan.reps} reps`;
}

/**
 * The target and plan under the count. During the rest after a set with a target (or while a
 * plan runs) the countdown takes the count's place; after a set without one, the last set's
 * count stays and the countdown is the line under it.
 */
function renderTraining(reps) {
  const box = $("rep-count-box");
  const training = live.training;
  const plan = training?.plan;
  const resting = training?.phase === "rest" && !live.set && live.restEndsAt !== null;
  const restScreen = resting && (training.last?.target != null || Boolean(plan));
  box.classList.toggle("resting", restScreen);
  if (restScreen) box.classList.remove("ended");
  const planDone = plan?.done ? "Plan done ✓" : null;
  const left = formatDuration(Math.ceil(restLeft()));
  let goal = "";
  if (restScreen) {
    setText($("exercise"), "Rest");
    setText($("rep-count"), left);
    const last = training.last;
    setText($("rep-count-label"), last ? `Last set: ${last.reps}${last.target ? ` of ${last.target}` : ""}${last.done ? " · done ✓" : ""}` : "");
    const next = stepText(plan) ?? (training.target ? `${exerciseName(training.exercise)}, ${training.target} reps` : null);
    goal = planDone ?? (next ? `Next: ${next}` : "Next set starts with your first rep");
  } else if (resting) {
    goal = `Rest ${left}`;
  } else if (training?.target != null && (live.set || !live.lastSet)) {
    const toGo = live.set ? Math.max(0, training.target - reps) : training.target;
    goal = toGo === 0 ? "Done ✓" : live.set ? `${toGo} to go · target ${training.target}` : `Target ${training.target}`;
    if (plan && !plan.done && training.in_plan && plan.exercise === (training.exercise ?? live.exercise)) {
      setText($("exercise"), `${exerciseName(plan.exercise)} · set ${plan.set} of ${plan.sets}`);
    }
  } else if (planDone) {
    goal = planDone;
  }
  setText($("goal"), goal);
  $("goal").dataset.state = goal.startsWith("Done") || goal === planDone ? "done" : goal.includes("to go") && training.target - reps <= 3 ? "close" : "";
}

function timeAgo(seconds) {
  const minutes = Math.round((Date.now() / 1000 - seconds) / 60);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  return new Date(seconds * 1000).toLocaleString(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit" });
}

function renderTimer() {
  if (live.set && live.setStart === null && live.joined && live.poseT !== null) {
    live.setStart = live.poseT - live.joined.elapsed - (performance.now() - live.joined.at) / 1000;
  }
  let text = "–";
  if (live.set && live.setStart !== null && live.poseT !== null) text = formatDuration(live.poseT - live.setStart);
  else if (live.set) text = "0:00";
  else if (live.lastSet?.duration != null) text = formatDuration(live.lastSet.duration);
  setText($("set-timer"), text);
}

function renderStats(depth, down, up) {
  setText($("tempo"), down == null ? "–" : `${down.toFixed(1)}/${up.toFixed(1)}`);
  setText($("depth"), depth == null ? "–" : `${Math.round(depth * 100)}%`);
}

const mean = (values) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : null);

/** The last set's summary from the store: reps, partial reps, mean depth and tempo, and its form
 * in plain words ("6 of 8 reps to depth", "hips sagged on reps 5-8"; device/exercise/coaching.py). */
async function showLastSet(setId) {
  try {
    const { set, reps, summary } = await api(`/api/sets/${setId}`);
    if (live.set) return; // a new set started meanwhile
    const complete = reps.filter((rep) => rep.complete);
    const counted = complete.length ? complete : reps;
    live.lastSet = {
      set_id: set.id,
      exercise: set.exercise,
      reps: set.reps,
      partial_reps: set.partial_reps,
      endedAt: reps.at(-1)?.ended_at ?? set.ended_at,
      duration: reps.length ? reps.at(-1).ended_at - reps[0].started_at : null,
      cues: summary?.length ? `Last set: ${summary.join(" · ")}` : "Last set",
    };
    renderStats(mean(counted.map((r) => r.depth)), mean(counted.map((r) => r.down_s)), mean(counted.map((r) => r.up_s)));
    renderCount();
    renderTimer();
  } catch {
    // the summary stays as the set event gave it
  }
}

/** After a reload with no open set: the newest stored set, if any. */
async function findLastSet() {
  try {
    const { sessions } = await api("/api/sessions?limit=1");
    if (!sessions.length || live.set) return;
    const { sets } = await api(`/api/sessions/${sessions[0].id}`);
    if (sets.length && !live.set) await showLastSet(sets.at(-1).id);
  } catch {
    // no history to show
  }
}

/**
 * A set joined part-way: how long it has run, by the device's own clock (the answer's Date
 * header against the set's start), so a phone with a wrong clock still shows the right time;
 * and the last rep's tempo and depth.
 */
async function findSetStart(setId) {
  live.setStartFor = setId;
  try {
    const response = await fetch(`/api/sets/${setId}`, { cache: "no-store" });
    if (!response.ok) return;
    const { set, reps } = await response.json();
    const last = reps.at(-1);
    if (last && live.set?.set_id === setId && $("tempo").textContent === "–") renderStats(last.depth, last.down_s, last.up_s);
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

/** The cue's words for speech, if not said within CUE_REPEAT_MS. */
function cueSpeech(cue) {
  const now = Date.now();
  if (!prefs.speak || now - (spoken.get(cue.code) ?? 0) <= CUE_REPEAT_MS) return null;
  spoken.set(cue.code, now);
  return cue.message;
}

/** "Go deeper: thighs down to parallel" shows "Go deeper" large and the rest below; a form cue
 * has its rep's number in front of the rest ("Rep 4 · thighs down to parallel") and stays until
 * the next rep (rep: that number). */
function showCue(cue, { persistent = false, speak = true, rep = null } = {}) {
  const [head, ...rest] = cue.message.split(": ");
  if (rep === null) live.body = null; // the highlight belongs to a rep's form cue
  setText($("cue-rep"), rep === null ? "" : `Rep ${rep}`);
  $("cue-rep").hidden = rep === null;
  setText($("cue-head"), head);
  setText($("cue-detail"), rest.join(": "));
  const banner = $("cue-banner");
  banner.dataset.code = cue.code;
  banner.dataset.rep = rep ?? "";
  banner.hidden = false;
  bannerPersistent = persistent;
  clearTimeout(cueTimer);
  if (!persistent && rep === null) cueTimer = setTimeout(hideCue, CUE_SHOW_MS);
  if (speak) say(prefs, cueSpeech(cue));
}

// Training cues from the device: shown like form cues, said after the count, with beeps for
// the rest's "get ready" (10 s before its end) and "rest over".
const TRAINING_BEEPS = {
  get_ready: { frequency: 660, seconds: 0.2 },
  rest_over: { frequency: 990, seconds: 0.45 },
  target_done: { frequency: 1320, seconds: 0.25 },
  counting_for: { frequency: 523, seconds: 0.3 }, // a chime before the name
};

// They belong to a set or a rest: gone when the next set starts.
const TRAINING_CODES = new Set(["to_go", "target_done", "get_ready", "rest_over", "plan_done"]);
const COUNTING_FOR_MS = 8000;
let countingForTimer = null;

function onTrainingCue(cue) {
  if (cue.code === "counting_for") showCountingFor(cue);
  // "3 to go" is the goal line under the count already: said, not shown twice.
  else if (cue.code !== "to_go") showCue(cue, { speak: false });
  if (TRAINING_BEEPS[cue.code]) beep(prefs, TRAINING_BEEPS[cue.code]);
  if (prefs.speak || (cue.code === "counting_for" && prefs.enabled)) sayNext(prefs, cue.message.replace(": ", ", "));
}

/** "Counting for Ana · Change" at the start of a session: the reps go to whoever was chosen. */
function showCountingFor(cue) {
  const box = $("counting-for");
  setText($("counting-for-text"), cue.message);
  box.style.setProperty("--person", live.person?.colour ?? "var(--accent)");
  box.hidden = false;
  clearTimeout(countingForTimer);
  countingForTimer = setTimeout(() => (box.hidden = true), COUNTING_FOR_MS);
}

$("counting-for-change").addEventListener("click", () => {
  $("counting-for").hidden = true;
  const people = document.querySelector(".people");
  people.scrollIntoView({ block: "nearest" });
  people.classList.add("choose");
  setTimeout(() => people.classList.remove("choose"), 4000);
  (document.querySelector('.person-chip[aria-pressed="false"]') ?? document.querySelector(".person-chip"))?.focus();
});

/** A personal record at a set's end: a toast, and said after the count. */
function onRecord(record) {
  showRecordToast(record);
  if (prefs.speak) sayNext(prefs, recordSentence(record));
}

/**
 * After a rep: the device's cue policy says which one cue belongs to it, if any (a fault on 2 of
 * the last 3 reps, or a severe one) and whether to say it. A rep without one clears the form cue,
 * so the cue and the count tiles always describe the same rep.
 */
function showRepCoaching(coaching) {
  const cue = coaching?.cue ?? null;
  live.body = cue ? coaching.body : null;
  redrawSkeleton();
  if (cue) showCue(cue, { speak: false, rep: coaching.rep });
  else if (isFormCueShown()) hideCue();
  return cue && coaching.speak && prefs.speak ? cue.message : null;
}

const isFormCueShown = () => !$("cue-banner").hidden && Boolean($("cue-banner").dataset.rep);

function hideCue() {
  live.body = null;
  if (live.placement) {
    showCue(live.placement, { persistent: true, speak: false });
    return;
  }
  $("cue-banner").hidden = true;
  bannerPersistent = false;
}

// --- events -------------------------------------------------------------------------------

function onState(state) {
  const first = !live.loaded;
  live.loaded = true;
  live.exercise = state.exercise ?? null;
  const open = state.set ?? null;
  if (open && live.set?.set_id !== open.set_id) {
    live.setStart = null;
    live.joined = null;
    live.lastSet = null;
    renderStats(null);
    if (live.setStartFor !== open.set_id) findSetStart(open.set_id);
  }
  if (!open && live.set) showLastSet(live.set.set_id); // the set ended while we were away
  live.set = open;
  // "3 to go" belongs to the set: gone with it (a clip or a set can end short of the target).
  if (!open && $("cue-banner").dataset.code === "to_go") hideCue();
  live.training = state.training ?? null;
  live.paused = Boolean(state.paused);
  const rest = live.training?.rest;
  live.restEndsAt = rest ? performance.now() + rest.remaining_s * 1000 : null;
  if ("person" in state) onPerson(state.person); // in /api/state and a stream's first state
  if (first && !open) findLastSet();
  live.state = state;
  renderAdvice();
  renderCount();
  renderTimer();
  renderOverlay();
}

const cameraOk = () => !live.health || live.health.camera?.state === "ok";

/**
 * The engine's placement advice (a banner) or view hint (the line under the cue box): never
 * both, each held a few seconds by the engine. Without a camera picture neither is shown: the
 * advice is about a person the camera cannot see (the camera's own warning says what to do).
 */
function renderAdvice() {
  const state = live.state ?? {};
  const hintText = cameraOk() ? state.view_hint ?? null : null;
  const hint = $("view-hint");
  hint.hidden = !hintText;
  setText(hint, hintText ?? "");
  const placement = cameraOk() ? state.placement ?? null : null;
  if (placement?.code !== live.placement?.code) {
    live.placement = placement;
    if (placement) showCue(placement, { persistent: true });
    else if (bannerPersistent) hideCue();
  }
}

function onRep(rep) {
  if (live.set?.set_id !== rep.set.set_id) {
    live.setStart = rep.t_start;
    live.setStartFor = rep.set.set_id;
    if (TRAINING_CODES.has($("cue-banner").dataset.code)) hideCue(); // the last set's "Done"
  }
  live.set = rep.set;
  live.lastSet = null;
  renderCount();
  renderStats(rep.depth, rep.down_s, rep.up_s);
  beep(prefs, rep.complete ? { frequency: 880 } : { frequency: 440, seconds: 0.2 });
  const count = prefs.count && rep.complete ? countWord(rep.set.reps) : null;
  say(prefs, count, showRepCoaching(rep.coaching));
}

function onPerson(person) {
  showActive(person);
  renderPerson(person);
}

function onSet(event) {
  if (event.event !== "end") return;
  const duration = live.set?.set_id === event.set_id && live.setStart !== null && live.poseT !== null ? live.poseT - live.setStart : null;
  live.lastSet = { ...event, duration, cues: "" };
  live.set = null;
  if (isFormCueShown()) hideCue(); // the set's summary takes its place
  live.setStart = null;
  renderCount();
  renderTimer();
  showLastSet(event.set_id);
}

function onHealth(health) {
  live.health = health;
  renderAdvice();
  const camera = health.camera ?? {};
  const cameraChip = $("health-camera");
  setText(cameraChip, `Camera ${camera.state ?? "–"}`);
  cameraChip.dataset.state = camera.state === "ok" ? "ok" : camera.state === "ended" ? "ended" : "bad";
  cameraChip.title = camera.error ?? camera.source ?? "";
  const backend = health.backend;
  const backendChip = $("health-backend");
  if (backend) {
    const text = `${backend.accelerator === "edgetpu" ? "Edge TPU" : "CPU"} · ${backend.model}`;
    if (backendChip.textContent !== text) {
      // The model's name only where there is room (a phone in portrait keeps the chips on one row).
      const model = document.createElement("span");
      model.className = "wide-only";
      model.textContent = ` · ${backend.model}`;
      backendChip.replaceChildren(text.split(" · ")[0], model);
    }
    backendChip.dataset.state = "ok";
    backendChip.title = `${backend.runtime}, ${backend.model_file}, ${backend.threads} threads`;
  } else {
    setText(backendChip, "Model not running");
    backendChip.dataset.state = "bad";
    backendChip.title = health.pipeline ?? "";
  }
  setText($("health-fps"), `${Math.round(health.fps ?? 0)} fps`);
  $("health-fps").dataset.state = camera.state === "ok" ? "ok" : "";
  const cameraWarning = (health.warnings ?? []).find((w) => w.kind === "camera");
  setText($("preview-empty").firstElementChild, camera.state === "ok" ? "Waiting for the picture…" : cameraWarning?.message ?? `Camera ${camera.state ?? "–"}`);
  renderBanners(bannerWarnings(health));
  renderOverlay();
}

// --- warnings: full-screen overlay or banner ------------------------------------------------

/** The warning that takes the whole screen, or null. */
function overlayWarning(health) {
  if (!health) return null;
  const warnings = health.warnings ?? [];
  const storage = warnings.find((w) => w.kind === "storage");
  if (storage) return { ...storage, title: storage.message, message: "" };
  const stopped = health.pipeline?.startsWith("stopped") ? health.pipeline.replace(/^stopped: /, "") : null;
  if (stopped) {
    return { kind: "stopped", title: "Not counting", message: stopped, fix: "Check the camera and model in Settings, or restart the service.", link: true };
  }
  if (OVERLAY_CAMERA_STATES.has(health.camera?.state)) {
    const camera = warnings.find((w) => w.kind === "camera");
    const title = camera?.message ?? (health.camera.state === "ended" ? "The video has ended." : "No camera found.");
    return { kind: `camera-${health.camera.state}`, title, message: camera?.detail ?? "", fix: camera?.fix ?? "", link: true, dismiss: true };
  }
  return null;
}

function bannerWarnings(health) {
  const shown = overlayWarning(health);
  const warnings = (health.warnings ?? []).filter((w) => !(shown && w.kind === shown.kind.split("-")[0]));
  const clock = phoneClockWarning(health);
  return clock ? [...warnings, clock] : warnings;
}

const CLOCK_NOTICE_S = 300; // RepCounter's clock and the phone's may differ this much unnoticed

/** RepCounter's clock against this phone's: a banner when they differ by minutes or more. */
function phoneClockWarning(health) {
  const deviceTime = health.clock?.time;
  if (typeof deviceTime !== "number") return null;
  const offset = deviceTime - Date.now() / 1000;
  if (Math.abs(offset) < CLOCK_NOTICE_S) return null;
  const size = Math.abs(offset);
  const amount = size >= 2 * 86400 ? `${Math.round(size / 86400)} days` : size >= 2 * 3600 ? `${Math.round(size / 3600)} hours` : `${Math.round(size / 60)} minutes`;
  return {
    kind: "phone-clock",
    message: `RepCounter's clock is ${amount} ${offset > 0 ? "ahead of" : "behind"} this phone's.`,
    fix: " Reps are dated by RepCounter's clock. If this phone's time is right, give the Pi a time source (internet, or a time server on your network) or set its date by hand (sudo date -s).",
  };
}

function renderBanners(warnings) {
  const box = $("banners");
  const key = JSON.stringify(warnings);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren(
    ...warnings.map((warning) => {
      const banner = document.createElement("p");
      banner.className = "banner";
      banner.dataset.kind = warning.kind;
      const message = document.createElement("strong");
      message.textContent = warning.message;
      const detail = warning.detail ? ` (${warning.detail}) ` : "";
      banner.append(message, document.createTextNode(`${detail}${warning.fix ?? ""}`));
      return banner;
    }),
  );
}

function renderOverlay() {
  let shown = null;
  if (live.unreachable) {
    shown = {
      kind: "unreachable",
      title: "Can't reach RepCounter",
      message: `The phone lost its connection to the device. Trying again${retryIn ? ` in ${retryIn} s` : "…"}`,
      fix: "Check that this phone is on the home Wi-Fi and that RepCounter is plugged in.",
      retry: true,
    };
  } else if (!live.loaded) {
    shown = { kind: "loading", title: "Connecting to RepCounter…", message: "Loading the live count.", fix: "" };
  } else {
    shown = overlayWarning(live.health);
    if (shown && live.dismissed === `${shown.kind}:${shown.message}`) shown = null;
  }
  const box = $("overlay");
  box.hidden = !shown;
  document.body.classList.toggle("overlay-open", Boolean(shown));
  if (!shown) return;
  box.dataset.kind = shown.kind;
  setText($("overlay-title"), shown.title);
  setText($("overlay-message"), shown.message);
  setText($("overlay-fix"), shown.fix);
  $("overlay-link").hidden = !shown.link;
  const button = $("overlay-retry");
  button.hidden = !shown.retry && !shown.dismiss;
  setText(button, shown.retry ? "Try again now" : "Show the count");
  button.onclick = shown.retry ? () => connect() : () => {
    live.dismissed = `${shown.kind}:${shown.message}`;
    renderOverlay();
  };
}

// --- skeleton -----------------------------------------------------------------------------

let drawPending = false;

function onPose(pose) {
  live.pose = pose;
  live.poseT = pose.t;
  sync.pose(pose); // drawn with its own picture, not before
  if (!drawPending) {
    drawPending = true;
    requestAnimationFrame(() => {
      drawPending = false;
      renderTimer();
    });
  }
}

// --- connection ---------------------------------------------------------------------------

let source = null;
let lastMessage = 0;
let retryMs = 1000;
let retryTimer = null;
let retryAt = 0;
let retryIn = 0;

function setConnection(state, text) {
  const chip = $("conn");
  chip.dataset.state = state;
  setText(chip, text);
}

/** The endless MJPEG answer would hold the page's load event: it starts after it. */
function startPreview() {
  if (document.readyState !== "complete") {
    window.addEventListener("load", startPreview, { once: true });
    return;
  }
  if (!source || !previewShown() || sync.running) return;
  preview.dataset.streaming = "true";
  sync
    .start(`${frameCanvas.dataset.src}?t=${Date.now()}`)
    .then((ended) => ended && retryPreview())
    .catch(retryPreview);
}

/** The picture stopped (the device restarts, a network hiccup): try again shortly. */
function retryPreview() {
  sync.stop();
  preview.classList.remove("has-image");
  preview.dataset.streaming = "false";
  if (source) setTimeout(startPreview, 2000);
}

function stopStreams() {
  source?.close();
  source = null;
  sync.stop();
  preview.dataset.streaming = "false";
  preview.classList.remove("has-image");
  clearTimeout(retryTimer);
}

function connect() {
  stopStreams();
  setConnection("connecting", "Connecting…");
  source = new EventSource("/api/events");
  lastMessage = Date.now();
  const handlers = {
    state: onState, rep: onRep, set: onSet, health: onHealth, pose: onPose, person: onPerson,
    cue: (cue) => (cue.training ? onTrainingCue(cue) : showCue(cue)), record: onRecord,
  };
  for (const [kind, handler] of Object.entries(handlers)) {
    source.addEventListener(kind, (event) => {
      lastMessage = Date.now();
      handler(JSON.parse(event.data));
    });
  }
  source.onopen = () => {
    retryMs = 1000;
    live.unreachable = false;
    setConnection("ok", "Live");
    startPreview();
    renderOverlay();
  };
  source.onerror = () => {
    setConnection("bad", "Reconnecting…");
    if (source?.readyState === EventSource.CLOSED) scheduleReconnect();
    else checkReachable();
  };
}

/** While the browser retries the stream by itself: is the device there at all? */
async function checkReachable() {
  try {
    await api("/api/auth");
  } catch {
    live.unreachable = true;
    renderOverlay();
  }
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
    live.unreachable = true; // keep trying
  }
  retryAt = Date.now() + retryMs;
  retryTimer = setTimeout(connect, retryMs);
  retryMs = Math.min(retryMs * 2, 15000);
  renderOverlay();
}

setInterval(() => {
  if (source && document.visibilityState === "visible" && Date.now() - lastMessage > STALE_MS) {
    scheduleReconnect();
  }
  retryIn = source ? 0 : Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
  if (live.unreachable) renderOverlay();
  renderTimer();
}, 1000);
setInterval(() => {
  if (live.restEndsAt !== null) renderCount(); // the rest countdown
}, 250);

document.addEventListener("visibilitychange", () => {
  // A phone in a pocket should not hold two of the device's server threads.
  if (document.visibilityState === "hidden") stopStreams();
  else connect();
});
window.addEventListener("online", () => connect());
new ResizeObserver(() => redrawSkeleton()).observe(canvas);

// --- preview on or off (tap the picture or the button) ------------------------------------

function renderPreview() {
  const shown = previewShown();
  document.body.classList.toggle("preview-off", !shown);
  const button = $("preview-toggle");
  button.setAttribute("aria-pressed", String(shown));
  setText(button, shown ? "Hide camera" : "Show camera");
  if (!shown) {
    sync.stop();
    preview.dataset.streaming = "false";
    preview.classList.remove("has-image");
  } else if (!sync.running) startPreview();
}

function togglePreview() {
  setPreviewShown(!previewShown());
  renderPreview();
}

$("preview-toggle").addEventListener("click", togglePreview);
preview.addEventListener("click", togglePreview);

// --- controls for the moments the count is wrong -----------------------------------------

$("ctl-minus").addEventListener("click", () => control("/api/live/adjust", { delta: -1 }));
$("ctl-plus").addEventListener("click", () => control("/api/live/adjust", { delta: 1 }));
$("ctl-end").addEventListener("click", () => control("/api/live/end-set"));
$("ctl-skip").addEventListener("click", () => control("/api/live/rest", { action: "skip" }));
$("ctl-longer").addEventListener("click", () => control("/api/live/rest", { action: "longer" }));
$("ctl-pause").addEventListener("click", () => control("/api/live/pause", { paused: !live.paused }));

// --- sound and keeping the screen on ------------------------------------------------------

function renderSound() {
  const button = $("sound");
  button.setAttribute("aria-pressed", String(prefs.enabled));
  setText(button, prefs.enabled ? "Sound on" : "Sound off");
  // Sound is on but the browser has not allowed it yet: a tap anywhere starts it.
  $("tap-prompt").hidden = !prefs.enabled || ready();
}

$("sound").addEventListener("click", async () => {
  prefs = { ...loadPrefs(), enabled: !prefs.enabled };
  savePrefs(prefs);
  if (prefs.enabled) {
    await unlock();
    beep(prefs);
  } else if ("speechSynthesis" in window) {
    window.speechSynthesis.cancel();
  }
  renderSound();
});

/** Browsers start audio (and the fallback that keeps the screen on) only after a gesture. */
async function onGesture() {
  keepAwake();
  await unlock();
  renderSound();
}

document.addEventListener("pointerdown", onGesture);
document.addEventListener("keydown", onGesture);
window.addEventListener("storage", () => {
  prefs = loadPrefs();
  renderSound();
});

if (prefs.enabled) unlock().then(renderSound);
keepAwake();
renderSound();
renderPreview();
renderCount();
loadPeople();
connect();
