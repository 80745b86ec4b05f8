import itertools

import numpy as np
import pytest

from device.pose.smoothing import OneEuroConfig, OneEuroFilter

DT = 1 / 30


def run(filter_: OneEuroFilter, values: list[float], start: float = 0.0) -> list[float]:
    return [float(filter_(np.array([v]), start + i * DT)[0]) for i, v in enumerate(values)]


def test_first_value_passes_through():
    assert run(OneEuroFilter(), [0.4]) == [0.4]


def test_step_response_converges_without_overshoot():
    out = run(OneEuroFilter(), [0.2] * 5 + [0.3] * 30)
    after = out[5:]
    assert after[0] > 0.2  # it moves on the first frame of the step
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(after))  # monotone
    assert max(after) <= 0.3 + 1e-9  # no overshoot
    assert abs(after[-1] - 0.3) < 1e-3  # settles within a second


def test_still_jitter_is_reduced():
    # Keypoint jitter of 2 px on a 1000 px frame while the person holds still.
    rng = np.random.default_rng(0)
    noisy = 0.5 + rng.normal(0, 0.002, 300)
    out = np.array(run(OneEuroFilter(), list(noisy)))
    assert out[30:].std() < 0.9 * noisy[30:].std()
    assert abs(out[30:].mean() - 0.5) < 0.001  # no bias


def test_robust_variant_suppresses_a_single_outlier():
    # With a fixed cut-off and threshold, a one-frame jump of 0.4 moves the robust output by
    # threshold * asinh(0.4 / threshold) * alpha: a fraction of what the plain filter lets through.
    # (At the TF.js defaults the threshold grows with speed, 0.5 + 5 |speed|, so a jump is
    # followed almost at once: the defaults trade outlier rejection for no lag.)
    fixed = {"beta": 0.0, "threshold_beta": 0.0}
    values = [0.5] * 20 + [0.9] + [0.5] * 5
    robust = run(OneEuroFilter(OneEuroConfig(threshold_cutoff=0.02, **fixed)), values)
    plain = run(OneEuroFilter(OneEuroConfig(threshold_cutoff=None, **fixed)), values)
    jump_robust, jump_plain = robust[20] - 0.5, plain[20] - 0.5
    assert 0 < jump_robust < 0.25 * jump_plain
    assert abs(robust[-1] - 0.5) < abs(plain[-1] - 0.5) + 1e-9  # and it is gone sooner


def test_small_motion_passes_robust_variant_almost_unchanged():
    values = [0.5 + 0.001 * i for i in range(30)]
    robust = run(OneEuroFilter(), values)
    plain = run(OneEuroFilter(OneEuroConfig(threshold_cutoff=None)), values)
    assert np.allclose(robust, plain, atol=1e-5)


def test_non_increasing_timestamp_returns_previous_output_and_keeps_state():
    f = OneEuroFilter()
    first = f(np.array([0.1]), 1.0)
    second = f(np.array([0.2]), 1.0 + DT)
    assert f(np.array([0.9]), 1.0 + DT).tolist() == second.tolist()  # same time: ignored
    assert f(np.array([0.9]), 1.0).tolist() == second.tolist()  # going back: ignored
    third = f(np.array([0.2]), 1.0 + 2 * DT)
    assert first[0] < third[0] <= 0.2  # the ignored 0.9 never entered the state


def test_real_timestamps_drive_the_cutoff():
    # The same step seen at 10 fps is followed further per frame than at 60 fps.
    slow = run_with_dt([0.0] * 3 + [1.0], 0.1)
    fast = run_with_dt([0.0] * 3 + [1.0], 1 / 60)
    assert slow[-1] > fast[-1]


def run_with_dt(values: list[float], dt: float) -> list[float]:
    f = OneEuroFilter(OneEuroConfig(threshold_cutoff=None, beta=0.0))
    return [float(f(np.array([v]), i * dt)[0]) for i, v in enumerate(values)]


def test_reset_forgets_history():
    f = OneEuroFilter()
    run(f, [0.1] * 10)
    f.reset()
    assert f(np.array([0.8]), 5.0)[0] == pytest.approx(0.8)


@pytest.mark.parametrize("fps", (30.0, 10.0, 6.0, 5.0))
@pytest.mark.parametrize("amplitude", (0.1, 0.02))
def test_a_fast_rep_passes_with_its_range_at_low_frame_rates(fps, amplitude):
    # A joint going down and up once a second (a fast rep), by 0.2 or 0.04 of the image. The
    # filter works in seconds (cut-offs in Hz, speed per second), so 150-200 ms between frames
    # neither flattens the rep nor lets it lag: the speed term opens the cut-off at every rate.
    t = np.arange(0.0, 6.0, 1.0 / fps)
    truth = 0.5 + amplitude * np.cos(2 * np.pi * t)
    f = OneEuroFilter()
    out = np.array([f(np.array([v]), s)[0] for v, s in zip(truth, t, strict=True)])
    settled = t >= 1.0
    assert np.ptp(out[settled]) / np.ptp(truth[settled]) > 0.97
    assert np.abs(out - truth)[settled].max() < 0.1 * amplitude
