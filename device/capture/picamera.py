"""The Pi camera through picamera2: a main stream for the model, a lores one for the phone.

picamera2 and libcamera come from Raspberry Pi OS (apt install python3-picamera2); the venv must
be created with --system-site-packages to see them. Every capture passes `wait` so a camera that
stops answering raises instead of hanging the capture thread. The lores stream is YUV420
because the Pi 4 and earlier cannot produce RGB there. "BGR888" in libcamera's naming is
[R, G, B] byte order in memory, which is what Frame wants.
"""

from __future__ import annotations

import time
from typing import Any

from device.capture.frame import Captured, Frame
from device.capture.source import CaptureOptions, SourceMissing
from device.errors import SourceError

CAPTURE_WAIT_S = 2.0


def _picamera2() -> tuple[Any, str]:
    """(the Picamera2 class or None, why it cannot be imported)."""
    try:
        from picamera2 import Picamera2
    except ImportError:
        return None, (
            "picamera2 is not importable: apt install python3-picamera2 and create the venv "
            "with --system-site-packages"
        )
    except ValueError as exc:  # Debian's simplejpeg built for numpy 1.x under numpy 2
        return None, f"picamera2 cannot load ({exc}): pip install -e '.[pi]' in the venv"
    return Picamera2, ""


def camera_count() -> int:
    """Cameras libcamera sees; 0 when picamera2 is not installed."""
    module, _ = _picamera2()
    if module is None:
        return 0
    try:
        return len(module.global_camera_info())
    except Exception:  # a broken libcamera setup is the same as no camera here
        return 0


class PiCameraSource:
    live = True

    def __init__(self, number: int, options: CaptureOptions) -> None:
        module, why = _picamera2()
        if module is None:
            raise SourceMissing(why)
        if number >= camera_count():
            raise SourceMissing(f"Pi camera {number} not found: check the ribbon cable")
        self.description = f"picamera {number}"
        self._preview_size = (options.preview_width, options.preview_height)
        try:
            self._camera = module(number)
            config = self._camera.create_video_configuration(
                main={"size": (options.width, options.height), "format": "BGR888"},
                lores={"size": self._preview_size, "format": "YUV420"},
                controls={"FrameRate": float(options.fps)},
                buffer_count=4,
            )
            self._camera.configure(config)
            self._camera.start()
        except Exception as exc:
            self.close()
            raise SourceError(f"cannot start {self.description}: {exc}") from exc
        self._index = 0

    def read(self) -> Captured:
        try:
            (main, lores), _metadata = self._camera.capture_arrays(
                ["main", "lores"], wait=CAPTURE_WAIT_S
            )
        except TimeoutError as exc:
            raise SourceError(f"{self.description} gave no frame in {CAPTURE_WAIT_S} s") from exc
        now = time.monotonic()
        width, height = self._preview_size
        item = Captured(
            Frame(main[:, :, :3], now, self._index), now, lores[: height * 3 // 2, :width], "yuv420"
        )
        self._index += 1
        return item

    def close(self) -> None:
        camera = getattr(self, "_camera", None)
        if camera is not None:
            try:
                camera.stop()
            finally:
                camera.close()
