"""The camera list for Settings and the first-run wizard: GET /api/cameras, and a test
picture from each (GET /api/cameras/picture?source=...), so nobody types a device path."""

from __future__ import annotations

import threading

import cv2
from flask import Blueprint, Response, current_app, request

from device.capture.discovery import Camera, list_cameras
from device.capture.source import CaptureOptions
from device.capture.sources import open_source, parse_source
from device.errors import SourceError
from web_ui.auth import require_login
from web_ui.errors import json_error

bp = Blueprint("cameras", __name__, url_prefix="/api")
bp.before_request(require_login)

TEST_FRAMES = 5  # a webcam's first frames are often dark while its exposure settles
_opening = threading.Lock()  # one camera test at a time: each opens a device


def _cameras() -> list[Camera]:
    return current_app.extensions.get("cameras", list_cameras)()


@bp.get("/cameras")
def cameras() -> dict:
    daemon = current_app.extensions["daemon"]
    return {
        "cameras": [camera.to_json() for camera in _cameras()],
        "current": daemon.source_text,
    }


@bp.get("/cameras/picture")
def picture() -> Response:
    """A JPEG from the camera `source`: the live preview for the camera in use, else one
    frame from opening it briefly. Only cameras from the list (or the one in use) are opened."""
    daemon = current_app.extensions["daemon"]
    source = request.args.get("source", "")
    if source == daemon.source_text:
        frame = daemon.preview.wait_jpeg(-1, timeout=3.0)
        if frame is None:
            return json_error(503, "the camera in use has not given a picture yet", "source")
        return Response(frame[1], mimetype="image/jpeg", headers={"Cache-Control": "no-store"})
    if source not in {camera.source for camera in _cameras()}:
        return json_error(404, f"{source!r} is not a camera this device found", "source")
    if not _opening.acquire(timeout=10):
        return json_error(429, "another camera test is running: try again", "source")
    try:
        camera = open_source(parse_source(source), CaptureOptions(file_pace="fast"))
        try:
            for _ in range(TEST_FRAMES):
                image = camera.read().frame.image
        finally:
            camera.close()
    except SourceError as exc:
        return json_error(503, f"{source} gives no picture: {exc}", "source")
    finally:
        _opening.release()
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        return json_error(500, "the picture could not be encoded", "source")
    return Response(jpeg.tobytes(), mimetype="image/jpeg", headers={"Cache-Control": "no-store"})
