"""The Frame value passed from a source to the pipeline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One camera or video frame.

    image: RGB uint8 array (height, width, 3).
    t: capture time in seconds: the monotonic clock for cameras, the timestamp for video files.
    index: running frame number from the source (gaps mean dropped frames).
    """

    image: np.ndarray
    t: float
    index: int
