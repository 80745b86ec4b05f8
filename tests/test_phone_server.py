"""The server side of the phone's flows: the camera's health warning, logout and login
redirects (never an /api/ address), the web app manifest, and `repcounter password`."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest

from device.cli import main
from device.daemon import config
from device.daemon.health import camera as camera_warnings
from web_ui.app import create_app
from web_ui.auth import Credentials

PASSWORD = "squat-rack-42"


@pytest.mark.parametrize(
    ("state", "expected"),
    [("ok", None), ("starting", None), ("stopped", None),
     ("missing", "No camera found."), ("reconnecting", "reconnecting"),
     ("ended", "The video has ended.")],
)  # fmt: skip
def test_camera_warning_says_what_is_wrong_and_what_to_do(state: str, expected) -> None:
    warnings = camera_warnings({"state": state, "error": "no camera found: tried /dev/video0"})
    if expected is None:
        assert warnings == []
        return
    [warning] = warnings
    assert warning["kind"] == "camera" and expected in warning["message"]
    assert "Settings → Camera" in warning["fix"] or "resumes by itself" in warning["fix"]


def test_no_camera_is_said_once() -> None:
    """The capture error that repeats the headline is left out; one that adds a cause stays,
    as a detail apart from the short headline."""
    [same] = camera_warnings(
        {"state": "missing", "error": "no camera found: connect the Pi camera or a USB webcam"}
    )
    assert same["message"] == "No camera found." and "detail" not in same
    text = f"{same['message']} {same['fix']}".lower()
    assert text.count("no camera found") == 1 and text.count("usb webcam") == 1
    [other] = camera_warnings({"state": "missing", "error": "/dev/video2 does not exist"})
    assert other["message"] == "No camera found."
    assert other["detail"] == "/dev/video2 does not exist"


@pytest.fixture
def browser(tmp_path):
    """A Flask test client of the app with a stand-in daemon (the pages here need none)."""
    app = create_app(SimpleNamespace(settings=config.Settings()), tmp_path / "auth.json")
    return app.test_client()


def _token(client, path: str) -> str:
    page = client.get(path).data.decode()
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def test_logout_and_login_land_on_pages_not_on_the_api(browser) -> None:
    token = _token(browser, "/setup")
    assert 'action="/setup"' in browser.get("/setup").data.decode()
    done = browser.post("/setup", data={"csrf_token": token, "password": PASSWORD,
                                        "confirm": PASSWORD})  # fmt: skip
    assert done.headers["Location"] == "/welcome", "first run goes on to the setup guide"
    assert browser.get("/login").headers["Location"] == "/", "logged in: /login is the live page"
    token = _token(browser, "/settings")
    assert 'action="/logout"' in browser.get("/settings").data.decode()
    out = browser.post("/logout", data={"csrf_token": token})
    assert out.status_code == 302 and out.headers["Location"] == "/login"
    # A wrong password re-renders the form, which still posts to /login (not /api/login).
    token = _token(browser, "/login")
    wrong = browser.post("/login", data={"csrf_token": token, "password": "wrong password"})
    assert wrong.status_code == 401 and 'action="/login"' in wrong.data.decode()


def test_manifest_is_served_without_a_login(browser) -> None:
    answer = browser.get("/manifest.webmanifest")
    assert answer.status_code == 200 and answer.mimetype == "application/manifest+json"
    manifest = json.loads(answer.data)
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    for icon in manifest["icons"]:
        assert browser.get(icon["src"]).status_code == 200, icon


def test_password_command_sets_a_new_password(tmp_path, monkeypatch, capsys) -> None:
    Credentials(tmp_path / "auth.json").set_password("the old password")
    monkeypatch.setattr("sys.stdin", io.StringIO("the new password\n"))
    assert main(["password", "--data-dir", str(tmp_path), "--stdin"]) == 0
    assert "Restart the service" in capsys.readouterr().out
    credentials = Credentials(tmp_path / "auth.json")
    assert credentials.check("the new password") and not credentials.check("the old password")


def test_password_command_refuses_a_short_password_or_a_missing_folder(
    tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["password", "--data-dir", str(tmp_path), "--stdin"]) == 2
    assert "8 to 256 characters" in capsys.readouterr().err
    assert not (tmp_path / "auth.json").exists(), "nothing written"
    assert main(["password", "--data-dir", str(tmp_path / "absent"), "--stdin"]) == 2
    assert "does not exist" in capsys.readouterr().err
