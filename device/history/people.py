"""The household's people: what a profile may hold, checked before it is stored.

A person has a name, a colour (the phone's chip), a rest time between sets, a target of reps
per set for each exercise, and an optional plan: steps of sets x reps of an exercise. There is
no login per person; the household shares the device password. Person 1 owns the history from
before people existed and cannot be deleted (rename it instead).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from device.exercise.tracker import MODES

EXERCISES = tuple(mode for mode in MODES if mode != "auto")
DEFAULT_PERSON_ID = 1
DEFAULT_REST_S = 90
NAME_MAX = 40
REST_MIN_S = 10  # a shorter rest is no rest: 0 turns the countdown off
REST_MAX_S = 600
REPS_MAX = 500
SETS_MAX = 20
PLAN_STEPS_MAX = 10
# Control, format, surrogate, private-use, unassigned, line and paragraph separators.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class PersonInvalid(ValueError):
    """A profile value that cannot be stored: which field, and what is wrong with it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def name(value: Any) -> str:
    """A name as stored: NFC, runs of white space as one space. Control, format (zero-width,
    direction overrides), private-use and unassigned characters are refused, and a name needs
    a letter or a digit that shows."""
    if not isinstance(value, str) or not value.strip():
        raise PersonInvalid("name", "give a name (up to 40 characters)")
    value = " ".join(unicodedata.normalize("NFC", value).split())
    hidden = next((c for c in value if unicodedata.category(c) in HIDDEN_CATEGORIES), None)
    if hidden is not None:
        raise PersonInvalid(
            "name",
            f"it holds an invisible or control character (U+{ord(hidden):04X}): type the name "
            "again without it",
        )
    if not any(unicodedata.category(c)[0] in "LN" for c in value):
        raise PersonInvalid("name", "a name needs at least one letter or digit")
    if len(value) > NAME_MAX:
        raise PersonInvalid("name", f"at most {NAME_MAX} characters")
    return value


def name_key(value: str) -> str:
    """What two names that must not both exist share: "Émile", "émile" and "EMILE" differ,
    "Émile" and "ÉMILE" do not (NFC, then Unicode case folding)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", value).casefold())


def colour(value: Any) -> str:
    if not isinstance(value, str) or not COLOUR.fullmatch(value):
        raise PersonInvalid("colour", 'a colour as "#rrggbb", e.g. "#1e88e5"')
    return value.lower()


def rest_s(value: Any) -> int:
    """Seconds of rest after a set: 0 (no countdown) or REST_MIN_S to REST_MAX_S."""
    if value == 0 and not isinstance(value, bool):
        return 0
    try:
        return _whole(value, "rest_s", REST_MIN_S, REST_MAX_S)
    except PersonInvalid:
        raise PersonInvalid(
            "rest_s", f"0 for no rest countdown, or {REST_MIN_S} to {REST_MAX_S} seconds"
        ) from None


def targets(value: Any) -> dict[str, int | None]:
    """{exercise: reps per set, or None to clear it}."""
    if not isinstance(value, dict):
        raise PersonInvalid("targets", 'an object such as {"squat": 10, "pushup": null}')
    checked: dict[str, int | None] = {}
    for exercise, reps in value.items():
        _exercise(exercise, "targets")
        checked[exercise] = None if reps is None else _whole(reps, f"targets.{exercise}", 1)
    return checked


def plan(value: Any) -> list[dict[str, Any]]:
    """Steps in order: [{"exercise": "squat", "sets": 3, "reps": 10}, ...]; [] for none."""
    if not isinstance(value, list) or len(value) > PLAN_STEPS_MAX:
        raise PersonInvalid("plan", f"a list of at most {PLAN_STEPS_MAX} steps")
    steps = []
    for i, step in enumerate(value):
        field = f"plan.{i}"
        if not isinstance(step, dict) or set(step) != {"exercise", "sets", "reps"}:
            raise PersonInvalid(field, 'a step is {"exercise": ..., "sets": ..., "reps": ...}')
        steps.append(
            {
                "exercise": _exercise(step["exercise"], f"{field}.exercise"),
                "sets": _whole(step["sets"], f"{field}.sets", 1, SETS_MAX),
                "reps": _whole(step["reps"], f"{field}.reps", 1),
            }
        )
    return steps


def _exercise(value: Any, field: str) -> str:
    if value not in EXERCISES:
        raise PersonInvalid(field, f"the exercise must be one of: {', '.join(EXERCISES)}")
    return value


def _whole(value: Any, field: str, low: int, high: int = REPS_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PersonInvalid(field, f"a whole number from {low} to {high}")
    return value
