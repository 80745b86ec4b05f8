"""In-process publish/subscribe of small JSON events (pose, rep, cue, state, health, set,
record, person).

Publishing never blocks: each subscriber has a bounded queue, and a subscriber that falls
behind loses its oldest events (counted in `dropped`) instead of slowing the pipeline. Each
event is serialised once, however many subscribers read it.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from device import jsonout

KINDS = ("pose", "rep", "cue", "state", "health", "set", "record", "person")


@dataclass(frozen=True)
class Event:
    id: int
    kind: str
    data: dict[str, Any]
    payload: str = field(repr=False)  # data as compact JSON
    sse: bytes = field(repr=False)  # the event in Server-Sent Events wire format

    @classmethod
    def make(cls, id: int, kind: str, data: dict[str, Any]) -> Event:
        """Encodes the event once, however many subscribers write it out."""
        payload = jsonout.dumps(data, separators=(",", ":"))
        return cls(
            id, kind, data, payload, f"id: {id}\nevent: {kind}\ndata: {payload}\n\n".encode()
        )


class Subscription:
    """One reader's queue. Use as a context manager so it is removed when the reader leaves."""

    def __init__(self, bus: EventBus, kinds: frozenset[str] | None, maxsize: int) -> None:
        self._bus = bus
        self.kinds = kinds
        self._queue: deque[Event] = deque(maxlen=maxsize)
        self._ready = threading.Condition()
        self.dropped = 0
        self.closed = False

    def _offer(self, event: Event) -> None:
        if self.kinds is not None and event.kind not in self.kinds:
            return
        with self._ready:
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
            self._queue.append(event)
            self._ready.notify()

    def get(self, timeout: float) -> Event | None:
        """The next event, or None after timeout seconds or once closed."""
        with self._ready:
            if not self._queue and not self.closed:
                self._ready.wait(timeout)
            return self._queue.popleft() if self._queue else None

    def get_all(self, timeout: float) -> list[Event]:
        """Every queued event (waiting up to timeout seconds for one); [] on timeout or close."""
        with self._ready:
            if not self._queue and not self.closed:
                self._ready.wait(timeout)
            events = list(self._queue)
            self._queue.clear()
            return events

    def close(self) -> None:
        with self._ready:
            self.closed = True
            self._ready.notify_all()
        self._bus._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """Fan-out of events to every subscriber; remembers the latest event of each kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscription] = []
        self._ids = itertools.count(1)
        self._latest: dict[str, Event] = {}
        self.closed = False

    def publish(self, kind: str, data: dict[str, Any]) -> Event:
        event = Event.make(next(self._ids), kind, data)
        with self._lock:
            self._latest[kind] = event
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber._offer(event)
        return event

    def latest(self, kind: str) -> Event | None:
        with self._lock:
            return self._latest.get(kind)

    def subscribe(self, kinds: set[str] | None = None, maxsize: int = 256) -> Subscription:
        subscription = Subscription(self, frozenset(kinds) if kinds else None, maxsize)
        with self._lock:
            if self.closed:
                subscription.closed = True
            else:
                self._subscribers.append(subscription)
        return subscription

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)

    def close(self) -> None:
        """Wake and end every subscriber (shutdown)."""
        with self._lock:
            self.closed = True
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.close()
