"""The JSON API: state, health, history (per person, with corrections, records and progress),
export, people and settings. Every route needs a login."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from flask import Blueprint, Response, abort, current_app, request

from device.daemon import config, mqtt_check
from device.daemon.live import ControlRefused
from device.exercise.coaching import set_summary
from device.history.people import DEFAULT_REST_S, PersonInvalid
from device.history.store import CorrectionInvalid, StoreError
from web_ui import streams
from web_ui.auth import require_login
from web_ui.body import json_body
from web_ui.downloads import Busy
from web_ui.errors import json_error

bp = Blueprint("api", __name__, url_prefix="/api")
bp.before_request(require_login)

CORRECTION_FIELDS = ("reps", "delete", "person_id", "reason")


def _daemon():
    return current_app.extensions["daemon"]


def _store():
    store = _daemon().store
    if store is None:
        abort(json_error(503, "the history is not open yet"))
    return store


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(json_error(400, f"{name} must be a whole number", name))
    if not low <= value <= high:
        abort(json_error(400, f"{name} must be between {low} and {high}", name))
    return value


def _float_arg(name: str) -> float | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if value != value or abs(value) == float("inf"):
        abort(json_error(400, f"{name} must be a number (Unix seconds)", name))
    return value


def _person_arg() -> int | None:
    """The person a history answer is about (`person`, an id), None for everyone."""
    if request.args.get("person") is None:
        return None
    person_id = _int_arg("person", 0, 1, 2**62)
    if _store().person(person_id) is None:
        abort(json_error(404, f"there is no person {person_id} (see GET /api/people)", "person"))
    return person_id


def _choice_arg(name: str, choices: tuple[str, ...]) -> str:
    value = request.args.get(name, choices[0])
    if value not in choices:
        abort(json_error(400, f"{name} must be one of: {', '.join(choices)}", name))
    return value


@bp.get("/state")
def state():
    return _daemon().state()


@bp.get("/health")
def health():
    return _daemon().health()


@bp.get("/sessions")
def sessions():
    limit = _int_arg("limit", 50, 1, 500)
    offset = _int_arg("offset", 0, 0, 10**9)
    return {"sessions": _store().sessions(limit, offset, _person_arg())}


@bp.get("/sessions/<int:session_id>")
def session_detail(session_id: int):
    found = _store().session(session_id, _person_arg())
    return found if found is not None else json_error(404, f"no session {session_id}", "session_id")


@bp.get("/sets/<int:set_id>")
def set_detail(set_id: int):
    person_id = _person_arg()
    found = _store().set(set_id)
    if found is None or person_id not in (None, found["set"]["person_id"]):
        return json_error(404, f"no set {set_id}", "set_id")
    summary = set_summary(found["set"]["exercise"], [rep["cues"] for rep in found["reps"]])
    return {**found, "summary": summary}


@bp.post("/sets/<int:set_id>/correction")
def set_correction(set_id: int):
    """One change to a set, logged with its reason: {"reps": n, "reason": "..."} (reason
    required), {"delete": true or false} (false restores) or {"person_id": n}."""
    body = json_body()
    for key in body:
        if key not in CORRECTION_FIELDS:
            message = "not a field of a correction: give reps, delete or person_id, and a reason"
            return json_error(422, message, key)
    actions = [key for key in ("reps", "delete", "person_id") if key in body]
    if len(actions) != 1:
        return json_error(422, "give exactly one of reps, delete or person_id", "body")
    if "delete" in body and not isinstance(body["delete"], bool):
        return json_error(422, "true to delete the set, false to restore it", "delete")
    workout = _daemon().workout
    current = workout.current if workout is not None else None
    if current is not None and current.id == set_id:
        return json_error(
            409, f"set {set_id} is still going: correct it once it has ended", "set_id"
        )
    store, reason = _store(), body.get("reason")
    try:
        if "reps" in body:
            found = store.correct_reps(set_id, body["reps"], reason)
        elif "delete" in body:
            found = store.delete_set(set_id, reason, body["delete"])
        else:
            found = store.move_set(set_id, body["person_id"], reason)
    except CorrectionInvalid as exc:
        return json_error(422, exc.message, exc.field)
    return found if found is not None else json_error(404, f"no set {set_id}", "set_id")


@bp.get("/reps")
def reps():
    set_id = _int_arg("set_id", -1, 0, 2**62)
    rows = _store().reps(
        set_id=None if set_id < 0 else set_id,
        since=_float_arg("since"),
        limit=_int_arg("limit", 1000, 1, 10000),
        person_id=_person_arg(),
    )
    return {"reps": rows}


@bp.get("/totals")
def totals():
    period = _choice_arg("period", ("day", "week"))
    limit = _int_arg("limit", 60, 1, 1000)
    person_id = _person_arg()
    return {
        "period": period,
        "person_id": person_id,
        "totals": _store().totals(period, limit, person_id),
    }


@bp.get("/records")
def records():
    person_id = _person_arg()
    return {"person_id": person_id, "records": _store().records(person_id)}


@bp.get("/progress")
def progress():
    person_id = _person_arg()
    return {"person_id": person_id, **_store().progress(person_id)}


@bp.get("/export")
def export():
    """The history: JSON (sets and reps), or CSV with one row per rep (rows=reps) or one row
    per set (rows=sets: sums to the corrected totals); streamed (device/history/export.py) and
    made at low priority (web_ui/downloads.py)."""
    fmt = _choice_arg("format", ("json", "csv"))
    rows = _choice_arg("rows", ("reps", "sets"))
    person_id = _person_arg()
    store = _store()
    if fmt == "json":
        chunks = store.json_chunks(person_id)
    elif rows == "sets":
        chunks = store.sets_csv_chunks(person_id)
    else:
        chunks = store.csv_chunks(person_id)
    try:
        first, rest = current_app.extensions["downloads"].start(chunks)
    except Busy as exc:
        return json_error(429, str(exc))
    except (sqlite3.Error, StoreError) as exc:
        return json_error(503, f"the history cannot be read now ({exc}): try again later")

    def body() -> Iterator[bytes]:
        yield first
        yield from rest

    kind = "sets" if fmt == "csv" and rows == "sets" else "history"
    name = f"repcounter-{kind}" + ("" if person_id is None else f"-person-{person_id}")
    return Response(
        body(),
        mimetype="text/csv" if fmt == "csv" else "application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


@bp.get("/people")
def people_list():
    return {"people": _store().people(), "active": _store().active_person_id()}


@bp.post("/people")
def people_add():
    body = json_body()
    unknown = set(body) - {"name", "colour", "rest_s"}
    if unknown:
        return json_error(422, f"{sorted(unknown)[0]}: not a field of a new person", "body")
    try:
        person = _store().add_person(
            body.get("name"), body.get("colour"), body.get("rest_s", DEFAULT_REST_S)
        )
    except PersonInvalid as exc:
        return json_error(422, str(exc), exc.field)
    _daemon().people_changed()
    return person, 201


@bp.patch("/people/<int:person_id>")
def people_update(person_id: int):
    try:
        person = _store().update_person(person_id, json_body())
    except PersonInvalid as exc:
        return json_error(422, str(exc), exc.field)
    if person is None:
        return json_error(404, f"no person {person_id}", "person_id")
    _daemon().people_changed()
    return person


@bp.delete("/people/<int:person_id>")
def people_delete(person_id: int):
    try:
        deleted = _daemon().delete_person(person_id)
    except PersonInvalid as exc:
        return json_error(409, exc.message, exc.field)
    if not deleted:
        return json_error(404, f"no person {person_id}", "person_id")
    return {"deleted": person_id}


@bp.put("/person")
def person_switch():
    """Who is training now: the next reps count for them (the open set of someone else ends)."""
    person_id = json_body().get("person_id")
    if isinstance(person_id, bool) or not isinstance(person_id, int):
        return json_error(422, "person_id: the id of a person (GET /api/people)", "person_id")
    person = _daemon().switch_person(person_id)
    if person is None:
        return json_error(404, f"no person {person_id}", "person_id")
    return person


def _pipeline():
    pipeline = _daemon().pipeline
    if pipeline is None:
        abort(json_error(503, "not counting now: the camera or the model is not running"))
    return pipeline


def _control(action):
    """Run a live control; 409 with its reason when it cannot act now."""
    try:
        answer = action()
    except ControlRefused as exc:
        return json_error(409, str(exc))
    return {"ok": True, **(answer or {})}


@bp.post("/live/adjust")
def live_adjust():
    """-1/+1 on the open set: {"delta": -1 or 1}; stored as a correction when the set ends."""
    delta = json_body().get("delta")
    if delta not in (-1, 1) or isinstance(delta, bool):
        return json_error(422, "delta: -1 or 1", "delta")
    pipeline = _pipeline()
    return _control(lambda: {"set": pipeline.adjust(delta)})


@bp.post("/live/end-set")
def live_end_set():
    pipeline = _pipeline()
    return _control(lambda: {"set": pipeline.end_set_now()})


@bp.post("/live/pause")
def live_pause():
    """{"paused": true} stops counting until {"paused": false}."""
    paused = json_body().get("paused")
    if not isinstance(paused, bool):
        return json_error(422, "paused: true to stop counting, false to count again", "paused")
    pipeline = _pipeline()
    return _control(lambda: pipeline.pause(paused))


@bp.post("/live/rest")
def live_rest():
    """{"action": "skip"} ends the rest; {"action": "longer"} adds 30 s."""
    action = json_body().get("action")
    if action not in ("skip", "longer"):
        return json_error(422, 'action: "skip" or "longer"', "action")
    pipeline = _pipeline()
    return _control(lambda: pipeline.rest(action))


@bp.get("/settings")
def settings_get():
    daemon = _daemon()
    safe_mode = getattr(daemon, "safe_mode", None)
    return {
        "settings": daemon.settings.model_dump(mode="json"),
        "safe_mode": None
        if safe_mode is None
        else {
            "error": safe_mode.error,
            "moved_to": safe_mode.moved_to.name if safe_mode.moved_to else None,
        },
    }


@bp.get("/settings/schema")
def settings_schema():
    return config.Settings.model_json_schema()


@bp.post("/settings/validate")
def settings_validate():
    body = json_body()
    merged = config.merge(_daemon().settings.model_dump(mode="json"), body)
    try:
        settings = config.validate(merged)
    except config.SettingsInvalid as exc:
        return _invalid(exc)
    return {"valid": True, "settings": settings.model_dump(mode="json")}


@bp.route("/settings", methods=["PUT", "PATCH"])
def settings_put():
    body = json_body()
    try:
        return _daemon().update_settings(body, request.remote_addr or "?")
    except config.SettingsInvalid as exc:
        return _invalid(exc)
    except OSError as exc:
        return _not_saved(exc)


@bp.post("/mqtt/test")
def mqtt_test():
    """Try a broker once with the saved MQTT settings and any changes in the body (the form's
    unsaved values): {"ok", "failure": dns, refused, timeout, unreachable, auth, ..., "message"}."""
    body = json_body()
    merged = config.merge(_daemon().settings.model_dump(mode="json"), {"mqtt": body})
    merged["mqtt"]["enabled"] = True  # testing an address is asking to use it
    try:
        settings = config.validate(merged).mqtt
    except config.SettingsInvalid as exc:
        return _invalid(exc)
    return mqtt_check.check(settings)


@bp.post("/settings/restore-broken")
def settings_restore_broken():
    """Safe mode: keep what is valid in the set-aside settings file (the rest stays default)."""
    try:
        return _daemon().restore_broken(request.remote_addr or "?")
    except config.SettingsInvalid as exc:
        return _invalid(exc)
    except OSError as exc:
        return _not_saved(exc)


def _not_saved(exc: OSError) -> Response:
    message = f"cannot save the settings ({exc.strerror or exc}): nothing changed; free space "
    return json_error(503, message + "or fix the data folder's permissions and try again")


def _invalid(exc: config.SettingsInvalid) -> Response:
    first = exc.fields[0]
    return json_error(
        422, f"{first['field']}: {first['message']}", first["field"], fields=exc.fields
    )


@bp.get("/events")
def events():
    return streams.sse_response(_daemon())


@bp.get("/preview.mjpeg")
def preview_mjpeg():
    return streams.mjpeg_response(_daemon())


@bp.get("/preview.jpg")
def preview_jpg():
    frame = _daemon().preview.wait_jpeg(-1, timeout=2.0)
    if frame is None:
        return json_error(503, "no camera frame yet")
    return Response(frame[1], mimetype="image/jpeg", headers={"Cache-Control": "no-store"})
