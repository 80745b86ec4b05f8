"""People in the household: profiles in the store, the schema upgrade that keeps older history,
whose reps a set is counted for, and the people API."""

from __future__ import annotations

import sqlite3

import pytest

from device.history.people import PersonInvalid
from device.history.schema import MIGRATIONS
from device.history.store import RepRecord, Store
from device.history.workout import Workout
from tests.test_api import clip, daemon, logged_in_client  # noqa: F401 (fixtures)
from tests.test_workout import make_rep
from tests.waiting import wait_until


def record(at: float, exercise: str = "squat") -> RepRecord:
    return RepRecord(exercise, True, at - 2, at, 0.9, 1.0, 1.0)


def test_an_older_history_is_kept_under_the_first_person(tmp_path):
    path = tmp_path / "h.sqlite3"
    Store(path, MIGRATIONS[:1]).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO sessions VALUES (1, 100, 110)")
    db.execute("INSERT INTO sets VALUES (7, 1, 'squat', 100, 110)")
    db.execute(
        "INSERT INTO reps (set_id, exercise, complete, started_at, ended_at, depth, down_s, up_s)"
        " VALUES (7, 'squat', 1, 100, 110, 0.8, 1, 1)"
    )
    db.commit()
    db.close()
    store = Store(path)
    assert store.version == len(MIGRATIONS)
    assert store.people() == [
        {"id": 1, "name": "Me", "colour": "#1e88e5", "rest_s": 90, "plan": [], "targets": {}}
    ]
    assert store.set(7)["set"]["reps"] == 1 and store.active_person_id() == 1
    raw = sqlite3.connect(path).execute("SELECT person_id, corrected_reps FROM sets").fetchall()
    assert raw == [(1, None)]


def test_profiles_are_checked_before_anything_is_written(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    ana = store.add_person("  Ana  Lopez ", "#FF8800")
    assert ana["name"] == "Ana Lopez" and ana["colour"] == "#ff8800" and ana["rest_s"] == 90
    for bad, field in (
        (("", "#ff0000"), "name"),
        (("x" * 41, "#ff0000"), "name"),
        (("ana lopez", "#ff0000"), "name"),  # names are unique, whatever the case
        (("Bo", "red"), "colour"),
        (("Bo", "#ff0000", -1), "rest_s"),
        (("Bo", "#ff0000", True), "rest_s"),
        (("Bo", "#ff0000", 5), "rest_s"),  # under the 10 s the dialog says (0: no countdown)
    ):
        with pytest.raises(PersonInvalid) as raised:
            store.add_person(*bad)
        assert raised.value.field == field
    plan = [
        {"exercise": "squat", "sets": 3, "reps": 10},
        {"exercise": "pushup", "sets": 2, "reps": 8},
    ]
    changed = store.update_person(
        ana["id"], {"rest_s": 60, "plan": plan, "targets": {"squat": 12, "pushup": 8}}
    )
    assert changed["plan"] == plan and changed["targets"] == {"pushup": 8, "squat": 12}
    for bad, field in (
        ({"rest_s": 60, "targets": {"lunge": 5}}, "targets"),
        ({"rest_s": 60, "targets": {"squat": 0}}, "targets.squat"),
        ({"plan": [{"exercise": "squat", "sets": 3}]}, "plan.0"),
        ({"plan": [{"exercise": "squat", "sets": 21, "reps": 5}]}, "plan.0.sets"),
        ({"name": "Me"}, "name"),
        ({"age": 30}, "age"),
    ):
        with pytest.raises(PersonInvalid) as raised:
            store.update_person(ana["id"], {"colour": "#000000", **bad})
        assert raised.value.field == field
    assert store.person(ana["id"]) == changed  # a refused change wrote nothing
    cleared = store.update_person(ana["id"], {"targets": {"squat": None}})
    assert cleared["targets"] == {"pushup": 8}
    assert store.update_person(999, {"rest_s": 15}) is None


def test_deleting_a_person_keeps_history_and_the_first_person(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    bo = store.add_person("Bo", "#00aa00")
    cy = store.add_person("Cy", "#0000aa")
    store.add_rep(record(100.0), None, 600, person_id=bo["id"])
    with pytest.raises(PersonInvalid, match="move them first"):
        store.delete_person(bo["id"])
    with pytest.raises(PersonInvalid, match="cannot be deleted"):
        store.delete_person(1)
    store.set_active_person(cy["id"])
    with pytest.raises(PersonInvalid, match="training now"):  # issue 19
        store.delete_person(cy["id"])
    store.set_active_person(1)
    assert store.delete_person(cy["id"]) and not store.delete_person(cy["id"])
    assert [p["name"] for p in store.people()] == ["Bo", "Me"]


def test_the_active_person_is_remembered_and_owns_new_sets(tmp_path):
    path = tmp_path / "h.sqlite3"
    store = Store(path)
    bo = store.add_person("Bo", "#00aa00")
    store.set_active_person(bo["id"])
    store.close()
    store = Store(path)
    workout = Workout(store, set_idle_s=10.0)
    assert workout.person_id == bo["id"]
    first, _, _ = workout.add_rep(make_rep(3.0))
    assert first.person_id == bo["id"] and first.to_json()["person_id"] == bo["id"]
    assert workout.switch_person(bo["id"]) is None  # the same person: the set goes on
    assert workout.switch_person(1) is first  # someone else: the set ends
    second, ended, _ = workout.add_rep(make_rep(6.0))
    assert ended is None and second.id != first.id and second.person_id == 1
    owners = sqlite3.connect(path).execute("SELECT id, person_id FROM sets ORDER BY id").fetchall()
    assert owners == [(first.id, bo["id"]), (second.id, 1)]


def test_people_api(daemon):  # noqa: F811 (fixture)
    client, token = logged_in_client(daemon)
    csrf = {"X-CSRF-Token": token}
    assert client.post("/api/people", json={"name": "Ana", "colour": "#123456"}).status_code == 403
    made = client.post("/api/people", json={"name": "Ana", "colour": "#123456"}, headers=csrf)
    assert made.status_code == 201 and made.json["name"] == "Ana"
    ana = made.json["id"]
    for body, status, field in (
        ({"name": "ana", "colour": "#123456"}, 422, "name"),
        ({"name": "Bo", "colour": "#123456", "admin": True}, 422, "body"),
        ({"name": "Bo"}, 422, "colour"),
    ):
        answer = client.post("/api/people", json=body, headers=csrf)
        assert (answer.status_code, answer.json["field"]) == (status, field), answer.json
    listed = client.get("/api/people").json
    assert [p["name"] for p in listed["people"]] == ["Ana", "Me"] and listed["active"] == 1
    patched = client.patch(f"/api/people/{ana}", json={"targets": {"squat": 5}}, headers=csrf)
    assert patched.json["targets"] == {"squat": 5}
    bad = client.patch(f"/api/people/{ana}", json={"targets": {"squat": "5"}}, headers=csrf)
    assert bad.status_code == 422 and bad.json["field"] == "targets.squat"
    assert client.patch("/api/people/999", json={}, headers=csrf).status_code == 404

    subscription = daemon.bus.subscribe()
    for body in ({"person_id": "1"}, {"person_id": True}, {}):
        assert client.put("/api/person", json=body, headers=csrf).status_code == 422
    assert client.put("/api/person", json={"person_id": 999}, headers=csrf).status_code == 404
    switched = client.put("/api/person", json={"person_id": ana}, headers=csrf)
    assert switched.status_code == 200 and switched.json["targets"] == {"squat": 5}
    assert client.get("/api/state").json["person"]["name"] == "Ana"
    assert daemon.store.active_person_id() == ana
    assert wait_until(
        lambda: any(e.kind == "person" and e.data["id"] == ana for e in subscription.get_all(0.05))
    )
    subscription.close()
    assert wait_until(lambda: (daemon.state()["set"] or {}).get("person_id") == ana, 10)

    assert client.delete("/api/people/1", headers=csrf).status_code == 409
    assert client.delete("/api/people/999", headers=csrf).status_code == 404
