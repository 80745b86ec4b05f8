"""Access control: first-run password, login sessions, CSRF tokens and the Host header check.

- The password is stored only as a salted hash (Werkzeug's scrypt) in auth.json beside the
  history, together with the random key that signs the session cookie (file mode 0600).
- A session is a signed cookie (HttpOnly, SameSite=Strict) carrying a fingerprint of the
  password hash: changing the password logs every phone out.
- Every state-changing request (POST, PUT, PATCH, DELETE) needs the session's CSRF token in
  the X-CSRF-Token header or a csrf_token form field, and a matching Origin when one is sent.
- The Host header must be an IP address, localhost, this machine's name (or name.local) or a
  configured name: a DNS-rebinding page cannot reach the API under its own domain.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.security import check_password_hash, generate_password_hash

from device.daemon.config import write_atomic
from web_ui.body import json_body
from web_ui.errors import json_error

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MIN_PASSWORD = 8
MAX_PASSWORD = 256
FAILURES_BEFORE_LOCK = 5
LOCK_S = 30.0


class Credentials:
    """auth.json: the session-signing key and the password hash (None before first run)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
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
        """Changes whenever the password does; stored in sessions to invalidate old ones."""
        return hashlib.sha256((self.password_hash or "").encode()).hexdigest()[:16]

    def set_password(self, password: str) -> None:
        with self._lock:
            self.password_hash = generate_password_hash(password)
            data = {"secret_key": self.secret_key, "password_hash": self.password_hash}
            write_atomic(self.path, json.dumps(data), mode=0o600)

    def check(self, password: str) -> bool:
        return self.password_hash is not None and check_password_hash(self.password_hash, password)


class Throttle:
    """Locks out a client address for LOCK_S after FAILURES_BEFORE_LOCK wrong passwords."""

    def __init__(self) -> None:
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, client: str) -> float:
        with self._lock:
            count, until = self._failures.get(client, (0, 0.0))
        return max(0.0, until - time.monotonic()) if count >= FAILURES_BEFORE_LOCK else 0.0

    def failed(self, client: str) -> None:
        with self._lock:
            count, _ = self._failures.get(client, (0, 0.0))
            if count >= FAILURES_BEFORE_LOCK:
                count = 0
            self._failures[client] = (count + 1, time.monotonic() + LOCK_S)
            if len(self._failures) > 1000:  # bound memory under a flood of addresses
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


def local_host_names() -> set[str]:
    name = socket.gethostname().lower().rstrip(".")
    short = name.split(".")[0]
    return {"localhost", name, short, f"{short}.local"}


def host_allowed(host_header: str, allowed: set[str]) -> bool:
    """True for an IP literal, or a name in allowed (a port suffix is ignored)."""
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:8080
        host = host[1 : host.find("]")] if "]" in host else ""
    elif host.count(":") == 1:
        host = host.split(":")[0]
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return host.rstrip(".") in allowed


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def logged_in() -> bool:
    credentials: Credentials = current_app.extensions["credentials"]
    return credentials.configured and session.get("user") == credentials.fingerprint


def _log_in() -> None:
    session.clear()
    session.permanent = True
    session["user"] = current_app.extensions["credentials"].fingerprint
    session["csrf"] = secrets.token_urlsafe(32)


def _logged_in_answer(page: str = "pages.index") -> Response | dict:
    """Log this client in; the API gets the new CSRF token, a browser goes to `page`."""
    _log_in()
    if request.is_json:
        return {"logged_in": True, "csrf_token": session["csrf"]}
    return redirect(url_for(page))


def check_request() -> object | None:
    """App-wide guard, run before every request: Host header, then CSRF on unsafe methods."""
    allowed = current_app.extensions["allowed_hosts"]()
    if not host_allowed(request.headers.get("Host", ""), allowed):
        return json_error(
            400, "Host header not allowed: use the appliance's IP address or name", "Host"
        )
    if request.method in SAFE_METHODS:
        return None
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc.lower() != request.host.lower():
        return json_error(403, "cross-origin request refused", "Origin")
    sent = request.headers.get("X-CSRF-Token")
    if sent is None and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        sent = request.form.get("csrf_token")
    expected = session.get("csrf")
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return json_error(
            403, "missing or invalid CSRF token: send the X-CSRF-Token header", "X-CSRF-Token"
        )
    return None


def require_login() -> object | None:
    """Guard for the API: 403 before first-run setup, 401 when not logged in."""
    if not current_app.extensions["credentials"].configured:
        return json_error(403, "set a password first (first-run setup at /setup)", "password")
    if not logged_in():
        return json_error(401, "login required", "password")
    return None


bp = Blueprint("auth", __name__)


def _refusal(page: str | None, status: int, message: str, field: str) -> Response:
    """A JSON error naming the field for the API; the form page again, with the message, for
    a browser's form post (so a phone never shows raw JSON)."""
    if request.is_json or page is None:
        return json_error(status, message, field)
    html = render_template(page, csrf_token=csrf_token(), error=message[0].upper() + message[1:])
    return make_response(html, status)


def _password_field(name: str = "password", page: str | None = None) -> str:
    """The password from a JSON body or a form, checked for length; 400 names the field."""
    value = json_body().get(name) if request.is_json else request.form.get(name)
    if not isinstance(value, str):
        abort(_refusal(page, 400, f"{name} is required (a string)", name))
    if not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        message = f"{name} must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        abort(_refusal(page, 400, message, name))
    return value


@bp.get("/api/auth")
def auth_status():
    return {
        "setup_required": not current_app.extensions["credentials"].configured,
        "logged_in": logged_in(),
        "csrf_token": csrf_token(),
    }


@bp.route("/setup", methods=["GET", "POST"])
@bp.post("/api/setup")
def setup():
    credentials: Credentials = current_app.extensions["credentials"]
    if credentials.configured:
        if request.method == "GET":
            return redirect(url_for("auth.login"))
        return json_error(409, "a password is already set: log in instead", "password")
    if request.method == "GET":
        return render_template("pages/setup.html", csrf_token=csrf_token())
    password = _password_field(page="pages/setup.html")
    if not request.is_json and request.form.get("confirm") != password:
        return _refusal("pages/setup.html", 400, "the passwords differ.", "confirm")
    credentials.set_password(password)
    return _logged_in_answer("pages.placement")  # first run: where to put the camera


@bp.route("/login", methods=["GET", "POST"])
@bp.post("/api/login")
def login():
    credentials: Credentials = current_app.extensions["credentials"]
    if not credentials.configured:
        return (
            redirect(url_for("auth.setup"))
            if request.method == "GET"
            else json_error(403, "set a password first (first-run setup at /setup)", "password")
        )
    if request.method == "GET":
        if logged_in():
            return redirect(url_for("pages.index"))
        return render_template("pages/login.html", csrf_token=csrf_token())
    throttle: Throttle = current_app.extensions["throttle"]
    client = request.remote_addr or "?"
    wait = throttle.wait_s(client)
    if wait > 0:
        message = f"too many wrong passwords: wait {wait:.0f} s"
        response = _refusal("pages/login.html", 429, message, "password")
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    password = _password_field(page="pages/login.html")
    if not credentials.check(password):
        throttle.failed(client)
        return _refusal("pages/login.html", 401, "wrong password.", "password")
    throttle.succeeded(client)
    return _logged_in_answer()


@bp.post("/api/logout")
@bp.post("/logout")  # registered first: url_for("auth.logout") builds it for the page forms
def logout():
    session.clear()
    if request.is_json:
        return {"logged_in": False}
    # _method: during this POST, url_for would pick the POST-only /api/login rule.
    return redirect(url_for("auth.login", _method="GET"))


@bp.post("/api/password")
def change_password():
    denied = require_login()
    if denied is not None:
        return denied
    credentials: Credentials = current_app.extensions["credentials"]
    if not credentials.check(_password_field("current")):
        return json_error(401, "the current password is wrong", "current")
    credentials.set_password(_password_field("new"))
    _log_in()  # other phones are logged out by the new fingerprint
    return {"logged_in": True, "csrf_token": session["csrf"]}
