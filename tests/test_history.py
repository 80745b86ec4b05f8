"""History per person: record events at a set's end, and the history API (corrections,
records, progress, per-person answers) with its validation, CSRF and login."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from datetime import datetime
from pathlib import Path

from device.capture.preview import PreviewBuffer
from device.daemon import config
from device.daemon.events import EventBus
from device.daemon.live import LivePipeline
from device.daemon.service import Daemon
from device.exercise.types import Rep
from device.history.store import RepRecord, Store
from device.history.workout import Workout
from tests.test_api import clip, logged_in_client, serve  # noqa: F401 (clip: a fixture)
from tests.test_serve_e2e import truth
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
            t_end = t0 + 2 * count + 20
            pipeline._publish_set_end(workout.tick(t_end), t_end)
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
        assert all(r["exercise"] != "squat" or (r["set_reps"] or {}).get("set_id") != mine
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


# --- two people, each with sets from real clips (real model and exercise engine) -----------


def csv_rows(client, path: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(client.get(path).data.decode())))


def next_set_end(events, timeout: float = 180.0) -> tuple[dict, list[dict]]:
    """The next set end, and the record events published with it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = events.get(1.0)
        if event is not None and event.kind == "set" and event.data["event"] == "end":
            records = []
            while (more := events.get(1.0)) is not None and more.kind == "record":
                records.append(more.data)
            return event.data, records
    raise AssertionError("no set ended")


def test_two_people_have_separate_histories_records_and_exports(shared_data, tmp_path):
    clips = shared_data / "clips"
    store = Store(tmp_path / "history.sqlite3")
    sam = store.add_person("Sam", "#2e7d32")["id"]
    store.close()
    settings = config.Settings(
        camera={"source": str(clips / "posetest_squat.mp4"), "file_pace": "fast"},
        server={"threads": 8},
    )
    config.save(settings, tmp_path / "settings.toml")
    daemon = Daemon(tmp_path, host="127.0.0.1", port=0)
    stop = threading.Event()
    with daemon.bus.subscribe({"set", "record"}) as events:
        daemon.start()
        supervisor = threading.Thread(target=daemon.run, args=(stop,))
        supervisor.start()
        try:
            client, token = logged_in_client(daemon)
            good = {"X-CSRF-Token": token}
            mine_1, records_1 = next_set_end(events)  # Me: the first clip

            def play(person: int, clip_name: str) -> tuple[dict, list[dict]]:
                switch = client.put("/api/person", json={"person_id": person}, headers=good)
                assert switch.status_code == 200, switch.json
                source = {"camera": {"source": str(clips / clip_name)}}
                assert client.patch("/api/settings", json=source, headers=good).status_code == 200
                return next_set_end(events)

            theirs, records_2 = play(sam, "judge_pushup_b.mp4")
            mine_2, records_3 = play(1, "darebee_squat.mp4")
            history = {
                who: {
                    "sessions": client.get(f"/api/sessions{query}").json["sessions"],
                    "totals": client.get(f"/api/totals{query}").json["totals"],
                    "records": client.get(f"/api/records{query}").json["records"],
                    "csv": csv_rows(client, f"/api/export?format=csv&{query[1:]}"),
                }
                for who, query in (("me", "?person=1"), ("sam", f"?person={sam}"), ("all", ""))
            }
            corrected = theirs["reps"] + 1
            fix = {"reps": corrected, "reason": "the last push-up was cut by the clip"}
            answer = client.post(f"/api/sets/{theirs['set_id']}/correction", json=fix, headers=good)
            assert answer.status_code == 200, answer.json
            after_csv = csv_rows(client, f"/api/export?format=csv&person={sam}")
            after_json = json.loads(client.get("/api/export?format=json").data)
            after_totals = {
                who: client.get(f"/api/totals?period=week{query}").json["totals"]
                for who, query in (("me", "&person=1"), ("sam", f"&person={sam}"), ("all", ""))
            }
        finally:
            stop.set()
            supervisor.join(10)
            daemon.shutdown()

    # Each clip counted within its true range, for the person who was training.
    for event, clip_name, person in (
        (mine_1, "posetest_squat.mp4", 1), (theirs, "judge_pushup_b.mp4", sam),
        (mine_2, "darebee_squat.mp4", 1),
    ):  # fmt: skip
        low, high = truth(shared_data, clip_name)
        assert low <= event["reps"] <= high, (clip_name, event)
        assert event["person_id"] == person
    # Separate histories, and everyone adds them up.
    me, them, everyone = history["me"], history["sam"], history["all"]
    assert sum(s["reps"] for s in me["sessions"]) == mine_1["reps"] + mine_2["reps"]
    assert sum(s["reps"] for s in them["sessions"]) == theirs["reps"]
    assert sum(s["reps"] for s in everyone["sessions"]) == sum(
        e["reps"] for e in (mine_1, theirs, mine_2)
    )
    for key in ("reps", "partial_reps", "sets"):
        assert sum(t[key] for t in everyone["totals"]) == sum(
            t[key] for t in me["totals"] + them["totals"]
        )
    assert [r["exercise"] for r in me["records"]] == ["squat"]
    assert [r["exercise"] for r in them["records"]] == ["pushup"]
    assert me["records"][0]["set_reps"]["value"] == max(mine_1["reps"], mine_2["reps"])
    assert them["records"][0]["set_reps"]["value"] == theirs["reps"]
    assert {r["exercise"]: r["set_reps"]["person_id"] for r in everyone["records"]} == {
        "squat": 1, "pushup": sam,
    }  # fmt: skip
    assert {r["person_id"] for r in me["csv"]} == {"1"}
    assert {r["person"] for r in them["csv"]} == {"Sam"}
    assert len(everyone["csv"]) == len(me["csv"]) + len(them["csv"])
    # A first set is never a record; Me's second squat set is one when it has more reps.
    assert records_1 == [] and records_2 == []
    got = {r["record"]: r for r in records_3}
    assert ("set_reps" in got) == (mine_2["reps"] > mine_1["reps"])
    if "set_reps" in got:
        assert (got["set_reps"]["value"], got["set_reps"]["previous"]) == (
            mine_2["reps"], mine_1["reps"],
        )  # fmt: skip
    # The edited set shows both counts in both exports, and the totals use the corrected one.
    assert {(r["counted_reps"], r["corrected_reps"]) for r in after_csv} == {
        (str(theirs["reps"]), str(corrected))
    }
    [edited] = [s for s in after_json["sets"] if s["id"] == theirs["set_id"]]
    assert (edited["counted_reps"], edited["corrected_reps"], edited["reps"]) == (
        theirs["reps"], corrected, corrected,
    )  # fmt: skip
    assert edited["corrections"][0]["reason"] == fix["reason"]
    assert sum(t["reps"] for t in after_totals["sam"]) == corrected
    assert sum(t["reps"] for t in after_totals["all"]) == sum(
        t["reps"] for t in after_totals["me"] + after_totals["sam"]
    )


def test_the_per_set_csv_has_one_row_per_set_and_sums_to_the_corrected_total(tmp_path):
    """A set counted 61 and corrected to 8: the per-rep CSV keeps its 61 rows, the per-set CSV
    has one row whose reps is 8, so a spreadsheet's sum is right."""
    store = Store(tmp_path / "h.sqlite3")
    ana = store.add_person("Ana", "#e67e22")["id"]
    ids = []
    for person, count, exercise, cue in ((1, 61, "squat", ()), (ana, 4, "pushup", ("go_lower",))):
        set_id = None
        for i in range(count):
            cues = cue if i % 2 else ()
            record = RepRecord(exercise, True, NOON + 3 * i, NOON + 3 * i + 2, 1.2, 1.0, 1.0, cues)
            _, set_id = store.add_rep(record, set_id, 600, person)
        ids.append(set_id)
    store.correct_reps(ids[0], 8, "counted a warm-up walk")
    per_rep = list(csv.DictReader(io.StringIO(store.export_csv())))
    assert len(per_rep) == 65
    rows = list(csv.DictReader(io.StringIO(store.export_sets_csv())))
    assert [(r["person"], r["exercise"]) for r in rows] == [("Me", "squat"), ("Ana", "pushup")]
    assert sum(int(r["reps"]) for r in rows) == 12
    me, hers = rows
    assert (me["counted_reps"], me["corrected_reps"], me["partial_reps"]) == ("61", "8", "0")
    assert me["correction_reason"] == "counted a warm-up walk"
    assert me["date"] == datetime.fromtimestamp(NOON).date().isoformat()
    assert float(me["avg_depth"]) == 1.2 and float(me["form_score"]) == 1.0
    assert float(hers["form_score"]) == 0.5, "half her reps had a form cue"
    store.delete_set(ids[1], "not hers")
    rows = list(csv.DictReader(io.StringIO(store.export_sets_csv(ana))))
    assert [(r["reps"], r["deleted"]) for r in rows] == [("0", "1")]
    store.close()
