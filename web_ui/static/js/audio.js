// Sound on the phone: a short WebAudio beep per rep, the count and the cues spoken (Web Speech
// API), and the training cues ("3 to go", "done", the rest's "get ready" beeps). The choices
// live in this browser's localStorage; browsers allow sound only after a tap, so `ready()` says
// whether sound can play now.

const KEY = "repcounter.audio";
const DEFAULTS = { enabled: false, beep: true, speak: true, count: true, volume: 0.8 };
const NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
  "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"];

let context = null;

export function loadPrefs() {
  try {
    return { ...DEFAULTS, ...JSON.parse(localStorage.getItem(KEY) ?? "{}") };
  } catch {
    return { ...DEFAULTS };
  }
}

export function savePrefs(prefs) {
  localStorage.setItem(KEY, JSON.stringify(prefs));
}

/** Create or resume the audio context; from a tap or key press it starts for sure. */
export async function unlock() {
  const Context = window.AudioContext ?? window.webkitAudioContext;
  if (!Context) return;
  context ??= new Context();
  if (context.state === "suspended") {
    try {
      await context.resume();
    } catch {
      // still suspended: ready() stays false and the page asks for a tap
    }
  }
}

/** True when a beep would be heard now (the audio context runs). */
export function ready() {
  return context?.state === "running";
}

/** A short sine beep: high for a complete rep, low for a partial one. */
export function beep(prefs, { frequency = 880, seconds = 0.12 } = {}) {
  if (!ready() || !prefs.enabled || !prefs.beep) return;
  const start = context.currentTime;
  const oscillator = context.createOscillator();
  const gain = context.createGain();
  oscillator.type = "sine";
  oscillator.frequency.value = frequency;
  gain.gain.setValueAtTime(0.0001, start);
  gain.gain.exponentialRampToValueAtTime(Math.max(0.0002, prefs.volume), start + 0.01);
  gain.gain.exponentialRampToValueAtTime(0.0001, start + seconds);
  oscillator.connect(gain).connect(context.destination);
  oscillator.start(start);
  oscillator.stop(start + seconds + 0.02);
}

/** A rep count as a word for the speech engine ("seven"); digits past twenty. */
export function countWord(n) {
  return NUMBER_WORDS[n] ?? String(n);
}

/** Speak the texts in order, replacing whatever is still being spoken (the caller picks the
texts by prefs.speak for cues and prefs.count for counts). Like a beep, only once a tap has
allowed sound: browsers drop speech before it, and the page then asks for that tap. */
export function say(prefs, ...texts) {
  if (!ready() || !prefs.enabled || !texts.some(Boolean) || !("speechSynthesis" in window)) return;
  window.speechSynthesis.cancel();
  for (const text of texts.filter(Boolean)) sayNext(prefs, text);
}

/** Speak a text after whatever is being said (the count before "3 to go"), under the same
conditions as say(). */
export function sayNext(prefs, text) {
  if (!ready() || !prefs.enabled || !text || !("speechSynthesis" in window)) return;
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.volume = prefs.volume;
  utterance.rate = 1.05;
  window.speechSynthesis.speak(utterance);
}
