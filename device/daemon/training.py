"""Training on the live page: a target per set, the rest countdown and an optional workout plan.

A pure state machine fed by the live pipeline with the person who trains, each rep of the open
set, each set end and the clock (monotonic seconds, so a wrong wall clock cannot stretch a rest).
It never counts: the reps come from the exercise engine and the sets from the workout. It says
when a set is complete (its target is reached; the pipeline then ends the set) and which cues to
give: "3 to go", "done", "get ready" near the end of the rest, "rest over" and "plan done".

Targets: the plan step's reps when the set is of the step's exercise, else the person's target
for the exercise, else none. A set of the step's exercise with at least one complete rep counts
as one of the step's sets, even when it ended short of the target (by idle time). A set of
another exercise mid-plan is counted and stored as usual, with the person's own target for it,
and leaves the plan where it was. Plan progress is kept per person while the daemon runs and
starts over when the plan is edited or a set begins more than session_gap_s after that
person's last set (a new session).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TO_GO = 3  # "3 to go" at target - TO_GO reps ...
TO_GO_MIN_TARGET = 5  # ... when the target is at least this
GET_READY_S = 10.0  # the "get ready" cue this long before the rest ends
DEFAULT_REST_S = 90
EXERCISE_NAMES = {"squat": "squats", "pushup": "push-ups"}


@dataclass(frozen=True)
class PlanStep:
    exercise: str
    sets: int
    reps: int


@dataclass(frozen=True)
class Trainee:
    """What training needs of a person (store.person()'s shape)."""

    id: int
    name: str
    rest_s: float = DEFAULT_REST_S
    targets: dict[str, int] = field(default_factory=dict)
    plan: tuple[PlanStep, ...] = ()

    @classmethod
    def from_json(cls, person: dict[str, Any]) -> Trainee:
        return cls(
            id=int(person["id"]),
            name=str(person["name"]),
            rest_s=float(person.get("rest_s", DEFAULT_REST_S)),
            targets={k: int(v) for k, v in (person.get("targets") or {}).items() if v},
            plan=tuple(
                PlanStep(str(s["exercise"]), int(s["sets"]), int(s["reps"]))
                for s in person.get("plan") or ()
            ),
        )


@dataclass
class PlanProgress:
    plan: tuple[PlanStep, ...]
    step: int = 0  # index of the current step; len(plan) once the plan is done
    sets_done: int = 0  # sets done of the current step
    last_at: float | None = None  # clock time of the last set end that counted

    @property
    def done(self) -> bool:
        return self.step >= len(self.plan)

    @property
    def current(self) -> PlanStep | None:
        return None if self.done else self.plan[self.step]


@dataclass(frozen=True)
class TrainingCue:
    code: str  # to_go, target_done, get_ready, rest_over, plan_done
    message: str

    def to_json(self) -> dict:
        return {"code": self.code, "message": self.message, "training": True}


@dataclass
class LastSet:
    exercise: str
    reps: int
    target: int | None

    @property
    def done(self) -> bool:
        return self.target is not None and self.reps >= self.target


def exercise_name(exercise: str) -> str:
    return EXERCISE_NAMES.get(exercise, exercise)


class Training:
    """Targets, rest and plan for the person who trains. Not thread-safe: one caller (the
    pipeline, under its lock)."""

    def __init__(
        self,
        person: Trainee | None = None,
        session_gap_s: float = 1800.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.person = person
        self.session_gap_s = session_gap_s
        self.clock = clock
        self.phase = "ready"  # ready (no set, no rest), set, rest
        self.set_id: int | None = None
        self.exercise: str | None = None  # of the open set
        self.reps = 0  # complete reps of the open set
        self.target: int | None = None  # of the open set
        self.last: LastSet | None = None
        self.rest_start: float | None = None
        self.rest_s = 0.0
        self._warned = False  # "get ready" given for this rest
        self._progress: dict[int, PlanProgress] = {}
        self.version = 0  # changes with every change worth a new state event

    # --- inputs ----------------------------------------------------------------------------

    def set_person(self, person: Trainee | None) -> None:
        """Who trains now. Another person starts from "ready"; the same person's edit keeps the
        phase (a changed plan starts over)."""
        previous, self.person = self.person, person
        if person is None or previous is None or previous.id != person.id:
            self._clear_set()
            self._end_rest()
            self.last = None
        elif person.plan != previous.plan:
            self._progress.pop(person.id, None)
        self.version += 1

    def rep(self, set_id: int | None, exercise: str, reps: int, now: float) -> list[TrainingCue]:
        """A rep of the open set (reps = its complete reps so far, partial reps included in
        the calls). A rep during the rest ends the rest: the next set has begun."""
        cues: list[TrainingCue] = []
        if self.phase != "set" or set_id != self.set_id:
            self._end_rest()
            self.target = self._target_for(exercise, now)  # before "set": a new session's plan
            self.phase, self.set_id, self.exercise = "set", set_id, exercise
            self.last = None
        if reps != self.reps:
            self.reps = reps
            target = self.target
            if target is not None and target >= TO_GO_MIN_TARGET and reps == target - TO_GO:
                cues.append(TrainingCue("to_go", f"{TO_GO} to go"))
            if target is not None and reps == target:
                cues.append(TrainingCue("target_done", f"Done: {target} {exercise_name(exercise)}"))
        self.version += 1
        return cues

    @property
    def complete(self) -> bool:
        """The open set has reached its target: the pipeline ends it now."""
        return self.phase == "set" and self.target is not None and self.reps >= self.target

    def set_ended(
        self, exercise: str, reps: int, now: float, ago: float = 0.0
    ) -> list[TrainingCue]:
        """A set ended (target reached, idle, another exercise, the source stopped). The rest
        counts from the set's last rep, `ago` seconds before now."""
        target = self.target if self.phase == "set" else self._target_for(exercise, now)
        self._clear_set()
        self.last = LastSet(exercise, reps, target)
        cues = self._count_toward_plan(exercise, reps, now) if reps > 0 else []
        if self.person is not None and self.person.rest_s > 0:  # 0: no rest countdown
            self.phase, self.rest_start, self.rest_s = "rest", now - ago, self.person.rest_s
            self._warned = False
            cues += self.tick(now)
        self.version += 1
        return cues

    def tick(self, now: float) -> list[TrainingCue]:
        """The clock: "get ready" near the rest's end, "rest over" at its end."""
        if self.phase != "rest" or self.rest_start is None:
            return []
        remaining = self.rest_start + self.rest_s - now
        if remaining <= 0:
            self._end_rest()
            self.version += 1
            return [TrainingCue("rest_over", "Rest over: start when ready")]
        if remaining <= GET_READY_S and not self._warned:
            self._warned = True
            self.version += 1
            return [TrainingCue("get_ready", f"Get ready: {round(remaining)} seconds")]
        return []

    # --- what the phone shows --------------------------------------------------------------

    def to_json(self, now: float, exercise_hint: str | None = None) -> dict:
        """The live state's "training" part. Outside a set, target and exercise are those of
        the next set: the plan's step, else the person's target for exercise_hint."""
        progress = self._plan(now)
        step = progress.current if progress else None
        if self.phase == "set":
            exercise, target, reps = self.exercise, self.target, self.reps
        else:
            exercise = step.exercise if step else exercise_hint
            target = self._target_for(exercise, now) if exercise else None
            reps = 0
        rest = None
        if self.phase == "rest" and self.rest_start is not None:
            remaining = max(0.0, self.rest_start + self.rest_s - now)
            rest = {"total_s": self.rest_s, "remaining_s": round(remaining, 1)}
        return {
            "person_id": self.person.id if self.person else None,
            "phase": self.phase,
            "exercise": exercise,
            "target": target,
            "reps": reps,
            "to_go": max(0, target - reps) if target is not None else None,
            "last": None
            if self.last is None
            else {
                "exercise": self.last.exercise,
                "reps": self.last.reps,
                "target": self.last.target,
                "done": self.last.done,
            },
            "rest": rest,
            "plan": None if progress is None else self._plan_json(progress),
        }

    # --- internals -------------------------------------------------------------------------

    def _plan(self, now: float) -> PlanProgress | None:
        """The person's plan progress; a new one after a session gap or a plan change."""
        person = self.person
        if person is None or not person.plan:
            return None
        progress = self._progress.get(person.id)
        stale = (
            progress is not None
            and progress.last_at is not None
            and now - progress.last_at > self.session_gap_s
            and self.phase != "set"
        )
        if progress is None or progress.plan != person.plan or stale:
            progress = self._progress[person.id] = PlanProgress(person.plan)
        return progress

    def _target_for(self, exercise: str, now: float) -> int | None:
        progress = self._plan(now)
        step = progress.current if progress else None
        if step is not None and step.exercise == exercise:
            return step.reps
        return self.person.targets.get(exercise) if self.person else None

    def _count_toward_plan(self, exercise: str, reps: int, now: float) -> list[TrainingCue]:
        progress = self._plan(now)
        step = progress.current if progress else None
        if progress is None or step is None or step.exercise != exercise:
            return []
        progress.sets_done += 1
        progress.last_at = now
        if progress.sets_done >= step.sets:
            progress.step += 1
            progress.sets_done = 0
        return [TrainingCue("plan_done", "Plan done: well done")] if progress.done else []

    @staticmethod
    def _plan_json(progress: PlanProgress) -> dict:
        step = progress.current
        return {
            "steps": [
                {"exercise": s.exercise, "sets": s.sets, "reps": s.reps} for s in progress.plan
            ],
            "step": progress.step,
            "set": None if step is None else progress.sets_done + 1,
            "sets": None if step is None else step.sets,
            "exercise": None if step is None else step.exercise,
            "reps": None if step is None else step.reps,
            "done": progress.done,
        }

    def _clear_set(self) -> None:
        self.phase, self.set_id, self.exercise, self.reps, self.target = (
            "ready",
            None,
            None,
            0,
            None,
        )

    def _end_rest(self) -> None:
        if self.phase == "rest":
            self.phase = "ready"
        self.rest_start = None
