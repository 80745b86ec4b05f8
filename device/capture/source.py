"""What every frame source shares: the FrameSource protocol, its options and its end states.

Kept apart from sources.py so that picamera.py (imported lazily by sources.py) needs only this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from device.capture.frame import Captured
from device.errors import SourceError


class SourceMissing(SourceError):
    """The camera or file is not there (yet); it is looked for again later."""


class SourceEnded(SourceError):
    """A video file reached its end (and does not loop)."""


class FrameSource(Protocol):
    description: str
    # True when the source sets its own pace (a camera, a file played in real time): the
    # pipeline then takes the newest frame; False when frames wait for the pipeline.
    live: bool

    def read(self) -> Captured: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class CaptureOptions:
    width: int = 640
    height: int = 480
    fps: int = 30
    preview_width: int = 320
    preview_height: int = 240
    file_pace: str = "realtime"
    file_loop: bool = False
