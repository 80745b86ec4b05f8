"""The phone pages: live view, history and settings.

Each page is an HTML shell; its ES module (web_ui/static/js/) reads the JSON API and the live
events. Pages need a login: before first-run setup they redirect to /setup, without a session
to /login. Every asset is served by the device (no CDN): the phone may have no internet.
The first-run and login pages in the same style are templates/pages/setup.html and
templates/pages/login.html, rendered by web_ui.auth with csrf_token and an optional error.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup
from werkzeug.wrappers import Response

from device import jsonout
from device.daemon import config
from device.pose.keypoints import KEYPOINT_NAMES, SKELETON_EDGES
from web_ui import auth

bp = Blueprint("pages", __name__)

NAV = (("pages.index", "Live"), ("pages.history", "History"), ("pages.settings", "Settings"))


def _login_redirect() -> Response | None:
    """Where a visitor without a session goes: first-run setup, else the login page."""
    if not current_app.extensions["credentials"].configured:
        return redirect(url_for("auth.setup"))
    if not auth.logged_in():
        return redirect(url_for("auth.login"))
    return None


def _page(template: str, active: str, **context: object) -> str | Response:
    denied = _login_redirect()
    if denied is not None:
        return denied
    return render_template(
        template, nav=NAV, active=active, csrf_token=auth.csrf_token(), **context
    )


@bp.get("/")
def index() -> str | Response:
    """The live page: preview, skeleton, rep counter, cues, timer, tempo and health."""
    daemon = current_app.extensions["daemon"]
    return _page(
        "pages/live.html",
        "pages.index",
        keypoint_names=jsonout.dumps(KEYPOINT_NAMES),
        skeleton_edges=jsonout.dumps(SKELETON_EDGES),
        min_keypoint_score=daemon.settings.exercise.min_keypoint_score,
        min_pose_score=daemon.settings.exercise.min_pose_score,
    )


@bp.get("/history")
def history() -> str | Response:
    """Sessions and sets, charts of reps per day and week and of depth, and the exports."""
    return _page("pages/history.html", "pages.history")


@bp.get("/settings")
def settings() -> str | Response:
    """Every daemon setting with its documentation (from the settings schema), camera test,
    running model, and this phone's audio choices."""
    return _page("pages/settings.html", "pages.settings", settings_schema=settings_schema())


def settings_schema() -> Markup:
    """The settings' JSON schema for the page, fields in the order the models declare them
    (the API's JSON answers sort their keys), escaped for a <script type="application/json">."""
    return htmlsafe_json_dumps(config.Settings.model_json_schema(), dumps=jsonout.dumps)
