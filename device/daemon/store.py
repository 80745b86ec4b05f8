"""Workout history in SQLite: sessions, sets and reps, one durable commit per rep.

WAL journal with synchronous=FULL: a rep is on disk when `add_rep` returns, so a power cut or
kill -9 loses no completed rep. The schema is versioned with PRAGMA user_version and upgraded by
the MIGRATIONS list (device/daemon/schema.py), one transaction per step; a database newer than
this program is refused.
Times are Unix seconds (wall clock); totals group by the local calendar day or ISO week.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from device import jsonout
from device.daemon import people as profile
from device.daemon import records as personal_records
from device.daemon.people import PersonInvalid
from device.daemon.schema import MIGRATIONS
from device.errors import RepCounterError

log = logging.getLogger(__name__)

REPS_MAX = 1000  # a corrected rep count
REASON_MAX = 200

# The per-set export: one row per set, so a spreadsheet's sum of "reps" is the real total.
SET_EXPORT_COLUMNS = (
    "date", "started_local", "person", "exercise", "reps", "counted_reps", "corrected_reps",
    "partial_reps", "avg_depth", "form_score", "correction_reason", "deleted",
    "session_id", "set_id", "person_id",
)  # fmt: skip

EXPORT_COLUMNS = (
    "session_id", "set_id", "rep_id", "person_id", "person", "exercise", "complete",
    "started_at", "ended_at", "started_local", "ended_local", "depth", "down_s", "up_s", "cues",
    # the rep's set: its counted complete reps, the corrected count and why, when deleted
    "counted_reps", "corrected_reps", "correction_reason", "deleted_at",
)  # fmt: skip


def local_iso(t: float) -> str:
    """Unix seconds as ISO 8601 in the device's local time with its UTC offset, for exports
    read by people and spreadsheets ("2026-05-01T18:04:05.250+02:00")."""
    return datetime.fromtimestamp(t).astimezone().isoformat(timespec="milliseconds")


class StoreError(RepCounterError):
    """The history database cannot be opened or upgraded."""


class CorrectionInvalid(ValueError):
    """A correction that cannot be made: which field, and what is wrong with it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class RepRecord:
    """One rep as stored: wall-clock times and the engine's measurements."""

    exercise: str
    complete: bool
    started_at: float
    ended_at: float
    depth: float
    down_s: float
    up_s: float
    cues: Sequence[str] = ()


# Errors of the disk rather than of the database: they pass when space returns or the folder
# becomes writable again (SQLite's primary result codes).
TRANSIENT_CODES = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
    }
)


def transient(exc: sqlite3.Error) -> bool:
    """True for a disk that is full, read-only or failing; False for a database problem."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in TRANSIENT_CODES


class Store:
    """The history database. Thread-safe: one connection behind a lock (reads are small).

    A database that cannot be opened because of its disk (full, read-only, I/O error: after a
    restart on a full SD card, SQLite cannot create its WAL files) does not stop the daemon:
    it is opened at the next use instead, and until then every call raises sqlite3's error
    (`error` says why). A database this program cannot use raises StoreError.
    """

    def __init__(self, path: Path, migrations: Sequence[str] = MIGRATIONS) -> None:
        self.path = path
        self._migrations = migrations
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.error: str | None = None  # why the database is not open
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._connection()
        except sqlite3.Error as exc:
            log.error("cannot open the history database %s yet: %s", path, exc)

    def _connection(self) -> sqlite3.Connection:
        """The connection, opened first if it is not open yet (call with the lock held or
        before other threads use the store)."""
        if self._db is not None:
            return self._db
        db = None
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=5000")
            self._migrate(db)
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            if transient(exc):
                self.error = f"{exc.sqlite_errorname}: {exc}"
                raise
            self.error = f"cannot open the history database {self.path}: {exc}"
            raise StoreError(self.error) from exc
        except StoreError as exc:
            db.close()
            self.error = str(exc)
            raise
        if self.error is not None:
            log.warning("the history database %s is open now", self.path)
        self._db, self.error = db, None
        return db

    def try_open(self) -> bool:
        """Open the database if it is not open yet; False while it cannot be (`error`)."""
        with self._lock:
            try:
                self._connection()
            except (sqlite3.Error, StoreError):
                return False
        return True

    @property
    def version(self) -> int:
        with self._lock:
            return _version(self._connection())

    def _migrate(self, db: sqlite3.Connection) -> None:
        migrations = self._migrations
        current = _version(db)
        if current > len(migrations):
            raise StoreError(
                f"the history database {self.path} has schema version {current}, newer than "
                f"this program's {len(migrations)}: update RepCounter."
            )
        for version, script in enumerate(migrations[current:], start=current + 1):
            # executescript commits first, so the DDL runs inside an explicit transaction.
            try:
                db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
            except sqlite3.DatabaseError:
                db.rollback()
                raise

    def replace_from(self, source: Path) -> None:
        """Replace the whole database with source's (a restore), in one step of SQLite's backup
        API on the open connection: readers see the old or the new history, never a mix.
        source must be at this program's schema (device.daemon.backup checks it)."""
        with self._lock:
            db = self._connection()
            src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            try:
                src.backup(db)
            finally:
                src.close()
            self._migrate(db)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()

    # --- writing ---------------------------------------------------------------------------

    def add_rep(
        self, rep: RepRecord, set_id: int | None, session_gap_s: float, person_id: int = 1
    ) -> tuple[int, int]:
        """Store a rep in one transaction, opening its set (and a session) when the set is new:
        set_id None (the database picks the id) or an id not in the table yet. A new set
        belongs to person_id (a person deleted meanwhile: to person 1).

        A new set joins the latest session when that session's last rep is less than
        session_gap_s before this rep; otherwise it opens a new session. Returns
        (session_id, set_id). Each set and session's ended_at is its last rep's end, kept up to
        date with every rep, so nothing needs closing after a crash.
        """
        with self._lock, self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            row = None
            if set_id is not None:
                row = db.execute("SELECT session_id FROM sets WHERE id=?", (set_id,)).fetchone()
            if row is None:
                session_id = _session_for(db, rep.started_at, session_gap_s)
                if not db.execute("SELECT 1 FROM people WHERE id=?", (person_id,)).fetchone():
                    person_id = 1
                set_id = db.execute(
                    "INSERT INTO sets (id, session_id, exercise, started_at, ended_at, person_id)"
                    " VALUES (?,?,?,?,?,?)",
                    (set_id, session_id, rep.exercise, rep.started_at, rep.ended_at, person_id),
                ).lastrowid
            else:
                session_id = row[0]
            db.execute(
                "INSERT INTO reps (set_id, exercise, complete, started_at, ended_at, depth, down_s,"
                " up_s, cues) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    set_id,
                    rep.exercise,
                    int(rep.complete),
                    rep.started_at,
                    rep.ended_at,
                    rep.depth,
                    rep.down_s,
                    rep.up_s,
                    json.dumps(list(rep.cues)),
                ),
            )
            db.execute(
                "UPDATE sets SET ended_at=max(ended_at, ?) WHERE id=?", (rep.ended_at, set_id)
            )
            db.execute(
                "UPDATE sessions SET ended_at=max(ended_at, ?) WHERE id=?",
                (rep.ended_at, session_id),
            )
        return session_id, set_id

    def next_set_id(self) -> int:
        """The id the next new set gets (the writer numbers sets before they are stored)."""
        with self._lock:
            db = self._connection()
            return db.execute("SELECT coalesce(max(id), 0) + 1 FROM sets").fetchone()[0]

    # --- corrections -----------------------------------------------------------------------

    def correct_reps(self, set_id: int, reps: Any, reason: Any) -> dict | None:
        """Give a set another rep count, with a reason (required). The counted reps stay; the
        counted value again clears the correction. None when there is no such set."""
        if not isinstance(reps, int) or isinstance(reps, bool) or not 0 <= reps <= REPS_MAX:
            raise CorrectionInvalid("reps", f"a whole number of reps from 0 to {REPS_MAX}")
        reason = _reason(reason, required=True)
        with self._lock, self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            row = _live_set(db, set_id)
            if row is None:
                return None
            before = row["corrected_reps"] if row["corrected_reps"] is not None else row["counted"]
            if reps == before:
                raise CorrectionInvalid("reps", f"the set already has {reps} reps")
            corrected = None if reps == row["counted"] else reps
            db.execute(
                "UPDATE sets SET corrected_reps=?, correction_reason=? WHERE id=?",
                (corrected, None if corrected is None else reason, set_id),
            )
            _log(db, set_id, "reps", before, reps, reason)
        return self.set(set_id)

    def delete_set(self, set_id: int, reason: Any = "", deleted: bool = True) -> dict | None:
        """Mark a set deleted (deleted=False restores it). Nothing is removed: its reps stay,
        out of totals and records. None when there is no such set."""
        reason = _reason(reason)
        with self._lock, self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT deleted_at FROM sets WHERE id=?", (set_id,)).fetchone()
            if row is None:
                return None
            if (row["deleted_at"] is not None) == deleted:
                state = "deleted" if deleted else "not deleted"
                raise CorrectionInvalid("delete", f"set {set_id} is already {state}")
            after = time.time() if deleted else None
            db.execute("UPDATE sets SET deleted_at=? WHERE id=?", (after, set_id))
            _log(db, set_id, "deleted", row["deleted_at"], after, reason)
        return self.set(set_id)

    def move_set(self, set_id: int, person_id: Any, reason: Any = "") -> dict | None:
        """Give a set to another person. None when there is no such set."""
        if not isinstance(person_id, int) or isinstance(person_id, bool):
            raise CorrectionInvalid("person_id", "the id of a person (GET /api/people)")
        reason = _reason(reason)
        with self._lock, self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            row = _live_set(db, set_id)
            if row is None:
                return None
            if not db.execute("SELECT 1 FROM people WHERE id=?", (person_id,)).fetchone():
                raise CorrectionInvalid("person_id", f"there is no person {person_id}")
            if row["person_id"] == person_id:
                raise CorrectionInvalid("person_id", f"the set is already person {person_id}'s")
            db.execute("UPDATE sets SET person_id=? WHERE id=?", (person_id, set_id))
            _log(db, set_id, "person_id", row["person_id"], person_id, reason)
        return self.set(set_id)

    # --- people ----------------------------------------------------------------------------

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

    def delete_person(self, person_id: int) -> bool:
        """Delete a person who has no sets (False when there is no such person). The first
        person and anyone with history stay (PersonInvalid says why)."""
        if person_id == profile.DEFAULT_PERSON_ID:
            raise PersonInvalid("person_id", "the first person cannot be deleted: rename it")
        with self._lock, self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            if db.execute("SELECT 1 FROM sets WHERE person_id=? LIMIT 1", (person_id,)).fetchone():
                raise PersonInvalid(
                    "person_id", "this person has sets in the history: move them first"
                )
            if _state_get(db, "person") == str(person_id):
                db.execute("DELETE FROM device_state WHERE key='person'")
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
            db.execute(
                "INSERT INTO device_state (key, value) VALUES ('person', ?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (str(person_id),),
            )

    def mark_cut_short(self, set_id: int) -> None:
        """The set ended because someone else started training: never a record."""
        with self._lock, self._connection() as db:
            db.execute("UPDATE sets SET cut_short=1 WHERE id=?", (set_id,))

    def plan_progress(self, person_id: int) -> dict | None:
        """Where a person is in their plan (device.daemon.training), kept across restarts."""
        with self._lock:
            value = _state_get(self._connection(), f"plan.{person_id}")
        return None if value is None else json.loads(value)

    def save_plan_progress(self, person_id: int, progress: dict) -> None:
        with self._lock, self._connection() as db:
            db.execute(
                "INSERT INTO device_state (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (f"plan.{person_id}", json.dumps(progress)),
            )

    # --- reading ---------------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict]:
        with self._lock:
            return [dict(row) for row in self._connection().execute(sql, params).fetchall()]

    def sessions(
        self, limit: int = 50, offset: int = 0, person_id: int | None = None
    ) -> list[dict]:
        """Newest first, each with its sets (deleted ones apart) and complete/partial rep
        counts; with person_id only the sessions and sets of that person."""
        mine, params = ("AND t.person_id=?", (person_id,)) if person_id is not None else ("", ())
        unindexed = mine.replace("t.", "+t.")  # look sets up by session, not by person
        return self._query(
            f"""
            WITH page AS (
                SELECT s.id FROM sessions s
                WHERE EXISTS (SELECT 1 FROM sets t WHERE t.session_id = s.id {unindexed})
                ORDER BY s.started_at DESC, s.id DESC LIMIT ? OFFSET ?
            ), c AS (
                {_SET_COUNTS} WHERE t.session_id IN (SELECT id FROM page) {mine} GROUP BY t.id
            )
            SELECT s.id, min(c.started_at) AS started_at, max(c.ended_at) AS ended_at,
                   sum(c.deleted_at IS NULL) AS sets,
                   sum(CASE WHEN c.deleted_at IS NULL THEN c.reps ELSE 0 END) AS reps,
                   sum(CASE WHEN c.deleted_at IS NULL THEN c.partial_reps ELSE 0 END)
                       AS partial_reps,
                   sum(c.deleted_at IS NOT NULL) AS deleted_sets
            FROM sessions s JOIN c ON c.session_id = s.id
            GROUP BY s.id ORDER BY s.started_at DESC, s.id DESC
            """,
            (*params, limit, offset, *params),
        )

    def session(self, session_id: int, person_id: int | None = None) -> dict | None:
        """{"session": the session, "sets": its sets (of person_id only, when given)}, or
        None."""
        rows = self._query(
            "SELECT id, started_at, ended_at FROM sessions WHERE id=?", (session_id,)
        )
        if not rows:
            return None
        where, params = _person_filter(person_id, "t.session_id=?")
        sets = self._query(
            _SET_COUNTS + where + " GROUP BY t.id ORDER BY t.id", (session_id, *params)
        )
        return {"session": rows[0], "sets": sets}

    def set(self, set_id: int) -> dict | None:
        """{"set": the set with its counted and corrected reps, "reps": its reps,
        "corrections": the log of its changes, oldest first}, or None."""
        rows = self._query(_SET_COUNTS + " WHERE t.id=? GROUP BY t.id", (set_id,))
        if not rows:
            return None
        corrections = self._query(
            "SELECT id, at, field, before, after, reason FROM set_corrections"
            " WHERE set_id=? ORDER BY id",
            (set_id,),
        )
        return {"set": rows[0], "reps": self.reps(set_id=set_id), "corrections": corrections}

    def reps(
        self,
        set_id: int | None = None,
        since: float | None = None,
        limit: int = 1000,
        person_id: int | None = None,
    ) -> list[dict]:
        """Reps as counted (a correction changes the set's count, not these)."""
        where, params = [], []
        if set_id is not None:
            where.append("r.set_id=?")
            params.append(set_id)
        if since is not None:
            where.append("r.ended_at>=?")
            params.append(since)
        if person_id is not None:
            where.append("t.person_id=?")
            params.append(person_id)
        sql = (
            "SELECT r.id, r.set_id, r.exercise, r.complete, r.started_at, r.ended_at, r.depth,"
            " r.down_s, r.up_s, r.cues FROM reps r JOIN sets t ON t.id = r.set_id"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._query(sql + " ORDER BY r.id LIMIT ?", [*params, limit])
        for row in rows:
            row["complete"] = bool(row["complete"])
            row["cues"] = json.loads(row["cues"])
        return rows

    def totals(
        self, period: str = "day", limit: int = 60, person_id: int | None = None
    ) -> list[dict]:
        """Reps (corrected where corrected), partial reps and sets per local day ("2026-05-01")
        or ISO-like week ("2026-W18", weeks starting on Monday), per exercise, newest first.
        A set counts on the day it started; deleted sets do not count."""
        if period not in ("day", "week"):
            raise ValueError("period must be day or week")
        bucket = "%Y-%m-%d" if period == "day" else "%Y-W%W"
        where, params = _person_filter(person_id, "t.deleted_at IS NULL")
        return self._query(
            f"""
            WITH c AS ({_SET_COUNTS} {where} GROUP BY t.id)
            SELECT strftime('{bucket}', c.started_at, 'unixepoch', 'localtime') AS period,
                   c.exercise AS exercise,
                   sum(c.reps) AS reps,
                   sum(c.partial_reps) AS partial_reps,
                   count(*) AS sets
            FROM c GROUP BY 1, 2 ORDER BY 1 DESC, 2 LIMIT ?
            """,
            (*params, limit),
        )

    def export_sets(self, person_id: int | None = None) -> list[dict]:
        """Every set (deleted ones flagged by deleted_at) with its counted and corrected reps
        and the log of its corrections."""
        where, params = _person_filter(person_id)
        sets = self._query(_SET_COUNTS + where + " GROUP BY t.id ORDER BY t.id", params)
        log_rows = self._query(
            "SELECT set_id, at, field, before, after, reason FROM set_corrections ORDER BY id"
        )
        by_set: dict[int, list[dict]] = {}
        for row in log_rows:
            by_set.setdefault(row.pop("set_id"), []).append(row)
        for row in sets:
            row["corrections"] = by_set.get(row["id"], [])
        return sets

    def export_rows(self, person_id: int | None = None) -> list[dict]:
        """One row per rep, with its set's person, counted and corrected reps and deletion."""
        where, params = _person_filter(person_id)
        rows = self._query(
            f"""
            WITH c AS ({_SET_COUNTS} {where} GROUP BY t.id)
            SELECT c.session_id, r.set_id, r.id AS rep_id, c.person_id, c.person, r.exercise,
                   r.complete, r.started_at, r.ended_at, r.depth, r.down_s, r.up_s, r.cues,
                   c.counted_reps, c.corrected_reps, c.correction_reason, c.deleted_at
            FROM reps r JOIN c ON c.id = r.set_id ORDER BY r.id
            """,
            params,
        )
        for row in rows:
            row["complete"] = bool(row["complete"])
            row["cues"] = json.loads(row["cues"])
            row["started_local"] = local_iso(row["started_at"])
            row["ended_local"] = local_iso(row["ended_at"])
        return rows

    def export_json(self, person_id: int | None = None) -> str:
        return jsonout.dumps(
            {
                "schema": self.version,
                "person_id": person_id,
                "sets": self.export_sets(person_id),
                "reps": self.export_rows(person_id),
            },
            indent=1,
        )

    def export_csv(self, person_id: int | None = None) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        for row in self.export_rows(person_id):
            row["cues"] = " ".join(row["cues"])
            row["complete"] = int(row["complete"])
            writer.writerow(["" if row[c] is None else row[c] for c in EXPORT_COLUMNS])
        return out.getvalue()

    def export_sets_csv(self, person_id: int | None = None) -> str:
        """One row per set: its date, person, exercise, the reps it counts for (corrected
        where corrected), counted, corrected and partial reps, mean depth of its complete reps
        and its form score (the share of complete reps without a form cue). Deleted sets are
        listed with deleted=1 and 0 reps, so summing the column gives the history's total."""
        where, params = _person_filter(person_id)
        rows = self._query(
            f"""
            WITH c AS ({_SET_COUNTS} {where} GROUP BY t.id)
            SELECT c.*, (SELECT avg(r.cues = '[]') FROM reps r
                         WHERE r.set_id = c.id AND r.complete) AS form_score
            FROM c ORDER BY c.started_at, c.id
            """,
            params,
        )
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(SET_EXPORT_COLUMNS)
        for row in rows:
            started = datetime.fromtimestamp(row["started_at"]).astimezone()
            deleted = row["deleted_at"] is not None
            values = {
                **row,
                "date": started.date().isoformat(),
                "started_local": local_iso(row["started_at"]),
                "reps": 0 if deleted else row["reps"],
                "avg_depth": None if row["avg_depth"] is None else round(row["avg_depth"], 3),
                "form_score": None if row["form_score"] is None else round(row["form_score"], 2),
                "deleted": int(deleted),
                "set_id": row["id"],
            }
            writer.writerow(["" if values[c] is None else values[c] for c in SET_EXPORT_COLUMNS])
        return out.getvalue()

    # --- records and progress --------------------------------------------------------------

    def _record_sets(self, person_id: int | None, exercise: str | None = None) -> list[dict]:
        """Sets not deleted, oldest first, as device.daemon.records reads them."""
        conditions = ("t.deleted_at IS NULL",) + (("t.exercise=?",) if exercise else ())
        where, params = _person_filter(person_id, *conditions)
        rows = self._query(
            _SET_COUNTS + where + " GROUP BY t.id ORDER BY t.started_at, t.id",
            (*((exercise,) if exercise else ()), *params),
        )
        for row in rows:
            row["day"] = datetime.fromtimestamp(row["started_at"]).date()
        return rows

    def records(self, person_id: int | None = None) -> list[dict]:
        """Personal records per exercise (see device.daemon.records); everyone's best with
        person_id None."""
        return personal_records.records(self._record_sets(person_id))

    def new_records(self, set_id: int) -> list[dict]:
        """The records this set just set, against its person's earlier sets of its exercise
        (none for a person's first set of an exercise, nor for a deleted set)."""
        rows = self._query(
            "SELECT t.person_id, t.exercise, p.name FROM sets t"
            " LEFT JOIN people p ON p.id = t.person_id WHERE t.id=?",
            (set_id,),
        )
        if not rows:
            return []
        person_id, exercise = rows[0]["person_id"], rows[0]["exercise"]
        sets = self._record_sets(person_id, exercise)
        position = next((i for i, row in enumerate(sets) if row["id"] == set_id), None)
        if position is None:
            return []
        this = sets[position]
        found = personal_records.new_records(this, sets[:position])
        about = {
            "set_id": set_id,
            "person_id": person_id,
            "person": rows[0]["name"],
            "exercise": exercise,
        }
        return [{**about, **record} for record in found]

    def progress(self, person_id: int | None = None, now: float | None = None) -> dict:
        """This week against last week, the streak and the weekly trend (device.daemon.records)."""
        today = datetime.fromtimestamp(time.time() if now is None else now).date()
        return personal_records.progress(self._record_sets(person_id), today)


def _reason(value: Any, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value.strip()) > REASON_MAX:
        raise CorrectionInvalid("reason", f"a text of at most {REASON_MAX} characters")
    if required and not value.strip():
        raise CorrectionInvalid("reason", "say why the count is wrong (it is kept with the set)")
    return value.strip()


def _live_set(db: sqlite3.Connection, set_id: int) -> sqlite3.Row | None:
    """A set that is not deleted, with its counted complete reps (CorrectionInvalid when it
    is deleted; None when there is no such set)."""
    row = db.execute(
        "SELECT t.person_id, t.corrected_reps, t.deleted_at,"
        " (SELECT coalesce(sum(complete), 0) FROM reps WHERE set_id = t.id) AS counted"
        " FROM sets t WHERE t.id=?",
        (set_id,),
    ).fetchone()
    if row is not None and row["deleted_at"] is not None:
        raise CorrectionInvalid("set_id", f"set {set_id} is deleted: restore it first")
    return row


def _log(
    db: sqlite3.Connection, set_id: int, field: str, before: object, after: object, reason: str
) -> None:
    db.execute(
        "INSERT INTO set_corrections (set_id, at, field, before, after, reason)"
        " VALUES (?,?,?,?,?,?)",
        (set_id, time.time(), field, _text(before), _text(after), reason),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _version(db: sqlite3.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


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


def _state_get(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM device_state WHERE key=?", (key,)).fetchone()
    return None if row is None else row[0]


def _name_free(db: sqlite3.Connection, name: str, person_id: int | None) -> None:
    row = db.execute("SELECT id FROM people WHERE name=?", (name,)).fetchone()
    if row is not None and row[0] != person_id:
        raise PersonInvalid("name", f"{name!r} is taken: choose another name")


def _session_for(db: sqlite3.Connection, at: float, gap_s: float) -> int:
    """The latest session when it ended less than gap_s before `at`, else a new one."""
    row = db.execute("SELECT id, ended_at FROM sessions ORDER BY ended_at DESC LIMIT 1").fetchone()
    if row is not None and at - row["ended_at"] < gap_s:
        return row["id"]
    return db.execute(
        "INSERT INTO sessions (started_at, ended_at) VALUES (?, ?)", (at, at)
    ).lastrowid


# One row per set: its counted complete reps, the corrected count where there is one, and
# `reps`, the count that totals and records use (the corrected one, else the counted one).
_SET_COUNTS = """
    SELECT t.id, t.session_id, t.person_id, p.name AS person, t.exercise,
           t.started_at, t.ended_at,
           coalesce(t.corrected_reps, coalesce(sum(r.complete), 0)) AS reps,
           coalesce(sum(r.complete), 0) AS counted_reps,
           t.corrected_reps, t.correction_reason,
           coalesce(sum(1 - r.complete), 0) AS partial_reps,
           avg(CASE WHEN r.complete THEN r.depth END) AS avg_depth,
           t.deleted_at, t.cut_short
    FROM sets t LEFT JOIN reps r ON r.set_id = t.id LEFT JOIN people p ON p.id = t.person_id
"""


def _person_filter(person_id: int | None, *conditions: str) -> tuple[str, tuple]:
    """A WHERE clause of the conditions, and of the person when one is given."""
    params: tuple = ()
    if person_id is not None:
        conditions = (*conditions, "t.person_id=?")
        params = (person_id,)
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), params
