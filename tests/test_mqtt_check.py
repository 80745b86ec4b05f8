""" "Test connection" names what failed: the host, the connection, the MQTT handshake, the login."""

from __future__ import annotations

import socket
import threading

from device.daemon.mqtt_check import check_broker
from tests.test_mqtt import Broker, free_port, needs_mosquitto


def test_an_unknown_host_is_named():
    result = check_broker("no-such-broker.invalid", 1883, timeout=2)
    assert not result["ok"] and result["step"] == "host"
    assert "no-such-broker.invalid" in result["message"]


def test_a_closed_port_is_named():
    port = free_port()
    result = check_broker("127.0.0.1", port, timeout=2)
    assert not result["ok"] and result["step"] == "connection"
    assert "refused" in result["message"] and str(port) in result["message"]


def test_a_server_that_is_not_a_broker_is_named():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        accepted = []
        threading.Thread(target=lambda: [accepted.append(server.accept()) for _ in range(2)],
                         daemon=True).start()  # fmt: skip
        result = check_broker("127.0.0.1", port, timeout=1)
    assert not result["ok"] and result["step"] == "mqtt"
    assert "did not answer as an MQTT broker" in result["message"]


@needs_mosquitto
def test_the_login_is_checked(tmp_path):
    broker = Broker(tmp_path, users={"ha": "right password"})
    broker.start()
    try:
        good = check_broker("127.0.0.1", broker.port, "ha", "right password")
        assert good["ok"] and good["step"] == "done" and str(broker.port) in good["message"]
        bad = check_broker("127.0.0.1", broker.port, "ha", "wrong password")
        assert not bad["ok"] and bad["step"] == "login" and "password" in bad["message"]
    finally:
        broker.kill()
