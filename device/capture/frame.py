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


@dataclass(frozen=True)
class Captured:
    """A frame as a source delivers it to the live pipeline.

    t_captured: time.monotonic() when the source returned it (for capture-to-event latency).
    preview: a low-resolution image for the phone preview when the source makes one (the Pi
    camera's lores stream), else None and the preview is scaled down from the frame.
    preview_format: "rgb" (height, width, 3) or "yuv420" (I420 planes, height * 3 / 2 rows).
    """

    frame: Frame
    t_captured: float
    preview: np.ndarray | None = None
    preview_format: str = "rgb"
