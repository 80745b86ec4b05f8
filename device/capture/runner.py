"""The capture thread: opens a source, hands its frames on, and reopens it with backoff on failure.

States: starting, ok (frames arrive), reconnecting (the source failed; retrying), missing (the
device is not there; retrying), ended (a video file finished), stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from device.capture.frame import Captured
from device.capture.handoff import LatestSlot
from device.capture.source import FrameSource, SourceEnded, SourceMissing

log = logging.getLogger(__name__)


class Backoff:
    """Delays that double from `first` up to `limit`, back to `first` after a success."""

    def __init__(self, first: float = 0.5, limit: float = 10.0) -> None:
        self.first, self.limit = first, limit
        self._next = first

    def next(self) -> float:
        delay, self._next = self._next, min(self._next * 2, self.limit)
        return delay

    def reset(self) -> None:
        self._next = self.first


class CaptureLoop:
    def __init__(
        self,
        open_source: Callable[[], FrameSource],
        slot: LatestSlot[Captured],
        backoff: Backoff | None = None,
    ) -> None:
        self._open = open_source
        self._slot = slot
        self._backoff = backoff or Backoff()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state = "starting"
        self.error: str | None = None
        self.description = ""
        self.frames = 0
        self.reconnects = 0
        self.heartbeat = time.monotonic()  # last sign of life, for the watchdog

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.state = "stopped" if self.state != "ended" else self.state

    @property
    def finished(self) -> bool:
        """True when the loop ended for good (file ended or stopped)."""
        return self._thread is not None and not self._thread.is_alive()

    def _wait(self, seconds: float) -> None:
        """Sleep in short steps, keeping the heartbeat fresh and reacting to stop()."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and (left := deadline - time.monotonic()) > 0:
            self._stop.wait(min(left, 0.5))
            self.heartbeat = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.heartbeat = time.monotonic()
            try:
                source = self._open()
            except SourceMissing as exc:
                self._failed("missing", exc)
                continue
            except Exception as exc:
                self._failed("reconnecting", exc)
                continue
            self.description = source.description
            try:
                failure = self._pump(source)
            finally:
                source.close()
            if failure is None:
                return
            self.reconnects += 1
            self._failed("reconnecting", failure)

    def _pump(self, source: FrameSource) -> Exception | None:
        """Read until stop or the end of a file (None) or a failure (the exception)."""
        try:
            while not self._stop.is_set():
                item = source.read()
                self.heartbeat = time.monotonic()
                if self.state != "ok":
                    log.info("camera: %s ok", source.description)
                self.state, self.error = "ok", None
                self._backoff.reset()
                self.frames += 1
                if source.live:
                    self._slot.put(item)
                else:
                    while not self._slot.put_when_empty(item, 0.5):
                        self.heartbeat = time.monotonic()
                        if self._stop.is_set():
                            return None
            return None
        except SourceEnded as exc:
            self.state, self.error = "ended", str(exc)
            log.info("camera: %s", exc)
            return None
        except Exception as exc:
            return exc

    def _failed(self, state: str, exc: Exception) -> None:
        delay = self._backoff.next()
        message = str(exc) or type(exc).__name__
        if (state, message) != (self.state, self.error):
            log.warning("camera %s: %s (retrying in %.1f s)", state, message, delay)
        self.state, self.error = state, message
        self._wait(delay)
