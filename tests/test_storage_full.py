"""A history that cannot be written (injected errors, a real full tmpfs): the count goes on,
health says so, and every rep announced meanwhile is stored once space returns."""

from __future__ import annotations

import errno
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from device.daemon import config
from device.history.store import Store
from tests.test_api import PASSWORD, clip, logged_in_client, serve  # noqa: F401 (clip: a fixture)
from tests.waiting import wait_until
from web_ui.auth import Credentials

SETTINGS = config.Settings(
    camera={"file_loop": True},
    server={"threads": 8},
    storage={"warn_free_mb": 0},  # only failing writes warn here: the tmpfs is tiny by design
)


class FailingStore:
    """The daemon's store, with writes failing while `error` is set."""

    def __init__(self, store) -> None:
        self.store = store
        self.error: Exception | None = None

    def add_rep(self, *args):
        if self.error is not None:
            raise self.error
        return self.store.add_rep(*args)


def collect(subscription, count: int, saved: bool, into: list[dict], timeout: float = 30) -> None:
    """Read rep events into `into` until `count` more of them have this `saved` flag."""
    deadline = time.monotonic() + timeout
    seen = 0
    while seen < count:
        assert time.monotonic() < deadline, into
        event = subscription.get(0.1)
        if event is not None:
            into.append(event.data)
            seen += event.data["saved"] is saved


def storage_warnings(client, status: str | None = None) -> list[dict]:
    """The health's storage warnings, after checking its status when one is given."""
    health = client.get("/api/health").json
    if status is not None:
        assert health["status"] == status, health
    return [w for w in health["warnings"] if w["kind"] == "storage"]


def assert_every_rep_is_stored(daemon, client, subscription, announced: list[dict]) -> None:
    """Stop counting, then: every rep counted (those before the subscription too) is stored,
    and the announced ones are the last stored, in order and in their announced sets (a set
    announced without an id, the history not open yet, may be any)."""
    daemon.pipeline.stop()
    daemon.pipeline.finish()
    while (event := subscription.get(0.1)) is not None:
        announced.append(event.data)
    assert wait_until(lambda: daemon.workout.writer.pending == 0, 30)
    stored = client.get("/api/reps?limit=10000").json["reps"]
    assert len(stored) == daemon.state()["reps"]  # the stand-in tracker counts every rep
    tail = stored[len(stored) - len(announced) :]
    announced_sets = [e["set"]["set_id"] for e in announced]  # None: numbered when stored
    stored_sets = [r["set_id"] for r in tail]
    assert all(a in (None, s) for a, s in zip(announced_sets, stored_sets, strict=True))
    assert [r["complete"] for r in tail] == [e["complete"] for e in announced]
    assert storage_warnings(client) == []


def test_reps_announced_while_writes_fail_are_stored_when_they_work_again(tmp_path, clip):  # noqa: F811
    with serve(tmp_path, clip, SETTINGS) as daemon:
        client, _ = logged_in_client(daemon)
        announced: list[dict] = []
        with daemon.bus.subscribe({"rep"}) as reps:
            collect(reps, 1, True, announced)
            assert storage_warnings(client, "ok") == []
            failing = FailingStore(daemon.store)
            failing.error = OSError(errno.EROFS, "Read-only file system")
            daemon.workout.writer.store = failing
            collect(reps, 3, False, announced)
            (warning,) = storage_warnings(client, "degraded")
            assert "Read-only file system" in warning["message"] and warning["fix"]
            assert client.get("/api/health").json["storage"]["pending_reps"] >= 3
            failing.error = None
            collect(reps, 2, True, announced)  # written again, the waiting reps first
            assert_every_rep_is_stored(daemon, client, reps, announced)


@pytest.fixture
def tiny_tmpfs(tmp_path) -> Iterator[Path]:
    """A 256 KiB tmpfs (needs root: the test is skipped with the reason otherwise)."""
    mount_point = tmp_path / "data"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def fill(folder: Path) -> Path:
    """Fill the disk with a file until it is full; the file's path."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def make_room(filler: Path, mount_point: Path) -> None:
    """Space returns: the filler goes and the tmpfs grows (SQLite's WAL needs more than 256k)."""
    filler.unlink()
    subprocess.run(["mount", "-o", "remount,size=16m", str(mount_point)], check=True)


def test_a_full_tmpfs_keeps_the_count_and_loses_no_rep(tiny_tmpfs, clip):  # noqa: F811
    with serve(tiny_tmpfs, clip, SETTINGS) as daemon:
        client, _ = logged_in_client(daemon)
        announced: list[dict] = []
        with daemon.bus.subscribe({"rep"}) as reps:
            collect(reps, 1, True, announced)
            assert storage_warnings(client, "ok") == []
            filler = fill(tiny_tmpfs)
            collect(reps, 3, False, announced)
            (warning,) = storage_warnings(client, "degraded")
            assert "full" in warning["message"] and "wait in memory" in warning["message"]
            make_room(filler, tiny_tmpfs)
            collect(reps, 2, True, announced)
            assert_every_rep_is_stored(daemon, client, reps, announced)


def test_low_free_space_warns_from_the_setting(tmp_path, clip):  # noqa: F811
    with serve(tmp_path, clip, SETTINGS) as daemon:
        client, token = logged_in_client(daemon)
        assert wait_until(lambda: storage_warnings(client) == [] and daemon.state()["reps"] > 0)
        free_mb = client.get("/api/health").json["disk"]["free_bytes"] / 1e6
        answer = client.patch(
            "/api/settings",
            json={"storage": {"warn_free_mb": int(free_mb) + 1000}},
            headers={"X-CSRF-Token": token},
        )
        assert answer.status_code == 200, answer.json
        (warning,) = storage_warnings(client, "degraded")
        assert "MB free" in warning["message"] and "storage.warn_free_mb" in warning["fix"]


def test_a_history_that_cannot_even_be_opened_at_start_does_not_stop_the_daemon(
    tiny_tmpfs,
    clip,  # noqa: F811
):
    # A restart on a full disk: SQLite cannot create the WAL files of a closed database.
    Store(tiny_tmpfs / "history.sqlite3").close()
    config.save(SETTINGS, tiny_tmpfs / "settings.toml")
    Credentials(tiny_tmpfs / "auth.json").set_password(PASSWORD)
    filler = fill(tiny_tmpfs)
    with serve(tiny_tmpfs, clip, None) as daemon:
        assert daemon.store.error
        client = daemon.app.test_client()
        token = client.get("/api/auth").json["csrf_token"]
        login = client.post(
            "/api/login", json={"password": PASSWORD}, headers={"X-CSRF-Token": token}
        )
        assert login.status_code == 200, login.json
        announced: list[dict] = []
        with daemon.bus.subscribe({"rep"}) as reps:
            collect(reps, 2, False, announced)
            (warning,) = storage_warnings(client, "degraded")
            assert "reps cannot be saved" in warning["message"]
            answer = client.get("/api/sessions")
            assert answer.status_code == 503 and "/api/health" in answer.json["error"]
            make_room(filler, tiny_tmpfs)
            collect(reps, 2, True, announced)
            assert_every_rep_is_stored(daemon, client, reps, announced)
