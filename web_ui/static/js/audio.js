// Sound on the phone: a short WebAudio beep per rep and spoken cues (Web Speech API).
// The choices live in this browser's localStorage; browsers allow sound only after a tap.

const KEY = "repcounter.audio";
const DEFAULTS = { enabled: false, beep: true, speak: true, volume: 0.8 };

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

/** Create or resume the audio context; call from a tap or key press. */
export function unlock() {
  const Context = window.AudioContext ?? window.webkitAudioContext;
  if (!Context) return;
  context ??= new Context();
  if (context.state === "suspended") context.resume();
}

/** A short sine beep: high for a complete rep, low for a partial one. */
export function beep(prefs, { frequency = 880, seconds = 0.12 } = {}) {
  if (!context || !prefs.enabled || !prefs.beep) return;
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

/** Speak a cue, replacing one still being spoken. */
export function say(prefs, text) {
  if (!prefs.enabled || !prefs.speak || !("speechSynthesis" in window)) return;
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.volume = prefs.volume;
  utterance.rate = 1.05;
  window.speechSynthesis.cancel();
  window.speechSynthesis.speak(utterance);
}
