// The history page: sessions with their sets, charts of reps per day/week and of depth, exports.

import { api, setText } from "./api.js";
import { barChart, depthChart, EXERCISES } from "./charts.js";

const $ = (id) => document.getElementById(id);
const PAGE = 10;
const SLOTS = { day: 14, week: 12 };
const DAY_MS = 86400000;

const state = { sessions: [], reps: [], offset: 0, period: "day" };

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
  const { totals } = await api(`/api/totals?period=${state.period}&limit=1000`);
  const { dates, labels, groups } = slots(state.period, totals);
  setText($("period-name"), state.period);
  const element = $("reps-chart");
  barChart(element, { dates, labels, groups, period: state.period, readout: $("reps-readout") });
  element.setAttribute("aria-label", describeTotals(state.period, labels, groups));
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

function setRow(set, reps) {
  const mine = reps.filter((rep) => rep.set_id === set.id);
  const complete = mine.filter((rep) => rep.complete);
  const depth = mean(complete.map((rep) => rep.depth));
  const down = mean(mine.map((rep) => rep.down_s));
  const up = mean(mine.map((rep) => rep.up_s));
  const row = document.createElement("tr");
  const name = cell("th", EXERCISES[set.exercise]?.label ?? set.exercise, { scope: "row" });
  name.append(cell("span", new Date(set.started_at * 1000).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }), { class: "sub" }));
  row.append(
    name,
    cell("td", String(set.reps)),
    cell("td", String(set.partial_reps)),
    cell("td", depth === null ? "–" : `${Math.round(depth * 100)}%`),
    cell("td", down === null ? "–" : `${down.toFixed(1)}/${up.toFixed(1)}`, { title: "Average seconds down / up" }),
  );
  return row;
}

function sessionCard(session, detail, reps) {
  const card = document.createElement("article");
  card.className = "card session";
  card.dataset.sessionId = session.id;
  const heading = cell("h3", when(session.started_at));
  heading.append(
    cell("span", ` · ${minutes(session.ended_at - session.started_at)} · ${session.sets} ${session.sets === 1 ? "set" : "sets"} · ${session.reps} reps`, { class: "sub" }),
  );
  const table = document.createElement("table");
  table.append(cell("caption", `Sets of the session on ${when(session.started_at)}`, { class: "visually-hidden" }));
  const head = document.createElement("tr");
  for (const title of ["Set", "Reps", "Partial", "Depth", "Down/up s"]) head.append(cell("th", title, { scope: "col" }));
  table.createTHead().append(head);
  const body = table.createTBody();
  for (const set of detail.sets) body.append(setRow(set, reps));
  card.append(heading, table);
  return card;
}

async function loadSessions() {
  const { sessions } = await api(`/api/sessions?limit=${PAGE}&offset=${state.offset}`);
  state.offset += sessions.length;
  $("more").hidden = sessions.length < PAGE;
  if (!sessions.length) return;
  const since = Math.min(...sessions.map((s) => s.started_at));
  const [details, { reps }] = await Promise.all([
    Promise.all(sessions.map((s) => api(`/api/sessions/${s.id}`))),
    api(`/api/reps?since=${since}&limit=10000`),
  ]);
  const known = new Set(state.reps.map((rep) => rep.id));
  state.reps.push(...reps.filter((rep) => !known.has(rep.id)));
  state.sessions.push(...sessions);
  sessions.forEach((session, i) => $("sessions").append(sessionCard(session, details[i], state.reps)));
}

function drawDepth() {
  const element = $("depth-chart");
  if (!state.reps.length) {
    element.replaceChildren(cell("p", "No reps yet.", { class: "empty" }));
    return;
  }
  depthChart(element, state.reps, $("depth-readout"));
}

async function main() {
  try {
    await Promise.all([drawTotals(), loadSessions()]);
    drawDepth();
    setText($("history-status"), state.sessions.length ? "" : "No workouts yet: your sets appear here after your first rep.");
  } catch (error) {
    setText($("history-status"), `Could not load the history: ${error.message}`);
  }
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
});

main();
