"""`repcounter eval-form`: scoring on made-up results, label errors, and a CI-sized subset of the
labelled form clips in ../shared/data/form run through the real pose pipeline."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from device.capture.video_file import iter_video
from device.cli import main
from device.errors import SourceError
from device.exercise.commands import format_form_clip
from device.exercise.counting import CountResult, count_poses, count_video
from device.exercise.cues import judged_in
from device.exercise.form_eval import FormClip, evaluate_form, load_labels
from device.exercise.rules import ExerciseRules
from device.exercise.types import Cue, Rep
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


def count_labelled(shared_data: Path, tmp_path: Path, pick) -> list[FormClip]:
    """The clips of labels.tsv that `pick` selects from its rows, through the real pipeline."""
    source = shared_data / "form"
    with (source / "labels.tsv").open(newline="") as f:
        rows = pick(list(csv.DictReader(f, delimiter="\t")))
    table = tmp_path / "labels.tsv"
    table.write_text(
        HEADER + "".join(f"{r['file']}\t{r['label']}\t{r['view']}\t{r['fault']}\n" for r in rows)
    )
    for r in rows:
        (tmp_path / r["file"]).symlink_to(source / r["file"])
    pipeline, rules = PosePipeline.create(threads=2), ExerciseRules()
    clips, _ = evaluate_form(
        table, lambda path, exercise: count_video(path, pipeline, rules, exercise)
    )
    return clips


def test_form_clips_subset(shared_data, tmp_path: Path):
    """Every 10th clip of labels.tsv (a fixed rule, not a pick), through the real pipeline.

    What must hold for each clip follows from its labels: correct clips get no cue at all;
    no cue contradicts the fault (a sag is not called a pike, nor the reverse; a push-up variant
    is not called a sag); side-only cues never come in a front view. The issue's targets (80%
    of sagging clips caught) are measured on the whole set with `repcounter eval-form`; here
    at least half of the subset's faulty clips must get their cue."""
    clips = count_labelled(shared_data, tmp_path, lambda rows: rows[::10])
    contradicts = {"sag": "hips_piking", "pike": "hips_sagging", "variation": "hips_sagging"}
    for clip in clips:
        t, codes = clip.truth, clip.cue_codes
        assert clip.reps >= 1, format_form_clip(clip)
        if t.label == "correct":
            assert not codes, format_form_clip(clip)
        assert contradicts.get(t.fault) not in codes, format_form_clip(clip)
        if t.view == "front":
            assert all(judged_in(code, "front") for code in codes), format_form_clip(clip)
    caught = [c.caught for c in clips if c.expected_cue is not None]
    assert caught and sum(caught) >= len(caught) / 2, [format_form_clip(c) for c in clips]


def test_form_clips_that_issue_11_changed(shared_data, tmp_path: Path):
    """One clip per change of issue 11 (docs/exercise.md, "Form cues, as measured"): a sag held
    for part of the way up (wrong40), a correct three-quarter clip whose depth reads shallow
    (correct68), planted hands while the body scale settles (correct20), and speed push-ups of
    0.3-0.5 s (wrong58, seven of them)."""
    names = {"wrong40.mp4", "correct68.mp4", "correct20.mp4", "wrong58.mp4"}
    clips = {
        c.truth.file: c
        for c in count_labelled(
            shared_data, tmp_path, lambda rows: [r for r in rows if r["file"] in names]
        )
    }
    assert clips["wrong40.mp4"].caught, format_form_clip(clips["wrong40.mp4"])
    assert not clips["correct68.mp4"].cue_codes, format_form_clip(clips["correct68.mp4"])
    assert clips["correct20.mp4"].reps == 1, format_form_clip(clips["correct20.mp4"])
    assert clips["wrong58.mp4"].reps >= 6, format_form_clip(clips["wrong58.mp4"])


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
    poses = [pipeline.process(f) for f in iter_video(shared_data / "clips" / "darebee_squat.mp4")]
    full = count_poses(poses, ExerciseRules(), "squat").reps
    assert len(full) >= 6 and not any(c.code == "go_deeper" for r in full for c in r.cues)
    short = count_poses(shallow(poses), ExerciseRules(), "squat").reps
    assert len(short) >= 6, short
    assert all("go_deeper" in {c.code for c in r.cues} for r in short), short
