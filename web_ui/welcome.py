"""The setup guide a phone sees after first-run setup (the password is its first step): the
household's people, the camera with test pictures, the placement check, Home Assistant over MQTT
with a connection test (the settings' own POST /api/mqtt/test), and the address to bookmark.
Every step can be skipped; each is also in Settings (and the live page for people), and the
guide can be run again from Settings."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, url_for
from werkzeug.wrappers import Response

from device.daemon.addresses import phone_urls
from web_ui import auth
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
