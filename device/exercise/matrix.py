"""`repcounter eval-matrix`: the counting and form evals on every CPU arithmetic in the pose cache.

A column is one arithmetic (device/pose/arithmetic.py), one runtime version and one model build,
whose poses of the clips as recorded sit in the pose cache: this machine's, filled by `eval` and
`eval-form`, and an emulated Pi's, filled by `make eval-arm64`. The counting rules run on each
column's poses, so a rule change is judged on every arithmetic at once, in seconds.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from device.exercise.augment import body_extent
from device.exercise.counting import CountResult, count_poses
from device.exercise.evaluation import EvalSummary, evaluate
from device.exercise.form_eval import FormSummary, evaluate_form
from device.exercise.rules import ExerciseRules
from device.pose.cache import Entry, code_fingerprint, load_poses

# Score bands for how far keypoints move between arithmetics (the lower of the two scores).
SCORE_BANDS = ((0.5, 1.01), (0.3, 0.5), (0.0, 0.3))


@dataclass
class Column:
    arithmetic: str  # Arithmetic.key
    cpu: str  # Arithmetic.describe()
    runtime: str
    opencv: str
    precision: str
    model_file: str
    clips: dict[str, Path] = field(default_factory=dict)  # file name -> its .npz

    @property
    def name(self) -> str:
        return f"{self.cpu}, OpenCV {self.opencv}: {self.precision} ({self.runtime})"

    def count(self, rules: ExerciseRules) -> Callable[[Path, str], CountResult]:
        """A count function for evaluate/evaluate_form that reads this column's poses."""

        def count(path: Path, mode: str = "auto") -> CountResult:
            return count_poses(load_poses(self.clips[path.name]), rules, mode)

        return count


def find_columns(root: Path) -> list[Column]:
    """Every (arithmetic, runtime, model) with poses of clips as recorded, by the current pose
    stage code, in the cache below root."""
    code = code_fingerprint()
    columns: dict[tuple, Column] = {}
    for meta in sorted(root.glob("*/*.json")):
        try:
            entry = Entry(**json.loads(meta.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if entry.code != code or entry.variant != "none" or not meta.with_suffix(".npz").is_file():
            continue
        key = (entry.arithmetic, entry.runtime, entry.opencv, entry.model_file)
        column = columns.get(key) or Column(
            entry.arithmetic,
            entry.cpu,
            entry.runtime,
            entry.opencv,
            entry.precision,
            entry.model_file,
        )
        columns[key] = column
        column.clips[entry.clip] = meta.with_suffix(".npz")
    return sorted(columns.values(), key=lambda c: (c.precision, c.arithmetic, c.opencv, c.runtime))


def _listed(table: Path, column_name: str) -> list[str]:
    if not table.is_file():
        return []
    lines = table.read_text().splitlines()
    index = lines[0].split("\t").index(column_name)
    return [line.split("\t")[index] for line in lines[1:] if line.strip()]


@dataclass
class ColumnResult:
    column: Column
    counting: EvalSummary | None  # None when the column holds none of the clips
    form: FormSummary | None
    wrong: list[str]  # clips counted wrong or recognised wrong


def run_column(
    column: Column,
    truth: Path,
    labels: Path,
    rules: ExerciseRules,
    only: set[str] | None = None,
) -> ColumnResult:
    """The evals on the column's clips of the truth table and the labels (those in `only`)."""
    counting, form, wrong = None, None, []

    def held(name: str) -> bool:
        return name in column.clips and (only is None or name in only)

    if any(held(name) for name in _listed(truth, "file")):
        scores, counting = evaluate(truth, column.count(rules), only=held)
        wrong = [
            f"{s.truth.file.rsplit('.', 1)[0]} {s.counted} (truth {s.truth.reps})"
            for s in scores
            if s.error or not s.recognised_ok
        ]
    if any(held(name) for name in _listed(labels, "file")):
        _, form = evaluate_form(labels, column.count(rules), only=held)
    return ColumnResult(column, counting, form, wrong)


def common_clips(columns: list[Column]) -> set[str]:
    """The clips every column holds (to compare columns on the same clips)."""
    return set.intersection(*(set(c.clips) for c in columns)) if columns else set()


def format_matrix(results: list[ColumnResult]) -> list[str]:
    """Rows: counting exact / off by one / MAE / recognised, then each form group; a column per
    arithmetic and precision."""
    width = 16
    heads = [f"c{i + 1}" for i in range(len(results))]
    lines = [f"c{i + 1}: {r.column.name}" for i, r in enumerate(results)]
    lines.append(f"{'':28s}" + "".join(f"{h:>{width}s}" for h in heads))

    def row(label: str, cell: Callable[[ColumnResult], str]) -> None:
        lines.append(f"{label:28s}" + "".join(f"{cell(r):>{width}s}" for r in results))

    def counting(fmt: Callable[[EvalSummary], str]) -> Callable[[ColumnResult], str]:
        return lambda r: fmt(r.counting) if r.counting else "-"

    row("clips: counted", counting(lambda s: str(s.clips)))
    row("clips: exact", counting(lambda s: f"{s.exact_rate:.1%}"))
    row("clips: off by <= 1", counting(lambda s: f"{s.off_by_one_rate:.1%}"))
    row("clips: MAE", counting(lambda s: f"{s.mae:.3f}"))
    row("clips: recognised", counting(lambda s: f"{s.recognition_rate:.1%}"))
    groups = []
    for r in results:
        for share in (r.form.false_cues + r.form.faults) if r.form else []:
            if share.group not in groups:
                groups.append(share.group)
    for group in groups:

        def cell(r: ColumnResult, group: str = group) -> str:
            shares = (r.form.false_cues + r.form.faults) if r.form else []
            found = [s for s in shares if s.group == group]
            return f"{found[0].hits}/{found[0].clips} {found[0].rate:.0%}" if found else "-"

        is_fault = any(
            s.group == group for r in results if r.form for s in r.form.faults
        )  # a fault's row counts hits, a view's row counts false cues
        row(f"form: {group} {'caught' if is_fault else 'false cue'}", cell)
    row("form: clips with no rep", lambda r: str(len(r.form.no_reps)) if r.form else "-")
    for i, r in enumerate(results):
        if r.wrong:
            lines.append(f"c{i + 1} counts wrong: {', '.join(r.wrong)}")
    return lines


def keypoint_movement(columns: list[Column]) -> list[str]:
    """How far keypoints move between arithmetics: per pair of columns of one precision, over
    the clips both hold with the same frames, the median and 99th percentile of the distance in
    pixels and in body extents (augment.body_extent), per score band; with the frame-to-frame
    correlation of the difference and the spread of the score difference (what the `jitter`
    augment imitates)."""
    lines = []
    for a, b in itertools.combinations(columns, 2):
        if a.precision != b.precision:
            continue
        stats = _movement(a, b)
        if stats is None:
            continue
        lines.append(f"{a.precision}: {a.name} vs {b.name}")
        lines.extend("  " + line for line in stats)
    return lines


def _movement(a: Column, b: Column) -> list[str] | None:
    dist, rel, low, diffs, score_diffs = [], [], [], [], []
    for clip in sorted(a.clips.keys() & b.clips.keys()):
        pa, pb = load_poses(a.clips[clip]), load_poses(b.clips[clip])
        if len(pa) != len(pb) or not pa:
            continue
        ka = np.array([p.keypoints for p in pa])
        kb = np.array([p.keypoints for p in pb])
        d = ka[..., :2] - kb[..., :2]
        dist.append(np.hypot(d[..., 0], d[..., 1]).ravel())
        extent = np.array([body_extent(p.keypoints) or np.nan for p in pa])[:, None, None]
        rel.append((np.abs(d) / extent).reshape(-1, 2))
        low.append(np.minimum(ka[..., 2], kb[..., 2]).ravel())
        diffs.append(d)
        score_diffs.append((ka[..., 2] - kb[..., 2]).ravel())
    if not dist:
        return None
    distance, relative, score = np.concatenate(dist), np.concatenate(rel), np.concatenate(low)
    lines = []
    for lo, hi in SCORE_BANDS:
        pick = (score >= lo) & (score < hi)
        if not pick.any():
            continue
        px, body = distance[pick], relative[pick].ravel()
        lines.append(
            f"score {lo:.1f}-{min(hi, 1.0):.1f}: {pick.sum():7d} keypoints  distance median "
            f"{np.median(px):6.2f} px  p99 {np.percentile(px, 99):6.2f} px  coordinate spread "
            f"{np.nanstd(body):.4f} of body extent (median {np.nanmedian(body):.4f})"
        )
    lag = [
        np.corrcoef(d[1:].ravel(), d[:-1].ravel())[0, 1] for d in diffs if len(d) > 2 and d.any()
    ]
    lines.append(
        f"frame-to-frame correlation of the difference {np.nanmedian(lag):.2f}; "
        f"score difference spread {np.std(np.concatenate(score_diffs)):.3f}"
    )
    return lines
