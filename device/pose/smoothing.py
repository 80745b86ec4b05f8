"""One Euro keypoint smoothing, as the TF.js MoveNet detector does it.

The filter (Casiez et al. 2012) is a low-pass filter whose cut-off rises with speed: still joints
are smoothed hard, moving joints follow with little lag. TF.js MoveNet adds a "threshold"
(robust) variant: the step towards a new value goes through asinh, so a single wild keypoint (an
outlier) moves the output only logarithmically while ordinary motion passes almost linearly.

Defaults are TF.js MoveNet's KEYPOINT_FILTER_CONFIG, which works on coordinates normalised to the
image size. All keypoints are filtered at once as numpy arrays, so the cost per frame is a few
vector operations, not 34 Python objects.

Deviation from TF.js: a frame whose timestamp is not later than the previous one (a duplicated
or reordered frame) returns the previous output and leaves the state untouched; TF.js returns
the raw value, which makes the skeleton jump for one frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuroConfig:
    frequency: float = 30.0  # Hz, used until two timestamps give the real rate
    min_cutoff: float = 2.5  # Hz; lower is smoother at rest
    beta: float = 300.0  # how fast the cut-off rises with speed; higher is less lag
    derivative_cutoff: float = 2.5  # Hz, for the speed estimate itself
    threshold_cutoff: float | None = 0.5  # robust variant; None gives the plain One Euro filter
    threshold_beta: float = 5.0


class OneEuroFilter:
    """One Euro filter over an array of values sharing one timestamp per update."""

    def __init__(self, config: OneEuroConfig | None = None) -> None:
        self.config = config or OneEuroConfig()
        self.reset()

    def reset(self) -> None:
        """Forget the history: the next value passes through unfiltered."""
        self._frequency = self.config.frequency
        self._last_t: float | None = None
        self._raw: np.ndarray | None = None
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None

    def _alpha(self, cutoff: float | np.ndarray) -> float | np.ndarray:
        return 1.0 / (1.0 + self._frequency / (2.0 * math.pi * cutoff))

    def __call__(self, values: np.ndarray, t: float) -> np.ndarray:
        """The filtered values for raw values observed at time t (seconds)."""
        values = np.asarray(values, dtype=np.float64)
        if self._value is None or self._raw is None or self._speed is None or self._last_t is None:
            self._last_t, self._raw, self._value = t, values, values
            self._speed = np.zeros_like(values)
            return values.copy()
        if t <= self._last_t:
            return self._value.copy()
        self._frequency = 1.0 / (t - self._last_t)
        self._last_t = t
        cfg = self.config
        speed = (values - self._raw) * self._frequency
        self._speed += self._alpha(cfg.derivative_cutoff) * (speed - self._speed)
        abs_speed = np.abs(self._speed)
        alpha = self._alpha(cfg.min_cutoff + cfg.beta * abs_speed)
        step = values - self._value
        if cfg.threshold_cutoff is not None:
            threshold = cfg.threshold_cutoff + cfg.threshold_beta * abs_speed
            step = threshold * np.arcsinh(step / threshold)
        self._value = self._value + alpha * step
        self._raw = values
        return self._value.copy()
