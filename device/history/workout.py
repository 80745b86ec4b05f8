"""Sets and sessions from rep events: a set starts with its first rep and ends after an idle time.

Idle time is measured on the pose clock (the frames' timestamps), so a video processed faster
than real time groups its reps as they happened. History is stored with wall-clock times: a
set's first rep takes the wall clock's, and its later reps that plus the monotonic time since,
so a step of the wall clock mid-set cannot reorder or stretch it. A step of more than
CLOCK_STEP_S
(either way) ends the set: the next rep starts a set, and a session, of its own.
A change of exercise, or a clock that jumps back (a new source), also ends the set.
Set ids are numbered here, before the set is stored, so a set whose reps wait in memory (the
disk is full) has its id on the phone all the same; only while the history could not even be
opened since the start are new sets numbered by the store when they are written (id None
until then).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from device.exercise.types import Rep
from device.history.people import DEFAULT_PERSON_ID
from device.history.rep_writer import RepWriter
from device.history.store import RepRecord, Store, StoreError

CLOCK_STEP_S = 60.0  # a change of wall minus monotonic time larger than this is a step


@dataclass
class OpenSet:
    """The set in progress."""

    id: int | None  # None only until stored, when the history could not be read to number it
    session_id: int | None  # None until its first rep is stored
    person_id: int
    exercise: str
    reps: int
    partial_reps: int
    last_t: float  # pose-clock time of the last rep's end
    wall_anchor: float = 0.0  # the wall-clock time of its first rep's end
    monotonic_anchor: float = 0.0  # the monotonic time then: later reps are dated from these
    adjust: int = 0  # -1/+1 taps on the live page; stored as a correction when the set ends

    @property
    def count(self) -> int:
        """The reps the set counts for: counted complete reps and the taps."""
        return max(0, self.reps + self.adjust)

    def to_json(self) -> dict:
        return {
            "set_id": self.id,
            "session_id": self.session_id,
            "person_id": self.person_id,
            "exercise": self.exercise,
            "reps": self.count,
            "counted_reps": self.reps,
            "adjust": self.adjust,
            "partial_reps": self.partial_reps,
        }


class Workout:
    """Feeds reps into the store and tracks the open set. Not thread-safe: one caller."""

    def __init__(
        self,
        store: Store,
        set_idle_s: float = 20.0,
        session_gap_s: float = 1800.0,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.writer = RepWriter(store)
        self._next_set_id: int | None = None
        self.set_idle_s = set_idle_s
        self.session_gap_s = session_gap_s
        self.wall_clock = wall_clock
        self.monotonic = monotonic
        self.current: OpenSet | None = None
        try:
            self.person_id = store.active_person_id()
        except (sqlite3.Error, StoreError):
            self.person_id = DEFAULT_PERSON_ID  # the history is not readable yet

    def switch_person(self, person_id: int) -> OpenSet | None:
        """Count the next reps for person_id; returns the open set when this ended it."""
        ended = None
        if self.current is not None and self.current.person_id != person_id:
            ended, self.current = self.current, None
        self.person_id = person_id
        return ended

    def add_rep(self, rep: Rep) -> tuple[OpenSet, OpenSet | None, bool]:
        """Store the rep. Returns (the open set, a set this rep ended, whether the rep is
        committed on return: False when it waits in memory for the store to accept writes)."""
        ended = None
        wall, monotonic = self.wall_clock(), self.monotonic()
        if self.current is not None:  # its reps are dated from its first, on the monotonic clock
            now = self.current.wall_anchor + (monotonic - self.current.monotonic_anchor)
        if self.current is not None and (
            rep.exercise != self.current.exercise
            or rep.t_end - self.current.last_t > self.set_idle_s
            or rep.t_end < self.current.last_t - 1.0
            or abs(wall - now) > CLOCK_STEP_S  # the wall clock was stepped: a set of its own
        ):
            ended, self.current = self.current, None
        if self.current is None:
            now = wall
        record = RepRecord(
            exercise=rep.exercise,
            complete=rep.complete,
            started_at=now - max(0.0, rep.t_end - rep.t_start),
            ended_at=now,
            depth=float(rep.depth),
            down_s=float(rep.down_s),
            up_s=float(rep.up_s),
            cues=tuple(cue.code for cue in rep.cues),
        )
        if self.current is None:
            self.current = OpenSet(
                self._new_set_id(), None, self.person_id, rep.exercise, 0, 0, rep.t_end,
                wall_anchor=wall, monotonic_anchor=monotonic,
            )  # fmt: skip
        saved = self.writer.write(record, self.current, self.session_gap_s)
        if rep.complete:
            self.current.reps += 1
        else:
            self.current.partial_reps += 1
        self.current.last_t = rep.t_end
        return self.current, ended, saved

    def _new_set_id(self) -> int | None:
        if self._next_set_id is None:
            if self.writer.pending:
                return None  # sets numbered by the store wait: the next id is not known yet
            try:
                self._next_set_id = self.store.next_set_id()
            except (sqlite3.Error, StoreError):
                return None  # the store numbers the set when it can write it
        self._next_set_id += 1
        return self._next_set_id - 1

    def tick(self, t: float) -> OpenSet | None:
        """Called with each frame's time: ends the open set once it has been idle long enough."""
        if self.current is not None and (
            t - self.current.last_t > self.set_idle_s or t < self.current.last_t - 1.0
        ):
            ended, self.current = self.current, None
            return ended
        return None

    def end_set(self) -> OpenSet | None:
        """End the open set now (the source stopped or the pipeline restarts)."""
        ended, self.current = self.current, None
        return ended
