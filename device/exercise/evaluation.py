"""`repcounter eval`: count every clip listed in a truth table and score the counts.

Scoring follows ../shared/data/clips/README.md: a count in [reps, reps_max] is exact; otherwise
the error is the distance to that range. MAE is the mean of error / reps over clips with reps > 0;
off-by-one is the share of clips with error <= 1; recognition is the share of clips whose
recognised exercise is the listed one.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from device.errors import SourceError
from device.exercise.counting import CountResult

TRUTH_COLUMNS = ("file", "exercise", "reps", "reps_max")


@dataclass(frozen=True)
class TruthRow:
    file: str
    exercise: str
    view: str
    reps: int
    reps_max: int


@dataclass(frozen=True)
class ClipScore:
    truth: TruthRow
    counted: int  # complete reps of the listed exercise
    partial: int
    recognised: str | None
    seconds: float  # wall-clock time to count the clip

    @property
    def error(self) -> int:
        return count_error(self.counted, self.truth.reps, self.truth.reps_max)

    @property
    def recognised_ok(self) -> bool:
        return self.recognised == self.truth.exercise


@dataclass(frozen=True)
class EvalSummary:
    clips: int
    exact_rate: float
    mae: float
    off_by_one_rate: float
    recognition_rate: float

    def line(self) -> str:
        return (
            f"clips {self.clips}  exact {self.exact_rate:.1%}  MAE {self.mae:.3f}  "
            f"off-by-one {self.off_by_one_rate:.1%}  "
            f"exercise recognised {self.recognition_rate:.1%}"
        )


def count_error(count: int, reps: int, reps_max: int) -> int:
    """Distance from count to the range [reps, reps_max] (0 inside it)."""
    if count < reps:
        return reps - count
    if count > reps_max:
        return count - reps_max
    return 0


def read_table(path: Path, columns: tuple[str, ...], what: str, example: str) -> list[tuple]:
    """(line number, row dict) of each row of a tab-separated table with at least `columns`;
    SourceError naming the file when it is missing or lacks a column. what: "a truth table";
    example: where such a table is found (for the message)."""
    if not path.is_file():
        raise SourceError(
            f"{what} {path} not found: pass its path, or run from the project root with "
            f"{example} beside it."
        )
    with path.open(newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise SourceError(
                f"{path} lacks the column(s) {', '.join(missing)}: {what} is tab-separated "
                f"with a header naming at least {', '.join(columns)}."
            )
        return list(enumerate(reader, start=2))


def load_truth(path: Path) -> list[TruthRow]:
    """The rows of a truth TSV (columns file, exercise, reps, reps_max; view optional)."""
    rows = []
    for line, row in read_table(path, TRUTH_COLUMNS, "a truth table", "../shared/data/clips"):
        try:
            reps = int(row["reps"])
            reps_max = int(row["reps_max"] or reps)
        except ValueError as exc:
            raise SourceError(
                f"{path} line {line}: reps and reps_max must be whole numbers ({exc})."
            ) from exc
        rows.append(
            TruthRow(row["file"], row["exercise"], row.get("view") or "", reps, max(reps, reps_max))
        )
    if not rows:
        raise SourceError(f"{path} lists no clips.")
    return rows


def summarise(scores: list[ClipScore]) -> EvalSummary:
    n = len(scores)
    relative = [s.error / s.truth.reps for s in scores if s.truth.reps > 0]
    return EvalSummary(
        clips=n,
        exact_rate=sum(s.error == 0 for s in scores) / n,
        mae=sum(relative) / len(relative) if relative else 0.0,
        off_by_one_rate=sum(s.error <= 1 for s in scores) / n,
        recognition_rate=sum(s.recognised_ok for s in scores) / n,
    )


def evaluate(
    truth_path: Path,
    count: Callable[[Path], CountResult],
    progress: Callable[[ClipScore], None] | None = None,
    only: Callable[[str], bool] | None = None,
) -> tuple[list[ClipScore], EvalSummary]:
    """Count each listed clip (files relative to the truth table's folder; those `only`
    accepts) and score it."""
    rows = [r for r in load_truth(truth_path) if only is None or only(r.file)]
    if not rows:
        raise SourceError(f"no clip of {truth_path} is selected.")
    missing = [r.file for r in rows if not (truth_path.parent / r.file).is_file()]
    if missing:
        raise SourceError(f"clips listed in {truth_path} are missing: {', '.join(missing)}.")
    scores = []
    for row in rows:
        start = time.perf_counter()
        result = count(truth_path.parent / row.file)
        score = ClipScore(
            truth=row,
            counted=result.count(row.exercise),
            partial=sum(1 for r in result.partial if r.exercise == row.exercise),
            recognised=result.exercise,
            seconds=time.perf_counter() - start,
        )
        scores.append(score)
        if progress is not None:
            progress(score)
    return scores, summarise(scores)
