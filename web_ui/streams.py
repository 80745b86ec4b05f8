"""Long-lived answers: Server-Sent Events and the MJPEG preview.

Each open stream holds one server thread, so their number is capped below the server's thread
count (the rest stay free for the API); past the cap a client gets 503. One login holds at most
PER_LOGIN streams and one address PER_ADDRESS (429 past either), so one phone cannot take them
all; the machine itself (127.0.0.1, ::1: a kiosk screen, a reverse proxy serving every phone)
has no address cap. Cleanup runs from the response's close hook, which the server calls even
when the client left before the first byte. A stream ends when its client is gone: at its next
write (a preview without a new picture, from a missing camera or an ended video, writes its
last one again every PREVIEW_KEEPALIVE_S for that); a client that stops reading is dropped by
the server within seconds (device/daemon/http_server.py).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

from flask import Response, current_app, request, session

from device import jsonout
from device.daemon.events import KINDS
from web_ui.errors import json_error

KEEPALIVE_S = 15.0
# An SSE stream writes at most this often (20 times a second, twice the default preview rate):
# events that arrive meanwhile go out together in one write. A video processed at 200 fps then
# costs each client 20 wake-ups and writes a second instead of 200+. Measured with a stand-in
# 4 ms model at 100-190 fps, 10 clients added about 1.2 ms of server CPU per frame with one write
# per event, 0.3-0.5 ms at 25 ms, 0.1-0.4 ms at 50 ms (README, measured figures). The phone's
# skeleton is then drawn at most 20 times a second.
SSE_WRITE_INTERVAL_S = 0.05
API_THREADS = 4  # server threads kept free of streams
PER_LOGIN = 6  # a live page holds two (events and preview): three tabs, or a reload or two
PER_ADDRESS = 8  # more than one login may share an address (two browsers on one computer)
THIS_MACHINE = ("127.0.0.1", "::1")
BOUNDARY = "frame"
PREVIEW_KEEPALIVE_S = 2.0  # a preview without a new picture writes the last one again this often


class StreamSlots:
    """The open streams, counted in all, per login and per client address."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used = 0
        self._per_key: Counter[str] = Counter()
        self._lock = threading.Lock()

    def acquire(
        self, login: str | None = None, address: str | None = None
    ) -> tuple[int, str] | None:
        """None when a slot was taken (release it with the same login and address), else the
        refusal's HTTP status and why: 503 when all are taken, 429 past one phone's share."""
        keys = _keys(login, address)
        with self._lock:
            if self._used >= self.limit:
                return 503, "too many live clients: close another tab or phone"
            if login is not None and self._per_key[keys[0]] >= PER_LOGIN:
                return 429, f"this phone has {PER_LOGIN} live streams open already: close a tab"
            if address not in (None, *THIS_MACHINE) and self._per_key[keys[1]] >= PER_ADDRESS:
                return 429, f"{PER_ADDRESS} live streams are open from {address}: close a tab"
            self._used += 1
            self._per_key.update(key for key in keys if key)
            return None

    @property
    def in_use(self) -> int:
        return self._used

    def release(self, login: str | None = None, address: str | None = None) -> None:
        with self._lock:
            self._used -= 1
            self._per_key.subtract(key for key in _keys(login, address) if key)
            self._per_key = +self._per_key  # drop the zeros


def _keys(login: str | None, address: str | None) -> tuple[str, str]:
    return ("" if login is None else f"login {login}", "" if address is None else f"ip {address}")


def _take_slot() -> tuple[Callable[[], None] | None, Response | None]:
    """(release, None) for a stream slot of this request's login and address, else (None,
    the refusal)."""
    slots, login, address = _slots(), session.get("login"), request.remote_addr
    refused = slots.acquire(login, address)
    if refused is not None:
        return None, json_error(*refused)
    return lambda: slots.release(login, address), None


def _slots() -> StreamSlots:
    return current_app.extensions["stream_slots"]


def _watch_login(on_end) -> Callable[[], None]:
    """on_end() runs when this request's login is revoked: a stream ends with its login."""
    return current_app.extensions["logins"].watch(session.get("login"), on_end)


def _streaming(body: Iterator[bytes], mimetype: str, cleanup) -> Response:
    response = Response(
        body, mimetype=mimetype, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    done = threading.Event()

    def close_once() -> None:
        if not done.is_set():
            done.set()
            cleanup()

    response.call_on_close(close_once)
    return response


def sse_response(daemon) -> Response:
    raw = request.args.get("kinds")
    kinds = set(raw.split(",")) if raw else None
    if kinds is not None and not kinds <= set(KINDS):
        return json_error(
            400, f"kinds must be a comma-separated list of: {', '.join(KINDS)}", "kinds"
        )
    release, refused = _take_slot()
    if release is None:
        return refused
    subscription = daemon.bus.subscribe(kinds)
    unwatch = _watch_login(subscription.close)

    def body() -> Iterator[bytes]:
        yield b"retry: 2000\n\n"
        if kinds is None or "state" in kinds:
            # The state as /api/state says it now: the last published state event may still
            # hold a set that has ended since.
            state = jsonout.dumps(daemon.state(), separators=(",", ":"))
            yield f"event: state\ndata: {state}\n\n".encode()
        latest = daemon.bus.latest("health")
        if latest is not None and (kinds is None or "health" in kinds):
            yield latest.sse
        while True:
            events = subscription.get_all(KEEPALIVE_S)
            if events:
                yield b"".join(event.sse for event in newest_pose_only(events))
                time.sleep(SSE_WRITE_INTERVAL_S)
            elif subscription.closed:
                return
            else:
                yield b": keep-alive\n\n"

    def cleanup() -> None:
        unwatch()
        subscription.close()
        release()

    return _streaming(body(), "text/event-stream", cleanup)


def newest_pose_only(events: list) -> list:
    """The batch without the pose events that a newer one in it replaces: the phone draws only
    the newest skeleton, and pose events (every frame) are most of what a stream writes."""
    last_pose = max((i for i, event in enumerate(events) if event.kind == "pose"), default=-1)
    return [event for i, event in enumerate(events) if event.kind != "pose" or i == last_pose]


def mjpeg_response(daemon) -> Response:
    release, refused = _take_slot()
    if release is None:
        return refused
    logged_out = threading.Event()
    unwatch = _watch_login(logged_out.set)

    def body() -> Iterator[bytes]:
        part = b"\r\n"  # a preamble (ignored): the headers go out now, not with a first picture
        yield part
        index, written = -1, time.monotonic()
        while not daemon.bus.closed and not logged_out.is_set():
            started = time.monotonic()
            frame = daemon.preview.wait_jpeg(index, timeout=1.0)
            if frame is None:
                if started - written >= PREVIEW_KEEPALIVE_S:  # a closed client is seen at a write
                    yield part  # the last picture again, or the preamble before any
                    written = time.monotonic()
                continue
            index, jpeg = frame
            head = (
                f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n"
                f"X-Frame-Index: {index}\r\n\r\n"  # the pose events' "frame": the same picture
            )
            part = head.encode() + jpeg + b"\r\n"
            yield part
            written = time.monotonic()
            period = 1.0 / daemon.settings.server.preview_fps
            time.sleep(max(0.0, period - (time.monotonic() - started)))

    def cleanup() -> None:
        unwatch()
        release()

    return _streaming(body(), f"multipart/x-mixed-replace; boundary={BOUNDARY}", cleanup)
