// "Who's training?" on the live page: one chip per person (colour and name); a tap switches who
// trains (PUT /api/person, the device remembers it for every phone). "+ Add" and "Edit" open a
// dialog for the name, colour, rest time, targets per exercise and the workout plan. Adding a
// person does not switch to them (the one training keeps their set): a tap on their chip does.
// A new person's colour is the first of PALETTE far from everyone else's.

import { api, ApiError, setText } from "./api.js";

const $ = (id) => document.getElementById(id);
const EXERCISES = { squat: "Squats", pushup: "Push-ups" };
const FIELDS = ["name", "colour", "rest_s", "targets", "plan"];
// Easy to tell apart from each other and from the first person's blue (#1e88e5).
const PALETTE = ["#e67e22", "#2ecc71", "#e84393", "#9b59b6", "#f1c40f", "#1abc9c", "#e74c3c", "#95a5a6"];
const DISTINCT = 140; // the least RGB distance to every colour in use

const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
const distance = (a, b) => Math.hypot(...rgb(a).map((v, i) => v - rgb(b)[i]));

/** A colour for a new person: far from everyone's, else the least close. */
export function newColour(used) {
  const nearest = (colour) => Math.min(...used.map((u) => distance(colour, u)), Infinity);
  return PALETTE.find((c) => nearest(c) >= DISTINCT) ?? [...PALETTE].sort((a, b) => nearest(b) - nearest(a))[0];
}

let people = [];
let activeId = null;
let editing = null; // the person being edited, or null when adding

/** The people from the device, then the chips. */
export async function loadPeople() {
  try {
    const answer = await api("/api/people");
    people = answer.people ?? answer;
  } catch {
    return; // the chips stay as they were; the next state tries again
  }
  renderChips();
}

/** The active person from the live state (the same shape as the list's entries): a person this
phone does not know yet (added on another phone) reloads the list. */
export function showActive(person) {
  const id = person?.id ?? null;
  const known = people.find((p) => p.id === id);
  if (person && !known) loadPeople();
  else if (known && JSON.stringify({ ...known, ...person }) !== JSON.stringify(known)) {
    people = people.map((p) => (p.id === id ? { ...p, ...person } : p));
  } else if (id === activeId) return;
  activeId = id;
  renderChips();
}

function renderChips() {
  const box = $("people-chips");
  box.replaceChildren(
    ...people.map((person) => {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "person-chip";
      chip.dataset.id = String(person.id);
      chip.style.setProperty("--person", person.colour);
      chip.setAttribute("aria-pressed", String(person.id === activeId));
      chip.textContent = person.name;
      chip.addEventListener("click", () => switchTo(person.id));
      return chip;
    }),
  );
  $("person-edit").disabled = activeId === null;
}

async function switchTo(id) {
  if (id === activeId) return;
  const previous = activeId;
  activeId = id; // at once: the state event confirms it
  renderChips();
  try {
    await api("/api/person", { method: "PUT", body: { person_id: id } });
  } catch (error) {
    activeId = previous;
    renderChips();
    window.alert(`Could not switch: ${error.message}`);
  }
}

// --- the dialog ---------------------------------------------------------------------------

function planRow(step = { exercise: "squat", sets: 3, reps: 10 }) {
  const row = document.createElement("li");
  row.className = "plan-step";
  const n = $("p-plan").children.length + 1;
  const select = document.createElement("select");
  select.setAttribute("aria-label", `Step ${n} exercise`);
  for (const [value, label] of Object.entries(EXERCISES)) select.append(new Option(label, value, false, value === step.exercise));
  const number = (label, value) => {
    const input = document.createElement("input");
    Object.assign(input, { type: "number", min: 1, max: 500, step: 1, value: String(value), inputMode: "numeric" });
    input.setAttribute("aria-label", `Step ${n} ${label}`);
    input.dataset.part = label;
    return input;
  };
  const remove = document.createElement("button");
  remove.type = "button";
  remove.textContent = "✕";
  remove.setAttribute("aria-label", `Remove step ${n}`);
  remove.addEventListener("click", () => row.remove());
  row.append(select, number("sets", step.sets), document.createTextNode("×"), number("reps", step.reps), remove);
  return row;
}

function openDialog(person) {
  editing = person;
  setText($("person-dialog-title"), person ? `Edit ${person.name}` : "Add a person");
  $("p-name").value = person?.name ?? "";
  $("p-colour").value = person?.colour ?? newColour(people.map((p) => p.colour));
  $("p-rest").value = String(person?.rest_s ?? 90);
  for (const input of document.querySelectorAll(".target-row input")) {
    input.value = person?.targets?.[input.dataset.exercise] ?? "";
  }
  $("p-plan").replaceChildren();
  for (const step of person?.plan ?? []) $("p-plan").append(planRow(step));
  $("p-delete").hidden = !person || people.length < 2;
  clearErrors();
  $("person-dialog").showModal();
  $("p-name").focus();
}

function clearErrors() {
  for (const field of [...FIELDS, "form"]) setText($(`p-${field}-error`), "");
  for (const input of $("person-form").querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

const wholeOrNull = (text) => (text.trim() === "" ? null : Number(text));

function formValues() {
  const targets = {};
  for (const input of document.querySelectorAll(".target-row input")) targets[input.dataset.exercise] = wholeOrNull(input.value);
  const plan = [...$("p-plan").children].map((row) => ({
    exercise: row.querySelector("select").value,
    sets: wholeOrNull(row.querySelector('[data-part="sets"]').value),
    reps: wholeOrNull(row.querySelector('[data-part="reps"]').value),
  }));
  return { name: $("p-name").value.trim(), colour: $("p-colour").value, rest_s: wholeOrNull($("p-rest").value), targets, plan };
}

/** The server's 422 at its field ("targets.squat" shows at the targets). */
function showError(error) {
  const field = FIELDS.find((name) => error.body?.field?.startsWith(name));
  setText($(`p-${field ?? "form"}-error`), error.message);
  const input = { name: "p-name", colour: "p-colour", rest_s: "p-rest" }[field];
  if (input) {
    $(input).setAttribute("aria-invalid", "true");
    $(input).focus();
  }
}

async function save(event) {
  event.preventDefault();
  clearErrors();
  const values = formValues();
  if (!values.name) {
    showError({ message: "Give a name.", body: { field: "name" } });
    return;
  }
  $("p-save").disabled = true;
  try {
    let id = editing?.id;
    if (id === undefined) {
      const added = await api("/api/people", { method: "POST", body: { name: values.name, colour: values.colour, rest_s: values.rest_s } });
      id = (added.person ?? added).id;
      editing = added.person ?? added; // a failed PATCH below then edits the new person
    }
    await api(`/api/people/${id}`, { method: "PATCH", body: values });
    $("person-dialog").close();
    await loadPeople();
  } catch (error) {
    if (error instanceof ApiError) showError(error);
    else setText($("p-form-error"), "The device could not be reached: try again.");
  } finally {
    $("p-save").disabled = false;
  }
}

async function remove() {
  if (!editing || !window.confirm(`Remove ${editing.name}?`)) return;
  try {
    try {
      await api(`/api/people/${editing.id}`, { method: "DELETE" });
    } catch (error) {
      // Who is training cannot be removed (field "person"): someone else trains first.
      const next = people.find((p) => p.id === 1) ?? people.find((p) => p.id !== editing.id);
      if (!(error instanceof ApiError && error.body.field === "person" && next)) throw error;
      if (!window.confirm(`${editing.name} is training now: ${next.name} trains instead, and ${editing.name} is removed.`)) return;
      await api("/api/person", { method: "PUT", body: { person_id: next.id } });
      await api(`/api/people/${editing.id}`, { method: "DELETE" });
    }
    $("person-dialog").close();
    await loadPeople();
  } catch (error) {
    setText($("p-form-error"), error.message);
  }
}

$("person-add").addEventListener("click", () => openDialog(null));
$("person-edit").addEventListener("click", () => openDialog(people.find((p) => p.id === activeId) ?? null));
$("p-plan-add").addEventListener("click", () => $("p-plan").append(planRow()));
$("p-cancel").addEventListener("click", () => $("person-dialog").close());
$("p-delete").addEventListener("click", remove);
$("person-form").addEventListener("submit", save);
