"""`repcounter serve` tells the addresses a phone can use, not 127.0.0.1."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess

import pytest

from device.daemon import config
from device.daemon.addresses import interface_addresses, phone_urls
from tests.test_api import clip, serve  # noqa: F401 (clip: a fixture)


@pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2's ip to compare with")
def test_interface_addresses_are_the_non_loopback_ipv4_ones():
    listed = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True)
    expected = {line.split()[3].split("/")[0] for line in listed.stdout.splitlines()}
    assert set(interface_addresses()) == {a for a in expected if not a.startswith("127.")}


def test_phone_urls_by_listening_address():
    lan = [f"http://{a}:8080" for a in interface_addresses()]
    assert phone_urls("0.0.0.0", 8080, "gym.example") == ["http://gym.local:8080", *lan]
    assert phone_urls("::", 8080, "Gym") == ["http://gym.local:8080", *lan]
    assert phone_urls("192.0.2.7", 9000) == ["http://192.0.2.7:9000"]
    assert phone_urls("fd00::7", 9000) == ["http://[fd00::7]:9000"]
    assert phone_urls("127.0.0.1", 8080) == []  # no phone can reach it


def test_serve_logs_the_phone_addresses(tmp_path, clip, caplog):  # noqa: F811
    caplog.set_level(logging.INFO, logger="repcounter")
    settings = config.Settings(server={"threads": 8})
    with serve(tmp_path, clip, settings, address={"host": "0.0.0.0", "port": 0}) as daemon:
        port = daemon.port
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("serving"))
    short = socket.gethostname().split(".")[0].lower()
    assert f"http://{short}.local:{port}" in line and "127.0.0.1" not in line
    for address in interface_addresses():
        assert f"http://{address}:{port}" in line
