"""`repcounter models ...`: list, fetch and convert the MoveNet files."""

from __future__ import annotations

import argparse

from device.models import convert, fetch
from device.models.manifest import MODELS_DIR, load_manifest


def register(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser("models", help="list, fetch or convert the MoveNet model files")
    models_commands = models.add_subparsers(dest="models_command", required=True)
    listing = models_commands.add_parser("list", help="the manifest and which files are present")
    listing.set_defaults(run=run_list)
    fetch.register(models_commands)
    convert.register(models_commands)


def run_list(args: argparse.Namespace) -> int:
    for entry in load_manifest(MODELS_DIR):
        present = "present" if entry.path().is_file() else "missing (repcounter models fetch)"
        print(
            f"{entry.name:<10} {entry.accelerator:<8} {entry.input_size:>4} "
            f"{entry.input_dtype:<6} {entry.file:<50} {present}"
        )
    return 0
