"""History per person: record events at a set's end, and the history API (corrections,
records, progress, per-person answers) with its validation, CSRF and login."""

from __future__ import annotations

from device.capture.preview import PreviewBuffer
from device.daemon.events import EventBus
from device.daemon.live import LivePipeline
from device.daemon.store import Store
from device.daemon.workout import Workout
from device.exercise.types import Rep
from tests.test_serve_pipeline import FakePose, FakeTracker


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
