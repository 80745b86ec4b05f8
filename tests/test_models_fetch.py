"""`repcounter models fetch` against a local HTTP server serving the shared model copies."""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from device.errors import ModelError
from device.models import fetch as fetch_module
from device.models.manifest import MANIFEST_NAME, ModelEntry, load_manifest

ROOT = Path(__file__).resolve().parents[1]
SHARED_MODELS = ROOT.parent / "shared" / "data" / "models"
CPU = "movenet_single_pose_lightning_ptq.tflite"
EDGETPU = "movenet_single_pose_lightning_ptq_edgetpu.tflite"
THUNDER_CPU = "movenet_single_pose_thunder_ptq.tflite"
THUNDER_EDGETPU = "movenet_single_pose_thunder_ptq_edgetpu.tflite"
CORAL_RAW = (
    "https://raw.githubusercontent.com/google-coral/test_data/"
    "104342d2d3480b3e66203073dac24f4e2dbb4c41"
)

pytestmark = pytest.mark.skipif(
    not SHARED_MODELS.is_dir(),
    reason=f"{SHARED_MODELS} is absent (the shared test data ships only with CI): "
    "the fetch tests need its model copies to serve",
)


class Handler(SimpleHTTPRequestHandler):
    """Serves a directory read-only (GET/HEAD only); `faults` makes named files misbehave."""

    faults: dict[str, str] = {}  # noqa: RUF012 - replaced per server by a subclass
    requests: list[str] = []  # noqa: RUF012

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        self.requests.append(name)
        fault = self.faults.get(name)
        if fault == "other-bytes":
            self._send(b"<html>not a model</html>" * 100, length=None)
        elif fault == "truncated":
            body = (Path(self.directory) / name).read_bytes()
            self._send(body[: len(body) // 2], length=len(body))
        else:
            super().do_GET()

    def _send(self, body: bytes, length: int | None) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(length if length is not None else len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


class Server:
    """A running local server: its base URL, the paths it was asked for, and faults to inject."""

    def __init__(self) -> None:
        self.faults: dict[str, str] = {}
        self.requests: list[str] = []
        handler = type("H", (Handler,), {"faults": self.faults, "requests": self.requests})
        factory = functools.partial(handler, directory=str(SHARED_MODELS))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), factory)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    """An empty models dir holding the project's manifest entries whose files the shared data
    has (the Lightning builds; the Thunder ones are tested with files made here, below)."""
    data = json.loads((ROOT / "models" / MANIFEST_NAME).read_text())
    data["models"] = [e for e in data["models"] if (SHARED_MODELS / e["file"]).is_file()]
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(data))
    return tmp_path


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    fetch_module.register(parser.add_subparsers(dest="models_command", required=True))
    args = parser.parse_args(["fetch", "--timeout", "3", *argv])
    return args.run(args)


def entry(models_dir: Path, file: str) -> ModelEntry:
    return next(e for e in load_manifest(models_dir) if e.file == file)


def listing(models_dir: Path) -> set[str]:
    return {p.name for p in models_dir.iterdir()}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_urls_point_at_the_shared_copies(models_dir: Path) -> None:
    fetched = {e.file for e in load_manifest(models_dir) if e.url}
    assert fetched == {CPU, EDGETPU}
    for e in load_manifest(models_dir):
        if e.url:
            assert sha256(SHARED_MODELS / e.file) == e.sha256


def test_project_manifest_pins_every_download_to_the_coral_commit() -> None:
    entries = {e.file: e for e in load_manifest(ROOT / "models") if e.url}
    assert set(entries) == {CPU, EDGETPU, THUNDER_CPU, THUNDER_EDGETPU}
    for e in entries.values():
        assert e.url == f"{CORAL_RAW}/{e.file}"
        assert e.sha256 or e.git_blob
    # The blob ids google-coral/test_data's tree lists at that commit (issue 8).
    assert entries[THUNDER_CPU].git_blob == "42330c1bcbe4daeb51f3eabd95090d854455d094"
    assert entries[THUNDER_EDGETPU].git_blob == "8c74dfc6ce98dd6e1122f0ef3eeec9847f2d0e21"
    assert (entries[THUNDER_CPU].accelerator, entries[THUNDER_EDGETPU].accelerator) == (
        "cpu",
        "edgetpu",
    )


def test_fetches_and_verifies_every_file(
    server: Server, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("--base-url", server.url + "/", "--models-dir", str(models_dir)) == 0
    for e in load_manifest(models_dir):
        if e.url:
            assert sha256(models_dir / e.file) == e.sha256
            assert (models_dir / e.file).stat().st_mode & 0o777 == 0o644
    assert listing(models_dir) == {MANIFEST_NAME, CPU, EDGETPU}  # no temp files left
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert all(line.startswith("fetched") and "MB" in line for line in out)


def test_already_present_file_is_not_downloaded_again(
    server: Server, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(SHARED_MODELS / CPU, models_dir / CPU)
    inode = (models_dir / CPU).stat().st_ino
    assert run_cli("--base-url", server.url, "--models-dir", str(models_dir)) == 0
    assert server.requests == [EDGETPU]
    assert (models_dir / CPU).stat().st_ino == inode
    out = capsys.readouterr().out
    assert f"already present  {CPU} (2.9 MB)" in out
    assert f"fetched          {EDGETPU} (3.1 MB)" in out


def test_corrupt_copy_is_replaced_by_a_good_download(server: Server, models_dir: Path) -> None:
    (models_dir / CPU).write_bytes(b"half a model")
    assert run_cli("--base-url", server.url, "--models-dir", str(models_dir)) == 0
    assert sha256(models_dir / CPU) == entry(models_dir, CPU).sha256


def test_wrong_hash_writes_nothing(
    server: Server, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.faults[EDGETPU] = "other-bytes"
    assert run_cli("--base-url", server.url, "--models-dir", str(models_dir)) == 1
    assert listing(models_dir) == {MANIFEST_NAME, CPU}
    failed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("failed")]
    assert len(failed) == 1
    assert EDGETPU in failed[0]
    assert "sha256" in failed[0] and entry(models_dir, EDGETPU).sha256 in failed[0]
    assert "Nothing was changed" in failed[0]


def test_truncated_download_writes_nothing(
    server: Server, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.faults[CPU] = "truncated"
    assert run_cli("--base-url", server.url, "--models-dir", str(models_dir)) == 1
    assert listing(models_dir) == {MANIFEST_NAME, EDGETPU}
    out = capsys.readouterr().out
    size = (SHARED_MODELS / CPU).stat().st_size
    assert f"truncated: {size // 2} of {size} bytes" in out


def test_good_file_survives_a_bad_download(server: Server, models_dir: Path) -> None:
    shutil.copy(SHARED_MODELS / CPU, models_dir / CPU)
    before = (models_dir / CPU).stat()
    for fault in ("other-bytes", "truncated"):
        server.faults[CPU] = fault
        with pytest.raises(ModelError):
            fetch_module.download(entry(models_dir, CPU), f"{server.url}/{CPU}", models_dir, 3)
    after = (models_dir / CPU).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sha256(models_dir / CPU) == entry(models_dir, CPU).sha256
    assert listing(models_dir) == {MANIFEST_NAME, CPU}


def test_http_error_is_reported(
    server: Server, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("--base-url", server.url + "/nowhere", "--models-dir", str(models_dir)) == 1
    out = capsys.readouterr().out
    assert out.count("answered HTTP 404") == 2
    assert "--base-url" in out
    assert listing(models_dir) == {MANIFEST_NAME}


def test_server_down_says_cannot_reach(
    models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A bound socket that never listens: connecting to it is refused, and no other test or
    # process can take the port while it is held.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        code = run_cli("--base-url", f"http://127.0.0.1:{port}", "--models-dir", str(models_dir))
    assert code == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    cpu = entry(models_dir, CPU)
    assert out[0].startswith(f"failed           {CPU}: cannot reach 127.0.0.1:{port}")
    assert "connection refused" in out[0] and "check the internet connection" in out[0]
    assert cpu.sha256 in out[0] and cpu.url in out[0]
    assert listing(models_dir) == {MANIFEST_NAME}


def test_non_http_base_url_is_refused(models_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("--base-url", str(SHARED_MODELS), "--models-dir", str(models_dir)) == 1
    assert "is not an http:// or https:// URL" in capsys.readouterr().out


def git_blob(data: bytes) -> str:
    """Computed here the way git does, independently of the code under test."""
    return hashlib.sha1(b"blob " + str(len(data)).encode() + b"\0" + data).hexdigest()


def test_git_blob_id_matches_git(tmp_path: Path) -> None:
    """The id of a file as `git hash-object` gives it (git's own answer, when git is here)."""
    from device.models.manifest import git_blob_of

    path = tmp_path / "f.bin"
    path.write_bytes(b"hello\n")
    assert git_blob_of(path) == "ce013625030ba8dba906f756967f9e9ca394464a"  # git's id of "hello\n"
    if shutil.which("git"):
        import subprocess

        out = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True)
        assert out.stdout.strip() == git_blob_of(path)


@pytest.fixture
def blob_pinned(tmp_path: Path, server: Server) -> tuple[Path, ModelEntry, bytes]:
    """A file pinned by its git blob id only (as the Thunder builds are), served from the
    server's folder under a name of its own."""
    data = (SHARED_MODELS / CPU).read_bytes()[: 1 << 20] + b"thunder stand-in"
    name = "blob_pinned_test_model.tflite"
    served = tmp_path / "served"
    served.mkdir()
    (served / name).write_bytes(data)
    server.httpd.RequestHandlerClass = functools.partial(
        type("H", (Handler,), {"faults": server.faults, "requests": server.requests}),
        directory=str(served),
    )
    models = tmp_path / "models"
    models.mkdir()
    pinned = ModelEntry(
        name="thunder", file=name, precision="int8", accelerator="cpu", input_size=256,
        input_dtype="uint8", git_blob=git_blob(data), source="test", upstream="",
        license="Apache-2.0", url=f"{CORAL_RAW}/{name}",
    )  # fmt: skip
    (models / MANIFEST_NAME).write_text(json.dumps({"models": [pinned.__dict__]}))
    return models, pinned, data


def test_blob_pinned_file_is_fetched_and_verified(server: Server, blob_pinned) -> None:
    models, pinned, data = blob_pinned
    assert run_cli("--base-url", server.url, "--models-dir", str(models)) == 0
    assert (models / pinned.file).read_bytes() == data
    assert listing(models) == {MANIFEST_NAME, pinned.file}


def test_blob_pinned_wrong_file_is_refused(server: Server, blob_pinned, capsys) -> None:
    models, pinned, _ = blob_pinned
    server.faults[pinned.file] = "other-bytes"
    assert run_cli("--base-url", server.url, "--models-dir", str(models)) == 1
    out = capsys.readouterr().out
    assert f"expected git blob {pinned.git_blob}" in out and "Nothing was changed" in out
    assert listing(models) == {MANIFEST_NAME}


def test_blob_pinned_truncated_file_is_refused(server: Server, blob_pinned, capsys) -> None:
    models, pinned, data = blob_pinned
    server.faults[pinned.file] = "truncated"  # the connection closes after half of the file
    assert run_cli("--base-url", server.url, "--models-dir", str(models)) == 1
    assert f"truncated: {len(data) // 2} of {len(data)} bytes" in capsys.readouterr().out
    assert listing(models) == {MANIFEST_NAME}
    # A file that is complete as sent but is only a part of the pinned one: its blob id differs.
    (models.parent / "served" / pinned.file).write_bytes(data[: len(data) // 2])
    server.faults.clear()
    assert run_cli("--base-url", server.url, "--models-dir", str(models)) == 1
    assert f"expected git blob {pinned.git_blob}" in capsys.readouterr().out
    assert listing(models) == {MANIFEST_NAME}
