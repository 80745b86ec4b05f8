"""Backup and restore over the API (device.daemon.backup): download one file, upload it back.

GET /api/backup is the download; POST /api/restore takes the file as the request body (any
content type) and answers 4xx naming the problem when it cannot be restored, having changed
nothing; GET /api/backups lists the nightly backups kept on the device.
"""

from __future__ import annotations

import socket
import tempfile
import time
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, request, send_file

from device.daemon import backup
from web_ui.auth import require_login
from web_ui.errors import json_error

bp = Blueprint("backup", __name__, url_prefix="/api")
bp.before_request(require_login)


def _daemon():
    daemon = current_app.extensions["daemon"]
    if daemon.store is None:
        abort(json_error(503, "the history is not open yet"))
    return daemon


@bp.get("/backup")
def download() -> Response:
    """A fresh backup file: history, people and settings with their manifest."""
    daemon = _daemon()
    work = Path(tempfile.mkdtemp(dir=daemon.data_dir, prefix=".download-"))
    stamp = time.strftime("%Y%m%d-%H%M", time.localtime())
    path = work / f"repcounter-backup-{socket.gethostname()}-{stamp}.zip"
    try:
        daemon.write_backup(path)
        response = send_file(path, mimetype="application/zip", as_attachment=True)
    except BaseException:
        _remove(work)
        raise
    response.call_on_close(lambda: _remove(work))
    return response


def _remove(folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink(missing_ok=True)
    folder.rmdir()


@bp.get("/backups")
def nightly() -> dict:
    """The nightly backups kept on the device, and what a backup leaves out."""
    return {**_daemon().auto_backup.status(), "left_out": backup.LEFT_OUT}


@bp.get("/backups/<name>")
def nightly_file(name: str) -> Response:
    folder = _daemon().auto_backup.folder
    path = folder / name
    if path not in backup.auto_backups(folder):  # only the listed files, never a path
        abort(json_error(404, f"there is no nightly backup {name!r} (see GET /api/backups)"))
    return send_file(path, mimetype="application/zip", as_attachment=True)


@bp.post("/restore")
def restore() -> Response | dict:
    """Restore the uploaded backup file (the request body)."""
    daemon = _daemon()
    declared = request.content_length
    if declared is not None and declared > backup.MAX_UPLOAD_BYTES:
        abort(_too_big(declared))
    request.max_content_length = backup.MAX_UPLOAD_BYTES
    with tempfile.NamedTemporaryFile(dir=daemon.data_dir, prefix=".upload-") as upload:
        size = 0
        while chunk := request.stream.read(1 << 20):
            size += len(chunk)
            if size > backup.MAX_UPLOAD_BYTES:
                abort(_too_big(size))
            upload.write(chunk)
        upload.flush()
        if size == 0:
            abort(json_error(400, "the upload is empty: choose a backup file", "file"))
        try:
            return daemon.restore_backup(Path(upload.name))
        except backup.BackupInvalid as exc:
            return json_error(exc.status, str(exc), "file")


def _too_big(size: int) -> Response:
    return json_error(
        413, f"the file is {size} bytes or more, larger than a backup's "
        f"{backup.MAX_UPLOAD_BYTES} bytes: is it a RepCounter backup?", "file",
    )  # fmt: skip
