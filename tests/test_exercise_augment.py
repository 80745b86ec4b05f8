"""The frame transforms of `repcounter eval --augment` (device/exercise/augment.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from device.capture.frame import Frame
from device.cli import main
from device.errors import ConfigError
from device.exercise import augment


def frames(fps: float = 30.0, seconds: float = 2.0, shape=(360, 640)) -> list[Frame]:
    rng = np.random.default_rng(0)
    return [
        Frame(rng.integers(0, 256, (*shape, 3), dtype=np.uint8), i / fps, i)
        for i in range(round(fps * seconds))
    ]


def test_every_transform_keeps_real_timestamps_and_rgb_frames():
    source = frames()
    for name in augment.TRANSFORMS:
        out = list(augment.parse(name)(source))
        assert out and out[0].t == 0.0, name
        assert all(f.image.dtype == np.uint8 and f.image.ndim == 3 for f in out), name
        assert all(b.t > a.t for a, b in itertools.pairwise(out)), name
        assert {f.t for f in out} <= {f.t for f in source}, name  # frames dropped, never invented


def test_mirror_flips_left_and_right():
    source = frames(seconds=0.1)
    out = list(augment.parse("mirror")(source))
    assert np.array_equal(out[0].image, source[0].image[:, ::-1])


@pytest.mark.parametrize(
    ("fps", "expected"), [(30.0, 15.0), (29.97, 15.0), (23.976, 14.75), (5.0, 5.0)]
)
def test_fps15_drops_frames_to_at_most_15_a_second(fps, expected):
    out = list(augment.parse("fps15")(frames(fps, 4.0, (8, 8))))
    assert len(out) / 4.0 == pytest.approx(expected, abs=0.3)


@pytest.mark.parametrize("rate", (10, 8, 6, 5))
@pytest.mark.parametrize("fps", (30.0, 29.97, 25.0, 23.976))
def test_pi_frame_rates_keep_one_frame_per_tick(rate, fps):
    out = list(augment.parse(f"fps{rate}")(frames(fps, 4.0, (8, 8))))
    assert len(out) / 4.0 == pytest.approx(rate, abs=0.3)
    gaps = np.diff([f.t for f in out])
    assert gaps.max() < 1.0 / rate + 1.0 / fps  # never a tick without a frame


def test_frame_rate_and_drop_transforms():
    source = frames(30.0, 4.0, (8, 8))
    assert [f.index for f in augment.parse("half_fps")(source)] == list(range(0, 120, 2))
    dropped = list(augment.parse("drop30")(source))
    assert 0.6 < len(dropped) / len(source) < 0.8
    assert dropped == list(augment.parse("drop30")(source))  # seeded: the same every run


def test_size_transforms():
    source = frames(seconds=0.1, shape=(1080, 1920))
    assert next(augment.parse("res360")(source)).image.shape == (360, 640, 3)
    assert next(augment.parse("res360")(frames(seconds=0.1))).image.shape == (360, 640, 3)
    assert next(augment.parse("half_res")(source)).image.shape == (540, 960, 3)
    far = next(augment.parse("far")(source)).image
    assert far.shape == (1080, 1920, 3)
    assert (far[:270] == far[0, 0]).all() and (far[-270:] == far[0, 0]).all()  # the border


def test_dim_lowers_brightness_and_contrast():
    source = frames(seconds=0.1)
    out = next(augment.parse("dim")(source)).image.astype(float)
    before = source[0].image.astype(float)
    assert out.mean() < 0.5 * before.mean() and out.std() < 0.5 * before.std()


def test_chains_runs_and_errors():
    source = frames(seconds=0.5)
    out = list(augment.parse("half_fps+half_res")(source))
    assert len(out) == 8 and out[0].image.shape == (180, 320, 3)
    assert augment.parse_runs("all")[0] == "none"
    assert augment.parse_runs("mirror, far+dim,mirror") == ["mirror", "far+dim"]
    with pytest.raises(ConfigError, match="unknown augmentation"):
        augment.parse_runs("mirror,upside_down")


def test_cli_rejects_an_unknown_augmentation(capsys):
    assert main(["eval", "--augment", "sideways"]) == 2
    assert "unknown augmentation" in capsys.readouterr().err
