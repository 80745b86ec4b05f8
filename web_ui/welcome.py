"""The setup guide a phone sees after first-run setup (the password is its first step): the
household's people, the camera with test pictures, the placement check, Home Assistant over MQTT
with a connection test, and the address to bookmark. Every step can be skipped; each is also in
Settings (and the live page for people), and the guide can be run again from Settings."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, url_for
from werkzeug.wrappers import Response

from device.daemon import config, mqtt_check
from device.daemon.addresses import phone_urls
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


@bp.post("/api/mqtt/test")
def mqtt_test():
    """Try a broker once with the saved MQTT settings and the changes in the body: {"ok",
    "failure", "message"} (device.daemon.mqtt_check). The same route as issue 21's
    web_ui.api.mqtt_test, which the settings page uses: once both are merged, this copy goes."""
    denied = require_login()
    if denied is not None:
        return denied
    daemon = current_app.extensions["daemon"]
    merged = config.merge(daemon.settings.model_dump(mode="json"), {"mqtt": json_body()})
    merged["mqtt"]["enabled"] = True  # testing an address is asking to use it
    try:
        settings = config.validate(merged).mqtt
    except config.SettingsInvalid as exc:
        return json_error(422, str(exc), exc.fields[0]["field"], fields=exc.fields)
    return mqtt_check.check(settings)
