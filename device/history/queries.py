"""The SQL the read side shares: one row per set with its counts, and the person filter."""

from __future__ import annotations

# One row per set: its counted complete reps, the corrected count where there is one, and
# `reps`, the count that totals and records use (the corrected one, else the counted one).
SET_COUNTS = """
    SELECT t.id, t.session_id, t.person_id, p.name AS person, t.exercise,
           t.started_at, t.ended_at,
           coalesce(t.corrected_reps, coalesce(sum(r.complete), 0)) AS reps,
           coalesce(sum(r.complete), 0) AS counted_reps,
           t.corrected_reps, t.correction_reason,
           coalesce(sum(1 - r.complete), 0) AS partial_reps,
           avg(CASE WHEN r.complete THEN r.depth END) AS avg_depth,
           t.deleted_at, t.cut_short
    FROM sets t LEFT JOIN reps r ON r.set_id = t.id LEFT JOIN people p ON p.id = t.person_id
"""


def person_filter(person_id: int | None, *conditions: str) -> tuple[str, tuple]:
    """A WHERE clause of the conditions, and of the person when one is given."""
    params: tuple = ()
    if person_id is not None:
        conditions = (*conditions, "t.person_id=?")
        params = (person_id,)
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), params
