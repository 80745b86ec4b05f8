// The history page, for everyone or one person: this week against last week, the streak,
// records, the weekly trend, charts of reps per day/week and of depth, sessions with their sets
// (each one editable: its count with a reason, deleted or restored, moved to another person),
// and the exports.

import { api, setText } from "./api.js";
import { barChart, depthChart, EXERCISES, trendChart } from "./charts.js";
import { RECORD_KINDS, recordValue } from "./records.js";

const $ = (id) => document.getElementById(id);
const PAGE = 10;
const SLOTS = { day: 14, week: 12 };
const DAY_MS = 86400000;

const state = { sessions: [], sets: [], reps: [], deleted: new Set(), offset: 0, period: "day", person: null, people: [] };

/** The person filter as a query parameter ("" for everyone). */
const personParam = (first = false) => (state.person === null ? "" : `${first ? "?" : "&"}person=${state.person}`);
const exerciseLabel = (name) => EXERCISES[name]?.label ?? name;
const personName = (id) => state.people.find((person) => person.id === id)?.name ?? `Person ${id}`;

// --- periods (the server groups by the device's local day and Monday-based week "%Y-W%W") ----

const pad = (n) => String(n).padStart(2, "0");
const dayKey = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const parseDay = (key) => {
  const [y, m, d] = key.split("-").map(Number);
  return new Date(y, m - 1, d);
};

/** The Monday that starts week "YYYY-Www" (week 00 holds the days before the first Monday). */
function mondayOfWeek(key) {
  const [year, week] = key.split("-W").map(Number);
  const jan1 = new Date(year, 0, 1);
  const firstMonday = 1 + ((8 - jan1.getDay()) % 7);
  return new Date(year, 0, firstMonday + (week - 1) * 7);
}

const mondayOf = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate() - ((d.getDay() + 6) % 7));
const shortDate = (d) => d.toLocaleDateString(undefined, { day: "numeric", month: "short" });

/** Slots ending at the latest period (today, unless the history is older than the window). */
function slots(period, rows) {
  const step = period === "day" ? 1 : 7;
  const toDate = period === "day" ? (row) => parseDay(row.period) : (row) => mondayOfWeek(row.period);
  const today = period === "day" ? new Date() : mondayOf(new Date());
  const rowDates = rows.map(toDate);
  const newest = rowDates.reduce((a, b) => (b > a ? b : a), null);
  const count = SLOTS[period];
  const end = newest && (today - newest) / DAY_MS > count * step ? newest : today;
  const keys = [];
  for (let i = count - 1; i >= 0; i -= 1) {
    keys.push(dayKey(new Date(end.getFullYear(), end.getMonth(), end.getDate() - i * step)));
  }
  const dayLabel = (d) => d.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short" });
  const dates = keys.map(parseDay);
  const labels = dates.map((d) => (period === "day" ? dayLabel(d) : `Week of ${shortDate(d)}`));
  const groups = {};
  rows.forEach((row, i) => {
    const slot = keys.indexOf(dayKey(rowDates[i]));
    if (slot < 0) return;
    groups[row.exercise] ??= keys.map(() => 0);
    groups[row.exercise][slot] += row.reps;
  });
  if (!Object.keys(groups).length) groups.squat = keys.map(() => 0);
  return { dates, labels, groups };
}

/** The chart in words, for screen readers: every slot with reps. */
function describeTotals(period, labels, groups) {
  const names = Object.keys(groups);
  const days = labels
    .map((label, i) => {
      const parts = names.filter((name) => groups[name][i]).map((name) => `${groups[name][i]} ${(EXERCISES[name]?.label ?? name).toLowerCase()}`);
      return parts.length ? `${label}: ${parts.join(", ")}` : null;
    })
    .filter(Boolean);
  return `Complete reps per ${period}, ${labels.length} ${period}s up to ${labels.at(-1)}. ${days.length ? days.join("; ") : "No reps."}`;
}

async function drawTotals() {
  const { totals } = await api(`/api/totals?period=${state.period}&limit=1000${personParam()}`);
  const { dates, labels, groups } = slots(state.period, totals);
  setText($("period-name"), state.period);
  const element = $("reps-chart");
  barChart(element, { dates, labels, groups, period: state.period, readout: $("reps-readout") });
  element.setAttribute("aria-label", describeTotals(state.period, labels, groups));
}

// --- this week, streak, trend and records ----------------------------------------------------

function change(now, before) {
  if (now === before) return "±0";
  return now > before ? `+${now - before}` : `−${before - now}`;
}

async function drawProgress() {
  const progress = await api(`/api/progress${personParam(true)}`);
  const names = Object.keys(progress.this_week);
  const rows = names.map((name) => {
    const row = document.createElement("tr");
    const now = progress.this_week[name];
    const before = progress.last_week[name];
    row.append(cell("th", exerciseLabel(name), { scope: "row" }), cell("td", String(now)), cell("td", String(before)), cell("td", change(now, before)));
    return row;
  });
  if (!rows.length) {
    const row = document.createElement("tr");
    row.append(cell("td", "No sets yet.", { colspan: "4" }));
    rows.push(row);
  }
  $("progress").tBodies[0].replaceChildren(...rows);
  const { current, longest } = progress.streak;
  const days = (n) => `${n} ${n === 1 ? "day" : "days"}`;
  let streak = "No streak now: a set today starts one";
  if (current) streak = current === 1 ? "Streak: 1 day" : `Streak: ${days(current)} in a row`;
  setText($("streak"), `${streak} · longest ${days(longest)}`);
  const element = $("trend-chart");
  if (!names.length) {
    element.replaceChildren(cell("p", "No reps yet.", { class: "empty" }));
    return;
  }
  trendChart(element, progress, $("trend-readout"));
  const weeks = progress.weeks.length;
  const words = names.map((name) => `${exerciseLabel(name)}: ${progress.trend[name].reps.join(", ")}`);
  element.setAttribute("aria-label", `Reps per week over the last ${weeks} weeks, oldest first. ${words.join(". ")}.`);
}

function recordLine(kind, record, everyone) {
  const item = document.createElement("div");
  item.className = "record";
  item.dataset.record = kind;
  const value = record ? recordValue(kind, record.value) : "–";
  item.append(cell("dt", RECORD_KINDS[kind]), cell("dd", value));
  if (!record) return item;
  const day = (key) => parseDay(key).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
  let note = "";
  if (record.at) note = new Date(record.at * 1000).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
  else if (record.day) note = day(record.day);
  else if (record.from) note = record.from === record.to ? day(record.from) : `${day(record.from)} – ${day(record.to)}`;
  if (everyone && record.person_id) note += ` · ${personName(record.person_id)}`;
  item.querySelector("dd").append(cell("span", note, { class: "sub" }));
  return item;
}

async function drawRecords() {
  const { records } = await api(`/api/records${personParam(true)}`);
  const box = $("records");
  if (!records.length) {
    box.replaceChildren(cell("p", "No records yet: they start with a second set of an exercise.", { class: "empty-note" }));
    return;
  }
  box.replaceChildren(
    ...records.map((exercise) => {
      const group = document.createElement("section");
      group.className = "records-exercise";
      const list = document.createElement("dl");
      for (const kind of Object.keys(RECORD_KINDS)) list.append(recordLine(kind, exercise[kind], state.person === null));
      group.append(cell("h3", exerciseLabel(exercise.exercise)), list);
      return group;
    }),
  );
}

// --- sessions -----------------------------------------------------------------------------

const mean = (values) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : null);
const when = (t) =>
  new Date(t * 1000).toLocaleString(undefined, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
const minutes = (seconds) => (seconds < 60 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 60)} min`);

function cell(tag, text, attrs = {}) {
  const element = document.createElement(tag);
  element.textContent = text;
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
  return element;
}

/** The set's form score: the share of its reps (complete and partial) with no form cue. */
function formScore(setId, reps) {
  const mine = reps.filter((rep) => rep.set_id === setId);
  return mine.length ? mine.filter((rep) => !rep.cues.length).length / mine.length : null;
}

const percent = (share) => (share === null ? "–" : `${Math.round(share * 100)}%`);

function setRow(set, reps) {
  const mine = reps.filter((rep) => rep.set_id === set.id);
  const complete = mine.filter((rep) => rep.complete);
  const depth = mean(complete.map((rep) => rep.depth));
  const down = mean(mine.map((rep) => rep.down_s));
  const up = mean(mine.map((rep) => rep.up_s));
  const row = document.createElement("tr");
  row.dataset.setId = set.id;
  row.set = set; // for opening its editor again after a save
  if (set.deleted_at) row.classList.add("deleted");
  const name = cell("th", exerciseLabel(set.exercise), { scope: "row" });
  let sub = new Date(set.started_at * 1000).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (state.person === null) sub += ` · ${set.person}`;
  name.append(cell("span", sub, { class: "sub" }));
  const edit = cell("button", "Edit", { type: "button", class: "set-edit-open", "aria-expanded": "false", "aria-label": `Edit the set of ${exerciseLabel(set.exercise).toLowerCase()} at ${sub}` });
  edit.addEventListener("click", () => toggleEditor(row, set, edit));
  name.append(edit);
  const count = cell("td", String(set.reps));
  if (set.corrected_reps !== null) count.append(cell("span", `counted ${set.counted_reps}`, { class: "sub corrected", title: set.correction_reason ?? "" }));
  if (set.deleted_at) count.append(cell("span", "deleted", { class: "sub" }));
  row.append(
    name,
    count,
    cell("td", String(set.partial_reps)),
    cell("td", depth === null ? "–" : `${Math.round(depth * 100)}%`),
    cell("td", down === null ? "–" : `${down.toFixed(1)}/${up.toFixed(1)}`, { title: "Average seconds down / up" }),
    cell("td", percent(formScore(set.id, reps)), { class: "form-score", title: "Reps without a form cue" }),
  );
  return row;
}

// --- editing a set: its count (with a reason), delete or restore, move to another person ------

function describeCorrection(entry) {
  const at = new Date(entry.at * 1000).toLocaleString(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  let what;
  if (entry.field === "reps") what = `count ${entry.before} → ${entry.after}`;
  else if (entry.field === "deleted") what = entry.after === null ? "restored" : "deleted";
  else what = `moved from ${personName(Number(entry.before))} to ${personName(Number(entry.after))}`;
  return `${at}: ${what}${entry.reason ? ` (${entry.reason})` : ""}`;
}

async function toggleEditor(row, set, button) {
  const open = row.nextElementSibling?.classList.contains("set-editor");
  if (open) {
    row.nextElementSibling.remove();
    button.setAttribute("aria-expanded", "false");
    return;
  }
  for (const other of document.querySelectorAll(".session tr.set-editor")) {
    other.previousElementSibling?.querySelector(".set-edit-open")?.setAttribute("aria-expanded", "false");
    other.remove(); // one set is edited at a time
  }
  const editor = document.createElement("tr");
  editor.className = "set-editor";
  const holder = document.createElement("td");
  holder.colSpan = 6;
  editor.append(holder);
  row.after(editor);
  button.setAttribute("aria-expanded", "true");
  try {
    const { corrections } = await api(`/api/sets/${set.id}`);
    holder.append(editorForm(set, corrections, row));
    holder.querySelector("input, button")?.focus({ preventScroll: true });
  } catch (error) {
    holder.append(cell("p", `Could not load the set: ${error.message}`, { class: "form-error", role: "alert" }));
  }
}

/** "Saved: count 8 → 10" under a set's row after the list reloads, for a few seconds. */
function showSaved(setId, text) {
  const row = document.querySelector(`.session tr[data-set-id="${setId}"]`);
  if (!row) return;
  const note = document.createElement("tr");
  note.className = "set-saved";
  const td = cell("td", text, { role: "status", colspan: "5" });
  note.append(td);
  row.after(note);
  setTimeout(() => note.remove(), 6000);
}

const SAVED = { reps: (body) => `count ${body.reps}`, delete: (body) => (body.delete ? "deleted" : "restored"), person_id: (body) => `moved to ${personName(body.person_id)}` };

function editorForm(set, corrections, row) {
  const form = document.createElement("form");
  form.className = "set-edit";
  form.noValidate = true;
  const id = `set-${set.id}`;
  const error = cell("p", "", { class: "form-error", role: "alert", id: `${id}-error` });
  const send = async (body, field) => {
    setText(error, "");
    const top = row.getBoundingClientRect().top; // the row stays where it is on the screen
    try {
      await api(`/api/sets/${set.id}/correction`, { method: "POST", body });
      await reload();
      const again = document.querySelector(`.session tr[data-set-id="${set.id}"]`);
      if (!again) return; // moved to someone not shown
      await toggleEditor(again, again.set, again.querySelector(".set-edit-open")); // with its new log
      const what = Object.keys(SAVED).find((key) => key in body);
      showSaved(set.id, `Saved ✓ ${SAVED[what](body)}`);
      window.scrollBy(0, again.getBoundingClientRect().top - top);
    } catch (failure) {
      // The message beside the field it is about (the reason, the count...), on screen.
      const control = form.querySelector(`[name="${failure.body?.field}"]`) ?? field;
      (control?.closest(".field") ?? control)?.after(error);
      setText(error, failure.message);
      control?.focus({ preventScroll: true });
      error.scrollIntoView({ block: "nearest" });
    }
  };
  if (!set.deleted_at) {
    const reps = cell("input", "", { type: "number", name: "reps", id: `${id}-reps`, min: "0", max: "1000", inputmode: "numeric", value: String(set.reps), "aria-describedby": `${id}-error` });
    const reason = cell("input", "", { type: "text", name: "reason", id: `${id}-reason`, maxlength: "200", placeholder: "Why? e.g. two reps hidden by the bench", "aria-describedby": `${id}-error` });
    const save = cell("button", "Save count", { type: "submit", class: "primary" });
    const counted = cell("p", `Counted by RepCounter: ${set.counted_reps}${set.corrected_reps !== null ? `, corrected to ${set.corrected_reps}` : ""}.`, { class: "sub" });
    form.append(
      counted,
      label("Reps", reps),
      label("Reason", reason),
      save,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = reps.value.trim() === "" ? null : Number(reps.value);
      send({ reps: Number.isInteger(value) ? value : reps.value, reason: reason.value }, reps);
    });
    const others = state.people.filter((person) => person.id !== set.person_id);
    if (others.length) {
      const select = cell("select", "", { name: "person_id", id: `${id}-person` });
      for (const person of others) select.append(cell("option", person.name, { value: String(person.id) }));
      const move = cell("button", "Move", { type: "button" });
      move.addEventListener("click", () => send({ person_id: Number(select.value), reason: reason.value }, select));
      form.append(label("Move to", select), move);
    }
  }
  const remove = cell("button", set.deleted_at ? "Restore the set" : "Delete the set", { type: "button", name: "delete", class: set.deleted_at ? "" : "danger" });
  remove.addEventListener("click", () => send({ delete: !set.deleted_at }, remove));
  form.append(remove, error);
  if (corrections.length) {
    const log = document.createElement("ul");
    log.className = "corrections";
    for (const entry of corrections) log.append(cell("li", describeCorrection(entry)));
    form.append(cell("p", "Changes", { class: "sub" }), log);
  }
  return form;
}

function label(text, control) {
  const wrapper = cell("label", text, { for: control.id });
  const box = document.createElement("div");
  box.className = "field";
  box.append(wrapper, control);
  return box;
}

function sessionCard(session, detail, reps) {
  const card = document.createElement("article");
  card.className = "card session";
  card.dataset.sessionId = session.id;
  const heading = cell("h3", when(session.started_at));
  const deleted = session.deleted_sets ? ` (${session.deleted_sets} deleted)` : "";
  heading.append(
    cell("span", ` · ${minutes(session.ended_at - session.started_at)} · ${session.sets} ${session.sets === 1 ? "set" : "sets"}${deleted} · ${session.reps} reps`, { class: "sub" }),
  );
  const table = document.createElement("table");
  table.append(cell("caption", `Sets of the session on ${when(session.started_at)}`, { class: "visually-hidden" }));
  const head = document.createElement("tr");
  for (const title of ["Set", "Reps", "Partial", "Depth", "Down/up s", "Form"]) head.append(cell("th", title, { scope: "col" }));
  table.createTHead().append(head);
  const body = table.createTBody();
  for (const set of detail.sets) body.append(setRow(set, reps));
  card.append(heading, table);
  return card;
}

async function loadSessions() {
  const { sessions } = await api(`/api/sessions?limit=${PAGE}&offset=${state.offset}${personParam()}`);
  state.offset += sessions.length;
  $("more").hidden = sessions.length < PAGE;
  if (!sessions.length) return;
  const since = Math.min(...sessions.map((s) => s.started_at));
  const [details, { reps }] = await Promise.all([
    Promise.all(sessions.map((s) => api(`/api/sessions/${s.id}${personParam(true)}`))),
    api(`/api/reps?since=${since}&limit=10000${personParam()}`),
  ]);
  const known = new Set(state.reps.map((rep) => rep.id));
  state.reps.push(...reps.filter((rep) => !known.has(rep.id)));
  for (const detail of details) for (const set of detail.sets) if (set.deleted_at) state.deleted.add(set.id);
  state.sets.push(...details.flatMap((detail) => detail.sets));
  state.sessions.push(...sessions);
  sessions.forEach((session, i) => $("sessions").append(sessionCard(session, details[i], state.reps)));
}

const FORM_SETS = 8; // the last sets shown per person and exercise
const FORM_STEP = 0.1; // a change of the mean score this large between halves is a trend

/** Form per set, per person and exercise: the last sets' scores, oldest first, and the trend
 * (the newer half's mean score against the older half's). */
function drawForm() {
  const groups = new Map();
  const sets = state.sets.filter((set) => !set.deleted_at).sort((a, b) => a.started_at - b.started_at);
  for (const set of sets) {
    const score = formScore(set.id, state.reps);
    if (score === null) continue;
    const key = `${set.person ?? ""}\u0000${set.exercise}`;
    if (!groups.has(key)) groups.set(key, { person: set.person, exercise: set.exercise, scores: [] });
    groups.get(key).scores.push(score);
  }
  const rows = [...groups.values()].map(({ person, exercise, scores }) => {
    const last = scores.slice(-FORM_SETS);
    const half = Math.floor(last.length / 2);
    let trend = "";
    if (half) {
      const change = mean(last.slice(-half)) - mean(last.slice(0, half));
      trend = change >= FORM_STEP ? "better" : change <= -FORM_STEP ? "worse" : "steady";
    }
    const who = state.person === null && state.people.length > 1 && person ? ` · ${person}` : "";
    const row = document.createElement("li");
    row.append(cell("strong", `${exerciseLabel(exercise)}${who}`), cell("span", ` ${last.map(percent).join(" → ")}`));
    if (trend) row.append(cell("span", ` · ${trend}`, { class: `trend ${trend}` }));
    return row;
  });
  const list = $("form-trend");
  list.replaceChildren(...rows);
  $("form-empty").hidden = rows.length > 0;
}

function drawDepth() {
  const element = $("depth-chart");
  const reps = state.reps.filter((rep) => !state.deleted.has(rep.set_id));
  if (!reps.length) {
    element.replaceChildren(cell("p", "No reps yet.", { class: "empty" }));
    return;
  }
  depthChart(element, reps, $("depth-readout"));
}

// --- whose history ----------------------------------------------------------------------------

function renderPeople() {
  const box = $("people-filter");
  const chips = [{ id: null, name: "Everyone" }, ...state.people].map((person) => {
    const chip = cell("button", person.name, { type: "button", class: "person-chip", "aria-pressed": String(person.id === state.person) });
    chip.dataset.person = person.id ?? "everyone";
    if (person.colour) chip.style.setProperty("--person", person.colour);
    chip.addEventListener("click", () => choosePerson(person.id));
    return chip;
  });
  box.replaceChildren(...chips);
  box.hidden = state.people.length < 2;
  for (const fmt of ["csv", "json"]) $(`export-${fmt}`).href = `/api/export?format=${fmt}${personParam()}`;
  $("export-sets-csv").href = `/api/export?format=csv&rows=sets${personParam()}`;
}

async function choosePerson(id) {
  state.person = id;
  const url = new URL(window.location.href);
  if (id === null) url.searchParams.delete("person");
  else url.searchParams.set("person", String(id));
  window.history.replaceState(null, "", url);
  renderPeople();
  await reload();
}

async function loadPeople() {
  const { people } = await api("/api/people");
  state.people = people;
  const wanted = Number(new URLSearchParams(window.location.search).get("person"));
  state.person = people.some((person) => person.id === wanted) ? wanted : null;
  renderPeople();
}

async function reload() {
  Object.assign(state, { sessions: [], sets: [], reps: [], deleted: new Set(), offset: 0 });
  $("sessions").replaceChildren();
  setText($("history-status"), "Loading…");
  try {
    await Promise.all([drawTotals(), loadSessions(), drawProgress(), drawRecords()]);
    drawDepth();
    drawForm();
    const whose = state.person === null ? "" : ` for ${personName(state.person)}`;
    setText($("history-status"), state.sessions.length ? "" : `No workouts yet${whose}: sets appear here after the first rep.`);
  } catch (error) {
    setText($("history-status"), `Could not load the history: ${error.message}`);
  }
}

async function main() {
  try {
    await loadPeople();
  } catch (error) {
    setText($("history-status"), `Could not load the people: ${error.message}`);
  }
  await reload();
}

for (const button of document.querySelectorAll("[data-period]")) {
  button.addEventListener("click", async () => {
    state.period = button.dataset.period;
    for (const other of document.querySelectorAll("[data-period]")) {
      other.setAttribute("aria-pressed", String(other === button));
    }
    await drawTotals();
  });
}

$("more").addEventListener("click", async () => {
  await loadSessions();
  drawDepth();
  drawForm();
});

main();
