"""The cue policy: which one form cue the phone shows after each rep, when it is said, and the
set's summary in plain words.

Each rep carries the faults the engine found on it (Rep.cues). One rep is weak evidence: a
keypoint a few pixels off can tip a rule, and an owner who is told about every borderline rep
stops reading. So a cue is shown when its fault holds on 2 of the last 3 reps of the set, or at
once when it is severe (Cue.severe: a rep too shallow to count, a sag twice the line). The box
shows one message, numbered with the rep it belongs to, and only the latest rep's: a rep
without a shown fault clears it, so the count tiles and the cue always describe the same rep.
A cue is said once per set, and again only when it gets worse (it turns severe).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from device.exercise.cues import EXERCISE_CUES
from device.exercise.types import Cue, Rep

WINDOW = 3  # the last reps a fault is looked for in
MAX_RANGES = 3  # a fault on more scattered reps than this is summed up as "on 9 of 20 reps"
MAX_FAULTS = 2  # the summary names the most frequent faults only (the box is 2-3 lines)
REPEATS = 2  # of them, this many with the fault show its cue

# The body the cue is about, for the skeleton's highlight: keypoints (without left_/right_) and
# segments between them.
CUE_BODY: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "go_deeper": (("hip", "knee"), (("hip", "knee"),)),
    "chest_up": (("shoulder", "hip"), (("shoulder", "hip"),)),
    "knees_out": (("knee",), (("hip", "knee"), ("knee", "ankle"))),
    "stand_up_fully": (("knee",), (("hip", "knee"), ("knee", "ankle"))),
    "go_lower": (("elbow",), (("shoulder", "elbow"), ("elbow", "wrist"))),
    "hips_sagging": (("hip",), (("shoulder", "hip"), ("hip", "knee"))),
    "hips_piking": (("hip",), (("shoulder", "hip"), ("hip", "knee"))),
    "head_down": (("ear", "nose"), ()),
    "lock_out": (("elbow",), (("shoulder", "elbow"), ("elbow", "wrist"))),
}

# Plain words for the summary: what happened on the reps with the fault.
FAULT_WORDS: dict[str, str] = {
    "chest_up": "chest dropped",
    "knees_out": "knees caved in",
    "stand_up_fully": "did not stand up fully",
    "hips_sagging": "hips sagged",
    "hips_piking": "hips too high",
    "head_down": "head dropped",
    "lock_out": "arms not locked out",
}
DEPTH_CUES = {"squat": "go_deeper", "pushup": "go_lower"}


@dataclass(frozen=True)
class Coaching:
    """What the phone shows after one rep: the rep's number in its set (complete and partial),
    the one cue to show (None clears the box) and whether to say it."""

    rep: int
    cue: Cue | None
    speak: bool

    def to_json(self) -> dict:
        if self.cue is None:
            return {"rep": self.rep, "cue": None, "speak": False}
        points, segments = CUE_BODY.get(self.cue.code, ((), ()))
        return {
            "rep": self.rep,
            "cue": self.cue.to_json(),
            "speak": self.speak,
            "body": {"points": list(points), "segments": [list(s) for s in segments]},
        }


class CuePolicy:
    """Feed each rep of a set in order (rep(..., number)); number 1 starts a new set."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._recent: deque[set[str]] = deque(maxlen=WINDOW)
        self._spoken: dict[str, bool] = {}  # code -> said as severe

    def rep(self, rep: Rep, number: int) -> Coaching:
        if number <= 1:
            self.reset()
        faults = {c.code: c for c in rep.cues}
        self._recent.append(set(faults))
        shown = [
            c
            for c in faults.values()
            if c.severe or sum(c.code in r for r in self._recent) >= REPEATS
        ]
        if not shown:
            return Coaching(number, None, False)
        order = EXERCISE_CUES.get(rep.exercise, ())
        cue = min(
            shown,
            key=lambda c: (not c.severe, order.index(c.code) if c.code in order else len(order)),
        )
        said = self._spoken.get(cue.code)
        speak = said is None or (cue.severe and not said)
        if speak:
            self._spoken[cue.code] = cue.severe
        return Coaching(number, cue, speak)


def rep_ranges(numbers: Iterable[int]) -> str:
    """[1, 2, 3, 5] -> "reps 1-3 and 5"; [4] -> "rep 4"."""
    numbers = sorted(numbers)
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    words = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{'rep' if len(numbers) == 1 else 'reps'} {words}"


def set_summary(exercise: str, reps: Sequence[Sequence[str]]) -> list[str]:
    """The set in plain words, from each rep's cue codes in order (complete and partial reps):
    "6 of 8 reps to depth", "hips sagged on reps 5-8"; "Good form on all 8 reps" without cues.
    Depth first, then the MAX_FAULTS most frequent other faults."""
    if not reps:
        return []
    if not any(reps):
        return [f"Good form on all {len(reps)} reps" if len(reps) > 1 else "Good form"]
    depth = DEPTH_CUES.get(exercise)
    lines = []
    if depth is not None:
        deep = sum(depth not in codes for codes in reps)
        lines.append(f"{deep} of {len(reps)} reps to depth")
    faults = []
    for code in EXERCISE_CUES.get(exercise, ()):
        numbers = [i for i, codes in enumerate(reps, start=1) if code in codes]
        if numbers and code in FAULT_WORDS:
            faults.append((len(numbers), code, numbers))
    for n, code, numbers in sorted(faults, key=lambda f: -f[0])[:MAX_FAULTS]:
        where = rep_ranges(numbers)
        if where.count(",") + where.count(" and ") >= MAX_RANGES:
            where = f"{n} of {len(reps)} reps"
        lines.append(f"{FAULT_WORDS[code]} on {where}")
    return lines
