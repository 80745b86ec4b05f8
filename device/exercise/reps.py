"""Cutting a height signal into reps: top -> bottom -> top, with hysteresis and timing rules.

The signal is a height in body units (hips above the ankles in leg lengths; shoulders above the
hands in arm lengths), None while it cannot be measured. The levels adapt to the person:

- top: the highest point of the last rules.top_window_s seconds at rest;
- a rep opens when the height falls rules.start_drop below the top; its bottom is the lowest point;
- it is back up when it has recovered rules.return_fraction of its way down (far from the opening
  threshold, so jitter around either threshold cannot open or close a rep twice); it then closes
  at its highest point, once the height has stopped rising for rules.settle_s or has fallen
  rules.start_drop below that point in two measurements in a row (the next rep began);
- where a rep is cut (end of the video, person gone) it counts only if rules.end_fraction of its
  whole path down and up was seen;
- missing measurements for longer than rules.max_gap_s abandon an open rep (stepping out of view
  never finishes one) and forget the top (the next rep must start from a top seen anew).

The segmenter does not judge reps: it hands each closed excursion, with the per-frame
measurements the exercise attached to it, to the exercise's own rules.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from device.exercise.rules import ExerciseRules

IDLE, TOP, DOWN, UP, SETTLE = "idle", "top", "down", "up", "settle"
NEAR_TOP = 0.02  # body units: within keypoint jitter of the top
# Heights below the opening level a rep needs. Below about 7 fps the glitch median holds one
# frame and cannot remove a wrong frame; at 10 fps it holds two and halves it: one wrong frame
# gives at most two low heights at any frame rate, a real rep (0.3 s or more) more than that
# down to 5-6 fps.
MIN_SAMPLES_DOWN = 3


@dataclass
class Sample:
    t: float
    h: float
    data: Any = None  # the exercise's per-frame measurements


@dataclass
class Excursion:
    """One closed top -> bottom -> top movement; heights in body units."""

    top: float  # height before the descent
    bottom: Sample
    peak: Sample  # highest point after the ascent: the rep's end
    t_start: float
    samples: list[Sample] = field(default_factory=list)  # start to peak
    chained: bool = False  # began where the previous rep ended (not from a top seen at rest)

    @property
    def rom_down(self) -> float:
        return self.top - self.bottom.h

    @property
    def rom_up(self) -> float:
        return self.peak.h - self.bottom.h

    @property
    def rom(self) -> float:
        """Range of motion measured from the higher of the two tops."""
        return max(self.top, self.peak.h) - self.bottom.h

    @property
    def seen_share(self) -> float:
        """Share of the whole down-and-up path that was seen (1.0 unless the rep was cut)."""
        return (self.rom_down + self.rom_up) / (2 * self.rom) if self.rom > 0 else 0.0

    @property
    def t_end(self) -> float:
        """When the top was reached: the first moment near the highest point (at a rest on top
        the highest point itself is anywhere in the rest, by noise)."""
        near = self.peak.h - NEAR_TOP
        return next(s.t for s in self.samples if s.t >= self.bottom.t and s.h >= near)

    @property
    def duration(self) -> float:
        return self.t_end - self.t_start


class RepSegmenter:
    """Feeds on (t, height, data) and returns each excursion when it closes."""

    def __init__(self, rules: ExerciseRules, min_rom: float) -> None:
        self.rules = rules
        self.min_rom = min_rom
        self.reset()

    def reset(self) -> None:
        self.state = IDLE
        self._rest: deque[Sample] = deque()  # recent samples at the top
        self._rep: list[Sample] = []
        self._top = 0.0
        self._t_start = 0.0
        self._bottom: Sample | None = None
        self._peak: Sample | None = None
        self._last_t: float | None = None
        self._chained = False
        self._dropped = False  # the last height was start_drop below the highest point
        self._rising_t = 0.0  # last time the height still rose noticeably after the return

    @property
    def phase(self) -> str:
        """idle (no top seen yet), top, down, up: for the live display."""
        if self.state == SETTLE:
            return UP
        if self.state == DOWN and self._rep and self._bottom is not None:
            return UP if self._rep[-1].h > self._bottom.h + self.rules.start_drop else DOWN
        return self.state

    def update(self, t: float, h: float | None, data: Any = None) -> Excursion | None:
        if h is None:
            return self._gap(t)
        closed = self._gap(t)  # frames may also be missing altogether
        self._last_t = t
        sample = Sample(t, h, data)
        if self.state in (IDLE, TOP):
            self._at_top(sample)
            return closed
        self._rep.append(sample)
        if self.state == DOWN:
            assert self._bottom is not None
            if h < self._bottom.h:
                self._bottom = sample
            way_down = self._top - self._bottom.h
            if h >= self._bottom.h + self.rules.return_fraction * max(way_down, self.min_rom):
                self.state, self._peak, self._rising_t, self._dropped = SETTLE, sample, t, False
            elif way_down < self.min_rom and t - self._bottom.t > self.rules.top_window_s:
                # Resting above the smallest rep's depth: this is the top now (it was judged
                # too high, or the person stands differently), not a rep.
                self._rest = deque(s for s in self._rep if s.t >= t - self.rules.top_window_s)
                self._rep, self.state = [], TOP
            elif t - self._t_start > self.rules.max_rep_s:
                self._restart(sample)
            return closed
        assert self._peak is not None
        if h > self._peak.h + NEAR_TOP:
            self._rising_t = t
        # A drop from the highest point closes the rep (the next one began without a rest on
        # top) only when the next measurement confirms it: one wrong frame on the way up, which
        # the glitch median no longer removes below about 20 fps, must not end a rep half-way.
        dropped = h < self._peak.h - self.rules.start_drop
        confirmed, self._dropped = dropped and self._dropped, dropped
        if h > self._peak.h:
            self._peak = sample
        elif confirmed:
            closed = self._close()
            self._open_if_down()  # the next rep is two samples down already
            return closed
        elif t - self._rising_t >= self.rules.settle_s:
            return self._close()
        return None

    def flush(self) -> Excursion | None:
        """End of the video: a rep already back up closes at its highest point if most of it was
        seen (rules.end_fraction)."""
        if self.state != SETTLE:
            return None
        excursion = self._close()
        if excursion is not None and excursion.seen_share < self.rules.end_fraction:
            return None
        return excursion

    def _at_top(self, sample: Sample) -> None:
        """Follow the top level; open a rep once the height falls start_drop below it."""
        self._rest.append(sample)
        while self._rest and self._rest[0].t < sample.t - self.rules.top_window_s:
            self._rest.popleft()
        self.state = TOP
        self._open_if_down()

    def _open_if_down(self) -> None:
        """Open a rep if the latest rest sample is start_drop below the top level."""
        top = max(s.h for s in self._rest)
        if self._rest[-1].h >= top - self.rules.start_drop:
            return
        # The descent began at the last rest sample still close to the top.
        start = 0
        for i, s in enumerate(self._rest):
            if s.h >= top - NEAR_TOP:
                start = i
        self._rep = list(self._rest)[start:]
        self._top, self._t_start = top, self._rep[0].t
        self._bottom = min(self._rep, key=lambda s: s.h)
        self.state = DOWN

    def _close(self) -> Excursion | None:
        assert self._bottom is not None and self._peak is not None
        peak = self._peak
        samples = [s for s in self._rep if s.t <= peak.t]
        excursion = Excursion(self._top, self._bottom, peak, self._t_start, samples, self._chained)
        rep, self._rep, self.state = self._rep, [], TOP
        small = excursion.rom_down < self.min_rom or excursion.rom_up < self.min_rom
        down = sum(1 for s in samples if s.h < self._top - self.rules.start_drop)
        timing = self.rules.min_rep_s <= excursion.duration <= self.rules.max_rep_s
        if small or not timing or down < MIN_SAMPLES_DOWN:
            # Not a rep: keep the window as it was, so a dip does not lower the top level.
            self._rest = deque(rep)
            return None
        # The next rep starts from this one's highest point, never from before it.
        self._rest = deque(s for s in rep if s.t >= peak.t)
        self._chained = True
        return excursion

    def _restart(self, sample: Sample) -> None:
        """A rep that never came back up in time (sat down, lay down): start over from here."""
        self._rep, self._rest = [], deque([sample])
        self.state, self._chained = TOP, False

    def _gap(self, t: float) -> Excursion | None:
        if self._last_t is None or t - self._last_t <= self.rules.max_gap_s:
            return None
        if self.state == IDLE:
            return None
        closed = self.flush()  # back up already: the rep was complete before the person left
        self._rest.clear()
        self._rep = []
        self.state = IDLE
        self._chained = False
        return closed
