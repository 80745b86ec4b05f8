"""Polling for a condition in tests of threaded code, with a deadline instead of a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """True as soon as condition() holds; False if it still does not after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def rep_events_of_the_clip(
    pipeline, bus, timeout: float, on_tick: Callable[[], None] = lambda: None
) -> list[dict]:
    """Run a LivePipeline on its video until the video has ended (or timeout seconds) and every
    captured frame is processed, then finish it: the rep events it published. on_tick runs
    every 50 ms while the video plays."""
    with bus.subscribe({"rep"}) as reps:
        pipeline.start()
        try:
            deadline = time.monotonic() + timeout
            while pipeline.capture.state != "ended" and time.monotonic() < deadline:
                on_tick()
                time.sleep(0.05)
            while pipeline.timing.frames + pipeline.errors < pipeline.capture.frames:
                time.sleep(0.05)  # the last frame is being processed
        finally:
            pipeline.stop()
        pipeline.finish()
        events = []
        while (event := reps.get(0.1)) is not None:
            events.append(event.data)
    return events
