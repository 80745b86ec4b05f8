"""The model manifest (models/manifest.json): which files exist, their checksums and origin.

Every model file the appliance may load is listed with its sha256; loading refuses a file whose
checksum differs, so a truncated copy or a wrong download never reaches the interpreter.
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


@dataclass(frozen=True)
class ModelEntry:
    """One model file as the manifest describes it.

    name: the model family the user picks ("lightning" or "thunder").
    accelerator: "cpu" or "edgetpu" (an Edge TPU build only runs with libedgetpu).
    input_dtype: "int32" (converted TF.js graph models), "uint8" (official int8 builds).
    url: where `models fetch` downloads it from; empty for files converted and committed here.
    """

    name: str
    file: str
    sha256: str
    input_size: int
    input_dtype: str
    accelerator: str
    source: str
    upstream: str
    license: str
    url: str = ""

    def path(self, models_dir: Path = MODELS_DIR) -> Path:
        return models_dir / self.file


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
    actual = sha256_of(path)
    if actual != entry.sha256:
        hint = (
            "run `repcounter models fetch` again"
            if entry.url
            else "restore it with `git checkout models/`"
        )
        raise ModelError(
            f"model file {path} is corrupt or truncated (sha256 {actual[:12]}…, "
            f"expected {entry.sha256[:12]}…): delete it and {hint}."
        )
    return path


def available(entries: list[ModelEntry], models_dir: Path = MODELS_DIR) -> list[ModelEntry]:
    """The entries whose file is present (not verified: verification happens on load)."""
    return [e for e in entries if e.path(models_dir).is_file()]
