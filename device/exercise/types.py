"""What the exercise engine reports: reps (complete or partial), form cues and its live state."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Cue:
    """A form or placement cue, e.g. code "go_deeper", message "Go deeper". severe: the fault is
    bad enough to be shown at once rather than when it repeats (device/exercise/coaching.py)."""

    code: str
    message: str
    t: float
    exercise: str | None = None
    severe: bool = False

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Rep:
    """One repetition. complete=False marks a partial rep (did not reach depth).

    Times are in the pose timestamps' seconds; depth is 1.0 at the target depth and above
    1.0 when deeper; down_s and up_s are the tempo of the two halves. variant: a recognised
    form of the exercise that is judged by its own line ("knees": push-up on the knees;
    "feet_raised": feet on a box or a wall), else None.
    """

    exercise: str
    complete: bool
    t_start: float
    t_bottom: float
    t_end: float
    depth: float
    down_s: float
    up_s: float
    cues: tuple[Cue, ...] = ()
    variant: str | None = None

    def to_json(self) -> dict:
        data = asdict(self)
        data["cues"] = [c.to_json() for c in self.cues]
        return data


@dataclass
class ExerciseState:
    """The live state shown on the phone.

    reps and partial_reps are those of the current exercise; counts and partial_counts hold
    every exercise's. phase: idle (no top level seen yet), top, down or up. view: side, front,
    other (three-quarter) or None; posture: upright, prone or None. form_checks: the form cues
    this view lets the engine judge; view_hint: what to change so that all of them work (held
    like the placement cue, and never given together with one). checks: the placement page's
    checks {person, body, side} (device/exercise/placement.py).
    """

    exercise: str | None = None
    reps: int = 0
    partial_reps: int = 0
    phase: str = "idle"
    placement: Cue | None = None
    counts: dict[str, int] = field(default_factory=dict)
    partial_counts: dict[str, int] = field(default_factory=dict)
    view: str | None = None
    posture: str | None = None
    form_checks: list[str] = field(default_factory=list)
    view_hint: str | None = None
    checks: dict[str, bool] = field(default_factory=dict)

    def to_json(self) -> dict:
        data = asdict(self)
        data["placement"] = self.placement.to_json() if self.placement else None
        return data
