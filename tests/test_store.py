"""SQLite history: durable reps, set/session grouping, queries, export, schema versions."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import datetime

import pytest

from device.daemon.store import MIGRATIONS, RepRecord, Store, StoreError


def rep(at: float, exercise: str = "squat", complete: bool = True) -> RepRecord:
    return RepRecord(exercise, complete, at - 2.0, at, 1.1, 1.0, 1.0, ("go_deeper",))


def test_reps_group_into_sets_and_sessions(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    session_a, set_a = store.add_rep(rep(1000.0), None, session_gap_s=600)
    assert store.add_rep(rep(1003.0), set_a, 600) == (session_a, set_a)
    session_b, set_b = store.add_rep(rep(1100.0, "pushup"), None, 600)  # new set, same session
    assert session_b == session_a and set_b != set_a
    session_c, _ = store.add_rep(rep(5000.0), None, 600)  # long gap: new session
    assert session_c != session_a

    sessions = store.sessions()
    assert [s["id"] for s in sessions] == [session_c, session_a]
    assert sessions[1]["sets"] == 2 and sessions[1]["reps"] == 3
    detail = store.session(session_a)
    assert [s["exercise"] for s in detail["sets"]] == ["squat", "pushup"]
    assert detail["session"]["started_at"] == 998.0 and detail["session"]["ended_at"] == 1100.0
    one_set = store.set(set_a)
    assert one_set["set"]["reps"] == 2 and len(one_set["reps"]) == 2
    assert [r["ended_at"] for r in store.reps(set_id=set_a)] == [1000.0, 1003.0]
    assert store.reps(set_id=set_a)[0]["cues"] == ["go_deeper"]
    assert store.session(999) is None and store.set(999) is None


def test_partial_reps_are_counted_apart(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    _, set_id = store.add_rep(rep(10.0), None, 600)
    store.add_rep(rep(12.0, complete=False), set_id, 600)
    result = store.set(set_id)["set"]
    assert (result["reps"], result["partial_reps"]) == (1, 1)


def test_totals_by_day_and_week(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    day = 1_700_000_000.0
    _, s1 = store.add_rep(rep(day), None, 600)
    store.add_rep(rep(day + 5), s1, 600)
    store.add_rep(rep(day + 86400 * 2), None, 600)
    days = store.totals("day")
    assert [row["reps"] for row in days] == [1, 2]
    weeks = store.totals("week")
    assert sum(row["reps"] for row in weeks) == 3
    with pytest.raises(ValueError):
        store.totals("month")


def test_export_csv_and_json(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    _, set_id = store.add_rep(rep(10.0), None, 600)
    store.add_rep(rep(12.0, "squat", complete=False), set_id, 600)
    rows = list(csv.DictReader(io.StringIO(store.export_csv())))
    assert [r["complete"] for r in rows] == ["1", "0"]
    assert rows[0]["cues"] == "go_deeper"
    # Local ISO 8601 beside the epoch seconds: the same instant.
    for row in rows:
        for end in ("started", "ended"):
            local = datetime.fromisoformat(row[f"{end}_local"])
            assert local.utcoffset() is not None
            assert local.timestamp() == pytest.approx(float(row[f"{end}_at"]), abs=0.001)
    data = json.loads(store.export_json())
    assert data["schema"] == len(MIGRATIONS) and len(data["reps"]) == 2


def test_every_committed_rep_is_on_disk_for_another_connection(tmp_path):
    path = tmp_path / "h.sqlite3"
    store = Store(path)
    _, set_id = store.add_rep(rep(10.0), None, 600)
    store.add_rep(rep(12.0), set_id, 600)
    # A second connection (as after a crash and restart) sees both without any close().
    other = sqlite3.connect(path)
    assert other.execute("SELECT count(*) FROM reps").fetchone()[0] == 2
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrations_upgrade_an_older_database(tmp_path):
    path = tmp_path / "h.sqlite3"
    Store(path, MIGRATIONS).close()
    extra = (*MIGRATIONS, "ALTER TABLE reps ADD COLUMN note TEXT;")
    upgraded = Store(path, extra)
    assert upgraded.version == len(extra)
    upgraded.add_rep(rep(10.0), None, 600)  # the old columns still work


def test_newer_database_is_refused(tmp_path):
    path = tmp_path / "h.sqlite3"
    Store(path, (*MIGRATIONS, "CREATE TABLE future (x);")).close()
    with pytest.raises(StoreError, match="newer than this program"):
        Store(path)


def test_a_failing_migration_changes_nothing(tmp_path):
    path = tmp_path / "h.sqlite3"
    Store(path).close()
    with pytest.raises(StoreError):
        Store(path, (*MIGRATIONS, "CREATE TABLE ok (x); CREATE TABLE broken (;"))
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name='ok'").fetchone()[0] == 0
