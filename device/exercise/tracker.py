"""The exercise engine's front door: one smoothed pose per frame in, reps and cues out."""

from __future__ import annotations

from device.errors import ConfigError
from device.exercise.body import BodyScale, SidePicker
from device.exercise.classifier import EXERCISE_OF_POSTURE, PRONE, PostureClassifier
from device.exercise.counter import ExerciseCounter
from device.exercise.cues import form_checks
from device.exercise.geometry import Joints
from device.exercise.placement import PlacementMonitor
from device.exercise.pushup import PushupCounter
from device.exercise.rules import ExerciseRules
from device.exercise.squat import SquatCounter
from device.exercise.types import Cue, ExerciseState, Rep
from device.exercise.view import FRONT, ViewEstimator
from device.pose.keypoints import KEYPOINT_INDEX, Pose

MODES = ("auto", "squat", "pushup")
MIN_KEYPOINTS = 5  # fewer visible keypoints than this is nobody (a stray detection)


class ExerciseTracker:
    """Counts squats and push-ups and gives form and placement cues.

    mode "auto" recognises the exercise from the posture (upright: squat; lying on the hands:
    push-up) and counts only the one that fits; "squat" or "pushup" pins it and counts it in any
    posture.
    """

    def __init__(self, rules: ExerciseRules | None = None, mode: str = "auto") -> None:
        if mode not in MODES:
            raise ConfigError(f"exercise mode must be one of {', '.join(MODES)}, not {mode!r}.")
        self._rules = rules = rules or ExerciseRules()
        self.mode = mode
        self._scale = BodyScale(rules.scale_window_s)
        self._side = SidePicker()
        self._posture = PostureClassifier(rules)
        self._view = ViewEstimator(rules)
        self._placement = PlacementMonitor(rules)
        self._counters: dict[str, ExerciseCounter] = {
            c.name: c for c in (SquatCounter(rules), PushupCounter(rules))
        }
        self.reset()

    @property
    def rules(self) -> ExerciseRules:
        return self._rules

    @rules.setter
    def rules(self, rules: ExerciseRules) -> None:
        """New thresholds (changed settings) take effect at once, keeping the counts."""
        self._rules = rules
        self._scale.window_s = rules.scale_window_s
        for part in (self._posture, self._view, self._placement, *self._counters.values()):
            part.rules = rules
        for counter in self._counters.values():
            counter.segmenter.rules, counter.segmenter.min_rom = rules, counter.min_rom

    def reset(self) -> None:
        """Forget everything: a new session or a new video."""
        self._scale.reset()
        self._side.reset()
        self._posture.reset()
        self._view.reset()
        self._placement.reset()
        for counter in self._counters.values():
            counter.reset()
        self._state = ExerciseState(
            counts={name: 0 for name in self._counters},
            partial_counts={name: 0 for name in self._counters},
        )
        self._last_t: float | None = None
        self._posture_time: dict[str, float] = {}

    @property
    def state(self) -> ExerciseState:
        return self._state

    def update(self, pose: Pose) -> list[Rep | Cue]:
        """Feed one frame's pose; returns the reps closed and the placement cues raised by it."""
        t = pose.t
        if self._last_t is not None and t <= self._last_t:
            return []  # a repeated or reordered frame
        dt = 0.0 if self._last_t is None else t - self._last_t
        self._last_t = t
        joints = self._joints(pose)
        posture = self._posture.update(joints, t)
        view = self._view.update(joints, posture, t, self._scale)
        if joints is not None:
            joints.average = view == FRONT
            self._scale.update(joints, t)
        if posture is not None:
            self._posture_time[posture] = self._posture_time.get(posture, 0.0) + dt

        events: list[Rep | Cue] = []
        for name, counter in self._counters.items():
            active = joints if self._active(name, posture) else None
            for rep in counter.update(active, self._scale, view, t):
                events.append(self._record(rep))
        exercise = self._current_exercise(posture)
        placement = self._placement.update(joints, self._placement_exercise(posture), view, t)
        if placement is not None:
            events.append(placement)
        self._set_state(exercise, posture, view)
        return events

    def flush(self) -> list[Rep | Cue]:
        """End of a video: close a rep that is already back at the top."""
        events: list[Rep | Cue] = []
        for counter in self._counters.values():
            rep = counter.flush()
            if rep is not None:
                events.append(self._record(rep))
        self._set_state(self._state.exercise, self._state.posture, self._state.view)
        return events

    def recognised_exercise(self) -> str | None:
        """The exercise of this session: the one with the most reps (complete or partial), else
        push-ups when the person held a push-up position for a second, else None."""
        s = self._state
        totals = {name: s.counts[name] + s.partial_counts[name] for name in self._counters}
        best = max(totals, key=lambda name: totals[name])
        if totals[best] > 0:
            return best
        if self.mode != "auto":
            return self.mode
        if self._posture_time.get(PRONE, 0.0) >= 1.0:
            return EXERCISE_OF_POSTURE[PRONE]
        return None

    def _joints(self, pose: Pose) -> Joints | None:
        rules = self.rules
        if pose.score < rules.min_pose_score:
            return None
        if int((pose.keypoints[:, 2] >= rules.min_keypoint_score).sum()) < MIN_KEYPOINTS:
            return None
        side = self._side.update(pose.keypoints[:, 2], pose.t, KEYPOINT_INDEX)
        return Joints(pose, rules.min_keypoint_score, side)

    def _active(self, name: str, posture: str | None) -> bool:
        """Auto: the exercise that fits the posture. Pinned: that exercise, unless the posture
        is clearly the other one's (push-ups are never counted as squats)."""
        fits = EXERCISE_OF_POSTURE.get(posture or "")
        if self.mode != "auto":
            return self.mode == name and fits in (None, name)
        return fits == name

    def _placement_exercise(self, posture: str | None) -> str | None:
        if self.mode != "auto":
            return self.mode
        return EXERCISE_OF_POSTURE.get(posture or "")

    def _current_exercise(self, posture: str | None) -> str | None:
        """Push-ups as soon as someone holds the position; squats once a squat has begun (people
        standing around are not squatting); otherwise the exercise of the last rep."""
        if self.mode != "auto":
            return self.mode
        if posture == PRONE:
            return EXERCISE_OF_POSTURE[PRONE]
        squat = self._counters["squat"]
        if squat.segmenter.phase in ("down", "up"):
            return squat.name
        return self._state.exercise

    def _record(self, rep: Rep) -> Rep:
        counts = self._state.counts if rep.complete else self._state.partial_counts
        counts[rep.exercise] += 1
        self._state.exercise = rep.exercise
        return rep

    def _set_state(self, exercise: str | None, posture: str | None, view: str | None) -> None:
        s = self._state
        s.exercise, s.posture, s.view = exercise, posture, view
        s.placement = self._placement.problem
        s.reps = s.counts.get(exercise, 0) if exercise else 0
        s.partial_reps = s.partial_counts.get(exercise, 0) if exercise else 0
        s.phase = self._counters[exercise].segmenter.phase if exercise else "idle"
        s.form_checks = form_checks(exercise, view)
        s.view_hint = self._placement.hint
        s.checks = self._placement.checks()
