"""Test an MQTT broker connection once and say what failed: the broker's name (DNS), nothing
listening (refused), no answer (timeout), a network that cannot reach it, the user name or
password (auth), or the broker's own refusal.

One MQTT 3.1.1 CONNECT over a plain socket, read back its CONNACK, then DISCONNECT: a
connection the way the publisher makes it (device/daemon/mqtt.py), but answered in seconds
and step by step, so the settings page can name the failing step.
"""

from __future__ import annotations

import secrets
import socket
import struct

from device.daemon.config import MqttSettings

TIMEOUT_S = 5.0
CONNACK_CODES = {
    1: ("protocol", "the broker does not speak MQTT 3.1.1"),
    2: ("refused", "the broker refused this client's id"),
    3: ("refused", "the broker is up but not accepting connections now"),
    4: ("auth", "the broker refused the user name or password"),
    5: ("auth", "the broker refused the user name or password (not authorised)"),
}


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def _length(n: int) -> bytes:
    """MQTT's variable-length remaining length."""
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def connect_packet(client_id: str, username: str = "", password: str = "") -> bytes:
    flags = 0x02  # clean session
    payload = _string(client_id)
    if username:
        flags |= 0x80
        payload += _string(username)
        if password:
            flags |= 0x40
            payload += _string(password)
    variable = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", 10)
    body = variable + payload
    return bytes([0x10]) + _length(len(body)) + body


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionResetError("the broker closed the connection")
        data += chunk
    return data


def check(settings: MqttSettings, timeout: float = TIMEOUT_S) -> dict:
    """{"ok": True, "message"} or {"ok": False, "failure": dns | refused | timeout |
    unreachable | auth | protocol | closed, "message": what failed, in words}."""
    host, port = settings.host.strip(), settings.port
    where = f"{host}:{port}"
    if not host:
        return _failed("dns", "no broker host is set: give its name or IP address")
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return _failed(
            "dns", f"cannot find {host!r} on the network (DNS): check the name, or use the "
            "broker's IP address",
        )  # fmt: skip
    family, kind, proto, _, address = addresses[0]
    try:
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.sendall(connect_packet(f"repcounter-test-{secrets.token_hex(3)}",
                                        settings.username, settings.password))  # fmt: skip
            header = _read(sock, 4)
            if header[0] != 0x20:
                return _failed("protocol", f"{where} answered, but not as an MQTT broker")
            code = header[3]
            if code:
                failure, message = CONNACK_CODES.get(code, ("refused", f"refused (code {code})"))
                return _failed(failure, f"{message} ({where})")
            sock.sendall(b"\xe0\x00")  # DISCONNECT
    except ConnectionRefusedError:
        return _failed(
            "refused", f"nothing listens at {where} (connection refused): check the port, "
            "and that the broker runs",
        )  # fmt: skip
    except TimeoutError:
        return _failed(
            "timeout", f"no answer from {where} within {timeout:.0f} s: a firewall, or the "
            "wrong address",
        )  # fmt: skip
    except ConnectionResetError:
        return _failed("closed", f"{where} closed the connection: is this the MQTT port?")
    except OSError as exc:
        return _failed("unreachable", f"cannot reach {where} ({exc.strerror or exc})")
    return {"ok": True, "failure": None, "message": f"Connected to {where}"}


def _failed(failure: str, message: str) -> dict:
    return {"ok": False, "failure": failure, "message": message}
