"""History per person: record events at a set's end, and the history API (corrections,
records, progress, per-person answers) with its validation, CSRF and login."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from device.capture.preview import PreviewBuffer
from device.daemon import config
from device.daemon.events import EventBus
from device.daemon.live import LivePipeline
from device.daemon.store import RepRecord, Store
from device.daemon.workout import Workout
from device.exercise.types import Rep
from tests.test_api import clip, logged_in_client, serve  # noqa: F401 (clip: a fixture)
from tests.test_serve_pipeline import FakePose, FakeTracker
from tests.waiting import wait_until


def squats(t0: float, count: int, depth: float = 1.0) -> list[Rep]:
    return [Rep("squat", True, t0 + 2 * i, t0 + 2 * i + 1, t0 + 2 * i + 1.5, depth, 1, 0.5)
            for i in range(count)]  # fmt: skip


def test_a_set_end_publishes_each_new_record_once(tmp_path):
    bus = EventBus()
    store = Store(tmp_path / "h.sqlite3")
    workout = Workout(store, set_idle_s=10)
    pipeline = LivePipeline(None, FakePose(), FakeTracker(), workout, bus, PreviewBuffer())
    with bus.subscribe({"set", "record"}) as events:

        def one_set(t0: float, count: int, depth: float) -> list:
            pipeline._publish_outputs(squats(t0, count, depth))
            pipeline._publish_set_end(workout.tick(t0 + 2 * count + 20))
            seen = []
            while (event := events.get(0.2)) is not None:
                seen.append((event.kind, event.data))
            return seen

        first = one_set(0.0, 5, 1.0)
        assert [kind for kind, _ in first] == ["set"], "a first set is not a record"
        more = one_set(100.0, 7, 1.1)
        assert [kind for kind, _ in more] == ["set", "record", "record"]
        set_id = more[0][1]["set_id"]
        records = {data["record"]: data for kind, data in more if kind == "record"}
        assert set(records) == {"set_reps", "depth"}
        assert records["set_reps"] == {
            "set_id": set_id, "person_id": 1, "person": "Me", "exercise": "squat",
            "record": "set_reps", "value": 7, "previous": 5,
        }  # fmt: skip
        assert [kind for kind, _ in one_set(200.0, 3, 0.9)] == ["set"], "no record: no event"


# --- the history API on a running daemon (stand-in model and engine) -----------------------

NOON = datetime(2026, 5, 4, 12).timestamp()


def seeded(data_dir: Path) -> tuple[int, int, int]:
    """A history of two people, written before the daemon starts: (sam, my set, Sam's set)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(data_dir / "history.sqlite3")
    sam = store.add_person("Sam", "#2e7d32")["id"]
    sets = []
    for person, count, exercise in ((1, 8, "squat"), (sam, 5, "pushup")):
        set_id = None
        for i in range(count):
            record = RepRecord(exercise, True, NOON + 3 * i, NOON + 3 * i + 2, 1.0, 1.0, 1.0)
            _, set_id = store.add_rep(record, set_id, 600, person)
        sets.append(set_id)
    store.close()
    return sam, sets[0], sets[1]


def test_corrections_through_the_api_are_validated_and_logged(tmp_path, clip):  # noqa: F811
    sam, mine, theirs = seeded(tmp_path)
    settings = config.Settings(camera={"file_loop": True}, server={"threads": 8})
    with serve(tmp_path, clip, settings) as daemon:
        client, token = logged_in_client(daemon)
        good = {"X-CSRF-Token": token}
        assert wait_until(lambda: daemon.workout.current is not None)
        open_set = daemon.workout.current.id
        url = f"/api/sets/{mine}/correction"
        cases = [
            (url, {"reps": "ten", "reason": "x"}, good, 422, "reps"),
            (url, {"reps": True, "reason": "x"}, good, 422, "reps"),
            (url, {"reps": -1, "reason": "x"}, good, 422, "reps"),
            (url, {"reps": 10}, good, 422, "reason"),
            (url, {"reps": 10, "reason": "x" * 201}, good, 422, "reason"),
            (url, {}, good, 422, "body"),
            (url, {"reps": 10, "delete": True, "reason": "x"}, good, 422, "body"),
            (url, {"delete": "yes"}, good, 422, "delete"),
            (url, {"person_id": 999}, good, 422, "person_id"),
            (url, {"person_id": "2"}, good, 422, "person_id"),
            (url, {"person_id": 1}, good, 422, "person_id"),  # already mine
            (url, {"reps": 9, "colour": "red", "reason": "x"}, good, 422, "colour"),
            (url, {"reps": 10, "reason": "x"}, {}, 403, "X-CSRF-Token"),
            (url, {"reps": 10, "reason": "x"}, {"X-CSRF-Token": "forged"}, 403, "X-CSRF-Token"),
            ("/api/sets/999999/correction", {"delete": True}, good, 404, "set_id"),
            (f"/api/sets/{open_set}/correction", {"delete": True}, good, 409, "set_id"),
        ]
        for path, body, headers, status, field in cases:
            answer = client.post(path, json=body, headers=headers)
            assert (answer.status_code, answer.json["field"]) == (status, field), (
                body,
                answer.json,
            )
        as_text = client.post(url, data="reps=10", headers=good)
        assert as_text.status_code == 415 and as_text.json["field"] == "body"
        stranger = daemon.app.test_client()
        assert stranger.post(url, json={"delete": True}).status_code in (401, 403)
        assert stranger.get(f"/api/sets/{mine}").status_code == 401
        assert client.get(f"/api/sets/{mine}").json["corrections"] == [], "nothing changed"

        fixed = client.post(url, json={"reps": 10, "reason": "bench hid two"}, headers=good)
        assert fixed.status_code == 200
        assert (fixed.json["set"]["counted_reps"], fixed.json["set"]["corrected_reps"]) == (8, 10)
        detail = client.get(f"/api/sets/{mine}").json
        assert [(c["field"], c["before"], c["after"]) for c in detail["corrections"]] == [
            ("reps", "8", "10")
        ]
        assert client.get(f"/api/sets/{mine}?person={sam}").status_code == 404
        moved = client.post(
            f"/api/sets/{theirs}/correction", json={"person_id": 1, "reason": "me"}, headers=good
        )
        assert moved.json["set"]["person"] == "Me"
        back = client.post(f"/api/sets/{theirs}/correction", json={"person_id": sam}, headers=good)
        assert back.json["set"]["person_id"] == sam
        gone = client.post(url, json={"delete": True, "reason": "warm-up"}, headers=good)
        assert gone.json["set"]["deleted_at"] is not None
        assert client.get(f"/api/records?person={sam}").json["records"][0]["exercise"] == "pushup"
        assert all(r["exercise"] != "squat" or r["set_reps"]["set_id"] != mine
                   for r in client.get("/api/records?person=1").json["records"])  # fmt: skip
        restored = client.post(url, json={"delete": False}, headers=good)
        assert restored.json["set"]["deleted_at"] is None

        for path, status in (
            ("/api/records?person=999", 404),
            ("/api/records?person=abc", 400),
            ("/api/records?person=0", 400),
            ("/api/progress?person=-1", 400),
            ("/api/sessions?person=999", 404),
            ("/api/export?person=x", 400),
        ):
            answer = client.get(path)
            assert (answer.status_code, answer.json["field"]) == (status, "person"), path
        progress = client.get(f"/api/progress?person={sam}").json
        assert progress["person_id"] == sam and set(progress["trend"]) == {"pushup"}
        csv_text = client.get(f"/api/export?format=csv&person={sam}").data.decode()
        rows = list(csv.DictReader(io.StringIO(csv_text)))
        assert len(rows) == 5 and {r["person"] for r in rows} == {"Sam"}
        mine_rows = [r for r in csv.DictReader(io.StringIO(
            client.get("/api/export?format=csv&person=1").data.decode()
        )) if r["set_id"] == str(mine)]  # fmt: skip
        assert {
            (r["counted_reps"], r["corrected_reps"], r["correction_reason"]) for r in mine_rows
        } == {("8", "10", "bench hid two")}
