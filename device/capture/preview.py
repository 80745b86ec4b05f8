"""The phone preview: the newest low-resolution image, JPEG-encoded once per frame on demand.

The pipeline only stores a reference to each frame (no work on its thread); the first preview
client to ask for a new frame encodes it and every other client gets the same bytes.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from device.capture.frame import Captured


class PreviewBuffer:
    def __init__(self, width: int = 320, height: int = 240, quality: int = 70) -> None:
        self.width, self.height, self.quality = width, height, quality
        self._item: Captured | None = None
        self._jpeg: tuple[int, bytes] | None = None
        self._changed = threading.Condition()

    def update(self, item: Captured) -> None:
        with self._changed:
            self._item = item
            self._changed.notify_all()

    def wait_jpeg(self, after: int, timeout: float) -> tuple[int, bytes] | None:
        """(frame index, JPEG) of a frame newer than `after`, or None after timeout seconds."""
        with self._changed:
            if not self._changed.wait_for(
                lambda: self._item is not None and self._item.frame.index != after, timeout
            ):
                return None
            item = self._item
            cached = self._jpeg
        assert item is not None
        if cached is not None and cached[0] == item.frame.index:
            return cached
        ok, data = cv2.imencode(".jpg", self._bgr(item), [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            return None
        result = (item.frame.index, data.tobytes())
        with self._changed:
            self._jpeg = result
        return result

    def _bgr(self, item: Captured) -> np.ndarray:
        if item.preview is not None and item.preview_format == "yuv420":
            return cv2.cvtColor(item.preview, cv2.COLOR_YUV2BGR_I420)
        image = item.preview if item.preview is not None else item.frame.image
        height, width = image.shape[:2]
        scale = min(self.width / width, self.height / height, 1.0)
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
