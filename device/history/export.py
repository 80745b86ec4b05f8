"""The whole history as one file: CSV (a row per rep) or JSON (sets with their corrections, and
reps). A mixin of Store (device/history/store.py).

Exports stream: they read the database through a connection of their own (one read
transaction, so one consistent snapshot, while reps keep being written through the store's),
BATCH_ROWS rows at a time, and give the text in chunks of about CHUNK_BYTES. Memory stays the
same whatever the history's size: a 300,000-rep history costs what a 300-rep one does.

A CSV is opened in spreadsheets, which run a cell that starts with = + - @ tab or CR as a
formula: such a text cell (a person's name, a correction's reason) is written with a leading
apostrophe, OWASP's rule against CSV injection, so the spreadsheet shows it as text.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from device import jsonout
from device.history.queries import SET_COUNTS, person_filter

EXPORT_COLUMNS = (
    "session_id", "set_id", "rep_id", "person_id", "person", "exercise", "complete",
    "started_at", "ended_at", "started_local", "ended_local", "depth", "down_s", "up_s", "cues",
    # the rep's set: its counted complete reps, the corrected count and why, when deleted
    "counted_reps", "corrected_reps", "correction_reason", "deleted_at",
)  # fmt: skip
# The per-set export: one row per set, so a spreadsheet's sum of "reps" is the real total.
SET_EXPORT_COLUMNS = (
    "date", "started_local", "person", "exercise", "reps", "counted_reps", "corrected_reps",
    "partial_reps", "avg_depth", "form_score", "correction_reason", "deleted",
    "session_id", "set_id", "person_id",
)  # fmt: skip
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BATCH_ROWS = 500
CHUNK_BYTES = 64 * 1024
READER_CACHE_KIB = 2048  # SQLite's page cache for the export's own connection


def local_iso(t: float) -> str:
    """Unix seconds as ISO 8601 in the device's local time with its UTC offset, for exports
    read by people and spreadsheets ("2026-05-01T18:04:05.250+02:00")."""
    return datetime.fromtimestamp(t).astimezone().isoformat(timespec="milliseconds")


def csv_cell(value: Any) -> Any:
    """A value as a spreadsheet-safe CSV cell: "" for None, a text that a spreadsheet would
    run as a formula with a leading apostrophe, anything else as it is."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class Exports:
    """Store's exports (see the module docstring)."""

    path: Path

    def export_sets(self, person_id: int | None = None) -> list[dict]:
        """Every set (deleted ones flagged by deleted_at) with its counted and corrected reps
        and the log of its corrections."""
        with self._reader() as db:
            return list(_sets(db, person_id))

    def export_rows(self, person_id: int | None = None) -> list[dict]:
        """One row per rep, with its set's person, counted and corrected reps and deletion."""
        with self._reader() as db:
            return list(_rep_rows(db, person_id))

    def export_json(self, person_id: int | None = None) -> str:
        return "".join(self.json_chunks(person_id))

    def export_csv(self, person_id: int | None = None) -> str:
        return "".join(self.csv_chunks(person_id))

    def csv_chunks(self, person_id: int | None = None) -> Iterator[str]:
        """The CSV export, a chunk at a time."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        with self._reader() as db:
            for row in _rep_rows(db, person_id):
                row["cues"] = " ".join(row["cues"])
                row["complete"] = int(row["complete"])
                writer.writerow([csv_cell(row[c]) for c in EXPORT_COLUMNS])
                if out.tell() >= CHUNK_BYTES:
                    yield _take(out)
        yield _take(out)

    def export_sets_csv(self, person_id: int | None = None) -> str:
        return "".join(self.sets_csv_chunks(person_id))

    def sets_csv_chunks(self, person_id: int | None = None) -> Iterator[str]:
        """One row per set, a chunk at a time: its date, person, exercise, the reps it counts
        for (corrected where corrected), counted, corrected and partial reps, mean depth of its
        complete reps and its form score (the share of complete reps without a form cue).
        Deleted sets are listed with deleted=1 and 0 reps, so summing the column gives the
        history's total."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(SET_EXPORT_COLUMNS)
        where, params = person_filter(person_id)
        with self._reader() as db:
            rows = db.execute(
                f"""
                WITH c AS ({SET_COUNTS} {where} GROUP BY t.id)
                SELECT c.*, (SELECT avg(r.cues = '[]') FROM reps r
                             WHERE r.set_id = c.id AND r.complete) AS form_score
                FROM c ORDER BY c.started_at, c.id
                """,
                params,
            )
            for row in _batches(rows):
                writer.writerow([csv_cell(v) for v in _set_row(dict(row))])
                if out.tell() >= CHUNK_BYTES:
                    yield _take(out)
        yield _take(out)

    def json_chunks(self, person_id: int | None = None) -> Iterator[str]:
        """The JSON export, a chunk at a time: {"schema", "person_id", "sets": [...],
        "reps": [...]}, one set or rep per line."""
        with self._reader() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            out = io.StringIO()
            out.write(f'{{"schema": {version}, "person_id": {jsonout.dumps(person_id)},\n')
            for key, rows in (("sets", _sets(db, person_id)), ("reps", _rep_rows(db, person_id))):
                out.write(f' "{key}": [')
                separator = "\n"
                for row in rows:
                    out.write(separator + jsonout.dumps(row))
                    separator = ",\n"
                    if out.tell() >= CHUNK_BYTES:
                        yield _take(out)
                out.write("\n ]" + (",\n" if key == "sets" else "\n}\n"))
            yield _take(out)

    def _reader(self) -> _Reader:
        return _Reader(self.path)


class _Reader:
    """A read-only connection of the export's own, in one read transaction (a snapshot)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> sqlite3.Connection:
        uri = self.path.resolve().as_uri() + "?mode=rw"  # never create an empty history
        self.db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA query_only=ON")
        self.db.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.execute("BEGIN")
        return self.db

    def __exit__(self, *exc: object) -> None:
        self.db.close()


def _set_row(row: dict) -> list[Any]:
    """A row of SET_COUNTS (and its form score) as the per-set CSV's cells."""
    deleted = row["deleted_at"] is not None
    values = {
        **row,
        "date": datetime.fromtimestamp(row["started_at"]).astimezone().date().isoformat(),
        "started_local": local_iso(row["started_at"]),
        "reps": 0 if deleted else row["reps"],
        "avg_depth": None if row["avg_depth"] is None else round(row["avg_depth"], 3),
        "form_score": None if row["form_score"] is None else round(row["form_score"], 2),
        "deleted": int(deleted),
        "set_id": row["id"],
    }
    return [values[c] for c in SET_EXPORT_COLUMNS]


def _take(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


def _batches(cursor: sqlite3.Cursor) -> Iterator[sqlite3.Row]:
    while rows := cursor.fetchmany(BATCH_ROWS):
        yield from rows


def _sets(db: sqlite3.Connection, person_id: int | None) -> Iterator[dict]:
    """Sets by id, each with its corrections (a merge of two cursors, both by set id)."""
    where, params = person_filter(person_id)
    sets = db.execute(SET_COUNTS + where + " GROUP BY t.id ORDER BY t.id", params)
    log = _batches(
        db.execute(
            "SELECT set_id, at, field, before, after, reason FROM set_corrections"
            " ORDER BY set_id, id"
        )
    )
    pending = next(log, None)
    for row in _batches(sets):
        item = dict(row)
        item["corrections"] = []
        while pending is not None and pending["set_id"] <= item["id"]:
            if pending["set_id"] == item["id"]:
                change = dict(pending)
                del change["set_id"]
                item["corrections"].append(change)
            pending = next(log, None)
        yield item


def _rep_rows(db: sqlite3.Connection, person_id: int | None) -> Iterator[dict]:
    where, params = person_filter(person_id)
    cursor = db.execute(
        f"""
        WITH c AS ({SET_COUNTS} {where} GROUP BY t.id)
        SELECT c.session_id, r.set_id, r.id AS rep_id, c.person_id, c.person, r.exercise,
               r.complete, r.started_at, r.ended_at, r.depth, r.down_s, r.up_s, r.cues,
               c.counted_reps, c.corrected_reps, c.correction_reason, c.deleted_at
        FROM reps r JOIN c ON c.id = r.set_id ORDER BY r.id
        """,
        params,
    )
    for row in _batches(cursor):
        item = dict(row)
        item["complete"] = bool(item["complete"])
        item["cues"] = json.loads(item["cues"])
        item["started_local"] = local_iso(item["started_at"])
        item["ended_local"] = local_iso(item["ended_at"])
        yield item
