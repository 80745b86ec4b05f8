"""Server-side logins: the cookie carries a random login id, and the login is valid only while
the server keeps it.

logins.json (mode 0600, replaced atomically) maps the SHA-256 of each id to when the login was
made, when it was last used and the password it was made under. A login ends when it is revoked
(logout, "log out everywhere"), when it was not used for the idle lifetime (sliding), when it
reaches the absolute lifetime whatever its use, or when the password changes. A revocation is on
disk before it is answered, so a copied cookie cannot come back after a restart; a new login or
a last-used time that cannot be saved only costs a login again after a restart.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

from device.daemon.config import write_atomic

MAX_LOGINS = 64  # phones and browsers at home; the least recently used goes first
SAVE_SEEN_S = 3600.0  # last-used times are saved at most this often per login

log = logging.getLogger(__name__)


def _key(login_id: str) -> str:
    return hashlib.sha256(login_id.encode()).hexdigest()


class LoginStore:
    def __init__(
        self,
        path: Path,
        lifetimes: Callable[[], tuple[float, float]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        """lifetimes() -> (idle seconds, absolute seconds), read at each check (settings)."""
        self.path = path
        self._lifetimes = lifetimes
        self._clock = clock
        self._lock = threading.Lock()
        self._saved_seen: dict[str, float] = {}
        self._watchers: dict[str, list[Callable[[], None]]] = {}
        try:
            self._logins: dict[str, dict] = json.loads(path.read_text())
            if not isinstance(self._logins, dict):
                raise ValueError("not an object")
        except FileNotFoundError:
            self._logins = {}
        except (OSError, ValueError) as exc:
            log.warning("%s is unreadable (%s): every phone logs in again", path, exc)
            self._logins = {}
        for key, login in self._logins.items():
            self._saved_seen[key] = login.get("seen", 0.0)

    def create(self, password: str) -> str:
        """A new login id for the password with this fingerprint."""
        login_id = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._prune(now)
            while len(self._logins) >= MAX_LOGINS:
                oldest = min(self._logins, key=lambda k: self._logins[k]["seen"])
                del self._logins[oldest]
            self._logins[_key(login_id)] = {"created": now, "seen": now, "password": password}
            self._save_best_effort()
        return login_id

    def valid(self, login_id: str | None, password: str) -> bool:
        """True for a live login made under this password; its last-used time moves on."""
        if not login_id:
            return False
        key = _key(login_id)
        now = self._clock()
        with self._lock:
            login = self._logins.get(key)
            if login is None or login["password"] != password or self._expired(login, now):
                return False
            login["seen"] = now
            login["created"] = min(login["created"], now)  # made before the clock went back
            if now - self._saved_seen.get(key, 0.0) > SAVE_SEEN_S:
                self._save_best_effort()
        return True

    def revoke(self, login_id: str | None) -> None:
        """End one login (OSError when it cannot be saved: then nothing changed)."""
        if login_id:
            self._replace(lambda logins: {k: v for k, v in logins.items() if k != _key(login_id)})

    def revoke_all(self) -> None:
        """End every login (OSError when it cannot be saved: then nothing changed)."""
        self._replace(lambda logins: {})

    def watch(self, login_id: str | None, on_end: Callable[[], None]) -> Callable[[], None]:
        """Call on_end when this login is revoked (a live stream ends with its login); returns
        the function that stops watching."""
        key = _key(login_id or "")
        with self._lock:
            self._watchers.setdefault(key, []).append(on_end)

        def unwatch() -> None:
            with self._lock:
                watchers = self._watchers.get(key, [])
                if on_end in watchers:
                    watchers.remove(on_end)
                if not watchers:
                    self._watchers.pop(key, None)

        return unwatch

    def __len__(self) -> int:
        with self._lock:
            return len(self._logins)

    def _replace(self, change: Callable[[dict], dict]) -> None:
        with self._lock:
            logins = change(self._logins)
            self._write(logins)
            ended = [key for key in self._logins if key not in logins]
            self._logins = logins
            callbacks = [cb for key in ended for cb in self._watchers.get(key, [])]
        for callback in callbacks:
            callback()

    def _expired(self, login: dict, now: float) -> bool:
        idle_s, absolute_s = self._lifetimes()
        return now - login["seen"] > idle_s or now - login["created"] > absolute_s

    def _prune(self, now: float) -> None:
        self._logins = {k: v for k, v in self._logins.items() if not self._expired(v, now)}

    def _save_best_effort(self) -> None:
        try:
            self._write(self._logins)
        except OSError as exc:
            log.warning("cannot save %s (%s): new logins last until a restart", self.path, exc)

    def _write(self, logins: dict) -> None:
        write_atomic(self.path, json.dumps(logins), mode=0o600)
        self._saved_seen = {key: login["seen"] for key, login in logins.items()}
