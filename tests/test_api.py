"""The HTTP API on a running daemon (stand-in model and exercise engine, a generated clip):
first run, login, CSRF, Host check, settings, history, SSE, MJPEG, and hostile requests."""

from __future__ import annotations

import http.client
import json
import os
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest

from device.bench.api_client import ApiClient
from device.capture.runner import Backoff
from device.daemon import config, http_server, service
from device.daemon.service import Daemon
from tests.test_serve_pipeline import FakePose, FakeTracker
from tests.waiting import wait_until

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "moving.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (160, 120))
    for i in range(30):
        frame = np.zeros((120, 160, 3), np.uint8)
        cv2.circle(frame, (20 + 4 * i, 60), 10, (0, 255, 0), -1)
        writer.write(frame)
    writer.release()
    return path


LOOPBACK = {"host": "127.0.0.1", "port": 0}  # any free port


@contextmanager
def serve(
    data_dir: Path,
    clip: Path,
    settings: config.Settings | None,
    address: dict | None = None,
    pose: object | None = None,
    tracker: Callable | None = None,
) -> Iterator[Daemon]:
    """A running daemon with the stand-in model and exercise engine (or the ones given) on
    address (default LOOPBACK; {} for the settings' address); settings None: the data folder's
    settings file as it is."""
    if settings is not None:
        config.save(settings, data_dir / "settings.toml")
    daemon = Daemon(
        data_dir,
        source=str(clip),
        pose_factory=lambda _: pose or FakePose(),
        tracker_factory=tracker or (lambda rules, mode: FakeTracker(rules, mode, every=15)),
        backoff=lambda: Backoff(0.05, 0.1),
        **(LOOPBACK if address is None else address),
    )
    daemon.start()
    stop = threading.Event()
    supervisor = threading.Thread(target=daemon.run, args=(stop,))
    supervisor.start()
    try:
        yield daemon
    finally:
        stop.set()
        supervisor.join(5)
        daemon.shutdown()


@pytest.fixture
def daemon(tmp_path, clip):
    settings = config.Settings(camera={"file_loop": True}, server={"threads": 8})
    with serve(tmp_path, clip, settings) as daemon:
        yield daemon


def logged_in_client(daemon):
    client = daemon.app.test_client()
    token = client.get("/api/auth").json["csrf_token"]
    answer = client.post("/api/setup", json={"password": PASSWORD}, headers={"X-CSRF-Token": token})
    assert answer.status_code == 200, answer.json
    return client, answer.json["csrf_token"]


def test_first_run_sets_a_hashed_password_and_logs_in(daemon):
    client = daemon.app.test_client()
    assert client.get("/").headers["Location"].endswith("/setup")
    denied = client.get("/api/state")
    assert denied.status_code == 403 and denied.json["field"] == "password"
    page = client.get("/setup")
    assert b'name="csrf_token"' in page.data
    token = client.get("/api/auth").json["csrf_token"]
    assert client.post("/api/setup", json={"password": PASSWORD}).status_code == 403  # no CSRF
    short = client.post("/api/setup", json={"password": "short"}, headers={"X-CSRF-Token": token})
    assert short.status_code == 400 and short.json["field"] == "password"
    done = client.post("/api/setup", json={"password": PASSWORD}, headers={"X-CSRF-Token": token})
    assert done.status_code == 200
    assert client.get("/api/state").status_code == 200
    auth_file = daemon.data_dir / "auth.json"
    stored = json.loads(auth_file.read_text())
    assert PASSWORD not in auth_file.read_text() and stored["password_hash"].startswith("scrypt:")
    assert oct(auth_file.stat().st_mode & 0o777) == "0o600"
    again = client.post(
        "/api/setup",
        json={"password": "another password"},
        headers={"X-CSRF-Token": done.json["csrf_token"]},
    )
    assert again.status_code == 409  # the first-run step cannot be replayed


def test_form_setup_and_login_pages(daemon):
    browser = daemon.app.test_client()
    page = browser.get("/setup").data.decode()
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    differ = browser.post(
        "/setup", data={"csrf_token": token, "password": PASSWORD, "confirm": "x" * 9}
    )
    assert differ.status_code == 400 and "The passwords differ" in differ.data.decode()
    short = browser.post(
        "/setup", data={"csrf_token": token, "password": "short", "confirm": "short"}
    )
    assert short.status_code == 400 and short.mimetype == "text/html"  # the page, not raw JSON
    assert "Password must be 8 to 256 characters" in short.data.decode()
    done = browser.post(
        "/setup", data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD}
    )
    assert done.status_code == 302 and done.headers["Location"] == "/welcome"  # first run
    assert browser.get("/").status_code == 200
    other = daemon.app.test_client()
    assert other.get("/").headers["Location"].endswith("/login")
    login_page = other.get("/login").data.decode()
    token = login_page.split('name="csrf_token" value="')[1].split('"')[0]
    assert (
        other.post("/login", data={"csrf_token": token, "password": "wrong password"}).status_code
        == 401
    )
    assert other.post("/login", data={"csrf_token": token, "password": PASSWORD}).status_code == 302
    assert other.get("/api/settings").status_code == 200


def test_login_lockout_shows_the_page_to_a_browser(daemon):
    logged_in_client(daemon)
    browser = daemon.app.test_client()
    page = browser.get("/login").data.decode()
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    wrong = {"csrf_token": token, "password": "wrong password"}
    statuses = [browser.post("/login", data=wrong).status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    locked = browser.post("/login", data=wrong)
    assert locked.mimetype == "text/html" and "Too many wrong passwords" in locked.data.decode()
    assert int(locked.headers["Retry-After"]) > 0


def test_nothing_private_without_login(daemon):
    logged_in_client(daemon)
    stranger = daemon.app.test_client()
    for path in (
        "/api/settings",
        "/api/preview.mjpeg",
        "/api/preview.jpg",
        "/api/events",
        "/api/export",
    ):
        answer = stranger.get(path)
        assert answer.status_code == 401 and answer.json["error"] == "login required", path


def test_wrong_passwords_are_throttled(daemon):
    logged_in_client(daemon)
    client = daemon.app.test_client()
    token = client.get("/api/auth").json["csrf_token"]
    codes = [
        client.post(
            "/api/login", json={"password": f"guess {i:04}"}, headers={"X-CSRF-Token": token}
        ).status_code
        for i in range(7)
    ]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]


def test_settings_apply_live_or_restart_the_pipeline(daemon):
    client, token = logged_in_client(daemon)
    headers = {"X-CSRF-Token": token}
    answer = client.put("/api/settings", json={"workout": {"set_idle_s": 45}}, headers=headers)
    assert answer.status_code == 200 and answer.json["changed"] == ["workout"]
    assert daemon.workout.set_idle_s == 45
    assert config.load(daemon.settings_path).workout.set_idle_s == 45
    pipeline = daemon.pipeline
    answer = client.put(
        "/api/settings", json={"exercise": {"min_pose_score": 0.3}}, headers=headers
    )
    assert answer.json["changed"] == ["exercise"] and daemon.pipeline is pipeline
    assert daemon.pipeline.tracker.rules.min_pose_score == 0.3  # live, same tracker
    answer = client.patch("/api/settings", json={"camera": {"fps": 15}}, headers=headers)
    assert answer.json["changed"] == ["camera"] and daemon.pipeline is not pipeline  # restarted
    answer = client.put("/api/settings", json={"server": {"port": 9999}}, headers=headers)
    assert answer.json["restart_required"] == ["server"]
    check = client.post("/api/settings/validate", json={"camera": {"fps": 99}}, headers=headers)
    assert check.status_code == 422 and check.json["field"] == "camera.fps"
    check = client.post("/api/settings/validate", json={"camera": {"fps": 20}}, headers=headers)
    assert check.status_code == 200 and check.json["settings"]["camera"]["fps"] == 20
    assert config.load(daemon.settings_path).camera.fps == 15  # validate saves nothing
    schema = client.get("/api/settings/schema").json
    assert "camera" in schema["properties"]


def test_private_answers_are_not_cached_and_numpy_values_encode(daemon):
    client, _ = logged_in_client(daemon)
    for path in ("/", "/history", "/settings", "/api/state", "/api/export", "/api/health"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    assert client.get("/static/js/api.js").headers.get("Cache-Control") != "no-store"
    assert json.loads(daemon.app.json.dumps({"ok": np.bool_(True), "xy": np.zeros(2)})) == {
        "ok": True,
        "xy": [0.0, 0.0],
    }


def test_history_state_health_and_export(daemon):
    client, _ = logged_in_client(daemon)
    with daemon.bus.subscribe({"rep"}) as reps:
        assert reps.get(10) is not None
    sessions = client.get("/api/sessions").json["sessions"]
    assert sessions and sessions[0]["reps"] >= 1
    detail = client.get(f"/api/sessions/{sessions[0]['id']}").json
    set_id = detail["sets"][0]["id"]
    found = client.get(f"/api/sets/{set_id}").json
    assert found["reps"][0]["exercise"] == "squat"
    # the set in plain words, from its reps' cues (device/exercise/coaching.py)
    assert found["summary"] and all(isinstance(line, str) for line in found["summary"])
    assert client.get(f"/api/reps?set_id={set_id}").json["reps"]
    assert client.get("/api/totals?period=week").json["totals"][0]["reps"] >= 1
    csv_export = client.get("/api/export?format=csv")
    assert csv_export.mimetype == "text/csv" and b"session_id,set_id" in csv_export.data
    assert json.loads(client.get("/api/export?format=json").data)["reps"]
    health = client.get("/api/health").json
    assert health["camera"]["state"] == "ok" and health["backend"]["accelerator"] == "cpu"
    assert health["fps"] > 0 and health["latency_ms"]["p50"] is not None
    assert health["disk"]["free_bytes"] > 0 and health["uptime_s"] > 0
    state = client.get("/api/state").json
    assert state["set"]["exercise"] == "squat"
    assert client.get("/api/preview.jpg").data[:2] == b"\xff\xd8"


def _snapshot(daemon) -> tuple:
    db = sqlite3.connect(daemon.data_dir / "history.sqlite3")
    reps = db.execute("SELECT count(*) FROM reps").fetchone()[0]
    db.close()
    return daemon.settings_path.read_bytes(), (daemon.data_dir / "auth.json").read_bytes(), reps


def test_malformed_and_hostile_requests_change_nothing(daemon):
    client, token = logged_in_client(daemon)
    daemon.pipeline.stop()  # freeze the history so "unchanged" is exact
    config.save(daemon.settings, daemon.settings_path)
    before = _snapshot(daemon)
    good = {"X-CSRF-Token": token}
    as_json = {**good, "Content-Type": "application/json"}
    deep = "[" * 20000 + "]" * 20000
    cases = [
        ("PUT", "/api/settings", {"data": "{bad json", "headers": as_json}, 400, "body"),
        ("PUT", "/api/settings", {"data": "[1, 2]", "headers": as_json}, 400, "body"),
        ("PUT", "/api/settings", {"data": '"text"', "headers": as_json}, 400, "body"),
        ("PUT", "/api/settings", {"data": "", "headers": as_json}, 400, "body"),
        ("PUT", "/api/settings", {"data": deep, "headers": as_json}, 400, "body"),
        (
            "PUT",
            "/api/settings",
            {"data": '{"workout": {"set_idle_s": NaN}}', "headers": as_json},
            400,
            "body",
        ),
        (
            "PUT",
            "/api/settings",
            {"data": '{"workout": {"set_idle_s": Infinity}}', "headers": as_json},
            400,
            "body",
        ),
        ("PUT", "/api/settings", {"data": "camera.width=1", "headers": good}, 415, "body"),
        (
            "PUT",
            "/api/settings",
            {"json": {"camera": {"width": "wide"}}, "headers": good},
            422,
            "camera.width",
        ),
        (
            "PUT",
            "/api/settings",
            {"json": {"camera": {"width": 10**12}}, "headers": good},
            422,
            "camera.width",
        ),
        (
            "PUT",
            "/api/settings",
            {"json": {"camera": {"width": True}}, "headers": good},
            422,
            "camera.width",
        ),
        (
            "PUT",
            "/api/settings",
            {"json": {"camera": {"fps": "30"}}, "headers": good},
            422,
            "camera.fps",
        ),
        (
            "PUT",
            "/api/settings",
            {"json": {"camera": {"source": "a\u0000b"}}, "headers": good},
            422,
            "camera.source",
        ),
        (
            "PUT",
            "/api/settings",
            {"json": {"camera": {"source": ""}}, "headers": good},
            422,
            "camera.source",
        ),
        (
            "PUT",
            "/api/settings",
            {"json": {"camera": {"source": "x" * 5000}}, "headers": good},
            422,
            "camera.source",
        ),
        ("PUT", "/api/settings", {"json": {"camera": "picamera"}, "headers": good}, 422, "camera"),
        (
            "PUT",
            "/api/settings",
            {"json": {"camera": {"evil": 1}}, "headers": good},
            422,
            "camera.evil",
        ),
        ("PUT", "/api/settings", {"json": {"__class__": {}}, "headers": good}, 422, "__class__"),
        (
            "PUT",
            "/api/settings",
            {"json": {"model": {"accelerator": "gpu"}}, "headers": good},
            422,
            "model.accelerator",
        ),
        (
            "PUT",
            "/api/settings",
            {"json": {"model": {"threads": -1}}, "headers": good},
            422,
            "model.threads",
        ),
        (
            "PUT",
            "/api/settings",
            {"json": {"server": {"host": "evil.com"}}, "headers": good},
            422,
            "server.host",
        ),
        (
            "PUT",
            "/api/settings",
            {"json": {"server": {"allowed_hosts": "evil.com"}}, "headers": good},
            422,
            "server.allowed_hosts",
        ),
        (
            "PUT",
            "/api/settings",
            {"json": {"server": {"allowed_hosts": ["a b"]}}, "headers": good},
            422,
            "server.allowed_hosts",
        ),
        (
            "PUT",
            "/api/settings",
            {"json": {"exercise": {"min_pose_score": 2}}, "headers": good},
            422,
            "exercise.min_pose_score",
        ),
        (
            "PUT",
            "/api/settings",
            {"json": {"workout": {"mode": "deadlift"}}, "headers": good},
            422,
            "workout.mode",
        ),
        (
            "PUT",
            "/api/settings",
            {"json": {"workout": {"set_idle_s": 1}}, "headers": good},
            422,
            "workout.set_idle_s",
        ),
        ("PUT", "/api/settings", {"data": "x" * 200_000, "headers": as_json}, 413, "body"),
        ("PUT", "/api/settings", {"json": {"workout": {"set_idle_s": 30}}}, 403, "X-CSRF-Token"),
        (
            "PUT",
            "/api/settings",
            {"json": {"workout": {"set_idle_s": 30}}, "headers": {"X-CSRF-Token": "forged"}},
            403,
            "X-CSRF-Token",
        ),
        (
            "PUT",
            "/api/settings",
            {
                "json": {"workout": {"set_idle_s": 30}},
                "headers": {**good, "Origin": "http://evil.example"},
            },
            403,
            "Origin",
        ),
        (
            "PUT",
            "/api/settings",
            {"json": {"workout": {"set_idle_s": 30}}, "headers": {**good, "Host": "evil.example"}},
            400,
            "Host",
        ),
        (
            "GET",
            "/api/settings",
            {"headers": {"Host": "repcounter.attacker.example:8080"}},
            400,
            "Host",
        ),
        ("GET", "/api/settings", {"headers": {"Host": ""}}, 400, "Host"),
        ("POST", "/api/settings/validate", {"data": "{", "headers": as_json}, 400, "body"),
        ("DELETE", "/api/settings", {"headers": good}, 405, None),
        ("POST", "/api/logout", {}, 403, "X-CSRF-Token"),
        (
            "POST",
            "/api/setup",
            {"json": {"password": "new password 1"}, "headers": good},
            409,
            "password",
        ),
        (
            "POST",
            "/api/password",
            {"json": {"current": "wrong pass", "new": "new password 1"}, "headers": good},
            401,
            "current",
        ),
        (
            "POST",
            "/api/password",
            {"json": {"current": PASSWORD, "new": 12345678}, "headers": good},
            400,
            "new",
        ),
        ("GET", "/api/sessions/../../etc/passwd", {}, 404, None),
        ("GET", "/api/sessions/%2e%2e%2f%2e%2e%2fetc%2fpasswd", {}, 404, None),
        ("GET", "/api/sets/-1", {}, 404, None),
        ("GET", "/api/sets/999999", {}, 404, "set_id"),
        ("GET", f"/api/sessions/{2**63 - 1}", {}, 404, "session_id"),
        ("GET", f"/api/sessions/{2**63}", {}, 404, None),  # past SQLite's INTEGER
        ("GET", f"/api/sets/{10**30}", {}, 404, None),
        ("GET", "/static/../../../../etc/passwd", {}, 404, None),
        ("GET", "/api/export?format=../../etc/passwd", {}, 400, "format"),
        ("GET", "/api/totals?period=year", {}, 400, "period"),
        ("GET", "/api/sessions?limit=-5", {}, 400, "limit"),
        ("GET", "/api/sessions?limit=1;DROP TABLE reps", {}, 400, "limit"),
        ("GET", f"/api/sessions?offset={10**30}", {}, 400, "offset"),
        ("GET", "/api/reps?since=nan", {}, 400, "since"),
        ("GET", "/api/events?kinds=rep,secrets", {}, 400, "kinds"),
    ]
    assert len(cases) >= 50
    for method, path, kwargs, status, field in cases:
        answer = client.open(path, method=method, **kwargs)
        assert answer.status_code == status, (method, path, answer.status_code, answer.data[:200])
        assert answer.is_json and answer.json["error"], (method, path)
        if field is not None:
            assert answer.json["field"] == field, (method, path, answer.json)
    assert _snapshot(daemon) == before
    assert client.get("/api/settings").status_code == 200  # still logged in, still working


def test_real_server_rejects_bad_host_and_huge_bodies(daemon):
    client = ApiClient("127.0.0.1", daemon.port)
    client.log_in(PASSWORD)
    status, _, body = client.request("GET", "/api/health", headers={"Host": "evil.example"})
    assert status == 400 and json.loads(body)["field"] == "Host"
    # A body over the server's limit is refused from its headers alone, before any is read.
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as raw:
        raw.sendall(
            b"PUT /api/settings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Cookie: repcounter_session=" + client.cookie.encode() + b"\r\n"
            b"X-CSRF-Token: "
            + client.csrf.encode()
            + b"\r\nContent-Length: %d\r\n\r\n{" % (http_server.BODY_MAX + 1)
        )
        raw.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ") and b"Content-Type: application/json" in head
    assert json.loads(body)["field"] == "body"
    assert client.json("GET", "/api/health")[0] == 200


def test_sse_and_mjpeg_over_http(daemon):
    client = ApiClient("127.0.0.1", daemon.port)
    client.log_in(PASSWORD)
    kinds = set()
    for kind, data in client.events():
        kinds.add(kind)
        if kind == "rep":
            assert data["exercise"] == "squat" and data["set"]["reps"] >= 1
        if {"rep", "pose", "state", "health", "cue"} <= kinds:
            break
    connection = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=10)
    connection.request(
        "GET", "/api/preview.mjpeg", headers={"Cookie": f"repcounter_session={client.cookie}"}
    )
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("multipart/x-mixed-replace")
    head = response.read(200)
    assert b"--frame\r\nContent-Type: image/jpeg" in head and b"\xff\xd8" in head
    connection.close()


def test_stream_clients_are_capped_and_released(daemon):
    client = ApiClient("127.0.0.1", daemon.port)
    client.log_in(PASSWORD)
    limit = daemon.app.extensions["stream_slots"].limit
    streams = []
    for _ in range(limit):
        connection = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=10)
        connection.request(
            "GET",
            "/api/events?kinds=health",
            headers={"Cookie": f"repcounter_session={client.cookie}"},
        )
        response = connection.getresponse()
        assert response.status == 200
        response.fp.readline()
        streams.append(response)
    assert client.request("GET", "/api/events")[0] == 503
    assert client.json("GET", "/api/health")[0] == 200  # the API still answers
    for response in streams:
        response.close()
    released = threading.Event()

    def poll():
        for _ in range(100):
            if daemon.bus.subscriber_count == 0:
                released.set()
                return
            threading.Event().wait(0.1)

    poll()  # a closed client is noticed at its next write (health events come every second)
    assert released.is_set()
    assert os.path.exists(daemon.settings_path)


def test_health_warns_while_too_few_frames_are_processed(daemon, monkeypatch):
    monkeypatch.setattr(service, "LOW_FPS_HOLD_S", 0.5)
    client, token = logged_in_client(daemon)
    headers = {"X-CSRF-Token": token}

    def fps_warnings() -> list[dict]:
        health = client.get("/api/health").json
        return [w for w in health["warnings"] if w["kind"] == "fps"]

    # The clip plays at 30 fps: under a 60 fps minimum, over a 1 fps one.
    assert client.patch("/api/settings", json={"exercise": {"min_fps": 60.0}}, headers=headers)
    assert wait_until(lambda: fps_warnings() != [])
    warning = fps_warnings()[0]
    assert "miss fast reps" in warning["message"] and "int8" in warning["fix"]
    assert client.get("/api/health").json["status"] == "degraded"
    assert client.patch("/api/settings", json={"exercise": {"min_fps": 1.0}}, headers=headers)
    assert wait_until(lambda: fps_warnings() == [])
