"""The attacks of issue 9 replayed against a running daemon, from 127.0.0.0/8 only: a LAN
visitor guessing passwords from many addresses, holding idle sockets, keeping a copied cookie
after logout, racing the first-run setup; a clumsy owner saving settings that would brick the
device or leaving a broken settings file."""

from __future__ import annotations

import csv
import gc
import http.client
import io
import json
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from device.bench.api_client import ApiClient
from device.bench.bench_history import fill
from device.bench.bench_serve import spawn_serve
from device.daemon import config, service
from device.daemon import health as health_module
from device.daemon.clock import ClockWatch
from device.daemon.http_server import FIRST_REQUEST_S, PER_ADDRESS, STALL_S
from device.daemon.mqtt import today_reps
from device.exercise.types import Rep
from device.history.export import FORMULA_START, csv_cell
from device.history.store import RepRecord, Store
from device.history.workout import Workout
from tests.test_api import PASSWORD, clip, daemon, logged_in_client, serve  # noqa: F401
from tests.waiting import wait_until
from web_ui import throttle as throttle_module
from web_ui.auth import DEVICE_COOKIE
from web_ui.logins import LoginStore
from web_ui.streams import PER_ADDRESS as PER_ADDRESS_STREAMS
from web_ui.streams import PER_LOGIN as PER_LOGIN_STREAMS
from web_ui.throttle import FAILURES_BEFORE_LOCK, GLOBAL_FAILURES, LOCK_S, HashBusy, Hasher

FLOOD_S = 5.0
EXPORT_RSS_MIB = 20
MEASURE_S = 3.0


def _frames(client: ApiClient) -> int:
    status, health = client.json("GET", "/api/health")
    assert status == 200, health
    return health["frames_processed"]


def _fps(client: ApiClient, seconds: float) -> float:
    start, t0 = _frames(client), time.monotonic()
    time.sleep(seconds)
    return (_frames(client) - start) / (time.monotonic() - t0)


def test_wrong_password_flood_does_not_stall_the_counting(shared_data, tmp_path):
    """10 threads guess passwords from 200 loopback addresses for FLOOD_S while the real model
    counts a looping clip in its own process. What is asserted is the mechanism: at most
    GLOBAL_FAILURES password hashes run, every other guess gets an immediate 429. The processed
    fps around the flood is printed (the issue's aim: >= 80% of its value around the flood) and
    asserted only against a stall: >= 50% (before the fix it fell to 36%). A timed threshold
    tighter than that fails on a busy 2-core machine whatever the code does. The guessing
    threads run at nice 19, standing in for a visitor on another machine. (The issue's run
    lasted 15 s; 5 s keeps the file under a minute, and the lockout reaches its steady state,
    every answer a 429, within the first second.)"""
    data_dir = tmp_path / "data"
    settings = config.Settings(camera={"file_loop": True})
    config.save(settings, data_dir / "settings.toml")
    clip_path = shared_data / "clips" / "darebee_squat.mp4"
    process, port = spawn_serve(clip_path, data_dir, tmp_path / "serve.log")
    try:
        owner = ApiClient("127.0.0.1", port)
        owner.log_in(PASSWORD)
        assert wait_until(lambda: _frames(owner) > 30, 30)
        before = _fps(owner, MEASURE_S)
        statuses: list[int] = []
        stop = threading.Event()

        def guess(thread: int) -> None:
            # The attacker is another machine on the LAN: here its threads share this machine's
            # 2 cores, so they run at the lowest priority and only the daemon's own cost of
            # answering them is measured (Linux nice values are per thread).
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
            addresses = [f"127.0.{1 + thread}.{i}" for i in range(1, 21)]
            clients = [ApiClient("127.0.0.1", port, source=a) for a in addresses]
            for client in clients:
                client.csrf = client.json("GET", "/api/auth")[1]["csrf_token"]
            n = 0
            while not stop.is_set():
                client = clients[n % len(clients)]
                status, _ = client.json("POST", "/api/login", {"password": f"guess {n:06}"})
                statuses.append(status)
                n += 1

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(10)]
        for thread in threads:
            thread.start()
        time.sleep(FLOOD_S - MEASURE_S)
        during = _fps(owner, MEASURE_S)
        stop.set()
        for thread in threads:
            thread.join(10)
        after = _fps(owner, MEASURE_S)
    finally:
        process.terminate()
        process.wait(15)
    print(
        f"fps before {before:.1f}, during the flood {during:.1f}, after {after:.1f}; "
        f"answers {len(statuses)}, of which 401 (a hash ran): {statuses.count(401)}"
    )
    assert statuses.count(401) <= GLOBAL_FAILURES  # hashes actually run on wrong passwords
    assert set(statuses) <= {401, 429} and statuses.count(429) > 100
    # The reference brackets the flood (mean of just before and just after), so that a drift
    # of the machine's other load during the test does not count as the flood's cost.
    reference = (before + after) / 2
    assert reference > 0 and during >= 0.5 * reference, (before, during, after)


def test_idle_sockets_cannot_lock_the_owner_out(daemon):  # noqa: F811
    owner = ApiClient("127.0.0.1", daemon.port)
    owner.log_in(PASSWORD)
    spread = [
        socket.create_connection(("127.0.0.1", daemon.port), source_address=(f"127.0.9.{i}", 0))
        for i in range(1, 201)
    ]  # 200 idle sockets from 200 addresses
    one = [
        socket.create_connection(("127.0.0.1", daemon.port), source_address=("127.0.8.1", 0))
        for _ in range(200)
    ]  # and 200 from a single address
    t0 = time.monotonic()
    assert owner.json("GET", "/api/health")[0] == 200
    elapsed = time.monotonic() - t0
    print(f"owner's /api/health with 400 idle sockets open: {elapsed * 1000:.0f} ms")
    assert elapsed < 2.0
    for sock in spread + one:
        sock.settimeout(FIRST_REQUEST_S + 5)

    def closed(sock: socket.socket) -> bool:
        try:
            return sock.recv(1) == b""
        except ConnectionResetError:
            return True

    # Past the per-address cap the sockets are closed at once; the rest within the timeout.
    assert sum(closed(sock) for sock in one[PER_ADDRESS:]) == 200 - PER_ADDRESS
    assert all(closed(sock) for sock in spread + one[:PER_ADDRESS])
    for sock in spread + one:
        sock.close()
    assert owner.json("GET", "/api/health")[0] == 200


def test_logout_revokes_the_cookie_on_the_server(daemon):  # noqa: F811
    owner = ApiClient("127.0.0.1", daemon.port)
    owner.log_in(PASSWORD)
    thief = ApiClient("127.0.0.1", daemon.port)
    thief.cookie, thief.csrf = owner.cookie, owner.csrf  # a copied cookie
    assert thief.json("GET", "/api/state")[0] == 200
    stream_ended = threading.Event()

    def watch_live() -> None:
        for _ in thief.events("health"):
            pass
        stream_ended.set()

    threading.Thread(target=watch_live, daemon=True).start()
    assert wait_until(lambda: daemon.bus.subscriber_count == 1)
    assert owner.json("POST", "/api/logout")[0] == 200
    assert stream_ended.wait(5)  # an open live stream ends with its login
    assert thief.json("GET", "/api/state")[0] == 401
    patch = thief.json("PATCH", "/api/settings", {"workout": {"set_idle_s": 99}})
    assert patch[0] == 401 and daemon.settings.workout.set_idle_s != 99
    # Log out everywhere: one phone ends every login.
    phones = [ApiClient("127.0.0.1", daemon.port) for _ in range(2)]
    for phone in phones:
        phone.log_in(PASSWORD)
    stranger = ApiClient("127.0.0.1", daemon.port)
    stranger.csrf = stranger.json("GET", "/api/auth")[1]["csrf_token"]
    assert stranger.json("POST", "/api/logout?everywhere=1")[0] == 401  # needs a login
    assert phones[1].json("GET", "/api/state")[0] == 200
    assert phones[0].json("POST", "/api/logout?everywhere=1")[0] == 200
    assert phones[1].json("GET", "/api/state")[0] == 401
    assert json.loads((daemon.data_dir / "logins.json").read_text()) == {}  # on disk too


def test_login_lifetimes_idle_and_absolute(tmp_path):
    now = [1_000_000.0]
    store = LoginStore(tmp_path / "logins.json", lambda: (10 * 86400, 30 * 86400), lambda: now[0])
    login = store.create("pw")
    for _ in range(3):  # used every 9 days: the idle expiry slides...
        now[0] += 9 * 86400
        assert store.valid(login, "pw")
    now[0] += 4 * 86400  # ...but not past the absolute lifetime (31 days)
    assert not store.valid(login, "pw")
    idle = store.create("pw")
    now[0] += 11 * 86400
    assert not store.valid(idle, "pw")
    fresh = store.create("pw")
    assert not store.valid(fresh, "another password")  # made under another password
    reopened = LoginStore(
        tmp_path / "logins.json", lambda: (10 * 86400, 30 * 86400), lambda: now[0]
    )
    assert reopened.valid(fresh, "pw")  # survives a restart


def test_concurrent_setup_has_one_winner(daemon):  # noqa: F811
    clients = [ApiClient("127.0.0.1", daemon.port) for _ in range(2)]
    for client in clients:
        client.csrf = client.json("GET", "/api/auth")[1]["csrf_token"]
    barrier = threading.Barrier(2)
    statuses = [0, 0]

    def set_up(i: int) -> None:
        barrier.wait()
        statuses[i] = clients[i].json("POST", "/api/setup", {"password": f"password {i}"})[0]

    threads = [threading.Thread(target=set_up, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(statuses) == [200, 409]
    winner = statuses.index(200)
    ApiClient("127.0.0.1", daemon.port).log_in(f"password {winner}")  # the winner's works
    with pytest.raises(RuntimeError, match="401"):
        ApiClient("127.0.0.1", daemon.port).log_in(f"password {1 - winner}")


def test_lockout_counts_concurrent_and_locked_attempts():
    now = [100.0]
    throttle = throttle_module.Throttle(lambda: now[0])
    assert all(throttle.reserve("a") == 0 for _ in range(FAILURES_BEFORE_LOCK))  # in flight
    assert throttle.reserve("a") > 0  # a sixth concurrent attempt is refused
    for _ in range(FAILURES_BEFORE_LOCK):
        throttle.release("a", False)
    assert throttle.reserve("a") == pytest.approx(LOCK_S)
    now[0] += LOCK_S / 2
    assert throttle.reserve("a") == pytest.approx(LOCK_S / 2)  # refusals do not reset it
    now[0] += LOCK_S / 2 + 0.1
    assert throttle.reserve("a") == 0  # one guess after the lock...
    throttle.release("a", False)
    assert throttle.reserve("a") == pytest.approx(LOCK_S)  # ...and it is locked again
    # Global: wrong passwords from many addresses lock everyone out.
    others = throttle_module.Throttle(lambda: now[0])
    for i in range(GLOBAL_FAILURES):
        assert others.reserve(f"10.0.0.{i}") == 0
        others.release(f"10.0.0.{i}", False)
    assert others.reserve("10.0.1.1") > 0
    now[0] += throttle_module.GLOBAL_WINDOW_S + 1
    assert others.reserve("10.0.1.1") == 0


def test_hashing_runs_one_at_a_time():
    hasher = Hasher()
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(5)
        return "done"

    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(hasher.run(slow)))
    worker.start()
    assert started.wait(5)
    t0 = time.monotonic()
    with pytest.raises(HashBusy):
        hasher.run(slow)
    assert time.monotonic() - t0 < 0.5  # refused at once, not queued
    release.set()
    worker.join(5)
    assert result == ["done"] and hasher.run(lambda: "next") == "next"


def test_password_change_is_throttled_and_durable(daemon, monkeypatch):  # noqa: F811
    client, token = logged_in_client(daemon)
    headers = {"X-CSRF-Token": token}
    wrong = {"current": "wrong password", "new": "new password 1"}
    codes = [
        client.post("/api/password", json=wrong, headers=headers).status_code for _ in range(6)
    ]
    assert codes == [401] * FAILURES_BEFORE_LOCK + [429]
    daemon.app.extensions["throttle"] = throttle_module.Throttle()  # the owner's address again

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("web_ui.credentials.write_atomic", disk_full)
    change = {"current": PASSWORD, "new": "new password 1"}
    answer = client.post("/api/password", json=change, headers=headers)
    assert answer.status_code == 503 and "nothing changed" in answer.json["error"]
    monkeypatch.undo()
    assert daemon.app.extensions["credentials"].check(PASSWORD)  # still the old one
    assert client.get("/api/state").status_code == 200  # and still logged in


def test_origin_null_is_refused(daemon):  # noqa: F811
    client, token = logged_in_client(daemon)
    answer = client.patch(
        "/api/settings",
        json={"workout": {"set_idle_s": 30}},
        headers={"X-CSRF-Token": token, "Origin": "null"},
    )
    assert answer.status_code == 403 and answer.json["field"] == "Origin"


BAD_SETTINGS = [
    ({"exercise": {"min_rep_s": 30, "max_rep_s": 1}}, "exercise.min_rep_s"),
    ({"exercise": {"min_rep_s": "0.5"}}, "exercise.min_rep_s"),
    ({"exercise": {"min_rep_s": True}}, "exercise.min_rep_s"),
    ({"exercise": {"min_rep_s": 1e308}}, "exercise.min_rep_s"),
    ({"exercise": {"max_gap_s": 1e308}}, "exercise.max_gap_s"),
    ({"exercise": {"upright_deg": 60, "prone_deg": 50}}, "exercise.upright_deg"),
    ({"exercise": {"side_view_deg": 70}}, "exercise.side_view_deg"),
    ({"exercise": {"glitch_filter_s": 1.0}}, "exercise.glitch_filter_s"),
    ({"workout": {"set_idle_s": 300, "session_gap_s": 100}}, "workout.set_idle_s"),
    ({"camera": {"width": 320, "preview_width": 640}}, "camera.preview_width"),
    ({"server": {"preview_fps": 1e-300}}, "server.preview_fps"),
    ({"server": {"login_days": 120}}, "server.login_days"),
    ({"server": {"host": "10.9.9.9"}}, "server.host"),
    ({"server": {"host": "example.com"}}, "server.host"),
    ({"server": {"port": 0}}, "server.port"),
    ({"server": {"port": 80}}, "server.port"),
    ({"server": {"port": 70000}}, "server.port"),
]


def test_each_bad_setting_gets_422_and_changes_nothing(daemon):  # noqa: F811
    client, token = logged_in_client(daemon)
    before = (daemon.settings, daemon.settings_path.read_bytes())
    busy = socket.socket()
    busy.bind(("0.0.0.0", 0))
    busy.listen()
    cases = [*BAD_SETTINGS, ({"server": {"port": busy.getsockname()[1]}}, "server.port")]
    with busy:
        for change, field in cases:
            answer = client.patch("/api/settings", json=change, headers={"X-CSRF-Token": token})
            assert answer.status_code == 422 and answer.json["field"] == field, (
                change,
                answer.json,
            )
    assert (daemon.settings, daemon.settings_path.read_bytes()) == before
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    good = {"server": {"host": "127.0.0.1", "port": port}}
    answer = client.patch("/api/settings", json=good, headers={"X-CSRF-Token": token})
    assert answer.status_code == 200 and answer.json["restart_required"] == ["server"]


def test_broken_settings_file_serves_a_page_in_safe_mode(tmp_path, clip):  # noqa: F811
    broken = b"[camera]\nfps = 500\n[exercise]\nstart_drop = 0.1\n\xff"
    (tmp_path / "settings.toml").write_bytes(broken)
    with serve(tmp_path, clip, None) as safe:
        owner = ApiClient("127.0.0.1", safe.port)
        owner.log_in(PASSWORD)
        status, _, page = owner.request("GET", "/")
        assert status == 200 and b"<html" in page.lower()
        health = owner.json("GET", "/api/health")[1]
        assert health["status"] == "degraded"
        (warning,) = health["warnings"]
        assert warning["kind"] == "safe_mode" and "not UTF-8" in warning["message"]
        moved = list(tmp_path.glob("settings.toml.broken-*"))
        assert [p.read_bytes() for p in moved] == [broken]  # nothing is lost
        assert owner.json("GET", "/api/settings")[1]["safe_mode"]["moved_to"] == moved[0].name
        moved[0].write_bytes(broken[:-1])  # the owner fixes the encoding by hand
        status, restored = owner.json("POST", "/api/settings/restore-broken")
        assert status == 200 and [d["field"] for d in restored["dropped"]] == ["camera.fps"]
        assert safe.settings.exercise.start_drop == 0.1
        assert owner.json("GET", "/api/health")[1]["warnings"] == []
        assert config.load(tmp_path / "settings.toml").exercise.start_drop == 0.1


def test_unbindable_server_settings_fall_back_to_the_last_working_address(tmp_path, clip):  # noqa: F811
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    good_port = free.getsockname()[1]
    free.close()
    (tmp_path / "last_address.json").write_text(
        json.dumps({"host": "127.0.0.1", "port": good_port})
    )
    settings = config.Settings(
        server={"host": "127.0.0.1", "port": 1024}, camera={"file_loop": True}
    )
    config.save(settings, tmp_path / "settings.toml")
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        busy.bind(("127.0.0.1", 1024))  # the saved port is taken by another program
    except OSError:
        pytest.skip("port 1024 is in use here")
    busy.listen()
    with busy, serve(tmp_path, clip, None, address={}) as fallen_back:
        assert fallen_back.port == good_port
        owner = ApiClient("127.0.0.1", good_port)
        owner.log_in(PASSWORD)
        (warning,) = owner.json("GET", "/api/health")[1]["warnings"]
        assert warning["kind"] == "safe_mode" and "127.0.0.1:1024" in warning["message"]


def test_settings_that_cannot_be_saved_change_nothing(daemon, monkeypatch):  # noqa: F811
    client, token = logged_in_client(daemon)
    before = (daemon.settings, daemon.settings_path.read_bytes())

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(config, "write_atomic", disk_full)
    change = {"workout": {"set_idle_s": 45}}
    answer = client.patch("/api/settings", json=change, headers={"X-CSRF-Token": token})
    assert answer.status_code == 503 and "nothing changed" in answer.json["error"]
    assert (daemon.settings, daemon.settings_path.read_bytes()) == before


# --- issue 19: streams that cannot be held -----------------------------------------------------


def _stream(port: int, source: str, cookie: str | None, path: str) -> tuple[socket.socket, int]:
    """A stream request from `source` with a tiny receive buffer, and its status; the caller
    reads nothing more (a phone that stopped reading)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind((source, 0))
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    if cookie:
        head += f"Cookie: repcounter_session={cookie}\r\n"
    sock.sendall((head + "\r\n").encode())
    status_line = sock.recv(12)  # b"HTTP/1.1 200"
    return sock, int(status_line[9:12])


def _spooled_files() -> list[str]:
    """Deleted temporary files this process holds open (waitress spools output to those)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.endswith("(deleted)") and not target.startswith(("/memfd:", "/dev/")):
            found.append(target)
    return found


@pytest.fixture
def roomy_daemon(tmp_path, clip):  # noqa: F811
    """A daemon with 12 stream slots (16 server threads)."""
    settings = config.Settings(camera={"file_loop": True}, server={"threads": 16})
    with serve(tmp_path, clip, settings) as running:
        yield running


def test_one_phone_cannot_take_every_stream(roomy_daemon):
    """Per-login and per-address caps: one login gets PER_LOGIN streams, its address
    PER_ADDRESS, and a phone at another address still gets its live view."""
    port = roomy_daemon.port
    limit = roomy_daemon.app.extensions["stream_slots"].limit
    assert limit > PER_ADDRESS_STREAMS
    phone = ApiClient("127.0.0.1", port, source="127.0.30.1")
    phone.log_in(PASSWORD)
    second = ApiClient("127.0.0.1", port, source="127.0.30.1")
    second.log_in(PASSWORD)
    other = ApiClient("127.0.0.1", port, source="127.0.30.2")
    other.log_in(PASSWORD)
    held = []
    try:
        answers = []
        for i in range(PER_LOGIN_STREAMS + 1):
            path = "/api/events" if i % 2 else "/api/preview.mjpeg"
            sock, status = _stream(port, "127.0.30.1", phone.cookie, path)
            held.append(sock)
            answers.append(status)
        assert answers == [200] * PER_LOGIN_STREAMS + [429]
        answers = []
        for _ in range(PER_ADDRESS_STREAMS - PER_LOGIN_STREAMS + 1):
            sock, status = _stream(port, "127.0.30.1", second.cookie, "/api/events")
            held.append(sock)
            answers.append(status)
        assert answers == [200] * (PER_ADDRESS_STREAMS - PER_LOGIN_STREAMS) + [429]
        sock, status = _stream(port, "127.0.30.2", other.cookie, "/api/events")
        held.append(sock)
        assert status == 200
    finally:
        for sock in held:
            sock.close()


def test_phones_that_stop_reading_give_their_slots_back(roomy_daemon):
    """Every stream slot taken by clients with tiny receive buffers that never read (several
    logins and addresses, so the caps do not stop them): they are dropped once their output
    has waited STALL_S, a new phone gets its live stream within seconds, and nothing is spooled
    to disk. Before issue 19 the slots stayed held for minutes (503 from 17 s to 122 s)."""
    port = roomy_daemon.port
    limit = roomy_daemon.app.extensions["stream_slots"].limit
    spooled_before = set(_spooled_files())  # earlier tests' servers in this process
    held = []
    phones = []
    for i in range((limit + PER_LOGIN_STREAMS - 1) // PER_LOGIN_STREAMS):
        phone = ApiClient("127.0.0.1", port, source=f"127.0.31.{i + 1}")
        phone.log_in(PASSWORD)
        phones.append(phone)
    try:
        for k in range(limit):
            phone = phones[k // PER_LOGIN_STREAMS]
            path = "/api/events" if k % 2 else "/api/preview.mjpeg"
            sock, status = _stream(port, phone.source[0], phone.cookie, path)
            held.append(sock)
            assert status == 200
        newcomer = ApiClient("127.0.0.1", port, source="127.0.32.1")
        newcomer.log_in(PASSWORD)
        sock, status = _stream(port, "127.0.32.1", newcomer.cookie, "/api/events")
        sock.close()
        assert status == 503  # all taken
        t0 = time.monotonic()
        got = None
        while time.monotonic() - t0 < 40 and got != 200:
            time.sleep(0.5)
            assert set(_spooled_files()) <= spooled_before
            sock, got = _stream(port, "127.0.32.1", newcomer.cookie, "/api/events")
            sock.close()
        elapsed = time.monotonic() - t0
        print(f"a new phone's live stream answered {got} after {elapsed:.1f} s")
        assert got == 200 and elapsed < 4 * STALL_S, elapsed
        # every stuck stream is gone, not just one
        assert wait_until(lambda: roomy_daemon.bus.subscriber_count <= 1, 4 * STALL_S)
    finally:
        for sock in held:
            sock.close()


# --- issue 19: exports that cannot hurt -----------------------------------------------------------

FORMULAS = ('=HYPERLINK("http://x.invalid","click")', "+cmd|' /C calc'!A0", "@SUM(1+1)",
            "-2+3+cmd")  # fmt: skip


def test_csv_export_cannot_carry_a_formula(daemon):  # noqa: F811
    """Names and correction reasons that a spreadsheet would run as formulas come out of the
    CSV export with a leading apostrophe (OWASP), and the JSON export keeps them as they are."""
    client = ApiClient("127.0.0.1", daemon.port)
    client.log_in(PASSWORD)
    now = time.time() - 3600
    for k, name in enumerate(FORMULAS):
        status, person = client.json("POST", "/api/people", {"name": name, "colour": "#2e7d32"})
        assert status == 201, person
        _, set_id = daemon.store.add_rep(
            RepRecord("squat", True, now + k * 600, now + k * 600 + 3, 1.0, 1.2, 1.0),
            10_000 - k,  # descending: the daemon numbers its own sets from max(id) + 1
            30.0,
            person["id"],
        )
        status, answer = client.json(
            "POST", f"/api/sets/{set_id}/correction", {"reps": 3, "reason": FORMULAS[-1 - k]}
        )
        assert status == 200, answer
    status, _, body = client.request("GET", "/api/export?format=csv")
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    names = {row["person"] for row in rows}
    reasons = {row["correction_reason"] for row in rows if row["correction_reason"]}
    assert names >= {"'" + name for name in FORMULAS}
    assert reasons == {"'" + reason for reason in FORMULAS}
    for row in rows:
        assert not any(cell.startswith(FORMULA_START) for cell in row.values()), row
    status, _, body = client.request("GET", "/api/export?format=json")
    exported = json.loads(body)
    assert {s["person"] for s in exported["sets"]} >= set(FORMULAS)  # and "Me", counting
    assert [csv_cell(text) for text in ("\tx", "\rx", "a=b", "", None, -2.5)] == [
        "'\tx", "'\rx", "a=b", "", "", -2.5,
    ]  # fmt: skip


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


def test_export_streams_in_bounded_memory(tmp_path, clip):  # noqa: F811
    """The CSV and JSON exports of 5 years of 2 people's history (94,900 reps) over HTTP raise
    the daemon's peak RSS by at most EXPORT_RSS_MIB (the issue: 138 -> 602 MiB before)."""
    data_dir = tmp_path / "data"
    fill(data_dir / "history.sqlite3", 5, 2).close()
    settings = config.Settings(camera={"file_loop": True}, server={"threads": 8})
    with serve(data_dir, clip, settings) as running:
        client = ApiClient("127.0.0.1", running.port, timeout=120)
        client.log_in(PASSWORD)
        for fmt in ("csv", "json"):
            gc.collect()
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")  # resets the peak (VmHWM) to the current RSS
            before = _rss_kib("VmRSS")
            connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=120)
            connection.request(
                "GET",
                f"/api/export?format={fmt}",
                headers={"Cookie": f"repcounter_session={client.cookie}"},
            )
            response = connection.getresponse()
            assert response.status == 200
            size = 0
            while chunk := response.read(1 << 16):
                size += len(chunk)
            connection.close()
            peak = _rss_kib("VmHWM")
            print(f"{fmt}: {size / 1e6:.1f} MB, peak RSS +{(peak - before) / 1024:.1f} MiB")
            assert size > 10_000_000
            assert peak - before < EXPORT_RSS_MIB * 1024, (fmt, before, peak)


# --- issue 19: the person who is training cannot vanish ------------------------------------------


def test_the_person_training_cannot_be_deleted(daemon):  # noqa: F811
    """DELETE of the active person is refused (409, saying to switch first) while switching
    and deleting race from two phones; whoever is deleted, /api/state always names a person
    who exists, and every stored set belongs to someone who exists. Before issue 19 the
    delete answered 200 and training went on for the deleted person."""
    phone = ApiClient("127.0.0.1", daemon.port)
    phone.log_in(PASSWORD)
    other = ApiClient("127.0.0.1", daemon.port)
    other.log_in(PASSWORD)
    _, bo = phone.json("POST", "/api/people", {"name": "Bo", "colour": "#2e7d32"})
    assert phone.json("PUT", "/api/person", {"person_id": bo["id"]})[0] == 200
    status, refused = other.json("DELETE", f"/api/people/{bo['id']}")
    assert status == 409 and "switch to someone else first" in refused["error"], refused
    assert phone.json("GET", "/api/state")[1]["person"]["id"] == bo["id"]
    deleted = 0
    for round_ in range(10):
        _, someone = phone.json("POST", "/api/people", {"name": f"P{round_}", "colour": "#2e7d32"})
        assert phone.json("PUT", "/api/person", {"person_id": someone["id"]})[0] == 200
        answers: list[int] = []

        def switch_to_the_first(answers: list[int] = answers) -> None:
            answers.append(phone.json("PUT", "/api/person", {"person_id": 1})[0])

        switch = threading.Thread(target=switch_to_the_first)
        switch.start()
        status, _ = other.json("DELETE", f"/api/people/{someone['id']}")
        switch.join(10)
        assert status in (200, 409) and answers == [200]
        deleted += status == 200
        state = phone.json("GET", "/api/state")[1]
        assert state["person"] is not None and state["person"]["id"] == 1
    people = {p["id"] for p in phone.json("GET", "/api/people")[1]["people"]}
    assert len(people) == 12 - deleted
    with sqlite3.connect(daemon.store.path) as db:
        owners = {row[0] for row in db.execute("SELECT DISTINCT person_id FROM sets")}
    assert owners <= people


# --- issue 19: a Pi's wrong clock ---------------------------------------------------------------

DAY_S = 86400.0


class Clocks:
    """A wall clock the test steps, and a monotonic clock that only moves forward."""

    def __init__(self, wall: float) -> None:
        self.wall, self.mono = wall, 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def _rep(t_end: float) -> Rep:
    return Rep("squat", True, t_end - 2.0, t_end - 1.0, t_end, 1.0, 1.0, 1.0, ())


def test_a_clock_that_was_ahead_does_not_merge_sessions_or_count_as_today(tmp_path):
    """Counted with the clock at +365 days, then at the real time, +2 and +9 days (the issue's
    run): four sessions, none spanning more than a set, and today's reps are today's only.
    Before issue 19 it was one session spanning a year, and MQTT's "Reps today" counted every
    future-dated rep."""
    real_now = time.time()
    clocks = Clocks(real_now + 365 * DAY_S)
    store = Store(tmp_path / "history.sqlite3")
    workout = Workout(store, 20.0, 1800.0, wall_clock=lambda: clocks.wall)
    t = 0.0
    for offset in (365, 0, 2, 9):
        clocks.wall = real_now - 600 + offset * DAY_S  # NTP (or the owner) sets the clock
        for _ in range(2):
            t += 3.0
            clocks.advance(3.0)
            workout.add_rep(_rep(t))
        workout.end_set()
        t += 100.0
        clocks.advance(100.0)
    sessions = store.sessions()
    assert len(sessions) == 4, sessions
    assert all(s["ended_at"] - s["started_at"] < 3600 for s in sessions), sessions
    today = today_reps(store.path, now=real_now)
    assert today["total"] == 2, today  # the set counted at the real time only
    assert today_reps(store.path, now=real_now + 2 * DAY_S)["total"] == 2


def test_a_clock_stepped_mid_set_either_way(tmp_path):
    """The wall clock steps back an hour, then forward a day, in the middle of sets: each step
    ends the set (the next rep opens a set and a session of its own), and within a set the
    reps stay in order, dated from its first rep on the monotonic clock; a few seconds of
    wall-clock adjustment mid-set change nothing."""
    clocks = Clocks(time.time() - DAY_S)
    store = Store(tmp_path / "history.sqlite3")
    workout = Workout(
        store, 20.0, 1800.0, wall_clock=lambda: clocks.wall, monotonic=lambda: clocks.mono
    )
    t, set_ids = 0.0, []
    for step in (0.0, -3600.0, 2.0, DAY_S):
        for _ in range(3):
            t += 3.0
            clocks.advance(3.0)
            opened, _, _ = workout.add_rep(_rep(t))
            set_ids.append(opened.id)
        clocks.wall += step  # mid-set, between two reps
    t += 3.0
    clocks.advance(3.0)
    set_ids.append(workout.add_rep(_rep(t))[0].id)
    # back an hour: a new set; 2 s: the same set; forward a day: a new set
    assert len(set(set_ids)) == 3, set_ids
    sessions = store.sessions()
    assert len(sessions) == 3, sessions
    for set_id in set(set_ids):
        ends = [rep["ended_at"] for rep in store.set(set_id)["reps"]]
        assert ends == sorted(ends) and ends[-1] - ends[0] < 60, ends


def test_cookies_survive_a_clock_step_back(daemon, monkeypatch):  # noqa: F811
    """A phone logged in while the clock was a day ahead stays logged in when it is set right
    (Flask refused a cookie "signed in the future" with 401); a login made then is dated now
    once used, so a step back cannot lengthen its absolute lifetime."""
    phone = ApiClient("127.0.0.1", daemon.port)
    real_time = time.time
    with monkeypatch.context() as ahead:
        ahead.setattr(time, "time", lambda: real_time() + DAY_S)
        phone.log_in(PASSWORD)
    assert phone.json("GET", "/api/state")[0] == 200
    clock = [time.time() + 365 * DAY_S]
    logins = LoginStore(daemon.data_dir / "other-logins.json", lambda: (DAY_S, 2 * DAY_S),
                        clock=lambda: clock[0])  # fmt: skip
    login = logins.create("fingerprint")
    clock[0] -= 365 * DAY_S
    assert logins.valid(login, "fingerprint")
    for _ in range(2):
        clock[0] += 0.9 * DAY_S
        assert logins.valid(login, "fingerprint")  # used every day: the idle lifetime moves on
    clock[0] += 0.25 * DAY_S
    assert not logins.valid(login, "fingerprint")  # 2 days after it was first used: ended


def test_health_says_when_the_clock_is_wrong(daemon, monkeypatch):  # noqa: F811
    """/api/health reports the kernel's synchronisation and warns (kind "clock") when the
    clock is not synchronised and sessions are dated in the future or it was stepped."""
    client, _ = logged_in_client(daemon)
    health = client.get("/api/health").json
    assert set(health["clock"]) >= {"synchronised", "time", "last_step_s"}
    assert abs(health["clock"]["time"] - time.time()) < 60
    monkeypatch.setattr(service, "synchronised", lambda: False)
    assert [w for w in client.get("/api/health").json["warnings"] if w["kind"] == "clock"] == []
    ahead = time.time() + 30 * DAY_S
    daemon.store.add_rep(RepRecord("squat", True, ahead, ahead + 3, 1.0, 1.0, 1.0), None, 60.0)
    (warning,) = [w for w in client.get("/api/health").json["warnings"] if w["kind"] == "clock"]
    assert "dated after now" in warning["message"] and "timedatectl" in warning["fix"]
    monkeypatch.setattr(service, "synchronised", lambda: True)
    assert [w for w in client.get("/api/health").json["warnings"] if w["kind"] == "clock"] == []
    wall = [1_800_000_000.0]
    watch = ClockWatch(wall=lambda: wall[0], monotonic=lambda: 5.0)
    wall[0] += 30
    assert watch.check() is None  # NTP slewing or a late check: not a step
    wall[0] -= 2 * DAY_S
    assert watch.check() == -2 * DAY_S and watch.last_step_s == -2 * DAY_S
    assert "moved back by 2 days" in health_module.clock(False, watch.last_step_s, 0)[0]["message"]


# --- issue 19: names -----------------------------------------------------------------------------


def test_names_are_visible_and_unique_whatever_their_case(daemon):  # noqa: F811
    """Names with a NUL, a zero-width space, a right-to-left override, a byte-order mark or
    only combining marks are refused (422); names are stored NFC and are unique under Unicode
    case folding (before issue 19, "Émile" and "émile" could both exist)."""
    phone = ApiClient("127.0.0.1", daemon.port)
    phone.log_in(PASSWORD)

    def add(name: str) -> tuple[int, dict]:
        return phone.json("POST", "/api/people", {"name": name, "colour": "#2e7d32"})

    for hidden in ("Ana\x00", "An\u200ba", "\u202eanA", "\ufeffAna", "\u0301\u0301", "\u200d"):
        status, answer = add(hidden)
        assert status == 422 and answer["field"] == "name", (hidden, answer)
    status, emile = add("E\u0301mile")  # decomposed É
    assert status == 201 and emile["name"] == "\u00c9mile"
    for same in ("\u00e9mile", "\u00c9MILE", "e\u0301MILE"):
        status, answer = add(same)
        assert status == 422 and "taken" in answer["error"], (same, answer)
    status, straße = add("Straße")
    assert status == 201
    assert add("STRASSE")[0] == 422  # case folding, not just lower case
    renamed = phone.json("PATCH", f"/api/people/{straße['id']}", {"name": "\u00e9MILE"})
    assert renamed[0] == 422
    assert add("\u05d0\u05d1\u05d2 2")[0] == 201  # right-to-left letters themselves are fine


# --- issue 19: an address no phone can reach -----------------------------------------------------


def test_a_phone_cannot_choose_an_address_only_the_device_reaches(daemon):  # noqa: F811
    """server.host = 127.0.0.1 or ::1 from a phone's address is refused (422, saying why and
    what to use) and nothing is saved; from the machine itself it is accepted. Before issue 19
    a phone could save it and lock every phone out at the next restart."""
    client, token = logged_in_client(daemon)
    phone = {"REMOTE_ADDR": "192.168.1.50"}
    for host in ("127.0.0.1", "::1", "127.0.0.2"):
        answer = client.patch(
            "/api/settings", json={"server": {"host": host}}, headers={"X-CSRF-Token": token},
            environ_base=phone,
        )  # fmt: skip
        assert answer.status_code == 422 and answer.json["field"] == "server.host", answer.json
        assert "locked out" in answer.json["error"] and "0.0.0.0" in answer.json["error"]
        assert daemon.settings.server.host == "0.0.0.0"
        assert config.load(daemon.settings_path).server.host == "0.0.0.0"
    local = client.patch(
        "/api/settings", json={"server": {"host": "127.0.0.1"}}, headers={"X-CSRF-Token": token}
    )
    assert local.status_code == 200 and daemon.settings.server.host == "127.0.0.1"


# --- issue 19: the owner during a flood ----------------------------------------------------------


def _login(client, address: str, password: str, cookie: str | None = None) -> int:
    where = {"REMOTE_ADDR": address}
    token = client.get("/api/auth", environ_base=where).json["csrf_token"]
    if cookie is not None:
        client.set_cookie(DEVICE_COOKIE, cookie)
    answer = client.post(
        "/api/login", json={"password": password}, headers={"X-CSRF-Token": token},
        environ_base=where,
    )  # fmt: skip
    return answer.status_code


def test_a_phone_that_logged_in_before_gets_in_during_a_flood(daemon):  # noqa: F811
    """Wrong passwords from GLOBAL_FAILURES addresses lock out every stranger (429, even with
    the right password), but not a browser that has logged in here before: its device cookie
    exempts it from the global lockout (not from its own address's). Before issue 19 the owner
    got "wait 48 s" for as long as the flood lasted."""
    owner, token = logged_in_client(daemon)
    assert owner.get_cookie(DEVICE_COOKIE) is not None
    assert owner.post("/api/logout", headers={"X-CSRF-Token": token}).status_code == 200
    for i in range(GLOBAL_FAILURES):
        visitor = daemon.app.test_client()
        assert _login(visitor, f"10.0.0.{i + 1}", f"wrong guess {i:04}") == 401
    assert _login(daemon.app.test_client(), "10.0.1.1", PASSWORD) == 429  # a stranger
    forged = daemon.app.test_client()
    assert _login(forged, "10.0.1.2", PASSWORD, cookie="bm90IHNpZ25lZA.forged") == 429
    assert _login(owner, "10.0.2.1", PASSWORD) == 200  # the owner's phone, on a new address
    assert owner.get("/api/state").status_code == 200
    for i in range(FAILURES_BEFORE_LOCK):  # its own address's lockout still holds
        assert _login(owner, "10.0.2.2", f"typo {i:04}") == 401
    assert _login(owner, "10.0.2.2", PASSWORD) == 429


def test_a_closed_preview_without_pictures_gives_its_slot_back(tmp_path):
    """No camera, so the preview has no picture to write: closed previews still end within
    seconds and give their slots back, so the phone can open its share again. Before, each
    closed preview held its slot until a picture came."""
    settings = config.Settings(server={"threads": 16})
    with serve(tmp_path, tmp_path / "no-camera.mp4", settings) as running:
        slots = running.app.extensions["stream_slots"]
        phone = ApiClient("127.0.0.1", running.port, source="127.0.33.1")
        phone.log_in(PASSWORD)
        for _ in range(2):
            opened = [
                _stream(running.port, "127.0.33.1", phone.cookie, "/api/preview.mjpeg")
                for _ in range(PER_LOGIN_STREAMS)
            ]
            assert [status for _, status in opened] == [200] * PER_LOGIN_STREAMS
            for sock, _ in opened:
                sock.close()
            assert wait_until(lambda: slots.in_use == 0, 10), slots.in_use
