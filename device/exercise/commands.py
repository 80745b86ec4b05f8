"""`repcounter count VIDEO` (reps, tempo, cues of one video) and `repcounter eval` (all clips)."""

from __future__ import annotations

import argparse
from pathlib import Path

from device import jsonout
from device.exercise import augment
from device.exercise.counting import CountResult, count_video
from device.exercise.evaluation import ClipScore, EvalSummary, evaluate
from device.exercise.rules import ExerciseRules
from device.exercise.tracker import MODES
from device.exercise.types import Rep
from device.pose.pipeline import PosePipeline
from device.pose.runtime import ACCELERATORS

DEFAULT_TRUTH = Path("../shared/data/clips/truth.tsv")


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
    _pipeline_options(count)
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
    _pipeline_options(ev)
    ev.set_defaults(run=run_eval)


def _pipeline_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="lightning", help="lightning (default) or thunder")
    parser.add_argument("--accelerator", default="auto", choices=ACCELERATORS)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: up to 4)")


def _pipeline(args: argparse.Namespace) -> PosePipeline:
    return PosePipeline.create(args.model, args.accelerator, args.threads)


def format_rep(number: int, rep: Rep) -> str:
    kind = "rep" if rep.complete else "partial"
    cues = ", ".join(c.message for c in rep.cues) or "good form"
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
    result = count_video(args.video, _pipeline(args), ExerciseRules(), args.exercise)
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
    pipeline = _pipeline(args)
    rules = ExerciseRules()
    results: dict[str | None, tuple[list[ClipScore], EvalSummary]] = {}
    for run in runs:
        transform = None if run is None else augment.parse(run)
        if run is not None:
            print(f"== augment: {run}")
        print(
            f"{'clip':30s} {'truth':6s} {'reps':>5s} {'counted':>7s} {'partial':>7s} "
            f"{'recognised':10s} {'error':>5s} {'sec':>6s}"
        )
        results[run] = evaluate(
            args.truth,
            lambda path, transform=transform: count_video(path, pipeline, rules, "auto", transform),
            progress=lambda score: print(format_score(score), flush=True),
        )
        print(results[run][1].line(), flush=True)
    if len(runs) > 1:
        print()
        for line in compare_runs(results):
            print(line)
    return 0


def compare_runs(results: dict) -> list[str]:
    """One line per run: its totals, and the clips whose count or recognised exercise differs
    from the unaugmented run ('none') where that was run, else the clips it gets wrong."""
    base = results.get("none")
    lines = [
        f"{'augment':16s} {'exact':>6s} {'MAE':>6s} {'off<=1':>6s} {'recog':>6s}  "
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
