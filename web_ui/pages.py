"""The phone pages: live view, history and settings.

Each page is an HTML shell; its ES module (web_ui/static/js/) reads the JSON API and the live
events. Pages need a login: before first-run setup they redirect to /setup, without a session
to /login. Every asset is served by the device (no CDN): the phone may have no internet.
The first-run and login pages in the same style are templates/pages/setup.html and
templates/pages/login.html, rendered by web_ui.auth with csrf_token and an optional error.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
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


def _pose_context() -> dict:
    """What the skeleton overlay needs: keypoint names, bones and the score thresholds."""
    rules = current_app.extensions["daemon"].settings.exercise
    return {
        "keypoint_names": jsonout.dumps(KEYPOINT_NAMES),
        "skeleton_edges": jsonout.dumps(SKELETON_EDGES),
        "min_keypoint_score": rules.min_keypoint_score,
        "min_pose_score": rules.min_pose_score,
    }


@bp.get("/")
def index() -> str | Response:
    """The live page: preview, skeleton, rep counter, cues, timer, tempo and health."""
    return _page("pages/live.html", "pages.index", **_pose_context())


@bp.get("/placement")
def placement() -> str | Response:
    """First run (and Settings → Camera): the preview with a live check that the whole body
    is in view, until the person is framed. It can be skipped."""
    wizard = request.args.get("next") == "welcome"  # a step of the setup guide
    done = url_for("welcome.page", _anchor="mqtt") if wizard else url_for("pages.index")
    return _page(
        "pages/placement.html", None, done_href=done,
        done_label="Next" if wizard else "Start counting", **_pose_context(),
    )  # fmt: skip


@bp.get("/history")
def history() -> str | Response:
    """Sessions and sets, charts of reps per day and week and of depth, and the exports."""
    return _page("pages/history.html", "pages.history")


@bp.get("/settings")
def settings() -> str | Response:
    """Every daemon setting with its documentation (from the settings schema), camera test,
    running model, and this phone's audio choices."""
    return _page("pages/settings.html", "pages.settings", settings_schema=settings_schema())


THEME_COLOUR = "#0b5cad"  # the icon's blue
BACKGROUND = "#101418"  # the live screen's dark background, shown while the app opens


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest: "Add to Home Screen" opens the live page full screen, like an app.
    Served without a login (browsers fetch it without cookies)."""
    body = {
        "name": "RepCounter",
        "short_name": "RepCounter",
        "description": "Counts your squats and push-ups and tells you how to fix your form.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "background_color": BACKGROUND,
        "theme_color": THEME_COLOUR,
        "icons": [
            _icon("icon-192", 192, "any"),
            _icon("icon-512", 512, "any"),
            _icon("maskable-512", 512, "maskable"),
        ],
    }
    return Response(jsonout.dumps(body), mimetype="application/manifest+json")


def _icon(name: str, size: int, purpose: str) -> dict:
    src = url_for("static", filename=f"icons/{name}.png")
    return {"src": src, "sizes": f"{size}x{size}", "type": "image/png", "purpose": purpose}


def settings_schema() -> Markup:
    """The settings' JSON schema for the page, fields in the order the models declare them
    (the API's JSON answers sort their keys), escaped for a <script type="application/json">."""
    return htmlsafe_json_dumps(config.Settings.model_json_schema(), dumps=jsonout.dumps)
