// Personal records in words, for the History page's list and the live page's celebration.
// Depth is 1.0 at the target depth and higher when deeper (squats and push-ups alike).

const EXERCISE_WORDS = { squat: "squats", pushup: "push-ups" };
const TOAST_MS = 6000;

export const RECORD_KINDS = {
  set_reps: "Most in a set",
  day_reps: "Most in a day",
  depth: "Best average depth of a set",
  streak: "Longest streak",
};

/** A record's value as shown: reps, a depth in % of the target, or days. */
export function recordValue(kind, value) {
  if (kind === "depth") return `${Math.round(value * 100)}%`;
  if (kind === "streak") return `${value} ${value === 1 ? "day" : "days"}`;
  return `${value} reps`;
}

/** "New record for Sam: most squats in a set, 12 reps (was 10 reps)". */
export function recordSentence(record) {
  const what = {
    set_reps: `most ${EXERCISE_WORDS[record.exercise] ?? record.exercise} in a set`,
    day_reps: `most ${EXERCISE_WORDS[record.exercise] ?? record.exercise} in a day`,
    depth: `deepest set of ${EXERCISE_WORDS[record.exercise] ?? record.exercise}`,
    streak: `longest streak of ${EXERCISE_WORDS[record.exercise] ?? record.exercise}`,
  }[record.record] ?? record.record;
  const who = record.person ? ` for ${record.person}` : "";
  return `New record${who}: ${what}, ${recordValue(record.record, record.value)} (was ${recordValue(record.record, record.previous)})`;
}

/** A short celebration at the bottom of the page (the top bar stays usable); several records
of one set queue up. */
export function showRecordToast(record) {
  let box = document.getElementById("record-toasts");
  if (!box) {
    box = document.createElement("div");
    box.id = "record-toasts";
    box.className = "record-toasts";
    box.setAttribute("role", "status");
    box.setAttribute("aria-live", "polite");
    document.body.append(box);
  }
  const toast = document.createElement("p");
  toast.className = "record-toast";
  toast.dataset.record = record.record;
  toast.textContent = recordSentence(record);
  box.append(toast);
  setTimeout(() => toast.remove(), TOAST_MS);
}
