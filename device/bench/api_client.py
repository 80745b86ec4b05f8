"""A small HTTP client for the appliance's API (login, JSON, Server-Sent Events).

Used by `repcounter bench-serve` and the end-to-end tests; standard library only.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import Any

COOKIE = "repcounter_session"


class ApiClient:
    def __init__(
        self, host: str, port: int, timeout: float = 10.0, source: str | None = None
    ) -> None:
        """source: the local address to connect from (tests act as many LAN clients)."""
        self.host, self.port, self.timeout = host, port, timeout
        self.source = (source, 0) if source else None
        self.cookie: str | None = None
        self.csrf: str | None = None

    def _connection(self, timeout: float | None = None) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(
            self.host, self.port, timeout=timeout or self.timeout, source_address=self.source
        )

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.cookie:
            headers["Cookie"] = f"{COOKIE}={self.cookie}"
        if self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        headers.update(extra or {})
        return headers

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body); a dict body is sent as JSON, bytes as they are."""
        extra = dict(headers or {})
        if isinstance(body, dict | list):
            body = json.dumps(body).encode()
            extra.setdefault("Content-Type", "application/json")
        connection = self._connection()
        try:
            connection.request(method, path, body=body, headers=self._headers(extra))
            response = connection.getresponse()
            data = response.read()
            self._keep_cookie(response.getheader("Set-Cookie"))
            return response.status, dict(response.getheaders()), data
        finally:
            connection.close()

    def json(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, _, data = self.request(method, path, body)
        return status, json.loads(data) if data else None

    def _keep_cookie(self, header: str | None) -> None:
        if header:
            cookie = SimpleCookie(header)
            if COOKIE in cookie:
                self.cookie = cookie[COOKIE].value or None

    def log_in(self, password: str) -> None:
        """First-run setup with this password when none is set yet, else a login."""
        status, auth = self.json("GET", "/api/auth")
        self.csrf = auth["csrf_token"]
        path = "/api/setup" if auth["setup_required"] else "/api/login"
        status, answer = self.json("POST", path, {"password": password})
        if status != 200:
            raise RuntimeError(f"{path} answered {status}: {answer}")
        self.csrf = answer["csrf_token"]

    def events(self, kinds: str | None = None, timeout: float = 30.0) -> Iterator[tuple[str, dict]]:
        """(kind, data) for each Server-Sent Event until the stream ends or times out."""
        connection = self._connection(timeout)
        path = "/api/events" + (f"?kinds={kinds}" if kinds else "")
        try:
            connection.request("GET", path, headers=self._headers({"Accept": "text/event-stream"}))
            response = connection.getresponse()
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}: {response.read()!r}")
            kind, data = "message", []
            while line := response.readline():
                text = line.decode().rstrip("\r\n")
                if text.startswith("event:"):
                    kind = text[6:].strip()
                elif text.startswith("data:"):
                    data.append(text[5:].strip())
                elif not text and data:
                    yield kind, json.loads("\n".join(data))
                    kind, data = "message", []
        finally:
            connection.close()
