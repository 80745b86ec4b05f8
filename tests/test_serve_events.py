"""The event bus: fan-out, bounded queues that drop the oldest, clean shutdown."""

from __future__ import annotations

import json
import threading

import numpy as np

from device.daemon.events import EventBus
from web_ui.streams import newest_pose_only


def test_every_subscriber_gets_each_event_once_serialised():
    bus = EventBus()
    with bus.subscribe() as a, bus.subscribe({"rep"}) as b:
        bus.publish("pose", {"x": 1})
        event = bus.publish("rep", {"n": 1})
        assert a.get(0.1).kind == "pose" and a.get(0.1) is event
        assert b.get(0.1) is event and b.get(0.01) is None
        assert event.sse == f'id: {event.id}\nevent: rep\ndata: {{"n":1}}\n\n'.encode()
    assert bus.subscriber_count == 0


def test_a_slow_subscriber_loses_oldest_events_and_never_blocks():
    bus = EventBus()
    with bus.subscribe(maxsize=3) as slow:
        for i in range(10):
            bus.publish("pose", {"i": i})
        assert slow.dropped == 7
        assert [slow.get(0.1).data["i"] for _ in range(3)] == [7, 8, 9]


def test_close_wakes_waiting_subscribers():
    bus = EventBus()
    sub = bus.subscribe()
    got = []
    reader = threading.Thread(target=lambda: got.append(sub.get(10)))
    reader.start()
    bus.close()
    reader.join(2)
    assert not reader.is_alive() and got == [None] and sub.closed
    assert bus.subscribe().closed  # late subscribers end at once


def test_latest_of_each_kind():
    bus = EventBus()
    bus.publish("state", {"reps": 1})
    bus.publish("state", {"reps": 2})
    assert bus.latest("state").data == {"reps": 2} and bus.latest("health") is None


def test_numpy_values_are_encoded():
    bus = EventBus()
    data = {"complete": np.bool_(False), "depth": np.float32(0.5), "xy": np.arange(2)}
    event = bus.publish("rep", data)
    assert json.loads(event.payload) == {"complete": False, "depth": 0.5, "xy": [0, 1]}


def test_get_all_takes_every_queued_event_at_once():
    bus = EventBus()
    with bus.subscribe() as sub:
        assert sub.get_all(0.01) == []
        sent = [bus.publish("pose", {"i": i}) for i in range(3)]
        assert sub.get_all(0.1) == sent and sub.get_all(0.01) == []


def test_a_stream_batch_keeps_only_its_newest_pose():
    bus = EventBus()
    with bus.subscribe() as subscription:
        for kind, n in [("pose", 1), ("rep", 1), ("pose", 2), ("cue", 1), ("pose", 3)]:
            bus.publish(kind, {"n": n})
        written = newest_pose_only(subscription.get_all(0.1))
    assert [(event.kind, event.data["n"]) for event in written] == [
        ("rep", 1),
        ("cue", 1),
        ("pose", 3),
    ]
