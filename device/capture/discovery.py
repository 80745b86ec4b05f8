"""The cameras this device finds, for the phone's camera list: the Pi camera(s) through
picamera2 when it is importable, and each /dev/video* node that captures video.

A Pi has /dev/video* nodes that are not cameras: the codec, ISP and HEVC decoder, and the raw
sensor nodes that libcamera drives (the Pi camera itself is listed through picamera2). Their
drivers are left out; so is every node whose V4L2 capabilities have no video capture (a USB
webcam's metadata node).
"""

from __future__ import annotations

import fcntl
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from device.capture import picamera
from device.capture.sources import webcam_devices

VIDIOC_QUERYCAP = 0x80685600  # _IOR('V', 0, struct v4l2_capability), 104 bytes
CAP_VIDEO_CAPTURE = 0x00000001
CAP_VIDEO_CAPTURE_MPLANE = 0x00001000
CAP_DEVICE_CAPS = 0x80000000
NOT_CAMERAS = frozenset(
    {"bcm2835-codec", "bcm2835-isp", "unicam", "rp1-cfe", "pispbe", "rpivid", "rpi-hevc-dec"}
)


@dataclass(frozen=True)
class Capability:
    driver: str
    card: str
    captures: bool


@dataclass(frozen=True)
class Camera:
    source: str  # the camera.source setting that selects it
    name: str  # for people
    kind: str  # "picamera" or "usb"
    problem: str | None = None  # why it may not work (no permission)

    def to_json(self) -> dict:
        return {"source": self.source, "name": self.name, "kind": self.kind,
                "problem": self.problem}  # fmt: skip


def query_capability(node: str) -> Capability:
    """The driver, card name and whether node captures video (VIDIOC_QUERYCAP); OSError when
    it cannot be opened or is not a V4L2 device."""
    fd = os.open(node, os.O_RDWR | os.O_NONBLOCK)
    try:
        answer = fcntl.ioctl(fd, VIDIOC_QUERYCAP, bytes(104))
    finally:
        os.close(fd)
    driver, card = (_text(answer[:16]), _text(answer[16:48]))
    capabilities, device_caps = struct.unpack_from("<II", answer, 84)
    caps = device_caps if capabilities & CAP_DEVICE_CAPS else capabilities
    return Capability(driver, card, bool(caps & (CAP_VIDEO_CAPTURE | CAP_VIDEO_CAPTURE_MPLANE)))


def _text(field: bytes) -> str:
    return field.split(b"\0")[0].decode(errors="replace")


def pi_cameras() -> list[Camera]:
    """The cameras libcamera sees, when picamera2 is importable (Raspberry Pi OS)."""
    module, _ = picamera._picamera2()
    if module is None:
        return []
    try:
        infos = module.global_camera_info()
    except Exception:  # a broken libcamera setup is the same as no camera here
        return []
    return [
        Camera(
            f"picamera:{n}", f"Raspberry Pi camera {n} ({info.get('Model', 'unknown')})", "picamera"
        )
        for n, info in enumerate(infos)
    ]


def usb_cameras(
    nodes: Callable[[], list[str]] = webcam_devices,
    query: Callable[[str], Capability] = query_capability,
) -> list[Camera]:
    """The /dev/video* nodes that capture video and are not a Pi's codec or sensor nodes."""
    found = []
    for node in nodes():
        try:
            capability = query(node)
        except PermissionError:
            problem = "no permission: the service's user must be in the video group"
            found.append(Camera(node, f"Camera at {node}", "usb", problem))
            continue
        except OSError:
            continue  # gone meanwhile, or not a V4L2 device
        if capability.captures and capability.driver not in NOT_CAMERAS:
            name = _sysfs_name(node) or capability.card or node
            found.append(Camera(node, f"{name} ({node})", "usb"))
    return found


def _sysfs_name(node: str) -> str:
    try:
        return (Path("/sys/class/video4linux") / Path(node).name / "name").read_text().strip()
    except OSError:
        return ""


def list_cameras() -> list[Camera]:
    """Every camera found: Pi cameras first, then USB webcams."""
    return pi_cameras() + usb_cameras()
