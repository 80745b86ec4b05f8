"""The systemd unit passes `systemd-analyze verify`, and the daemon speaks the notify protocol:
READY once serving, WATCHDOG while the pipeline runs, none once it stalls, STOPPING on SIGTERM."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from device.bench.bench_serve import spawn_serve
from device.daemon import config, service
from tests.test_api import serve
from tests.test_serve_pipeline import FakePose, FakeTracker

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "repcounter.service"
INSTALLED_BINARY = "/opt/repcounter/.venv/bin/repcounter"


def unit_lines() -> list[tuple[str, str]]:
    pairs = []
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            pairs.append((key.strip(), value.strip()))
    return pairs


def test_systemd_analyze_verify_passes(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is absent: apt-get install systemd (CI installs it)")
    # verify checks that ExecStart exists: point it at this checkout's command instead of the
    # install path the unit documents.
    binary = Path(sys.executable).parent / "repcounter"
    assert INSTALLED_BINARY in UNIT.read_text()
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text().replace(INSTALLED_BINARY, str(binary)))
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_unit_settings_that_matter():
    pairs = unit_lines()
    settings = dict(pairs)
    assert settings["Type"] == "notify" and int(settings["WatchdogSec"]) > service.STALL_S
    assert settings["Restart"] == "on-failure" and settings["WantedBy"] == "multi-user.target"
    assert settings["User"] == "repcounter" and settings["ProtectSystem"] == "strict"
    assert settings["DevicePolicy"] == "closed" and settings["StateDirectory"] == "repcounter"
    assert "PrivateDevices" not in settings and "PrivateUsers" not in settings  # hide the camera
    allowed = [value for key, value in pairs if key == "DeviceAllow"]
    assert "char-video4linux rw" in allowed and not any("*" in value for value in allowed)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "still.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (160, 120))
    for _ in range(30):
        writer.write(np.zeros((120, 160, 3), np.uint8))
    writer.release()
    return path


def notify_socket(tmp_path) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify"))
    listener.settimeout(30)
    return listener


def test_serve_notifies_ready_watchdog_and_stopping(tmp_path, clip, monkeypatch):
    listener = notify_socket(tmp_path)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    config.save(config.Settings(camera={"file_loop": True}), tmp_path / "data" / "settings.toml")
    process, _ = spawn_serve(clip, tmp_path / "data", tmp_path / "serve.log")
    try:
        assert listener.recv(200).startswith(b"READY=1\nSTATUS=serving on port ")
        assert listener.recv(200) == b"WATCHDOG=1"
        assert listener.recv(200) == b"WATCHDOG=1"
        process.send_signal(signal.SIGTERM)
        while (message := listener.recv(200)) == b"WATCHDOG=1":
            pass
        assert message == b"STOPPING=1"
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
        listener.close()


class HangingPose(FakePose):
    """A model that stops returning after a few frames (a wedged accelerator)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.release = threading.Event()

    def process(self, frame):
        self.calls += 1
        if self.calls > 5:
            self.release.wait(30)
        return super().process(frame)


def test_a_stalled_pipeline_stops_the_watchdog_pings(tmp_path, clip, monkeypatch):
    listener = notify_socket(tmp_path)
    listener.settimeout(0.2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    monkeypatch.setattr(service, "STALL_S", 1.0)
    pose = HangingPose()
    settings = config.Settings(camera={"file_loop": True})
    with serve(tmp_path, clip, settings, pose=pose, tracker=lambda r, m: FakeTracker(r, m)):
        try:
            messages = []
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    messages.append((time.monotonic(), listener.recv(200)))
            pings = [t for t, m in messages if m == b"WATCHDOG=1"]
            assert pose.calls > 5 and pings, messages
            assert any(m.startswith(b"STATUS=stalled: the inference thread") for _, m in messages)
            assert deadline - pings[-1] > 1.5  # no ping for the last seconds: systemd restarts
        finally:
            pose.release.set()
    listener.close()
