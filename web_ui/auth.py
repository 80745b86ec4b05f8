"""Access control: first-run password, server-side logins, CSRF tokens and the Host header check.

- The password is stored only as a salted hash (Werkzeug's scrypt) in auth.json beside the
  history (web_ui.credentials). Hashing runs one at a time at low CPU priority, and wrong
  passwords lock out the address and, past a global count, everyone (web_ui.throttle) but a
  browser that logged in here before: a login also sets a device cookie (a random id signed
  with the server's key, HttpOnly, kept DEVICE_DAYS), so the owner's phone can log in during
  a stranger's flood of wrong passwords; its own address's lockout still applies.
- A login is an id in a signed cookie (HttpOnly, SameSite=Strict) that the server keeps in
  logins.json (web_ui.logins): logout revokes it, "log out everywhere" and a password change
  revoke all of them.
- Every state-changing request (POST, PUT, PATCH, DELETE) needs the session's CSRF token in
  the X-CSRF-Token header or a csrf_token form field, and, when an Origin is sent, this very
  origin: `Origin: null` (a sandboxed frame, a data: page) is refused.
- The Host header must be an IP address, localhost, this machine's name (or name.local) or a
  configured name: a DNS-rebinding page cannot reach the API under its own domain.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
import socket
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    after_this_request,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from itsdangerous import BadSignature, URLSafeSerializer

from web_ui.body import json_body
from web_ui.credentials import Credentials
from web_ui.errors import json_error
from web_ui.logins import LoginStore
from web_ui.throttle import HashBusy, Throttle

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MIN_PASSWORD = 8
MAX_PASSWORD = 256
DEVICE_COOKIE = "repcounter_device"
DEVICE_DAYS = 400  # browsers keep no cookie longer
KNOWN_DEVICE_HASH_WAIT_S = 3.0  # a known device waits this long for a running hash

log = logging.getLogger(__name__)


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


def _credentials() -> Credentials:
    return current_app.extensions["credentials"]


def _logins() -> LoginStore:
    return current_app.extensions["logins"]


def logged_in() -> bool:
    """This request carries a live login (checked once per request)."""
    if "logged_in" not in g:
        credentials = _credentials()
        g.logged_in = credentials.configured and _logins().valid(
            session.get("login"), credentials.fingerprint
        )
    return g.logged_in


def _log_in() -> None:
    """A new login for this client, with a new CSRF token (the one it had ends)."""
    try:
        _logins().revoke(session.get("login"))
    except OSError as exc:  # it still ends when it expires
        log.warning("cannot end the previous login: %s", exc)
    session.clear()
    session.permanent = True
    session["login"] = _logins().create(_credentials().fingerprint)
    session["csrf"] = secrets.token_urlsafe(32)
    g.logged_in = True


def _devices() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="repcounter-device")


def known_device() -> bool:
    """This browser has logged in here before: it holds a device cookie this server signed."""
    value = request.cookies.get(DEVICE_COOKIE)
    if not value:
        return False
    try:
        _devices().loads(value)
    except BadSignature:
        return False
    return True


def _remember_device() -> None:
    if known_device():
        return
    value = _devices().dumps(secrets.token_urlsafe(16))

    @after_this_request
    def set_cookie(response: Response) -> Response:
        response.set_cookie(
            DEVICE_COOKIE, value, max_age=DEVICE_DAYS * 86400, httponly=True,
            samesite="Strict", secure=request.is_secure,
        )  # fmt: skip
        return response


def _logged_in_answer(page: str = "pages.index") -> Response | dict:
    """Log this client in; the API gets the new CSRF token, a browser goes to `page`."""
    _log_in()
    _remember_device()
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
    if origin is not None and urlsplit(origin).netloc.lower() != request.host.lower():
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
    if not _credentials().configured:
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


def _too_many(page: str | None, wait: float, message: str, field: str) -> Response:
    response = _refusal(page, 429, message, field)
    response.headers["Retry-After"] = str(int(wait) + 1)
    return response


def _busy(page: str | None, field: str) -> Response:
    return _too_many(page, 1, "another password check is running: try again in a second", field)


def _not_saved(exc: OSError, what: str) -> Response:
    log.error("cannot save %s: %s", what, exc)
    return json_error(
        503, f"cannot save {what} ({exc.strerror or exc}): nothing changed; free space or fix "
        "the data folder's permissions and try again", "password",
    )  # fmt: skip


def _password_field(name: str = "password", page: str | None = None) -> str:
    """The password from a JSON body or a form, checked for length; 400 names the field."""
    value = json_body().get(name) if request.is_json else request.form.get(name)
    if not isinstance(value, str):
        abort(_refusal(page, 400, f"{name} is required (a string)", name))
    if not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        message = f"{name} must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        abort(_refusal(page, 400, message, name))
    return value


def _checked(page: str | None, field: str, check, *args: str) -> bool | Response:
    """check(*args) (a password check) under the lockout and the one-hash-at-a-time rule: its
    result, or the 429 answer."""
    throttle: Throttle = current_app.extensions["throttle"]
    client = request.remote_addr or "?"
    known = known_device()
    wait = throttle.reserve(client, known_device=known)
    if wait > 0:
        return _too_many(page, wait, f"too many wrong passwords: wait {wait:.0f} s", field)
    correct = None
    try:
        hash_wait = KNOWN_DEVICE_HASH_WAIT_S if known else 0.0
        correct = current_app.extensions["hasher"].run(check, *args, wait_s=hash_wait)
    except HashBusy:
        return _busy(page, field)
    finally:
        throttle.release(client, correct)
    return correct


@bp.get("/api/auth")
def auth_status():
    return {
        "setup_required": not _credentials().configured,
        "logged_in": logged_in(),
        "csrf_token": csrf_token(),
    }


@bp.route("/setup", methods=["GET", "POST"])
@bp.post("/api/setup")
def setup():
    credentials = _credentials()
    if credentials.configured and request.method == "GET":
        return redirect(url_for("auth.login"))
    if request.method == "GET":
        return render_template("pages/setup.html", csrf_token=csrf_token())
    password = _password_field(page="pages/setup.html")
    if not request.is_json and request.form.get("confirm") != password:
        return _refusal("pages/setup.html", 400, "the passwords differ.", "confirm")
    if not credentials.claim_setup():  # atomic: of two setups at once, one wins
        return json_error(409, "a password is already set: log in instead", "password")
    try:
        current_app.extensions["hasher"].run(credentials.set_password, password)
    except HashBusy:
        return _busy("pages/setup.html", "password")
    except OSError as exc:
        return _not_saved(exc, "the password")
    finally:
        credentials.end_setup()
    return _logged_in_answer("welcome.page")  # first run: the setup guide


@bp.route("/login", methods=["GET", "POST"])
@bp.post("/api/login")
def login():
    credentials = _credentials()
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
    password = _password_field(page="pages/login.html")
    correct = _checked("pages/login.html", "password", credentials.check, password)
    if isinstance(correct, Response):
        return correct
    if not correct:
        return _refusal("pages/login.html", 401, "wrong password.", "password")
    return _logged_in_answer()


@bp.post("/api/logout")
@bp.post("/logout")  # registered first: url_for("auth.logout") builds it for the page forms
def logout():
    """Revoke this login, or with ?everywhere=1 (or an `everywhere` form field) every login."""
    everywhere = (request.args.get("everywhere") or request.form.get("everywhere")) in ("1", "on")
    if everywhere and not logged_in():
        return json_error(401, "login required to log out everywhere", "password")
    try:
        if everywhere:
            _logins().revoke_all()
        else:
            _logins().revoke(session.get("login"))
    except OSError as exc:
        return _not_saved(exc, "the logout")
    session.clear()
    if request.is_json or request.path.startswith("/api/"):
        return {"logged_in": False}
    # _method: during this POST, url_for would pick the POST-only /api/login rule.
    return redirect(url_for("auth.login", _method="GET"))


@bp.post("/api/password")
def change_password():
    """Change the password: every login, this one included, is replaced by a new one here."""
    denied = require_login()
    if denied is not None:
        return denied
    current, new = _password_field("current"), _password_field("new")
    try:
        changed = _checked(None, "current", _credentials().change_password, current, new)
    except OSError as exc:
        return _not_saved(exc, "the new password")
    if isinstance(changed, Response):
        return changed
    if not changed:
        return json_error(401, "the current password is wrong", "current")
    try:
        _logins().revoke_all()  # already void: they were made under the old password
    except OSError as exc:
        log.warning("cannot prune the old logins: %s", exc)
    _log_in()
    return {"logged_in": True, "csrf_token": session["csrf"]}
