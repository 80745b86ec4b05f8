"""Training through the API: targets and plans from the people API reach the live state, and a
real clip served with a target of 5 says "done" at rep 5, then counts the rest down."""

from __future__ import annotations

import sqlite3
import threading

from device.bench.api_client import ApiClient
from device.bench.bench_serve import spawn_serve
from tests.test_api import clip, daemon, logged_in_client  # noqa: F401 (fixtures)
from tests.test_serve_e2e import stop, truth
from tests.waiting import wait_until

PASSWORD = "training password"
CLIP = "darebee_squat.mp4"  # a steady set of 8 squats


def test_a_target_reached_ends_the_set_and_rides_in_the_state(daemon) -> None:  # noqa: F811
    """The stand-in engine: a squat every 15 frames of a looping clip."""
    client, token = logged_in_client(daemon)
    csrf = {"X-CSRF-Token": token}
    answer = client.patch(
        "/api/people/1", json={"targets": {"squat": 3}, "rest_s": 45}, headers=csrf
    )
    assert answer.status_code == 200, answer.json
    training = client.get("/api/state").json["training"]
    assert training["person_id"] == 1 and training["rest"] is None
    events = daemon.bus.subscribe({"rep", "set", "cue", "state"})
    try:
        seen: list = []
        assert wait_until(
            lambda: seen.extend(events.get_all(0.1)) or any(e.kind == "set" for e in seen), 30
        ), "no set ended"
        seen.extend(events.get_all(0.1))
    finally:
        events.close()
    first_end = next(i for i, e in enumerate(seen) if e.kind == "set")
    ended = seen[first_end].data
    reps = [e.data["set"]["reps"] for e in seen[:first_end] if e.kind == "rep"]
    assert ended["reps"] == 3 and reps[-1] == 3, "the set ends at its target, not by idle time"
    cues = [e.data["code"] for e in seen[:first_end] if e.kind == "cue" and e.data.get("training")]
    assert cues[-1] == "target_done"
    rest = next(e.data["training"] for e in seen[first_end:] if e.kind == "state")
    assert rest["phase"] == "rest" and rest["last"] == {
        "exercise": "squat", "reps": 3, "target": 3, "done": True
    }  # fmt: skip
    assert 40 < rest["rest"]["remaining_s"] <= 45 and rest["rest"]["total_s"] == 45

    # A plan overrides the target for its exercise; the state shows its step.
    plan = [{"exercise": "squat", "sets": 2, "reps": 4}]
    assert client.patch("/api/people/1", json={"plan": plan}, headers=csrf).status_code == 200
    assert wait_until(
        lambda: (client.get("/api/state").json["training"]["plan"] or {}).get("reps") == 4
    )
    assert wait_until(lambda: client.get("/api/state").json["training"]["plan"]["set"] == 2, 30), (
        "a set of 4 squats counts toward the step"
    )
    # Someone else: their own (empty) targets and no plan at once.
    other = client.post("/api/people", json={"name": "Kim", "colour": "#aa3300"}, headers=csrf)
    client.put("/api/person", json={"person_id": other.json["id"]}, headers=csrf)
    training = client.get("/api/state").json["training"]
    assert training["person_id"] == other.json["id"] and training["plan"] is None
    assert training["target"] is None


class Collector:
    """Every rep, set, cue and state event of one stream, in order, read in a thread."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api
        self.events: list[tuple[str, dict]] = []
        self.connected = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.connected.wait(10), "the event stream did not open"

    def _read(self) -> None:
        try:
            for kind, data in self.api.events("rep,set,cue,state", timeout=120):
                self.connected.set()
                self.events.append((kind, data))
        except OSError:
            pass


def test_a_served_clip_with_a_target_of_5_says_done_at_rep_5_then_rests(shared_data, tmp_path):
    low, high = truth(shared_data, CLIP)
    assert low >= 6, "the clip must go past the target"
    source = tmp_path / CLIP  # appears once the target is set and the client listens
    process, port = spawn_serve(source, tmp_path / "data", tmp_path / "serve.log")
    try:
        api = ApiClient("127.0.0.1", port, timeout=60)
        api.log_in(PASSWORD)
        status, person = api.json("PATCH", "/api/people/1", {"targets": {"squat": 5}})
        assert status == 200 and person["targets"] == {"squat": 5}
        collector = Collector(api)
        source.symlink_to(shared_data / "clips" / CLIP)

        def clip_done() -> bool:
            health = api.json("GET", "/api/health")[1]
            ends = [d for k, d in collector.events if k == "set"]
            return health["camera"]["state"] == "ended" and len(ends) >= 2

        assert wait_until(clip_done, 120), (tmp_path / "serve.log").read_text()[-3000:]
        state = api.json("GET", "/api/state")[1]["training"]
    finally:
        stop(process)
    events = collector.events
    reps = [(i, d) for i, (k, d) in enumerate(events) if k == "rep" and d["complete"]]
    assert low <= len(reps) <= high, [d["set"] for _, d in reps]
    fifth_at, fifth = reps[4]
    sixth_at, sixth = reps[5]
    assert fifth["set"]["reps"] == 5
    between = events[fifth_at + 1 : sixth_at]
    said = [d["code"] for k, d in between if k == "cue" and d.get("training")]
    assert said == ["target_done"], between
    [end] = [d for k, d in between if k == "set"]
    assert end["reps"] == 5 and end["set_id"] == fifth["set"]["set_id"]
    resting = [
        d["training"] for k, d in between if k == "state" and d["training"]["phase"] == "rest"
    ]
    assert resting, "the rest countdown starts at rep 5"
    assert resting[0]["last"]["done"] and 85 < resting[0]["rest"]["remaining_s"] <= 90
    assert sixth["set"]["set_id"] != fifth["set"]["set_id"] and sixth["set"]["reps"] == 1
    to_go = [i for i, (k, d) in enumerate(events) if k == "cue" and d.get("code") == "to_go"]
    assert to_go and reps[1][0] < to_go[0] < reps[2][0], "'3 to go' at rep 2 of 5"
    # The clip ended: the second set ended with it, and its rest counts down.
    assert state["phase"] == "rest" and state["last"]["reps"] == len(reps) - 5
    assert state["rest"]["remaining_s"] < 90
    db = sqlite3.connect(tmp_path / "data" / "history.sqlite3")
    stored = db.execute(
        "SELECT set_id, count(*) FROM reps WHERE complete = 1 GROUP BY set_id ORDER BY set_id"
    ).fetchall()
    assert [n for _, n in stored] == [5, len(reps) - 5]
