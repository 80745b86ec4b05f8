"""Backup and restore: a backup restored on a fresh install gives the same history, a bad
upload changes nothing, nightly backups keep the last seven, and upgrades keep the history."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import time
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from device.daemon import backup, config
from device.history.schema import MIGRATIONS
from device.history.store import RepRecord, Store, StoreError
from tests.test_api import clip, logged_in_client, serve  # noqa: F401 (fixture)
from tests.waiting import wait_until

SETTINGS = config.Settings(
    camera={"file_loop": True},
    server={"threads": 8},
    workout={"set_idle_s": 33},
    mqtt={"host": "broker.lan", "password": "broker secret"},
)


def tables(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, in rowid order: what "the same history" means."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: db.execute(f"SELECT * FROM {n} ORDER BY rowid").fetchall() for n in names}
    finally:
        db.close()


def upload(client, token: str, data: bytes):
    headers = {"X-CSRF-Token": token, "Content-Type": "application/zip"}
    return client.post("/api/restore", data=data, headers=headers)


@pytest.fixture
def made_backup(tmp_path, clip):  # noqa: F811
    """A daemon that counted reps for two people, with a correction; its backup file."""
    with serve(tmp_path / "old", clip, SETTINGS) as daemon:
        client, token = logged_in_client(daemon)
        assert wait_until(lambda: _reps(daemon) >= 2)
        quiet(daemon)
        headers = {"X-CSRF-Token": token}
        ann = client.post("/api/people", json={"name": "Ann", "colour": "#aa3366"}, headers=headers)
        assert ann.status_code == 201, ann.json
        fixed = {"reps": 7, "reason": "two were missed"}
        assert client.post("/api/sets/1/correction", json=fixed, headers=headers).status_code == 200
        answer = client.get("/api/backup")
        assert answer.status_code == 200 and answer.mimetype == "application/zip"
        assert "attachment" in answer.headers["Content-Disposition"]
        data = answer.data
        before = tables(daemon.store.path)
    return data, before


def quiet(daemon) -> None:
    """Stop counting and end the set: the history stops changing."""
    daemon._stop_pipeline()
    daemon.workout.end_set()
    daemon.workout.writer.flush_now()


def _reps(daemon) -> int:
    return daemon.store._query("SELECT count(*) AS n FROM reps")[0]["n"]


def test_backup_then_restore_on_a_fresh_install_gives_the_same_history(
    tmp_path,
    clip,  # noqa: F811
    made_backup,
):
    data, before = made_backup
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        settings_text = archive.read("settings.toml").decode()
    assert manifest["schema"] == len(MIGRATIONS) and manifest["format"] == backup.FORMAT
    assert abs(manifest["created_at"] - time.time()) < 60
    assert "broker secret" not in settings_text and "password_hash" not in settings_text
    assert sum(len(rows) for rows in before.values()) > 0 and len(before["people"]) == 2

    fresh = config.Settings(camera={"file_loop": True}, server={"threads": 8})
    with serve(tmp_path / "new", clip, fresh) as daemon:
        client, token = logged_in_client(daemon)
        answer = upload(client, token, data)
        assert answer.status_code == 200, answer.json
        quiet(daemon)
        after = tables(daemon.store.path)
        assert daemon.settings.workout.set_idle_s == 33  # the settings came back too
        assert daemon.settings.mqtt.host == "broker.lan" and daemon.settings.mqtt.password == ""
        aside = Path(answer.json["previous_data"])
        assert aside.parent == daemon.data_dir and (aside / "history.sqlite3").exists()
        people = client.get("/api/people").json
        assert sorted(p["name"] for p in people["people"]) == ["Ann", "Me"]
    assert after == before


def _rewrite(data: bytes, change) -> bytes:
    """The backup with its members changed by change(dict of name -> bytes)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    change(members)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return out.getvalue()


def _manifest_with(**changes):
    def change(members):
        manifest = json.loads(members["manifest.json"])
        manifest.update(changes)
        members["manifest.json"] = json.dumps(manifest).encode()

    return change


def _history_byte_flipped(members):
    history = bytearray(members["history.sqlite3"])
    history[5000] ^= 0xFF
    members["history.sqlite3"] = bytes(history)


def test_a_bad_upload_gets_a_4xx_naming_the_problem_and_changes_nothing(
    tmp_path,
    clip,  # noqa: F811
    made_backup,
):
    data, _ = made_backup
    damaged = bytearray(data)
    damaged[len(data) // 3] ^= 0xFF  # inside the compressed history: its CRC fails
    foreign = io.BytesIO()
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("holiday.jpg", b"\xff\xd8 not a backup")
    bad = {
        "truncated": (data[: len(data) // 2], 400, "truncated"),
        "damaged": (bytes(damaged), 400, "damaged"),
        "checksum": (_rewrite(data, _history_byte_flipped), 400, "checksum"),
        "foreign zip": (foreign.getvalue(), 400, "no manifest.json"),
        "not a zip": (b"name,reps\nAnn,10\n" * 100, 400, "not a complete RepCounter backup"),
        "other format": (_rewrite(data, _manifest_with(format="other")), 400, "not a RepCounter"),
        "newer schema": (_rewrite(data, _manifest_with(schema=99)), 422, "update RepCounter"),
        "empty": (b"", 400, "empty"),
        "oversized": (b"\0" * (backup.MAX_UPLOAD_BYTES + 1), 413, "larger than a backup"),
    }
    with serve(tmp_path / "new", clip, SETTINGS) as daemon:
        client, token = logged_in_client(daemon)
        assert wait_until(lambda: _reps(daemon) >= 1)
        quiet(daemon)
        history = tables(daemon.store.path)
        settings_file = daemon.settings_path.read_bytes()
        for name, (body, status, words) in bad.items():
            answer = upload(client, token, body)
            assert answer.status_code == status, (name, answer.json)
            assert words in answer.json["error"] and answer.json["field"] == "file", name
        assert tables(daemon.store.path) == history
        assert daemon.settings_path.read_bytes() == settings_file
        assert not list(daemon.data_dir.glob("pre-restore-*"))
        assert not list(daemon.data_dir.glob(".upload-*")) + list(daemon.data_dir.glob(".rest*"))
        assert upload(client, "wrong token", data).status_code == 403  # CSRF guards it too


def test_nightly_backups_keep_the_last_seven(tmp_path):
    store = Store(tmp_path / "history.sqlite3")
    store.add_rep(RepRecord("squat", True, 1000.0, 1002.0, 0.5, 1.0, 1.0), None, 1800)
    made = []

    def make(dest: Path) -> None:
        backup.write_backup(store.path, config.Settings(), dest, "test")
        made.append(dest)

    nightly = backup.AutoBackup(tmp_path / "backups", make, lambda: 0, first_after_s=0)
    start = datetime(2026, 3, 1, 14, 0).timestamp()  # afternoon: none yet, so one now
    for day in range(10):
        for hour in (0, 2, 4, 12):  # due after 03:00 each night, once
            now = start + day * 86400 + hour * 3600
            thread = nightly.tick(now)
            if thread is not None:
                thread.join(30)
                os.utime(made[-1], (now, now))  # written at the test's clock's time
    assert nightly.error is None
    assert len(made) == 10  # one a day (the first afternoon, then each night)
    kept = backup.auto_backups(tmp_path / "backups")
    assert kept == made[-7:]
    checked = backup.check_backup(kept[-1], tmp_path)
    assert checked.manifest["schema"] == len(MIGRATIONS)


def test_no_nightly_backup_soon_after_a_start_or_on_a_full_disk(tmp_path):
    made = []
    start = datetime(2026, 3, 1, 14, 0).timestamp()
    nightly = backup.AutoBackup(tmp_path, made.append, lambda: 0, first_after_s=600)
    assert nightly.tick(start) is None and nightly.tick(start + 599) is None
    nightly.tick(start + 600).join(10)
    assert len(made) == 1
    huge = backup.AutoBackup(tmp_path / "b", made.append, lambda: 1 << 60, first_after_s=0)
    huge.tick(start).join(10)
    assert len(made) == 1 and "free some space" in huge.error


def _database_at(path: Path, schema: int) -> None:
    """A history made by the program whose schema was `schema`, with one rep in it."""
    db = sqlite3.connect(path)
    for version, script in enumerate(MIGRATIONS[:schema], start=1):
        db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
    db.executescript(
        "INSERT INTO sessions VALUES (1, 1000, 1002);"
        "INSERT INTO sets (id, session_id, exercise, started_at, ended_at)"
        " VALUES (1, 1, 'squat', 1000, 1002);"
        "INSERT INTO reps (set_id, exercise, complete, started_at, ended_at, depth, down_s, up_s)"
        " VALUES (1, 'squat', 1, 1000, 1002, 0.5, 1, 1);"
    )
    db.close()


@pytest.mark.parametrize("schema", range(1, len(MIGRATIONS) + 1))
def test_an_upgrade_migrates_the_history_of_each_earlier_schema(tmp_path, schema):
    path = tmp_path / "history.sqlite3"
    _database_at(path, schema)
    store = Store(path)
    assert store.version == len(MIGRATIONS)
    assert [s["reps"] for s in store.sessions()] == [1]
    assert [p["name"] for p in store.people()] == ["Me"]


@pytest.mark.parametrize("schema", range(1, len(MIGRATIONS) + 1))
def test_a_backup_from_each_schema_restores(tmp_path, schema):
    """A backup made by an earlier version is migrated when it is checked."""
    old = tmp_path / "old.sqlite3"
    _database_at(old, schema)
    made = backup.write_backup(old, config.Settings(), tmp_path / "b.zip", "old")
    assert made["schema"] == schema
    work = tmp_path / "work"
    work.mkdir()
    checked = backup.check_backup(tmp_path / "b.zip", work)
    assert Store(checked.history).version == len(MIGRATIONS)


def test_an_older_program_refuses_a_newer_history_and_changes_nothing(tmp_path):
    path = tmp_path / "history.sqlite3"
    Store(path, (*MIGRATIONS, "CREATE TABLE future (x);")).close()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(StoreError, match=r"newer than this program.s \d+: update RepCounter"):
        Store(path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_restore_that_cannot_be_loaded_puts_the_previous_history_back(
    tmp_path,
    clip,  # noqa: F811
    made_backup,
    monkeypatch,
):
    data, _ = made_backup
    with serve(tmp_path / "new", clip, SETTINGS) as daemon:
        client, token = logged_in_client(daemon)
        assert wait_until(lambda: _reps(daemon) >= 1)
        quiet(daemon)
        before = tables(daemon.store.path)
        store = daemon.store
        real_people = store.people
        calls = []

        def failing_once():  # the restored history fails to load the first time it is read
            calls.append(1)
            if len(calls) == 1:
                raise sqlite3.DatabaseError("database disk image is malformed")
            return real_people()

        monkeypatch.setattr(store, "people", failing_once)
        answer = upload(client, token, data)
        assert answer.status_code == 500 and "nothing changed" in answer.json["error"]
        monkeypatch.undo()
        assert daemon.pipeline is not None  # counting again
        quiet(daemon)
        assert tables(daemon.store.path) == before
