"""Personal records and progress, computed from a person's sets (deleted sets left out).

Each set arrives as a dict with id, person_id, exercise, started_at, day (its local date),
reps (the corrected count where there is one, else the counted complete reps) and avg_depth
(the mean depth of its counted complete reps, None without any). Depth is 1.0 at the target
depth (hips at knee height; elbows at 90 degrees) and larger when deeper, for squats and
push-ups alike, so a higher average depth is the better one.

Records per exercise: most reps in a set, most reps in a day, best average depth of a set, and
the longest streak of consecutive days with a set of at least one rep. A record is held by the
first set (or day) that reached it.

A set record (most reps, best depth) needs a real set: at least MIN_RECORD_REPS complete reps
counted by the camera (and as many after a correction), and not cut short by a switch of
person (cut_short). A 1-rep set that existed only because someone else stepped in is no one's
best depth. Day totals and streaks still count every set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

KINDS = ("set_reps", "day_reps", "depth", "streak")
MIN_RECORD_REPS = 3
TREND_WEEKS = 12


def _day_totals(sets: Iterable[dict]) -> dict[date, int]:
    totals: dict[date, int] = defaultdict(int)
    for row in sets:
        totals[row["day"]] += row["reps"]
    return totals


def _streaks(days: Iterable[date]) -> list[tuple[date, date]]:
    """Runs of consecutive days, as (first, last), oldest first."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and day - runs[-1][1] == timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _length(run: tuple[date, date]) -> int:
    return (run[1] - run[0]).days + 1


def _training_days(sets: Iterable[dict]) -> set[date]:
    return {row["day"] for row in sets if row["reps"] > 0}


def real_set(row: dict) -> bool:
    """May this set hold a set record (see the module's docstring)?"""
    return (
        not row.get("cut_short")
        and row.get("counted_reps", row["reps"]) >= MIN_RECORD_REPS
        and row["reps"] >= MIN_RECORD_REPS
    )


def _set_holder(row: dict, value: float) -> dict:
    return {
        "value": value,
        "set_id": row["id"],
        "person_id": row["person_id"],
        "at": row["started_at"],
    }


def exercise_records(exercise: str, sets: list[dict]) -> dict:
    """The records of one exercise's sets (ordered oldest first)."""
    real = [row for row in sets if real_set(row)]
    best_set = max(real, key=lambda row: row["reps"], default=None)  # max keeps the first
    days = _day_totals(sets)
    best_day = max(days.items(), key=lambda item: item[1], default=None)
    deep = [row for row in real if row["avg_depth"] is not None]
    best_depth = max(deep, key=lambda row: row["avg_depth"], default=None)
    runs = _streaks(_training_days(sets))
    longest = max(runs, key=_length, default=None)
    return {
        "exercise": exercise,
        "sets": len(sets),
        "set_reps": _set_holder(best_set, best_set["reps"]) if best_set else None,
        "day_reps": {"value": best_day[1], "day": best_day[0].isoformat()} if best_day else None,
        "depth": _set_holder(best_depth, round(best_depth["avg_depth"], 3)) if best_depth else None,
        "streak": {
            "value": _length(longest),
            "from": longest[0].isoformat(),
            "to": longest[1].isoformat(),
        }
        if longest
        else None,
    }


def records(sets: list[dict]) -> list[dict]:
    """Records per exercise, by exercise name."""
    by_exercise: dict[str, list[dict]] = defaultdict(list)
    for row in sets:
        by_exercise[row["exercise"]].append(row)
    return [exercise_records(name, rows) for name, rows in sorted(by_exercise.items())]


def new_records(this: dict, before: list[dict]) -> list[dict]:
    """The records `this` set sets against `before` (the same person's earlier sets of the same
    exercise). None for the first set of an exercise: there is nothing to beat.

    The day record is reported once a day, by the set that takes the day's total past the best
    earlier day; the streak record by the day's first set, when the streak it extends is longer
    than any before.
    """
    if not before:
        return []
    found = []

    def add(kind: str, value: float, previous: float) -> None:
        found.append({"record": kind, "value": value, "previous": previous})

    real = real_set(this)
    before_real = [row for row in before if real_set(row)]
    best_set = max((row["reps"] for row in before_real), default=0)
    if real and before_real and this["reps"] > best_set:
        add("set_reps", this["reps"], best_set)

    earlier_days = _day_totals(row for row in before if row["day"] != this["day"])
    best_day = max(earlier_days.values(), default=0)
    today_before = sum(row["reps"] for row in before if row["day"] == this["day"])
    if best_day > 0 and today_before <= best_day < today_before + this["reps"]:
        add("day_reps", today_before + this["reps"], best_day)

    depths = [row["avg_depth"] for row in before_real if row["avg_depth"] is not None]
    if real and this["avg_depth"] is not None and depths and this["avg_depth"] > max(depths):
        add("depth", round(this["avg_depth"], 3), round(max(depths), 3))

    days_before = _training_days(before)
    if this["reps"] > 0 and days_before and this["day"] not in days_before:
        longest = max(_length(run) for run in _streaks(days_before))
        current = _length(_streaks(days_before | {this["day"]})[-1])  # it ends on this day
        if current > longest:
            add("streak", current, longest)
    return found


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def current_streak(days: set[date], today: date) -> int:
    """Consecutive days with a set ending today, or yesterday (today's set may be still to
    come): 0 when neither had one."""
    runs = _streaks(days)
    if not runs or runs[-1][1] < today - timedelta(days=1):
        return 0
    return _length(runs[-1])


def progress(sets: list[dict], today: date, weeks: int = TREND_WEEKS) -> dict:
    """This week against last week (reps per exercise), the current and longest streak of days
    with a set, and per exercise the reps and average depth of each of the last `weeks` weeks
    (Monday to Sunday, oldest first; average depth weighted by counted complete reps)."""
    this_monday = _monday(today)
    mondays = [this_monday - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
    index = {monday: i for i, monday in enumerate(mondays)}
    exercises = sorted({row["exercise"] for row in sets})
    reps = {name: [0] * weeks for name in exercises}
    depth_sum = {name: [0.0] * weeks for name in exercises}
    depth_reps = {name: [0] * weeks for name in exercises}
    this_week = dict.fromkeys(exercises, 0)
    last_week = dict.fromkeys(exercises, 0)
    for row in sets:
        monday, name = _monday(row["day"]), row["exercise"]
        if monday == this_monday:
            this_week[name] += row["reps"]
        elif monday == this_monday - timedelta(weeks=1):
            last_week[name] += row["reps"]
        i = index.get(monday)
        if i is None:
            continue
        reps[name][i] += row["reps"]
        if row["avg_depth"] is not None:
            depth_sum[name][i] += row["avg_depth"] * row["counted_reps"]
            depth_reps[name][i] += row["counted_reps"]
    days = _training_days(sets)
    return {
        "today": today.isoformat(),
        "this_week": this_week,
        "last_week": last_week,
        "streak": {
            "current": current_streak(days, today),
            "longest": max((_length(run) for run in _streaks(days)), default=0),
        },
        "weeks": [monday.isoformat() for monday in mondays],
        "trend": {
            name: {
                "reps": reps[name],
                "avg_depth": [
                    round(total / count, 3) if count else None
                    for total, count in zip(depth_sum[name], depth_reps[name], strict=True)
                ],
            }
            for name in exercises
        },
    }
