"""One-file backups of the appliance, and the checks a backup passes before it is restored.

A backup is a zip archive:
- history.sqlite3: the history (sessions, sets, reps, corrections, people with their targets
  and plans, who trains now), copied with SQLite's online backup while the daemon runs;
- settings.toml: the settings, without the MQTT broker's password;
- manifest.json: format, RepCounter version, schema version, creation time, and each file's
  size and SHA-256.

Left out on purpose:
- auth.json (the password hash and the key that signs logins): a backup file travels to phones
  and cloud drives, where a hash invites offline guessing; a new card gets a new password in
  first-run setup, and logins from the old card are void anyway.
- logins.json: the phones' logins belong to the old card's key.
- the MQTT password (mqtt.password): a secret of another machine; a restore keeps the one
  this device has.
- last_address.json and the Edge TPU probe cache: facts of one machine, found again.

A restore checks the whole file first (check_backup), so a corrupt, truncated, foreign,
oversized or too-new upload raises BackupInvalid and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import tomllib
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from device.daemon import config
from device.errors import RepCounterError
from device.history.schema import MIGRATIONS
from device.history.store import Store, StoreError

log = logging.getLogger(__name__)

FORMAT = "repcounter-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
HISTORY = "history.sqlite3"
SETTINGS = "settings.toml"
MAX_UPLOAD_BYTES = 32 * 1024 * 1024  # years of history compress to a few MB
MAX_UNPACKED_BYTES = 512 * 1024 * 1024  # what the archive may unpack to (zip bombs)
LEFT_OUT = {
    "auth.json": "the password hash and login key: set a password on the new device",
    "logins.json": "logins belong to the old device's key",
    "mqtt.password": "the broker's password: enter it again in Settings → MQTT",
}
AUTO_KEEP = 7
AUTO_HOUR = 3  # local time of the nightly backup
AUTO_PREFIX = "repcounter-auto-"
AUTO_FIRST_AFTER_S = 600.0  # not in the first minutes after a start (restarts, tests)
AUTO_MARGIN_BYTES = 16 * 1024 * 1024


class BackupInvalid(RepCounterError):
    """An upload that cannot be restored; status is the HTTP status that says so."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def copy_database(source: Path, dest: Path) -> None:
    """A consistent copy of the SQLite database source in dest, through the online backup API
    on a connection of its own (readers do not block the daemon's writer in WAL mode)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(dest)
        try:
            src.backup(target)
        finally:
            target.close()
    finally:
        src.close()


def write_backup(
    history: Path, settings: config.Settings, dest: Path, version: str, now: float | None = None
) -> dict:
    """Write a backup of the history database and settings to dest (atomically); the manifest."""
    now = time.time() if now is None else now
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".backup-") as work:
        folder = Path(work)
        copy_database(history, folder / HISTORY)
        schema = _schema_of(folder / HISTORY)
        without_secret = settings.model_copy(
            update={"mqtt": settings.mqtt.model_copy(update={"password": ""})}
        )
        (folder / SETTINGS).write_text(config.render(without_secret), encoding="utf-8")
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "version": version,
            "schema": schema,
            "created_at": now,
            "created": datetime.fromtimestamp(now).astimezone().isoformat(timespec="seconds"),
            "files": {
                name: {"bytes": (folder / name).stat().st_size, "sha256": _sha256(folder / name)}
                for name in (HISTORY, SETTINGS)
            },
            "left_out": LEFT_OUT,
        }
        partial = folder / "backup.zip"
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2))
            for name in (HISTORY, SETTINGS):
                archive.write(folder / name, name)
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, dest)
    return manifest


def _schema_of(path: Path) -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


@dataclass(frozen=True)
class CheckedBackup:
    """A backup that passed every check: its history (migrated to this program's schema) and
    its settings, unpacked into a work folder."""

    manifest: dict
    history: Path
    settings: config.Settings


def check_backup(upload: Path, work: Path) -> CheckedBackup:
    """Unpack upload into the folder work and check all of it: archive, manifest, checksums,
    versions, the database's integrity, its migration to this schema, and the settings.
    BackupInvalid says what is wrong; nothing outside work is touched."""
    size = upload.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise BackupInvalid(
            413, f"the file is {size} bytes, more than a backup's {MAX_UPLOAD_BYTES} bytes"
        )
    try:
        with zipfile.ZipFile(upload) as archive:
            manifest = _manifest(archive)
            for name in (HISTORY, SETTINGS):
                _unpack(archive, name, manifest["files"][name], work)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise BackupInvalid(
            400,
            f"the file is not a complete RepCounter backup ({exc}): it is truncated, damaged or "
            "not a backup at all; download the backup again",
        ) from None
    history = work / HISTORY
    _check_database(history, manifest["schema"])
    try:
        text = (work / SETTINGS).read_text(encoding="utf-8")
        settings = config.validate(tomllib.loads(text))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, config.ConfigError) as exc:
        raise BackupInvalid(400, f"the backup's settings cannot be used: {exc}") from None
    return CheckedBackup(manifest, history, settings)


def _manifest(archive: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except KeyError:
        raise BackupInvalid(
            400, "this zip file is not a RepCounter backup: it has no manifest.json"
        ) from None
    except ValueError as exc:
        raise BackupInvalid(400, f"the backup's manifest.json is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupInvalid(400, "this zip file is not a RepCounter backup (its manifest's "
                            f"format is not {FORMAT!r})")  # fmt: skip
    made_by = manifest.get("version", "?")
    format_version, schema = manifest.get("format_version"), manifest.get("schema")
    if not isinstance(format_version, int) or not isinstance(schema, int) or schema < 1:
        raise BackupInvalid(400, "the backup's manifest has no valid format_version and schema")
    if format_version > FORMAT_VERSION or schema > len(MIGRATIONS):
        raise BackupInvalid(
            422,
            f"this backup was made by RepCounter {made_by} (history schema {schema}), newer than "
            f"this one (schema {len(MIGRATIONS)}): update RepCounter first, then restore",
        )
    files = manifest.get("files")
    for name in (HISTORY, SETTINGS):
        entry = files.get(name) if isinstance(files, dict) else None
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("bytes"), int)
            and isinstance(entry.get("sha256"), str)
        ):
            raise BackupInvalid(400, f"the backup's manifest does not describe {name}")
    return manifest


def _unpack(archive: zipfile.ZipFile, name: str, entry: dict, work: Path) -> None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise BackupInvalid(400, f"the backup has no {name}: it is incomplete") from None
    if info.file_size > MAX_UNPACKED_BYTES or entry["bytes"] > MAX_UNPACKED_BYTES:
        raise BackupInvalid(413, f"{name} unpacks to more than {MAX_UNPACKED_BYTES} bytes")
    digest, written = hashlib.sha256(), 0
    with archive.open(info) as source, (work / name).open("wb") as target:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            if written > MAX_UNPACKED_BYTES:
                raise BackupInvalid(413, f"{name} unpacks to more than {MAX_UNPACKED_BYTES} bytes")
            digest.update(chunk)
            target.write(chunk)
    if written != entry["bytes"] or digest.hexdigest() != entry["sha256"]:
        raise BackupInvalid(
            400, f"{name} in the backup does not match its checksum: the file is damaged"
        )


def _check_database(path: Path, schema: int) -> None:
    """The unpacked history must be a sound SQLite database at the manifest's schema; it is then
    migrated to this program's schema, as the daemon would at start."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = int(db.execute("PRAGMA user_version").fetchone()[0])
            verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise BackupInvalid(400, f"the backup's history is not a usable database: {exc}") from None
    if verdict != "ok":
        raise BackupInvalid(400, f"the backup's history is damaged: {verdict}")
    if found != schema:
        raise BackupInvalid(
            400, f"the backup's history has schema {found}, its manifest says {schema}"
        )
    try:
        store = Store(path)
        try:
            if store.version != len(MIGRATIONS):
                raise BackupInvalid(400, "the backup's history could not be brought up to date")
            store.people()  # the tables the daemon reads first
        finally:
            store.close()
    except (sqlite3.Error, StoreError) as exc:
        raise BackupInvalid(400, f"the backup's history cannot be upgraded: {exc}") from None


# --- nightly backups on the device ---------------------------------------------------------


def auto_backups(folder: Path) -> list[Path]:
    """The automatic backups in folder, oldest first (their names sort by time)."""
    return sorted(folder.glob(f"{AUTO_PREFIX}*.zip"))


def last_due(now: float, hour: int = AUTO_HOUR) -> float:
    """The most recent local time hour:00 at or before now: a backup made since is current."""
    local = datetime.fromtimestamp(now).astimezone()
    due = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if due > local:
        due -= timedelta(days=1)
    return due.timestamp()


class AutoBackup:
    """A backup each night into folder, keeping the last `keep`. tick() is cheap and is called
    by the daemon's supervisor loop; the backup itself runs in a thread of its own."""

    def __init__(
        self,
        folder: Path,
        make: Callable[[Path], object],
        size: Callable[[], int],
        keep: int = AUTO_KEEP,
        first_after_s: float = AUTO_FIRST_AFTER_S,
    ) -> None:
        """make(dest) writes a backup; size() is the history's size in bytes (the free space
        a backup needs is twice that, plus a margin)."""
        self.folder = folder
        self._make = make
        self._size = size
        self.keep = keep
        self.error: str | None = None
        self._thread: threading.Thread | None = None
        self._checked_at = float("-inf")
        self._first_at: float | None = None
        self._first_after_s = first_after_s

    def tick(self, now: float | None = None, every_s: float = 60.0) -> threading.Thread | None:
        """Start the backup when one is due (none made since the last AUTO_HOUR, and the daemon
        has run for first_after_s); the thread."""
        now = time.time() if now is None else now
        if self._first_at is None:
            self._first_at = now + self._first_after_s
        if now < self._first_at or now - self._checked_at < every_s:
            return None
        if self._thread and self._thread.is_alive():
            return None
        self._checked_at = now
        newest = auto_backups(self.folder)
        if newest and newest[-1].stat().st_mtime >= last_due(now):
            return None
        self._thread = threading.Thread(target=self.run, args=(now,), name="backup", daemon=True)
        self._thread.start()
        return self._thread

    def status(self) -> dict:
        """The automatic backups kept (newest last) and why the last one failed, if it did."""
        kept = auto_backups(self.folder)
        return {
            "folder": str(self.folder),
            "kept": [{"name": p.name, "bytes": p.stat().st_size} for p in kept],
            "error": self.error,
        }

    def run(self, now: float) -> Path | None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        dest = self.folder / f"{AUTO_PREFIX}{stamp}.zip"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            needed = 2 * self._size() + AUTO_MARGIN_BYTES
            free = shutil.disk_usage(self.folder).free
            if free < needed:  # the history's disk matters more than a backup
                raise OSError(f"{free} bytes free, {needed} needed: free some space")
            self._make(dest)
        except (OSError, sqlite3.Error) as exc:
            self.error = f"the nightly backup failed: {exc}"
            log.error("%s", self.error)
            return None
        self.error = None
        for old in auto_backups(self.folder)[: -self.keep]:
            old.unlink(missing_ok=True)
        log.info("nightly backup written: %s", dest)
        return dest


def set_aside(data_dir: Path, history: Path, settings_path: Path, now: float) -> Path:
    """Copy the current history and settings into data_dir/pre-restore-<time>/ before a
    restore replaces them; earlier such folders go (the one kept is the data before the last
    restore). The folder's path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    aside = data_dir / f"pre-restore-{stamp}"
    aside.mkdir(mode=0o700, exist_ok=True)
    copy_database(history, aside / HISTORY)
    if settings_path.exists():
        shutil.copy2(settings_path, aside / SETTINGS)
    return aside


def drop_older_set_asides(data_dir: Path, keep: Path) -> None:
    for folder in data_dir.glob("pre-restore-*"):
        if folder != keep and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
