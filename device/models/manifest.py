"""The model manifest (models/manifest.json): which files exist, their checksums and origin.

Every model file the appliance may load is listed with its sha256 or git blob id; loading
refuses a file whose checksum differs, so a truncated copy or a wrong download never reaches the
interpreter.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from device.errors import ModelError

MODELS_DIR = Path(
    os.environ.get("REPCOUNTER_MODELS_DIR", Path(__file__).resolve().parents[2] / "models")
)
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True, kw_only=True)
class ModelEntry:
    """One model file as the manifest describes it.

    name: the model family the user picks ("lightning" or "thunder").
    precision: "float16" (converted TF.js graph models) or "int8" (official quantized builds).
    accelerator: "cpu" or "edgetpu" (an Edge TPU build only runs with libedgetpu).
    input_dtype: "int32" (converted TF.js graph models), "uint8" (official int8 builds).
    sha256 / git_blob: the file's pin; at least one is set. git_blob is the id git gives the
    file (sha1 of b"blob <size>\\0" + data), for files pinned by an upstream repository's tree.
    url: where `models fetch` downloads it from; empty for files converted and committed here.
    """

    name: str
    file: str
    precision: str
    accelerator: str
    input_size: int
    input_dtype: str
    sha256: str = ""
    git_blob: str = ""
    source: str
    upstream: str
    license: str
    url: str = ""

    def path(self, models_dir: Path = MODELS_DIR) -> Path:
        return models_dir / self.file

    @property
    def pin(self) -> str:
        """The pin as text: "sha256 <hex>" or "git blob <hex>"."""
        return f"sha256 {self.sha256}" if self.sha256 else f"git blob {self.git_blob}"


def load_manifest(models_dir: Path = MODELS_DIR) -> list[ModelEntry]:
    """All entries of the manifest in models_dir."""
    manifest = models_dir / MANIFEST_NAME
    try:
        data = json.loads(manifest.read_text())
        return [ModelEntry(**entry) for entry in data["models"]]
    except FileNotFoundError as exc:
        raise ModelError(
            f"{manifest} is missing: restore it from git (git checkout models/)."
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{manifest} is malformed ({exc}): restore it from git.") from exc


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_blob_of(path: Path) -> str:
    """The git blob id of a file: sha1 of b"blob <size>\\0" followed by its bytes."""
    digest = hashlib.sha1(b"blob %d\0" % path.stat().st_size, usedforsecurity=False)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def mismatch(entry: ModelEntry, path: Path) -> str | None:
    """None when the file matches every pin of entry, else what it has instead ("sha256 …")."""
    if entry.sha256 and (actual := sha256_of(path)) != entry.sha256:
        return f"sha256 {actual}"
    if entry.git_blob and (actual := git_blob_of(path)) != entry.git_blob:
        return f"git blob {actual}"
    if not entry.sha256 and not entry.git_blob:
        return "no pin (the manifest entry has neither sha256 nor git_blob)"
    return None


def verify(entry: ModelEntry, models_dir: Path = MODELS_DIR) -> Path:
    """The path of entry's file after checking that it exists and matches its sha256."""
    path = entry.path(models_dir)
    if not path.is_file():
        hint = (
            "run `repcounter models fetch`"
            if entry.url
            else "restore it with `git checkout models/`"
        )
        raise ModelError(f"model file {path} is missing: {hint}.")
    actual = mismatch(entry, path)
    if actual is not None:
        hint = (
            "run `repcounter models fetch` again"
            if entry.url
            else "restore it with `git checkout models/`"
        )
        raise ModelError(
            f"model file {path} is corrupt or truncated ({actual[:23]}…, "
            f"expected {entry.pin[:23]}…): delete it and {hint}."
        )
    return path


def available(entries: list[ModelEntry], models_dir: Path = MODELS_DIR) -> list[ModelEntry]:
    """The entries whose file is present (not verified: verification happens on load)."""
    return [e for e in entries if e.path(models_dir).is_file()]
