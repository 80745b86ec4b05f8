"""The whole history as one file: CSV (a row per rep) or JSON (sets with their corrections, and
reps). A mixin of Store (device/history/store.py): it uses the store's read queries."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from device import jsonout
from device.history.queries import SET_COUNTS, person_filter

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


class Exports:
    """Store's exports (see the module docstring)."""

    version: int

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict]:
        raise NotImplementedError

    def export_sets(self, person_id: int | None = None) -> list[dict]:
        """Every set (deleted ones flagged by deleted_at) with its counted and corrected reps
        and the log of its corrections."""
        where, params = person_filter(person_id)
        sets = self._query(SET_COUNTS + where + " GROUP BY t.id ORDER BY t.id", params)
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
        where, params = person_filter(person_id)
        rows = self._query(
            f"""
            WITH c AS ({SET_COUNTS} {where} GROUP BY t.id)
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
