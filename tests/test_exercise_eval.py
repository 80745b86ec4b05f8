"""Scoring of `repcounter eval` and the errors its commands give."""

from __future__ import annotations

from pathlib import Path

import pytest

from device.cli import main
from device.errors import SourceError
from device.exercise.counting import CountResult
from device.exercise.evaluation import count_error, evaluate, load_truth
from device.exercise.types import Rep

HEADER = "file\texercise\tview\treps\treps_max\n"


def rep(exercise: str, complete: bool = True) -> Rep:
    return Rep(exercise, complete, 0.0, 1.0, 2.0, 1.0, 1.0, 1.0)


def test_count_error_is_the_distance_to_the_range():
    assert count_error(2, 2, 3) == 0 and count_error(3, 2, 3) == 0
    assert count_error(1, 2, 3) == 1 and count_error(5, 2, 3) == 2


def test_evaluate_scores_and_summarises(tmp_path: Path):
    truth = tmp_path / "truth.tsv"
    truth.write_text(
        HEADER + "a.mp4\tsquat\tside\t4\t4\nb.mp4\tpushup\tfront\t2\t3\nc.mp4\tpushup\tside\t0\t0\n"
    )
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        (tmp_path / name).write_bytes(b"")
    results = {
        "a.mp4": CountResult("squat", [rep("squat")] * 3 + [rep("squat", False)]),
        "b.mp4": CountResult("pushup", [rep("pushup")] * 3),
        "c.mp4": CountResult("squat", []),
    }
    scores, summary = evaluate(truth, lambda path: results[path.name])
    assert [s.counted for s in scores] == [3, 3, 0]
    assert [s.partial for s in scores] == [1, 0, 0]
    assert [s.error for s in scores] == [1, 0, 0]
    assert summary.exact_rate == pytest.approx(2 / 3)
    assert summary.mae == pytest.approx((1 / 4 + 0) / 2)  # clips with reps > 0 only
    assert summary.off_by_one_rate == 1.0
    assert summary.recognition_rate == pytest.approx(2 / 3)


def test_truth_errors_say_what_to_do(tmp_path: Path):
    with pytest.raises(SourceError, match="not found"):
        load_truth(tmp_path / "missing.tsv")
    bad = tmp_path / "bad.tsv"
    bad.write_text("file\treps\nx.mp4\t2\n")
    with pytest.raises(SourceError, match="lacks the column"):
        load_truth(bad)
    bad.write_text(HEADER + "x.mp4\tsquat\tside\ttwo\t2\n")
    with pytest.raises(SourceError, match="whole numbers"):
        load_truth(bad)
    good = tmp_path / "truth.tsv"
    good.write_text(HEADER + "missing.mp4\tsquat\tside\t1\t1\n")
    with pytest.raises(SourceError, match="missing"):
        evaluate(good, lambda path: CountResult(None))


def test_cli_reports_a_missing_truth_table(tmp_path: Path, capsys):
    assert main(["eval", str(tmp_path / "nope.tsv")]) == 2
    assert "truth table" in capsys.readouterr().err


def test_cli_rejects_an_unknown_exercise():
    with pytest.raises(SystemExit):
        main(["count", "video.mp4", "--exercise", "lunge"])
