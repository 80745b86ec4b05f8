"""auth.json: the session-signing key and the password hash (None before first-run setup).

The file (mode 0600) is replaced atomically, and a new password takes effect only once it is on
disk: a change that cannot be saved changes nothing, now or after a restart.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from device.daemon.config import write_atomic


class Credentials:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._setup_claimed = False
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            data = {"secret_key": secrets.token_hex(32), "password_hash": None}
            write_atomic(path, json.dumps(data), mode=0o600)
        self.secret_key: str = data["secret_key"]
        self.password_hash: str | None = data.get("password_hash")

    @property
    def configured(self) -> bool:
        return self.password_hash is not None

    @property
    def fingerprint(self) -> str:
        """Changes whenever the password does; a login made under another password is void."""
        return hashlib.sha256((self.password_hash or "").encode()).hexdigest()[:16]

    def claim_setup(self) -> bool:
        """True for the one caller that may run first-run setup now; False when a password is
        set or another setup is running (release with `end_setup`)."""
        with self._lock:
            if self.configured or self._setup_claimed:
                return False
            self._setup_claimed = True
            return True

    def end_setup(self) -> None:
        with self._lock:
            self._setup_claimed = False

    def set_password(self, password: str) -> None:
        """Hash and save the password, then use it (OSError: nothing changed)."""
        new_hash = generate_password_hash(password)
        with self._lock:
            data = {"secret_key": self.secret_key, "password_hash": new_hash}
            write_atomic(self.path, json.dumps(data), mode=0o600)
            self.password_hash = new_hash

    def check(self, password: str) -> bool:
        current = self.password_hash
        return current is not None and check_password_hash(current, password)

    def change_password(self, current: str, new: str) -> bool:
        """False when current is wrong; else the new password is saved and in use."""
        if not self.check(current):
            return False
        self.set_password(new)
        return True
