"""`repcounter bench-history`: how long the history's queries take on a long synthetic history.

Writes a household's years of training (every day, each person a squat set and a push-up set of
12 complete reps and one partial, some sets corrected or deleted) into a temporary database with
the store's schema, then times what the History page and the set's end ask: a page of sessions,
weekly totals, records, progress, a set's new records (at each set's end, on the inference
thread) and the CSV export. Prints the median of a few runs of each.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from device.history.store import Store

REPS_PER_SET = 12
DAY_S = 86400.0


def fill(path: Path, years: float, people: int) -> Store:
    """A store at path holding `years` of daily sets for `people` people."""
    store = Store(path)
    ids = [1] + [store.add_person(f"Person {n}", "#2e7d32")["id"] for n in range(2, people + 1)]
    store.close()
    first = time.time() - years * 365 * DAY_S
    sessions, sets, reps = [], [], []
    for day in range(int(years * 365)):
        start = first + day * DAY_S
        sessions.append((day + 1, start, start + 3600))
        for k, (person, exercise) in enumerate((p, e) for p in ids for e in ("squat", "pushup")):
            set_id, at = len(sets) + 1, start + 600 * k
            corrected = REPS_PER_SET + 1 if set_id % 20 == 0 else None
            deleted = at if set_id % 50 == 0 else None
            sets.append((set_id, day + 1, exercise, at, at + 60, person, corrected, deleted))
            depth = 0.8 + (day % 7) / 20
            reps.extend(
                (set_id, exercise, int(i < REPS_PER_SET), at + 4 * i, at + 4 * i + 3, depth)
                for i in range(REPS_PER_SET + 1)
            )
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO sessions VALUES (?,?,?)", sessions)
        db.executemany(
            "INSERT INTO sets (id, session_id, exercise, started_at, ended_at, person_id,"
            " corrected_reps, deleted_at) VALUES (?,?,?,?,?,?,?,?)",
            sets,
        )
        db.executemany(
            "INSERT INTO reps (set_id, exercise, complete, started_at, ended_at, depth, down_s,"
            " up_s) VALUES (?,?,?,?,?,?,1.2,1.0)",
            reps,
        )
    return Store(path)


def median_ms(run: Callable[[], object], times: int) -> float:
    durations = []
    for _ in range(times):
        start = time.perf_counter()
        run()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations) * 1000


def run_bench(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.sqlite3"
        store = fill(path, args.years, args.people)
        last_set = store.next_set_id() - 1
        with sqlite3.connect(path) as db:
            reps = db.execute("SELECT count(*) FROM reps").fetchone()[0]
        print(
            f"{args.years:g} years, {args.people} people: {last_set} sets, {reps} reps, "
            f"{path.stat().st_size / 1e6:.1f} MB"
        )
        cases: list[tuple[str, Callable[[], object]]] = [
            ("sessions (a page of 10, everyone)", lambda: store.sessions(10)),
            ("sessions (a page of 10, one person)", lambda: store.sessions(10, 0, 1)),
            ("totals per week (everyone)", lambda: store.totals("week", 1000)),
            ("records (one person)", lambda: store.records(1)),
            ("records (everyone)", lambda: store.records()),
            ("progress (one person)", lambda: store.progress(1)),
            ("new records of a set (at its end)", lambda: store.new_records(last_set)),
            ("CSV export (everyone)", store.export_csv),
        ]
        for name, run in cases:
            print(f"{name:40s} {median_ms(run, args.runs):8.1f} ms")
        store.close()
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser(
        "bench-history", help="time the history's queries on a long synthetic history"
    )
    bench.add_argument("--years", type=float, default=5.0, help="years of daily sets (5)")
    bench.add_argument("--people", type=int, default=2, help="people in the household (2)")
    bench.add_argument("--runs", type=int, default=5, help="runs of each query (median)")
    bench.set_defaults(run=run_bench)
