"""`repcounter eval` on the real clips in ../shared/data/clips, against the issue's targets.

Runs the real pose pipeline on every frame of every clip (about a minute on two cores)."""

from __future__ import annotations

import json

import pytest

from device.cli import main
from device.exercise.commands import format_score
from device.exercise.counting import count_video
from device.exercise.evaluation import evaluate
from device.exercise.rules import ExerciseRules
from device.pose.pipeline import PosePipeline


@pytest.fixture(scope="module")
def clips(shared_data):
    return shared_data / "clips"


def test_eval_meets_the_targets(clips, capsys):
    pipeline = PosePipeline.create(threads=2)
    rules = ExerciseRules()
    scores, summary = evaluate(clips / "truth.tsv",
                               lambda path: count_video(path, pipeline, rules))
    with capsys.disabled():
        print()
        for score in scores:
            print(format_score(score))
        print(summary.line())
    assert summary.exact_rate >= 0.90
    assert all(score.error <= 1 for score in scores)
    assert summary.mae <= 0.05
    assert summary.recognition_rate >= 0.95


def test_count_command_json(clips, capsys):
    assert main(["count", str(clips / "front_squat_single.mp4"), "--json", "--threads", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["exercise"] == "squat" and result["reps"] == 1
    rep = result["rep_list"][0]
    assert rep["t_start"] < rep["t_bottom"] < rep["t_end"] and rep["complete"]


def test_count_command_text(clips, capsys):
    assert main(["count", str(clips / "front_squat_single.mp4"), "--exercise", "squat"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "exercise: squat"
    assert out[-1].startswith("squat: 1 reps, 0 partial")
