"""`repcounter bench` runs and reports every model present (figures are printed, not asserted)."""

import re

from device.cli import main


def test_bench_reports_model_and_pipeline_times(shared_data, capsys):
    video = shared_data / "clips" / "calimiro_push-up_40.mp4"
    assert main(["bench", "--video", str(video), "--frames", "12", "--passes", "1"]) == 0
    out = capsys.readouterr().out
    assert "at 640x360" in out  # scaled to the camera's default width
    rows = [line for line in out.splitlines() if line.startswith(("lightning", "thunder"))]
    assert {row.split()[0] for row in rows} == {"lightning", "thunder"}
    figures = re.compile(r"([\d.]+) p90 +([\d.]+) +([\d.]+) p90 +([\d.]+) +([\d.]+)$")
    skipped = [row for row in rows if " skipped: " in row]
    # No Coral here: the Edge TPU build is listed with the reason it did not run.
    assert all(row.split()[1] == "edgetpu" and "Edge TPU" in row for row in skipped)
    for row in (row for row in rows if row not in skipped):
        model_ms, _, pipeline_ms, _, ratio = (float(v) for v in figures.search(row).groups())
        assert model_ms > 0 and pipeline_ms > 0
        assert abs(ratio - pipeline_ms / model_ms) < 0.01
    fps_lines = [line for line in out.splitlines() if "whole pipeline:" in line]
    ran = [row for row in rows if row not in skipped]  # a skipped Edge TPU row has no rate
    for row, line in zip(ran, fps_lines, strict=True):
        pipeline_ms = float(figures.search(row).group(3))
        fps, pose_ms, counting_ms = (
            float(v)
            for v in re.search(r"([\d.]+) fps \(([\d.]+) ms pose \+ ([\d.]+) ms", line).groups()
        )
        assert pose_ms == pipeline_ms and counting_ms > 0
        assert abs(fps - 1000 / (pose_ms + counting_ms)) < 0.05 * fps


def test_bench_history_times_every_query_on_a_filled_history(capsys):
    assert main(["bench-history", "--years", "0.1", "--people", "3", "--runs", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # 36 days, 3 people, a squat and a push-up set each a day, 13 reps a set.
    assert lines[0].startswith("0.1 years, 3 people: 216 sets, 2808 reps")
    timed = [re.search(r"  ([\d.]+) ms$", line) for line in lines[1:]]
    assert len(timed) == 8 and all(match and float(match[1]) > 0 for match in timed)
