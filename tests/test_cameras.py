"""The camera list: Pi cameras through picamera2, /dev/video* nodes that capture (not a Pi's
codec or sensor nodes), and a test picture from each."""

from __future__ import annotations

import cv2
import numpy as np

from device.capture import discovery, picamera
from device.capture.discovery import Camera, Capability
from device.daemon import config
from tests.test_api import clip, logged_in_client, serve  # noqa: F401 (clip: a fixture)


class FakePicamera2:
    @staticmethod
    def global_camera_info():
        return [{"Model": "imx708", "Num": 0}]


NODES = {
    "/dev/video0": Capability("uvcvideo", "HD Webcam C270", True),
    "/dev/video1": Capability("uvcvideo", "HD Webcam C270", False),  # its metadata node
    "/dev/video10": Capability("bcm2835-codec", "bcm2835-codec-decode", True),
    "/dev/video14": Capability("bcm2835-isp", "bcm2835-isp", True),
}


def fake_query(node: str) -> Capability:
    if node == "/dev/video3":
        raise PermissionError(13, "Permission denied")
    if node == "/dev/video4":
        raise OSError(25, "Inappropriate ioctl for device")
    return NODES[node]


def test_usb_cameras_keep_capture_nodes_only():
    nodes = ["/dev/video0", "/dev/video1", "/dev/video3", "/dev/video4", "/dev/video10",
             "/dev/video14"]  # fmt: skip
    found = discovery.usb_cameras(lambda: nodes, fake_query)
    assert [c.source for c in found] == ["/dev/video0", "/dev/video3"]
    assert "C270" in found[0].name and found[0].problem is None
    assert "video group" in found[1].problem


def test_pi_cameras_come_from_picamera2(monkeypatch):
    monkeypatch.setattr(picamera, "_picamera2", lambda: (FakePicamera2, ""))
    assert [(c.source, c.kind) for c in discovery.pi_cameras()] == [("picamera:0", "picamera")]
    assert "imx708" in discovery.pi_cameras()[0].name
    monkeypatch.setattr(picamera, "_picamera2", lambda: (None, "not installed"))
    assert discovery.pi_cameras() == []


def test_camera_list_and_a_test_picture_from_each(tmp_path, clip):  # noqa: F811
    other = tmp_path / "other.avi"
    writer = cv2.VideoWriter(str(other), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (160, 120))
    for _ in range(10):
        writer.write(np.full((120, 160, 3), (0, 0, 255), np.uint8))  # red (BGR)
    writer.release()
    settings = config.Settings(camera={"file_loop": True}, server={"threads": 8})
    with serve(tmp_path / "data", clip, settings) as daemon:
        # The device's cameras, stood in for by a video file (this machine has no camera).
        found = [Camera(str(other), "Other camera", "usb"), Camera("/dev/video9", "Gone", "usb")]
        daemon.app.extensions["cameras"] = lambda: found
        client, _ = logged_in_client(daemon)
        listed = client.get("/api/cameras").json
        assert [c["source"] for c in listed["cameras"]] == [str(other), "/dev/video9"]
        assert listed["current"] == str(clip)
        red = client.get("/api/cameras/picture", query_string={"source": str(other)})
        assert red.status_code == 200 and red.mimetype == "image/jpeg"
        image = cv2.imdecode(np.frombuffer(red.data, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape[:2] == (120, 160) and image[60, 80, 2] > 200 > image[60, 80, 1]
        live = client.get("/api/cameras/picture", query_string={"source": str(clip)})
        assert live.status_code == 200 and live.mimetype == "image/jpeg"  # the preview
        gone = client.get("/api/cameras/picture", query_string={"source": "/dev/video9"})
        assert gone.status_code == 503 and "/dev/video9" in gone.json["error"]
        secret = client.get("/api/cameras/picture", query_string={"source": "/etc/passwd"})
        assert secret.status_code == 404 and "not a camera" in secret.json["error"]
        assert daemon.app.test_client().get("/api/cameras").status_code == 401
