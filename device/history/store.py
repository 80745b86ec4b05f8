"""Workout history in SQLite: sessions, sets and reps, one durable commit per rep.

WAL journal with synchronous=FULL: a rep is on disk when `add_rep` returns, so a power cut or
kill -9 loses no completed rep. The schema is versioned with PRAGMA user_version and upgraded by
the MIGRATIONS list (device/history/schema.py), one transaction per step; a database newer than
this program is refused.
Times are Unix seconds (wall clock); totals group by the local calendar day or ISO week.
"""

from __future__ import annotations

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

from device.errors import RepCounterError
from device.history import records as personal_records
from device.history.export import Exports
from device.history.queries import SET_COUNTS, person_filter
from device.history.roster import Roster
from device.history.schema import MIGRATIONS

log = logging.getLogger(__name__)

REPS_MAX = 1000  # a corrected rep count
OVERLAP_S = 60.0  # a new set's first rep may start this much before the last set's end
REASON_MAX = 200


class CorrectionInvalid(ValueError):
    """A correction that cannot be made: which field, and what is wrong with it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class StoreError(RepCounterError):
    """The history database cannot be opened or upgraded."""


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


class Store(Roster, Exports):
    """The history database. Thread-safe: one connection behind a lock (reads are small).
    Here: the connection, sets and reps with their corrections, and the read-side queries;
    people and exports are the mixins of device/history/roster.py and export.py.

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

    def mark_cut_short(self, set_id: int) -> None:
        """The set ended because someone else started training: never a record."""
        with self._lock, self._connection() as db:
            db.execute("UPDATE sets SET cut_short=1 WHERE id=?", (set_id,))

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

    def sessions_after(self, t: float) -> int:
        """How many sessions started after t (dated in the future when t is about now)."""
        with self._lock:
            db = self._connection()
            row = db.execute("SELECT count(*) FROM sessions WHERE started_at > ?", (t,)).fetchone()
            return row[0]

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
                {SET_COUNTS} WHERE t.session_id IN (SELECT id FROM page) {mine} GROUP BY t.id
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
        where, params = person_filter(person_id, "t.session_id=?")
        sets = self._query(
            SET_COUNTS + where + " GROUP BY t.id ORDER BY t.id", (session_id, *params)
        )
        return {"session": rows[0], "sets": sets}

    def set(self, set_id: int) -> dict | None:
        """{"set": the set with its counted and corrected reps, "reps": its reps,
        "corrections": the log of its changes, oldest first}, or None."""
        rows = self._query(SET_COUNTS + " WHERE t.id=? GROUP BY t.id", (set_id,))
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
        where, params = person_filter(person_id, "t.deleted_at IS NULL")
        return self._query(
            f"""
            WITH c AS ({SET_COUNTS} {where} GROUP BY t.id)
            SELECT strftime('{bucket}', c.started_at, 'unixepoch', 'localtime') AS period,
                   c.exercise AS exercise,
                   sum(c.reps) AS reps,
                   sum(c.partial_reps) AS partial_reps,
                   count(*) AS sets
            FROM c GROUP BY 1, 2 ORDER BY 1 DESC, 2 LIMIT ?
            """,
            (*params, limit),
        )

    # --- records and progress --------------------------------------------------------------

    def _record_sets(self, person_id: int | None, exercise: str | None = None) -> list[dict]:
        """Sets not deleted, oldest first, as device.history.records reads them."""
        conditions = ("t.deleted_at IS NULL",) + (("t.exercise=?",) if exercise else ())
        where, params = person_filter(person_id, *conditions)
        rows = self._query(
            SET_COUNTS + where + " GROUP BY t.id ORDER BY t.started_at, t.id",
            (*((exercise,) if exercise else ()), *params),
        )
        for row in rows:
            row["day"] = datetime.fromtimestamp(row["started_at"]).date()
        return rows

    def records(self, person_id: int | None = None) -> list[dict]:
        """Personal records per exercise (see device.history.records); everyone's best with
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
        """This week against last week, the streak and the weekly trend (device.history.records)."""
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


def _session_for(db: sqlite3.Connection, at: float, gap_s: float) -> int:
    """The latest session (the last one opened: a session dated in the future by a clock that
    was ahead is not the latest) when it ended less than gap_s before `at`, else a new one. A
    set that starts before the session ended (the clock went back) opens a new session."""
    row = db.execute("SELECT id, ended_at FROM sessions ORDER BY id DESC LIMIT 1").fetchone()
    if row is not None and -OVERLAP_S <= at - row["ended_at"] < gap_s:
        return row["id"]
    return db.execute(
        "INSERT INTO sessions (started_at, ended_at) VALUES (?, ?)", (at, at)
    ).lastrowid
