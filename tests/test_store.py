"""SQLite history: durable reps, set/session grouping, queries, export, schema versions."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import datetime

import pytest

from device.history.schema import MIGRATIONS
from device.history.store import CorrectionInvalid, RepRecord, Store, StoreError


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


# --- people, corrections, records and progress --------------------------------------------

NOON = datetime(2026, 5, 4, 12).timestamp()  # a Monday, local time
DAY = 86400.0


def add_person(store: Store, name: str) -> int:
    return store.add_person(name, "#00aa00")["id"]


def add_set(
    store: Store, person: int, at: float, reps: int, exercise: str = "squat", depth: float = 1.0
) -> int:
    """A set of `reps` complete reps (and one partial) starting at `at`, owned by `person`."""
    set_id = None
    for i in range(reps):
        record = RepRecord(exercise, True, at + 3 * i, at + 3 * i + 2, depth, 1.0, 1.0)
        _, set_id = store.add_rep(record, set_id, 600, person)
    partial = RepRecord(exercise, False, at + 3 * reps, at + 3 * reps + 2, 0.3, 1.0, 1.0)
    _, set_id = store.add_rep(partial, set_id, 600, person)
    return set_id


def test_a_version_1_history_moves_to_person_1(tmp_path):
    path = tmp_path / "h.sqlite3"
    with sqlite3.connect(path) as old:  # a history written by the version-1 program
        old.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
        old.execute("INSERT INTO sessions VALUES (1, ?, ?)", (NOON - 2, NOON + 3))
        old.execute("INSERT INTO sets VALUES (1, 1, 'squat', ?, ?)", (NOON - 2, NOON + 3))
        for at in (NOON, NOON + 3):
            old.execute(
                "INSERT INTO reps (set_id, exercise, complete, started_at, ended_at, depth,"
                " down_s, up_s) VALUES (1, 'squat', 1, ?, ?, 1.0, 1.0, 1.0)",
                (at - 2, at),
            )
    set_id = 1
    store = Store(path)
    assert store.version == len(MIGRATIONS)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    detail = store.set(set_id)
    assert detail["set"]["person_id"] == 1 and detail["set"]["person"] == "Me"
    assert (detail["set"]["reps"], detail["set"]["counted_reps"]) == (2, 2)
    assert detail["set"]["corrected_reps"] is None and detail["corrections"] == []
    assert store.sessions(person_id=1) == store.sessions()
    assert store.totals(person_id=1) == store.totals() and store.totals()[0]["reps"] == 2
    rows = list(csv.DictReader(io.StringIO(store.export_csv(person_id=1))))
    assert [(r["person_id"], r["person"]) for r in rows] == [("1", "Me")] * 2


def test_corrections_keep_the_counted_reps_and_are_logged(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    other = add_person(store, "Sam")
    set_id = add_set(store, 1, NOON, 8)
    with pytest.raises(CorrectionInvalid) as missing_reason:
        store.correct_reps(set_id, 10, " ")
    assert missing_reason.value.field == "reason"
    for bad in (-1, 1.5, True, "10", 10**6):
        with pytest.raises(CorrectionInvalid, match="reps"):
            store.correct_reps(set_id, bad, "miscounted")
    with pytest.raises(CorrectionInvalid, match="already has 8"):
        store.correct_reps(set_id, 8, "miscounted")

    corrected = store.correct_reps(set_id, 10, "two reps hidden by the bench")
    assert corrected["set"]["counted_reps"] == 8 and corrected["set"]["corrected_reps"] == 10
    assert corrected["set"]["reps"] == 10
    assert corrected["set"]["correction_reason"] == "two reps hidden by the bench"
    assert sum(r["complete"] for r in corrected["reps"]) == 8, "the counted reps stay"
    assert store.totals()[0]["reps"] == 10 and store.sessions()[0]["reps"] == 10
    assert store.records(1)[0]["set_reps"]["value"] == 10

    moved = store.move_set(set_id, other, "Sam trained, not me")
    assert moved["set"]["person_id"] == other and moved["set"]["person"] == "Sam"
    assert store.totals(person_id=1) == [] and store.totals(person_id=other)[0]["reps"] == 10
    with pytest.raises(CorrectionInvalid, match="no person 99"):
        store.move_set(set_id, 99)
    with pytest.raises(CorrectionInvalid, match="already"):
        store.move_set(set_id, other)

    deleted = store.delete_set(set_id, "a warm-up")
    assert deleted["set"]["deleted_at"] is not None
    assert store.totals() == [] and store.records() == [] and store.sessions()[0]["reps"] == 0
    session_id = deleted["set"]["session_id"]
    assert [s["id"] for s in store.session(session_id)["sets"]] == [set_id], "still listed"
    assert store.sessions()[0]["deleted_sets"] == 1
    with pytest.raises(CorrectionInvalid, match="deleted: restore it first"):
        store.correct_reps(set_id, 9, "again")
    with pytest.raises(CorrectionInvalid, match="already deleted"):
        store.delete_set(set_id)
    exported = json.loads(store.export_json())
    assert exported["sets"][0]["deleted_at"] is not None
    assert [c["field"] for c in exported["sets"][0]["corrections"]] == [
        "reps", "person_id", "deleted",
    ]  # fmt: skip

    restored = store.delete_set(set_id, deleted=False)
    assert restored["set"]["deleted_at"] is None and store.totals()[0]["reps"] == 10
    back = store.correct_reps(set_id, 8, "the count was right after all")
    assert back["set"]["corrected_reps"] is None and back["set"]["reps"] == 8
    log = [(c["field"], c["before"], c["after"], c["reason"]) for c in back["corrections"]]
    assert log[0] == ("reps", "8", "10", "two reps hidden by the bench")
    assert log[1] == ("person_id", "1", str(other), "Sam trained, not me")
    assert log[2][0] == "deleted" and log[2][1] is None and log[2][3] == "a warm-up"
    assert log[3][0] == "deleted" and log[3][2] is None
    assert log[4] == ("reps", "10", "8", "the count was right after all")
    assert store.correct_reps(999, 3, "x") is None and store.delete_set(999) is None
    rows = list(csv.DictReader(io.StringIO(store.export_csv())))
    assert {(r["counted_reps"], r["corrected_reps"]) for r in rows} == {("8", "")}


def test_records_per_person_and_exercise(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    sam = add_person(store, "Sam")
    first = add_set(store, 1, NOON, 5, depth=0.9)
    assert store.new_records(first) == [], "a first set is not a record"
    second = add_set(store, 1, NOON + 600, 7, depth=0.8)  # same day: 12 reps today
    assert [r["record"] for r in store.new_records(second)] == ["set_reps"]
    day2 = add_set(store, 1, NOON + DAY, 6, depth=1.2)
    found = {r["record"]: r for r in store.new_records(day2)}
    assert set(found) == {"depth", "streak"}
    assert (found["streak"]["value"], found["streak"]["previous"]) == (2, 1)
    assert (found["depth"]["value"], found["depth"]["previous"]) == (1.2, 0.9)
    day2b = add_set(store, 1, NOON + DAY + 600, 7, depth=1.0)  # 13 today > 12: day record once
    assert [r["record"] for r in store.new_records(day2b)] == ["day_reps"]
    assert store.new_records(day2b)[0]["value"] == 13
    day2c = add_set(store, 1, NOON + DAY + 1200, 2)
    assert store.new_records(day2c) == [], "the day record was already celebrated today"
    pushup = add_set(store, 1, NOON + DAY + 1800, 20, "pushup")
    assert store.new_records(pushup) == [], "the first push-up set"
    theirs = add_set(store, sam, NOON + 3 * DAY, 30, depth=2.0)
    assert store.new_records(theirs) == [], "Sam's first squat set, whatever mine were"

    [pushups, squats] = store.records(1)
    assert (pushups["exercise"], pushups["set_reps"]["value"]) == ("pushup", 20)
    assert squats["set_reps"] == {"value": 7, "set_id": second, "person_id": 1, "at": NOON + 600}
    assert squats["day_reps"] == {"value": 15, "day": "2026-05-05"}
    assert squats["depth"]["value"] == 1.2 and squats["depth"]["set_id"] == day2
    assert squats["streak"] == {"value": 2, "from": "2026-05-04", "to": "2026-05-05"}
    assert store.records(sam)[0]["set_reps"]["value"] == 30
    everyone = {r["exercise"]: r for r in store.records()}
    assert everyone["squat"]["set_reps"]["person_id"] == sam
    # A correction counts: my second set corrected down, the first day's best set is the first.
    store.correct_reps(second, 4, "counted a wobble")
    assert store.records(1)[1]["set_reps"]["set_id"] == day2b
    assert store.records(1)[1]["day_reps"]["value"] == 15


def test_per_person_totals_add_up_to_everyone(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    sam = add_person(store, "Sam")
    for day in range(4):
        add_set(store, 1, NOON + day * DAY, 3 + day)
        add_set(store, sam, NOON + day * DAY + 1000, 10 - day, "pushup" if day % 2 else "squat")
    for period in ("day", "week"):
        mine, theirs, everyone = (store.totals(period, person_id=p) for p in (1, sam, None))
        summed: dict = {}
        for row in mine + theirs:
            key = (row["period"], row["exercise"])
            old = summed.get(key, (0, 0, 0))
            summed[key] = (old[0] + row["reps"], old[1] + row["partial_reps"], old[2] + row["sets"])
        assert summed == {
            (r["period"], r["exercise"]): (r["reps"], r["partial_reps"], r["sets"])
            for r in everyone
        }
    assert sum(s["reps"] for s in store.sessions()) == sum(3 + d + 10 - d for d in range(4))
    assert len(store.export_rows(1)) + len(store.export_rows(sam)) == len(store.export_rows())


def test_progress_this_week_streak_and_trend(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    # Last week Monday to Wednesday, this week Monday and Tuesday (today is Tuesday).
    for day in (-7, -6, -5, 0, 1):
        add_set(store, 1, NOON + day * DAY, 10 + day, depth=1.0 + day / 10)
    add_set(store, 1, NOON - 2 * DAY, 4, "pushup")  # Saturday of last week
    progress = store.progress(1, now=NOON + DAY + 3600)
    assert progress["this_week"] == {"pushup": 0, "squat": 10 + 11}
    assert progress["last_week"] == {"pushup": 4, "squat": 3 + 4 + 5}
    assert progress["streak"] == {"current": 2, "longest": 3}
    assert progress["weeks"][-2:] == ["2026-04-27", "2026-05-04"]
    squat = progress["trend"]["squat"]
    assert squat["reps"][-2:] == [12, 21] and sum(squat["reps"]) == 33
    assert squat["avg_depth"][-1] == pytest.approx((10 * 1.0 + 11 * 1.1) / 21, abs=0.001)
    assert squat["avg_depth"][0] is None
    assert store.progress(1, now=NOON + 3 * DAY)["streak"]["current"] == 0, "a day missed"
