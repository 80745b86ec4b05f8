"""The setup guide a phone sees after first-run setup (the password is its first step): the
household's people, the camera with test pictures, the placement check, Home Assistant over MQTT
with a connection test, and the address to bookmark. Every step can be skipped; each is also in
Settings (and the live page for people), and the guide can be run again from Settings."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, url_for
from werkzeug.wrappers import Response

from device.daemon.addresses import phone_urls
from device.daemon.mqtt_check import check_broker
from web_ui import auth
from web_ui.auth import require_login
from web_ui.body import json_body
from web_ui.errors import json_error
from web_ui.pages import NAV, _login_redirect

bp = Blueprint("welcome", __name__)


@bp.get("/welcome")
def page() -> str | Response:
    denied = _login_redirect()
    if denied is not None:
        return denied
    daemon = current_app.extensions["daemon"]
    return render_template(
        "pages/welcome.html", nav=NAV, active=None, csrf_token=auth.csrf_token(),
        addresses=phone_urls(daemon.host, daemon.port),
        placement=url_for("pages.placement", next="welcome"),
    )  # fmt: skip


@bp.post("/api/mqtt/check")
def mqtt_check():
    """Try the broker in the body ({host, port, username, password}; a password left out is
    the saved one): {ok, step, message}, naming what failed."""
    denied = require_login()
    if denied is not None:
        return denied
    body = json_body()
    saved = current_app.extensions["daemon"].settings.mqtt
    host = body.get("host")
    port = body.get("port", 1883)
    if not isinstance(host, str) or not host.strip():
        return json_error(422, "the broker's address is needed", "host")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        return json_error(422, "a port from 1 to 65535 (Mosquitto's is 1883)", "port")
    username = body.get("username", "")
    password = body.get("password")
    if password is None:
        password = saved.password
    if not isinstance(username, str) or not isinstance(password, str):
        return json_error(422, "user name and password must be text", "username")
    return check_broker(host.strip(), port, username, password)
