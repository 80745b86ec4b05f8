"""Training on the live page: a target per set, the rest countdown and an optional workout plan.

A pure state machine fed by the live pipeline with the person who trains, each rep of the open
set, each set end and the clock (monotonic seconds, so a wrong wall clock cannot stretch a rest).
It never counts: the reps come from the exercise engine and the sets from the workout. It says
when a set is complete (its target is reached; the pipeline then ends the set) and which cues to
give: "3 to go", "done", "get ready" near the end of the rest, "rest over", "plan done", and
"Counting for Ana" when a set starts a new session or follows a switch of person (reps go to
whoever was picked last, so the room hears whose they are).

Targets: an edit of the person's target or plan during a set applies to that open set at once
(a target already reached completes it). The open set counts toward a plan only if it began
after the plan did: a plan made mid-set starts with the next set. The controls of the live
page act here too: -1/+1 changes the open set's count (the pipeline passes the adjusted count),
the rest can be skipped or made 30 s longer.

Targets: the plan step's reps when the set is of the step's exercise, else the person's target
for the exercise, else none. A set of the step's exercise with at least one complete rep counts
as one of the step's sets, even when it ended short of the target (by idle time). A set of
another exercise mid-plan is counted and stored as usual, with the person's own target for it,
and leaves the plan where it was. Plan progress is kept per person while the daemon runs and
starts over when the plan is edited or a set begins more than session_gap_s after that
person's last set (a new session). With a PlanKeeper (the history) it survives a restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

TO_GO = 3  # "3 to go" at target - TO_GO reps ...
TO_GO_MIN_TARGET = 5  # ... when the target is at least this
GET_READY_S = 10.0  # the "get ready" cue this long before the rest ends
DEFAULT_REST_S = 90
EXTEND_REST_S = 30  # "+30 s" on the rest screen
REST_MAX_S = 3600  # a rest made longer and longer stops here
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


class PlanKeeper(Protocol):
    """Where plan progress outlives the daemon (the history's device state)."""

    def plan_progress(self, person_id: int) -> dict | None: ...

    def save_plan_progress(self, person_id: int, progress: dict) -> None: ...


@dataclass
class PlanProgress:
    plan: tuple[PlanStep, ...]
    since: float  # clock time the plan began: only sets begun from then count
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
        keeper: PlanKeeper | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.person = person
        self.session_gap_s = session_gap_s
        self.clock = clock
        self.keeper = keeper
        self.wall_clock = wall_clock
        self.phase = "ready"  # ready (no set, no rest), set, rest
        self.set_id: int | None = None
        self.exercise: str | None = None  # of the open set
        self.reps = 0  # complete reps of the open set
        self.target: int | None = None  # of the open set
        self.set_started: float | None = None  # clock time of the open set's first rep
        self.last_rep_at: float | None = None  # clock time of the last rep, anyone's
        self._announce = True  # say whose reps they are at the next set
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
            self._announce = True
        else:
            if person.plan != previous.plan:
                self._progress.pop(person.id, None)
                self._plan(self.clock())  # it begins now: the open set is not one of its sets
            if self.phase == "set" and self.exercise is not None:
                self.target = self._target_for(self.exercise, self.clock(), self.set_started)
        self.version += 1

    def rep(self, set_id: int | None, exercise: str, reps: int, now: float) -> list[TrainingCue]:
        """A rep of the open set (reps = its complete reps so far, partial reps included in
        the calls). A rep during the rest ends the rest: the next set has begun."""
        cues: list[TrainingCue] = []
        if self.phase != "set" or set_id != self.set_id:
            self._end_rest()
            self.target = self._target_for(exercise, now)  # before "set": a new session's plan
            self.phase, self.set_id, self.exercise = "set", set_id, exercise
            self.set_started = now
            self.last = None
            gap = self.last_rep_at is None or now - self.last_rep_at > self.session_gap_s
            if self.person is not None and (gap or self._announce):
                cues.append(TrainingCue("counting_for", f"Counting for {self.person.name}"))
            self._announce = False
        self.last_rep_at = now
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
        started = self.set_started if self.phase == "set" else now
        self._clear_set()
        self.last = LastSet(exercise, reps, target)
        cues = self._count_toward_plan(exercise, started, now) if reps > 0 else []
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

    def skip_rest(self) -> bool:
        """End the rest now ("Skip" on the rest screen); False when there is no rest."""
        if self.phase != "rest":
            return False
        self._end_rest()
        self.version += 1
        return True

    def extend_rest(self, now: float, seconds: float = EXTEND_REST_S) -> bool:
        """Make the rest longer ("+30 s"); False when there is no rest. A "get ready" already
        given is given again near the new end."""
        if self.phase != "rest" or self.rest_start is None:
            return False
        self.rest_s = min(REST_MAX_S, self.rest_s + seconds)
        if self.rest_start + self.rest_s - now > GET_READY_S:
            self._warned = False
        self.version += 1
        return True

    # --- what the phone shows --------------------------------------------------------------

    def to_json(self, now: float, exercise_hint: str | None = None) -> dict:
        """The live state's "training" part. Outside a set, target and exercise are those of
        the next set: the plan's step, else the person's target for exercise_hint."""
        progress = self._plan(now)
        step = progress.current if progress else None
        in_plan = step is not None and step.exercise == exercise_hint
        if self.phase == "set":
            exercise, target, reps = self.exercise, self.target, self.reps
            in_plan = (
                step is not None
                and step.exercise == exercise
                and self.set_started is not None
                and self.set_started >= progress.since
            )
        else:
            exercise = step.exercise if step else exercise_hint
            target = self._target_for(exercise, now) if exercise else None
            reps = 0
            in_plan = step is not None
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
            "in_plan": in_plan,  # this set (or the next) is one of the plan's step's sets
        }

    # --- internals -------------------------------------------------------------------------

    def _plan(self, now: float) -> PlanProgress | None:
        """The person's plan progress; a new one after a session gap or a plan change."""
        person = self.person
        if person is None or not person.plan:
            return None
        progress = self._progress.get(person.id)
        if progress is None:
            progress = self._load(person, now)
        stale = (
            progress is not None
            and progress.last_at is not None
            and now - progress.last_at > self.session_gap_s
            and self.phase != "set"
        )
        if progress is None or progress.plan != person.plan or stale:
            progress = PlanProgress(person.plan, since=now)
        self._progress[person.id] = progress
        return progress

    def _load(self, person: Trainee, now: float) -> PlanProgress | None:
        """The progress kept in the history (times stored as wall-clock seconds, read back
        onto the monotonic clock); None when there is none, or it is of another plan."""
        if self.keeper is None:
            return None
        try:
            saved = self.keeper.plan_progress(person.id)
            if not saved:
                return None
            plan = tuple(PlanStep(**step) for step in saved["plan"])
            offset = now - self.wall_clock()
            last_at = saved.get("last_at")
            return PlanProgress(
                plan,
                since=float(saved["since"]) + offset,
                step=int(saved["step"]),
                sets_done=int(saved["sets_done"]),
                last_at=None if last_at is None else float(last_at) + offset,
            )
        except Exception as exc:  # an unreadable history: the plan starts over
            log.warning("cannot read %s's plan progress: %s", person.name, exc)
            return None

    def _save(self, person_id: int, progress: PlanProgress, now: float) -> None:
        if self.keeper is None:
            return
        offset = self.wall_clock() - now
        try:
            self.keeper.save_plan_progress(
                person_id,
                {
                    "plan": [vars(step) for step in progress.plan],
                    "since": progress.since + offset,
                    "step": progress.step,
                    "sets_done": progress.sets_done,
                    "last_at": None if progress.last_at is None else progress.last_at + offset,
                },
            )
        except Exception as exc:  # a full disk: the progress lives on in memory
            log.warning("cannot save the plan progress: %s", exc)

    def _target_for(self, exercise: str, now: float, started: float | None = None) -> int | None:
        """The plan step's reps, else the person's target. For a set begun at `started`, the
        plan's only if that set is one of its sets (begun after the plan)."""
        progress = self._plan(now)
        step = progress.current if progress else None
        in_plan = started is None or (progress is not None and started >= progress.since)
        if step is not None and step.exercise == exercise and in_plan:
            return step.reps
        return self.person.targets.get(exercise) if self.person else None

    def _count_toward_plan(self, exercise: str, started: float, now: float) -> list[TrainingCue]:
        progress = self._plan(now)
        step = progress.current if progress else None
        if progress is None or step is None or step.exercise != exercise:
            return []
        if started < progress.since:
            return []  # begun before the plan: not one of its sets
        progress.sets_done += 1
        progress.last_at = now
        if progress.sets_done >= step.sets:
            progress.step += 1
            progress.sets_done = 0
        if self.person is not None:
            self._save(self.person.id, progress, now)
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
        self.set_started = None

    def _end_rest(self) -> None:
        if self.phase == "rest":
            self.phase = "ready"
        self.rest_start = None
