"""`repcounter eval-form`: scoring on made-up results, label errors, and a CI-sized subset of the
labelled form clips in ../shared/data/form run through the real pose pipeline."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from device.cli import main
from device.errors import SourceError
from device.exercise.commands import format_form_clip
from device.exercise.counting import CountResult, count_poses, count_video, video_poses
from device.exercise.form_eval import evaluate_form, load_labels
from device.exercise.rules import ExerciseRules
from device.exercise.types import Cue, Rep
from device.pose.cache import PoseCache
from device.pose.keypoints import KEYPOINT_INDEX, Pose
from device.pose.pipeline import PosePipeline

HEADER = "file\tlabel\tview\tfault\n"


def rep(*codes: str, complete: bool = True) -> Rep:
    cues = tuple(Cue(c, c, 1.0, "pushup") for c in codes)
    return Rep("pushup", complete, 0.0, 1.0, 2.0, 1.0, 1.0, 1.0, cues)


def test_scores_false_cues_per_view_and_caught_faults(tmp_path: Path):
    table = tmp_path / "labels.tsv"
    table.write_text(
        HEADER
        + "a.mp4\tcorrect\tside\tnone\n"
        + "b.mp4\tcorrect\tside\tnone\n"
        + "c.mp4\tcorrect\tangled\tnone\n"
        + "d.mp4\twrong\tside\tsag\n"
        + "e.mp4\twrong\tside\tsag\n"
        + "f.mp4\twrong\tside\tvariation\n"
    )
    results = {
        "a.mp4": CountResult("pushup", [rep(), rep("lock_out")]),
        "b.mp4": CountResult("pushup", [rep()]),
        "c.mp4": CountResult("pushup", []),  # no rep: not in the false-cue share
        "d.mp4": CountResult("pushup", [rep("hips_sagging"), rep()]),
        "e.mp4": CountResult("pushup", [rep("go_lower", complete=False)]),
        "f.mp4": CountResult("pushup", [rep("go_lower")]),
    }
    for name in results:
        (tmp_path / name).write_bytes(b"")
    clips, summary = evaluate_form(table, lambda path, exercise: results[path.name])
    assert [(s.group, s.hits, s.clips) for s in summary.false_cues] == [("pushup side", 1, 2)]
    assert [(s.group, s.hits, s.clips) for s in summary.faults] == [("pushup sag", 1, 2)]
    assert [(s.group, s.hits, s.clips) for s in summary.other] == [("pushup variation", 1, 1)]
    assert summary.no_reps == ["c.mp4", "e.mp4"]
    # what the phone shows: a cue on 2 of the last 3 reps (or a severe one), so a.mp4's one
    # lock_out and d.mp4's one sag are not shown
    assert [(s.group, s.hits) for s in summary.shown_false] == [("pushup side: false cue", 0)]
    assert [(s.group, s.hits) for s in summary.shown_faults] == [("pushup sag: caught", 0)]
    assert clips[3].shown_codes == set()
    assert "no hips_sagging" in format_form_clip(clips[4])
    assert "false cue" in format_form_clip(clips[0])


def test_a_fault_on_two_reps_is_shown_on_the_phone(tmp_path: Path):
    table = tmp_path / "labels.tsv"
    table.write_text(HEADER + "d.mp4\twrong\tside\tsag\n")
    (tmp_path / "d.mp4").write_bytes(b"")
    result = CountResult("pushup", [rep("hips_sagging"), rep(), rep("hips_sagging")])
    clips, summary = evaluate_form(table, lambda path, exercise: result)
    assert clips[0].shown_codes == {"hips_sagging"}
    assert [(s.group, s.hits, s.clips) for s in summary.shown_faults] == [
        ("pushup sag: caught", 1, 1)
    ]


def test_label_errors_say_what_to_do(tmp_path: Path):
    with pytest.raises(SourceError, match="not found"):
        load_labels(tmp_path / "missing.tsv")
    bad = tmp_path / "bad.tsv"
    bad.write_text("file\tlabel\nx.mp4\tcorrect\n")
    with pytest.raises(SourceError, match="lacks the column"):
        load_labels(bad)
    bad.write_text("file\tlabel\tview\tfault\texercise\nx.mp4\twrong\tside\tdepth\tlunge\n")
    with pytest.raises(SourceError, match="exercise must be one of"):
        load_labels(bad)
    assert main(["eval-form", str(tmp_path / "nope.tsv")]) == 2


def test_squat_labels_use_the_squat_faults(tmp_path: Path):
    table = tmp_path / "labels.tsv"
    table.write_text("file\tlabel\tview\tfault\texercise\ns.mp4\twrong\tfront\tknees-in\tsquat\n")
    (tmp_path / "s.mp4").write_bytes(b"")
    squat = Rep("squat", True, 0.0, 1.0, 2.0, 1.0, 1.0, 1.0, (Cue("knees_out", "", 1.0),))
    seen = []

    def count(path: Path, exercise: str) -> CountResult:
        seen.append(exercise)
        return CountResult("squat", [squat])

    _, summary = evaluate_form(table, count)
    assert seen == ["squat"]
    assert [(s.group, s.hits, s.clips) for s in summary.faults] == [("squat knees-in", 1, 1)]


# What must hold for the form eval on every CPU arithmetic. Measured (docs/exercise.md, "Judged
# over the whole rep"; the whole labels.tsv, 129 clips), as recorded on x86 int8 and float16 and
# a Pi 4's int8: correct side views with any cue 0-1 of 31, angled 0-1 of 8-27, head-on 0 of
# 2-9, sags caught 14-15 of 17, clips without a rep 2-5; under the jitter augment (keypoints moved
# as between CPUs, five seeds each) side 0-3 and sags 12-15. Each bound is the worst recorded
# plus two clips and no tighter than the jitter runs' worst, so a borderline clip on another CPU
# cannot fail CI while a broken rule (a cue on every rep, no sag caught) still does. The issue's
# targets are README's eval-form figures, not these.
MAX_FALSE_CUES = {"pushup side": 3, "pushup angled": 4, "pushup front": 2}
MIN_SAG_CAUGHT = 12
MAX_NO_REP = 7
CONTRADICTS = {"sag": "hips_piking", "pike": "hips_sagging", "variation": "hips_sagging"}


def test_form_eval_holds_on_every_arithmetic(shared_data):
    """Every labelled form clip through the real pipeline (the default build; poses cached for
    the run), scored as `repcounter eval-form` scores it."""
    pipeline, rules, cache = PosePipeline.create(threads=2), ExerciseRules(), PoseCache()
    clips, summary = evaluate_form(
        shared_data / "form" / "labels.tsv",
        lambda path, exercise: count_video(path, pipeline, rules, exercise, cache=cache),
    )
    report = "\n".join(summary.lines())
    false_cues = {s.group: s.hits for s in summary.false_cues}
    for group, most in MAX_FALSE_CUES.items():
        assert false_cues.get(group, 0) <= most, report
    sag = next(s for s in summary.faults if s.group == "pushup sag")
    assert sag.hits >= MIN_SAG_CAUGHT, report
    assert len(summary.no_reps) <= MAX_NO_REP, report
    # A cue that names the opposite fault: a sag called a pike or the reverse, a push-up
    # variant called a sag (measured: 2 variants, wrong78 and wrong80, with both builds).
    contradicted = [
        format_form_clip(c) for c in clips if CONTRADICTS.get(c.truth.fault) in c.cue_codes
    ]
    assert len(contradicted) <= 4, contradicted
    # The speed push-ups (0.3-0.5 s each, seven in wrong58; measured 7 int8, 5 float16).
    speed = next(c for c in clips if c.truth.file == "wrong58.mp4")
    assert speed.reps >= 4, format_form_clip(speed)


def test_a_truth_table_gives_its_squat_rows_as_correct_clips(tmp_path: Path):
    table = tmp_path / "truth.tsv"
    table.write_text(
        "file\texercise\tview\treps\treps_max\n"
        "s.mp4\tsquat\tside\t2\t2\np.mp4\tpushup\tside\t3\t3\n"
    )
    (tmp_path / "s.mp4").write_bytes(b"")
    good = Rep("squat", True, 0.0, 1.0, 2.0, 0.9, 1.0, 1.0)
    shallow = Rep("squat", True, 3.0, 4.0, 5.0, 0.5, 1.0, 1.0, (Cue("go_deeper", "", 4.0),))
    seen = []

    def count(path: Path, exercise: str) -> CountResult:
        seen.append((path.name, exercise))
        return CountResult("squat", [good, shallow, good, good])

    _, summary = evaluate_form(table, count)
    assert seen == [("s.mp4", "squat")]  # push-up rows carry no form verdict
    shares = {s.group: (s.hits, s.clips) for s in summary.rep_cues}
    assert shares == {"squat any cue": (1, 4), "squat go_deeper": (1, 4)}
    assert [(s.group, s.hits, s.clips) for s in summary.false_cues] == [("squat side", 1, 1)]
    assert "reps of correct clips with a cue" in "\n".join(summary.lines())


UPPER_BODY = [i for name, i in KEYPOINT_INDEX.items() if not name.endswith(("knee", "ankle"))]
HIPS = [KEYPOINT_INDEX["left_hip"], KEYPOINT_INDEX["right_hip"]]


def shallow(poses: list[Pose]) -> list[Pose]:
    """The same squats stopped at 40% of their hip drop: everything above the knees is raised by
    60% of the hips' drop below their standing height (the 5th percentile of the clip)."""
    hips = np.array([p.keypoints[HIPS, 1].mean() for p in poses])
    top = float(np.percentile(hips, 5))
    out = []
    for pose, hip in zip(poses, hips, strict=True):
        keypoints = pose.keypoints.copy()
        keypoints[UPPER_BODY, 1] -= 0.6 * max(0.0, hip - top)
        out.append(dataclasses.replace(pose, keypoints=keypoints))
    return out


@pytest.mark.parametrize("precision", ["int8", "float16"])
def test_real_squats_stopped_short_are_cued(shared_data, precision):
    """darebee_squat's acceptable reps read 0.81-0.95 of the hip-at-knee drop with both
    models and get no depth cue; the same poses stopped at 40% of their hip drop read 0.32-0.40
    and each rep is cued (the line is 0.55: both sides keep a margin of 0.15 or more)."""
    pipeline = PosePipeline.create(threads=2, precision=precision)
    clip = shared_data / "clips" / "darebee_squat.mp4"
    poses = list(video_poses(clip, pipeline, cache=PoseCache()))
    full = count_poses(poses, ExerciseRules(), "squat").reps
    assert len(full) >= 6 and not any(c.code == "go_deeper" for r in full for c in r.cues)
    short = count_poses(shallow(poses), ExerciseRules(), "squat").reps
    assert len(short) >= 6, short
    assert all("go_deeper" in {c.code for c in r.cues} for r in short), short
