"""`repcounter models fetch`: download the official model builds the manifest pins.

A file is pinned by its sha256 or by its git blob id (sha1 of b"blob <size>\\0" + data), the id
google-coral/test_data's git tree gives it at the pinned commit. Each download streams into a
hidden temporary file next to its destination, is fsynced and checked against the pin, and only
then renamed into place (os.replace), so a
wrong, truncated or interrupted download never changes anything in the models directory.
Standard library only: it runs on a fresh Pi before any extra is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import socket
import ssl
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import BinaryIO, TextIO

from device.errors import ModelError
from device.models.manifest import MODELS_DIR, ModelEntry, load_manifest, mismatch

DEFAULT_TIMEOUT = 30.0
CHUNK = 1 << 16


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def source_url(entry: ModelEntry, base_url: str | None) -> str:
    """Where entry is downloaded from: base_url with the file name appended, else its own url."""
    if base_url:
        return f"{base_url.rstrip('/')}/{urllib.parse.quote(entry.file)}"
    return entry.url


def _unreachable(url: str, reason: object, hint: str) -> ModelError:
    """The error for a server that could not be reached, naming the cause when it is known."""
    host = urllib.parse.urlsplit(url).netloc or url
    if isinstance(reason, socket.gaierror):
        why = f"name lookup failed: {reason.strerror or reason}"
    elif isinstance(reason, ConnectionRefusedError):
        why = "connection refused"
    elif isinstance(reason, TimeoutError):
        why = "timed out"
    elif isinstance(reason, ssl.SSLCertVerificationError):
        # A Pi has no real-time clock: a wrong date makes every certificate look invalid.
        return ModelError(
            f"cannot verify the TLS certificate of {host} ({reason.verify_message}): check the "
            f"system clock (`timedatectl`), or {hint}."
        )
    else:
        why = str(reason)
    return ModelError(f"cannot reach {host} ({why}): check the internet connection, or {hint}.")


def _stream(url: str, out: BinaryIO, timeout: float, hint: str) -> int:
    """Copy url's body into out; return its size, or raise ModelError."""
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            for block in iter(lambda: response.read(CHUNK), b""):
                out.write(block)
                received += len(block)
    except urllib.error.HTTPError as exc:
        raise ModelError(
            f"{url} answered HTTP {exc.code} {exc.reason}: check --base-url (the file name is "
            f"appended to it) or try again later, or {hint}."
        ) from exc
    except (OSError, http.client.HTTPException) as exc:
        if isinstance(exc, urllib.error.URLError):  # raised before any byte: no connection
            raise _unreachable(url, exc.reason, hint) from exc
        why = str(exc) or type(exc).__name__
        raise ModelError(
            f"download of {url} broke off after {_mb(received)} ({why}): nothing was changed; "
            f"run `repcounter models fetch` again."
        ) from exc
    # http.client stops quietly at end of stream even when Content-Length promised more.
    if length is not None and length.isdigit() and received != int(length):
        raise ModelError(
            f"download of {url} is truncated: {received} of {length} bytes arrived before the "
            f"connection closed. Nothing was changed; run `repcounter models fetch` again."
        )
    return received


def download(entry: ModelEntry, url: str, models_dir: Path, timeout: float) -> int:
    """Download entry from url into models_dir after checking its pin; return its size.

    Raises ModelError, with nothing in models_dir changed, when the server cannot be reached,
    answers with an HTTP error, closes early, or sends bytes with another sha256 or git blob id.
    """
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ModelError(f"{url} is not an http:// or https:// URL: check --base-url.")
    hint = f"copy the file by hand into {models_dir}/ — it is {entry.url}, its {entry.pin}"
    try:
        fd, tmp_name = tempfile.mkstemp(dir=models_dir, prefix=f".{entry.file}.", suffix=".part")
    except OSError as exc:
        raise ModelError(
            f"cannot write to {models_dir} ({exc.strerror}): run as the user that owns it, "
            f"or pass --models-dir."
        ) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            size = _stream(url, out, timeout, hint)
            out.flush()
            os.fsync(out.fileno())
        actual = mismatch(entry, tmp)
        if actual is not None:
            raise ModelError(
                f"{url} sent {entry.file} with {actual}, expected {entry.pin}: it is not the "
                f"pinned build (wrong mirror, proxy page or changed upstream). Nothing was "
                f"changed; check --base-url, or {hint}."
            )
        # mkstemp makes 0600 files; the service may run as another user than the one fetching.
        tmp.chmod(0o644)
        os.replace(tmp, entry.path(models_dir))
    except OSError as exc:
        raise ModelError(
            f"cannot store {entry.file} in {models_dir} ({exc}): check free space and "
            f"permissions, then run `repcounter models fetch` again."
        ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()  # gone already once os.replace has moved it into place
    dir_fd = os.open(models_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself survive a power cut
    finally:
        os.close(dir_fd)
    return size


def fetch(
    models_dir: Path = MODELS_DIR,
    base_url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    out: TextIO | None = None,
) -> int:
    """Fetch every manifest entry with a url, one progress line each; return the failure count."""
    out = out or sys.stdout
    entries = [e for e in load_manifest(models_dir) if e.url]
    if not entries:
        print(f"nothing to fetch: no entry of {models_dir}/manifest.json has a url", file=out)
    failures = 0
    for entry in entries:
        dest = entry.path(models_dir)
        present = dest.is_file()
        if present and mismatch(entry, dest) is None:
            print(f"already present  {entry.file} ({_mb(dest.stat().st_size)})", file=out)
            continue
        url = source_url(entry, base_url)
        try:
            size = download(entry, url, models_dir, timeout)
        except ModelError as exc:
            failures += 1
            print(f"failed           {entry.file}: {exc}", file=out)
            continue
        note = ", replaced a corrupt copy" if present else ""
        print(f"fetched          {entry.file} ({_mb(size)}{note})", file=out)
    return failures


def run(args: argparse.Namespace) -> int:
    """Entry point of `repcounter models fetch`: exit status 1 if any file failed."""
    return 1 if fetch(args.models_dir, args.base_url, args.timeout) else 0


def register(models_commands: argparse._SubParsersAction) -> None:
    """Add `fetch` to the sub-parsers of the `repcounter models` group."""
    parser = models_commands.add_parser(
        "fetch",
        help="download the official int8 and Edge TPU builds and check their pins",
        description="Download every model file the manifest lists with a URL (the official "
        "int8 and Edge TPU builds of Lightning and Thunder) and check it against its pinned "
        "sha256 or git blob id. Files already present "
        "and correct are skipped; a failed or wrong download leaves the models directory as it "
        "was.",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="download from this mirror or local server instead (the file name is appended)",
    )
    parser.add_argument(
        "--models-dir",
        metavar="DIR",
        type=Path,
        default=MODELS_DIR,
        help=f"where the manifest is and the files go (default: {MODELS_DIR})",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"give up on a server silent this long (default: {DEFAULT_TIMEOUT:g})",
    )
    parser.set_defaults(run=run)
