"""The Flask app factory: auth, API and page blueprints, JSON errors, security headers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature
from werkzeug.routing import IntegerConverter

from device import jsonout
from web_ui import api, auth, backup_api, cameras_api, errors, pages, welcome
from web_ui.credentials import Credentials
from web_ui.downloads import Downloads
from web_ui.logins import LoginStore
from web_ui.streams import API_THREADS, StreamSlots
from web_ui.throttle import Hasher, Throttle

MAX_BODY = 64 * 1024  # settings are a few KiB; anything larger is refused with 413


class JsonProvider(DefaultJSONProvider):
    """Flask's JSON answers through the program's one encoder; keys keep their declared order
    (settings read in the order the models declare them)."""

    default = staticmethod(jsonout.default)
    sort_keys = False


class SqliteInt(IntegerConverter):
    """<int:...> route parts bounded to SQLite's INTEGER: /api/sessions/9223372036854775808 is
    a 404 (no such route), not an overflow inside the query."""

    def __init__(self, url_map, **kwargs) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, **kwargs)


class ClockProofSessions(SecureCookieSessionInterface):
    """The cookie's signed time is not checked: after the clock steps back, a cookie signed
    before looks signed in the future and Flask would refuse it (every phone logged out). A
    login's lifetimes are the server's (web_ui/logins.py), checked at every request against
    the id the signed cookie carries."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        try:
            return self.session_class(serializer.loads(value))
        except BadSignature:
            return self.session_class()


def create_app(daemon, auth_path: Path) -> Flask:
    """daemon: the object the API reads (device.daemon.service.Daemon or a test double).
    auth.json and logins.json live in auth_path's folder."""
    app = Flask(__name__)
    app.json = JsonProvider(app)
    app.session_interface = ClockProofSessions()
    app.url_map.converters["int"] = SqliteInt
    credentials = Credentials(auth_path)
    server = daemon.settings.server
    app.config.update(
        SECRET_KEY=credentials.secret_key,
        SESSION_COOKIE_NAME="repcounter_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=timedelta(days=server.login_days),
        MAX_CONTENT_LENGTH=MAX_BODY,
        MAX_FORM_MEMORY_SIZE=MAX_BODY,
    )
    names = auth.local_host_names()
    app.extensions.update(
        daemon=daemon,
        credentials=credentials,
        logins=LoginStore(auth_path.with_name("logins.json"), lambda: _lifetimes(daemon)),
        throttle=Throttle(),
        hasher=Hasher(),
        downloads=Downloads(),
        stream_slots=StreamSlots(max(1, server.threads - API_THREADS)),
        allowed_hosts=lambda: names | set(daemon.settings.server.allowed_hosts),
    )
    app.before_request(auth.check_request)
    app.register_blueprint(auth.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(backup_api.bp)
    app.register_blueprint(cameras_api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(welcome.bp)
    errors.register(app)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # same-origin, not no-referrer: under no-referrer browsers send `Origin: null` on
        # their own form posts, and a null origin is refused (web_ui.auth).
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static":  # pages and API answers are private and live
            response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault(
            "Content-Security-Policy",
            # media-src data:: the silent looping video that keeps the screen awake (NoSleep.js)
            "default-src 'self'; style-src 'self' 'unsafe-inline'; media-src 'self' data:; "
            "frame-ancestors 'none'",
        )
        return response

    return app


def _lifetimes(daemon) -> tuple[float, float]:
    """(idle, absolute) lifetime of a login in seconds, from the current settings."""
    server = daemon.settings.server
    return server.login_days * 86400.0, server.login_max_days * 86400.0
