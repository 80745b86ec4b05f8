"""`repcounter count VIDEO` (reps, tempo, cues of one video), `repcounter eval` (counts of all
clips) and `repcounter eval-form` (cues of all labelled form clips)."""

from __future__ import annotations

import argparse
import fnmatch
from collections.abc import Callable
from pathlib import Path

from device import jsonout
from device.exercise import augment, matrix
from device.exercise.counting import CountResult, count_video
from device.exercise.evaluation import ClipScore, EvalSummary, evaluate
from device.exercise.form_eval import FormClip, evaluate_form
from device.exercise.matrix import find_columns
from device.exercise.rules import ExerciseRules
from device.exercise.tracker import MODES
from device.exercise.types import Rep
from device.pose.cache import PoseCache, default_dir
from device.pose.commands import model_options, pipeline_from_args

DEFAULT_TRUTH = Path("../shared/data/clips/truth.tsv")
DEFAULT_FORM_LABELS = Path("../shared/data/form/labels.tsv")


def register(commands: argparse._SubParsersAction) -> None:
    count = commands.add_parser(
        "count", help="count the squats or push-ups in a video, with tempo and form cues"
    )
    count.add_argument("video", type=Path, help="a video file")
    count.add_argument(
        "--exercise",
        default="auto",
        choices=MODES,
        help="auto (recognise it, default), or pin squat or pushup",
    )
    count.add_argument("--json", action="store_true", help="print the result as one JSON object")
    model_options(count)
    cache_option(count)
    count.set_defaults(run=run_count)

    ev = commands.add_parser(
        "eval", help="count every clip of a truth table and report exact-match rate and MAE"
    )
    ev.add_argument(
        "truth",
        type=Path,
        nargs="?",
        default=DEFAULT_TRUTH,
        help=f"truth TSV (default {DEFAULT_TRUTH}); clips are read beside it",
    )
    ev.add_argument(
        "--augment",
        default=None,
        metavar="NAME[,NAME...]",
        help="count transformed frames instead, one eval per name, then compare: "
        f"{', '.join(augment.TRANSFORMS)}, 'a+b' chains, 'all' runs every one",
    )
    model_options(ev, several_precisions=True)
    cache_option(ev)
    only_option(ev)
    ev.set_defaults(run=run_eval)

    form = commands.add_parser(
        "eval-form",
        help="count every labelled form clip and report false cues per view and caught faults",
    )
    form.add_argument(
        "labels",
        type=Path,
        nargs="?",
        default=DEFAULT_FORM_LABELS,
        help=f"form label TSV (default {DEFAULT_FORM_LABELS}), or a counting truth TSV such as "
        f"{DEFAULT_TRUTH} (its squat rows, all acceptable form); clips are read beside it",
    )
    model_options(form)
    cache_option(form)
    only_option(form)
    form.set_defaults(run=run_eval_form)

    matrix = commands.add_parser(
        "eval-matrix",
        help="the counting and form evals on every CPU arithmetic whose poses the cache holds",
    )
    matrix.add_argument("--truth", type=Path, default=DEFAULT_TRUTH, help="counting truth TSV")
    matrix.add_argument("--labels", type=Path, default=DEFAULT_FORM_LABELS, help="form labels TSV")
    matrix.add_argument(
        "--cache-dir", type=Path, default=None, help=f"the pose cache (default {default_dir()})"
    )
    matrix.add_argument(
        "--common",
        action="store_true",
        help="count every column on the clips all columns hold (by default each column counts "
        "the clips it holds: a Pi's emulated columns may hold only some)",
    )
    matrix.set_defaults(run=run_eval_matrix)


def cache_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help=f"run the pose model on every frame even when the pose cache ({default_dir()}) "
        "holds this clip's poses for this model, runtime and CPU",
    )


def only_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only",
        metavar="GLOB[,GLOB...]",
        default=None,
        help="count only the clips whose file name matches one of these patterns",
    )


def selected(args: argparse.Namespace) -> Callable[[str], bool] | None:
    """--only as a test on a clip's file name."""
    if not args.only:
        return None
    patterns = [p.strip() for p in args.only.split(",") if p.strip()]
    return lambda name: any(fnmatch.fnmatch(name, p) for p in patterns)


def pose_cache(args: argparse.Namespace) -> PoseCache | None:
    return None if args.no_cache else PoseCache()


def format_rep(number: int, rep: Rep) -> str:
    kind = "rep" if rep.complete else "partial"
    cues = ", ".join(c.message for c in rep.cues) or "good form"
    if rep.variant:
        cues = f"[{rep.variant}] {cues}"
    return (
        f"{number:3d} {rep.exercise:6s} {kind:7s}  start {rep.t_start:6.2f}s  "
        f"bottom {rep.t_bottom:6.2f}s  end {rep.t_end:6.2f}s  depth {rep.depth:4.2f}  "
        f"down {rep.down_s:4.2f}s up {rep.up_s:4.2f}s  {cues}"
    )


def print_result(result: CountResult) -> None:
    print(f"exercise: {result.exercise or 'none recognised'}")
    for number, rep in enumerate(result.reps, start=1):
        print(format_rep(number, rep))
    for cue in result.placement:
        print(f"    placement at {cue.t:6.2f}s: {cue.message}")
    print(result.summary())


def run_count(args: argparse.Namespace) -> int:
    result = count_video(
        args.video, pipeline_from_args(args), ExerciseRules(), args.exercise, cache=pose_cache(args)
    )
    if args.json:
        print(jsonout.dumps(result.to_json()))
    else:
        print_result(result)
    return 0


def format_score(score: ClipScore) -> str:
    t = score.truth
    expected = str(t.reps) if t.reps == t.reps_max else f"{t.reps}-{t.reps_max}"
    mark = "" if score.error == 0 and score.recognised_ok else "  <-"
    return (
        f"{t.file:30s} {t.exercise:6s} {expected:>5s} {score.counted:7d} {score.partial:7d} "
        f"{score.recognised or 'none':10s} {score.error:5d} {score.seconds:6.1f}{mark}"
    )


def run_eval(args: argparse.Namespace) -> int:
    runs = augment.parse_runs(args.augment) if args.augment else [None]
    rules = ExerciseRules()
    cache = pose_cache(args)
    results: dict[str | None, tuple[list[ClipScore], EvalSummary]] = {}
    for precision in args.precision:
        pipeline = pipeline_from_args(args, precision=precision)
        backend = pipeline.backend
        print(
            f"== pose: {backend.model.name} {backend.model.precision} on {backend.accelerator} "
            f"({backend.model.file}, {backend.runtime}, {backend.threads} threads)"
        )
        for run in runs:
            if run is not None:
                print(f"== augment: {run}")
            print(
                f"{'clip':30s} {'truth':6s} {'reps':>5s} {'counted':>7s} {'partial':>7s} "
                f"{'recognised':10s} {'error':>5s} {'sec':>6s}"
            )
            label = run if len(args.precision) == 1 else f"{precision}/{run or 'none'}"
            results[label] = evaluate(
                args.truth,
                lambda path, run=run, pipeline=pipeline: count_video(
                    path, pipeline, rules, "auto", run, cache
                ),
                progress=lambda score: print(format_score(score), flush=True),
                only=selected(args),
            )
            print(results[label][1].line(), flush=True)
    if len(results) > 1:
        print()
        for line in compare_runs(results):
            print(line)
    return 0


def format_form_clip(clip: FormClip) -> str:
    t = clip.truth
    reps = " | ".join(
        ("" if rep.complete else "partial: ") + (",".join(c.code for c in rep.cues) or "-")
        for rep in clip.result.reps
    )
    mark = "  <- false cue" if clip.false_cue else ""
    if clip.expected_cue is not None and not clip.caught:
        mark = f"  <- no {clip.expected_cue}"
    return (
        f"{t.file:18s} {t.label:7s} {t.view:6s} {t.fault:15s} {clip.reps:4d}  "
        f"{reps or 'no rep'}{mark}"
    )


def run_eval_form(args: argparse.Namespace) -> int:
    pipeline = pipeline_from_args(args)
    rules = ExerciseRules()
    cache = pose_cache(args)
    print(f"{'clip':18s} {'label':7s} {'view':6s} {'fault':15s} {'reps':>4s}  cues of each rep")
    _, summary = evaluate_form(
        args.labels,
        lambda path, exercise: count_video(path, pipeline, rules, exercise, cache=cache),
        progress=lambda clip: print(format_form_clip(clip), flush=True),
        only=selected(args),
    )
    for line in summary.lines():
        print(line)
    return 0


def compare_runs(results: dict) -> list[str]:
    """One line per run: its totals, and the clips whose count or recognised exercise differs
    from the unaugmented run ('none') where that was run, else the clips it gets wrong."""
    base = results.get("none")
    lines = [
        f"{'run':16s} {'exact':>6s} {'MAE':>6s} {'off<=1':>6s} {'recog':>6s}  "
        + ("changed vs none (count/recognised)" if base else "wrong clips")
    ]
    for run, (scores, summary) in results.items():
        if base is not None:
            before = {s.truth.file: s for s in base[0]}
            notes = [
                _change(before[s.truth.file], s)
                for s in scores
                if (s.counted, s.recognised)
                != (before[s.truth.file].counted, before[s.truth.file].recognised)
            ]
        else:
            notes = [_change(None, s) for s in scores if s.error or not s.recognised_ok]
        lines.append(
            f"{run or 'none':16s} {summary.exact_rate:6.1%} {summary.mae:6.3f} "
            f"{summary.off_by_one_rate:6.1%} {summary.recognition_rate:6.1%}  "
            + (", ".join(notes) or "-")
        )
    return lines


def _change(before: ClipScore | None, after: ClipScore) -> str:
    name = after.truth.file.rsplit(".", 1)[0]
    was = "" if before is None else f"{before.counted}->"
    recognised = "" if after.recognised_ok else f" as {after.recognised or 'none'}"
    return f"{name} {was}{after.counted}{recognised} (err {after.error})"


def run_eval_matrix(args: argparse.Namespace) -> int:
    columns = find_columns(args.cache_dir or default_dir())
    if not columns:
        print(
            "the pose cache holds no poses of these clips for the current pose code: run "
            "`repcounter eval --precision int8,float16` and `repcounter eval-form` (and "
            "`make eval-arm64` for a Pi's arithmetic) first."
        )
        return 1
    rules = ExerciseRules()
    only = matrix.common_clips(columns) if args.common else None
    results = [matrix.run_column(c, args.truth, args.labels, rules, only) for c in columns]
    for line in matrix.format_matrix(results):
        print(line)
    print()
    print("keypoint movement between arithmetics:")
    for line in matrix.keypoint_movement(columns):
        print(line)
    return 0
