""" "Test connection" for the MQTT settings: one connection to the broker, step by step, so the
answer names what failed: the host name, the TCP connection, the MQTT handshake or the login."""

from __future__ import annotations

import socket
import threading

import paho.mqtt.client as paho

TIMEOUT_S = 5.0


def check_broker(
    host: str, port: int, username: str = "", password: str = "", timeout: float = TIMEOUT_S
) -> dict[str, object]:
    """{"ok": bool, "step": "host" | "connection" | "mqtt" | "login" | "done", "message"}."""
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return _failed("host", f"cannot find the broker's host {host!r}: {exc}; check the name "
                       "or use its IP address")  # fmt: skip
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except ConnectionRefusedError:
        return _failed("connection", f"{host} refused the connection on port {port}: no MQTT "
                       "broker listens there (Mosquitto's port is 1883)")  # fmt: skip
    except TimeoutError:
        return _failed("connection", f"no answer from {host}:{port} within {timeout:.0f} s: "
                       "is the address right, and does a firewall let it through?")  # fmt: skip
    except OSError as exc:
        return _failed("connection", f"cannot reach {host}:{port}: {exc.strerror or exc}")
    return _handshake(host, port, username, password, timeout)


def _handshake(host: str, port: int, username: str, password: str, timeout: float) -> dict:
    answered = threading.Event()
    result: dict[str, object] = {}

    def on_connect(client, userdata, flags, reason_code, properties) -> None:
        result["code"] = reason_code
        answered.set()

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
    if username:
        client.username_pw_set(username, password or None)
    client.on_connect = on_connect
    try:
        client.connect(host, port, keepalive=10)
        client.loop_start()
        answered.wait(timeout)
    except OSError as exc:
        return _failed("connection", f"cannot reach {host}:{port}: {exc.strerror or exc}")
    finally:
        client.disconnect()
        client.loop_stop()
    code = result.get("code")
    if code is None:
        return _failed("mqtt", f"{host}:{port} accepted the connection but did not answer as an "
                       "MQTT broker: is it the right port?")  # fmt: skip
    if code.is_failure:
        login = "user name" in str(code).lower() or "authori" in str(code).lower()
        fix = ": check the user name and password" if login else ""
        return _failed("login" if login else "mqtt", f"the broker refused: {code}{fix}")
    return {"ok": True, "step": "done", "message": f"connected to the broker at {host}:{port}"}


def _failed(step: str, message: str) -> dict[str, object]:
    return {"ok": False, "step": step, "message": message}
