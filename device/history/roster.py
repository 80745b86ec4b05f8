"""The people table: profiles, targets, plans and who trains now. A mixin of Store
(device/history/store.py): it uses the store's lock and connection."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from typing import Any

from device.history import people as profile
from device.history.people import PersonInvalid

HAS_SETS = "this person has sets in the history: move them first"
# Field "person" (who trains, PUT /api/person): the page then offers to switch and delete.
TRAINING_NOW = (
    "this person is training now: switch to someone else first (tap the person on the live "
    "page, or PUT /api/person), then delete"
)


class Roster:
    """Store's people (see the module docstring)."""

    _lock: threading.Lock

    def _connection(self) -> sqlite3.Connection:
        raise NotImplementedError

    def people(self) -> list[dict]:
        """Everyone, by name, each with their targets and plan."""
        with self._lock:
            db = self._connection()
            ids = [row[0] for row in db.execute("SELECT id FROM people ORDER BY name, id")]
            return [_person(db, person_id) for person_id in ids]

    def person(self, person_id: int) -> dict | None:
        with self._lock:
            return _person(self._connection(), person_id)

    def add_person(self, name: str, colour: str, rest_s: int = profile.DEFAULT_REST_S) -> dict:
        """A new person (PersonInvalid for a bad value or a name already taken)."""
        row = (profile.name(name), profile.colour(colour), profile.rest_s(rest_s))
        with self._lock, self._connection() as db:
            _name_free(db, row[0], None)
            person_id = db.execute(
                "INSERT INTO people (name, colour, rest_s, created_at) VALUES (?,?,?,?)",
                (*row, time.time()),
            ).lastrowid
            return _person(db, person_id)

    def update_person(self, person_id: int, changes: dict[str, Any]) -> dict | None:
        """Change some of name, colour, rest_s, plan, targets (None when there is no such
        person). All values are checked before anything is written."""
        unknown = set(changes) - {"name", "colour", "rest_s", "plan", "targets"}
        if unknown:
            raise PersonInvalid(sorted(unknown)[0], "not a field of a person")
        columns = {
            key: check(changes[key])
            for key, check in (
                ("name", profile.name),
                ("colour", profile.colour),
                ("rest_s", profile.rest_s),
            )
            if key in changes
        }
        if "plan" in changes:
            columns["plan"] = json.dumps(profile.plan(changes["plan"]))
        targets = profile.targets(changes.get("targets", {}))
        with self._lock, self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            if not db.execute("SELECT 1 FROM people WHERE id=?", (person_id,)).fetchone():
                return None
            if "name" in columns:
                _name_free(db, columns["name"], person_id)
            for column, value in columns.items():
                db.execute(f"UPDATE people SET {column}=? WHERE id=?", (value, person_id))
            for exercise, reps in targets.items():
                db.execute(
                    "DELETE FROM targets WHERE person_id=? AND exercise=?", (person_id, exercise)
                )
                if reps is not None:
                    db.execute(
                        "INSERT INTO targets (person_id, exercise, reps) VALUES (?,?,?)",
                        (person_id, exercise, reps),
                    )
            return _person(db, person_id)

    def delete_person(self, person_id: int, training: int | None = None) -> bool:
        """Delete a person who has no sets (False when there is no such person). The first
        person, anyone with history and the person training now (`training`, the daemon's; the
        one remembered here too) stay (PersonInvalid says why, in that order)."""
        if person_id == profile.DEFAULT_PERSON_ID:
            raise PersonInvalid("person_id", "the first person cannot be deleted: rename it")
        with self._lock, self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            if _has_sets(db, person_id):
                raise PersonInvalid("person_id", HAS_SETS)
            if person_id == training or _state_get(db, "person") == str(person_id):
                raise PersonInvalid("person", TRAINING_NOW)
            db.execute("DELETE FROM device_state WHERE key=?", (f"plan.{person_id}",))
            return db.execute("DELETE FROM people WHERE id=?", (person_id,)).rowcount > 0

    def active_person_id(self) -> int:
        """Who trained last (kept across restarts); the first person by default."""
        with self._lock:
            db = self._connection()
            value = _state_get(db, "person")
            if value is not None and _person(db, int(value)) is not None:
                return int(value)
            return profile.DEFAULT_PERSON_ID

    def set_active_person(self, person_id: int) -> None:
        with self._lock, self._connection() as db:
            _state_set(db, "person", str(person_id))

    def plan_progress(self, person_id: int) -> dict | None:
        """Where a person is in their plan (device.daemon.training), kept across restarts."""
        with self._lock:
            value = _state_get(self._connection(), f"plan.{person_id}")
        return None if value is None else json.loads(value)

    def save_plan_progress(self, person_id: int, progress: dict) -> None:
        with self._lock, self._connection() as db:
            _state_set(db, f"plan.{person_id}", json.dumps(progress))


def _person(db: sqlite3.Connection, person_id: int) -> dict | None:
    row = db.execute(
        "SELECT id, name, colour, rest_s, plan FROM people WHERE id=?", (person_id,)
    ).fetchone()
    if row is None:
        return None
    found = dict(row)
    found["plan"] = json.loads(found["plan"])
    found["targets"] = dict(
        db.execute(
            "SELECT exercise, reps FROM targets WHERE person_id=? ORDER BY exercise", (person_id,)
        ).fetchall()
    )
    return found


def _has_sets(db: sqlite3.Connection, person_id: int) -> bool:
    row = db.execute("SELECT 1 FROM sets WHERE person_id=? LIMIT 1", (person_id,)).fetchone()
    return row is not None


def _state_set(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO device_state (key, value) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
        (key, value),
    )


def _state_get(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM device_state WHERE key=?", (key,)).fetchone()
    return None if row is None else row[0]


def _name_free(db: sqlite3.Connection, name: str, person_id: int | None) -> None:
    """PersonInvalid when someone else has this name, whatever its case (profile.name_key)."""
    key = profile.name_key(name)
    for other_id, other in db.execute("SELECT id, name FROM people"):
        if other_id != person_id and profile.name_key(other) == key:
            raise PersonInvalid("name", f"{other!r} is taken: choose another name")
