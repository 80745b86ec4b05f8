"""`repcounter password`: set a new password on the device itself, for a forgotten one.

Run on the Pi as the service's user, then restart the service (it reads auth.json at start):
    sudo -u repcounter /opt/repcounter/.venv/bin/repcounter password --data-dir /var/lib/repcounter
    sudo systemctl restart repcounter
Every phone must log in again with the new password.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from device.daemon.service import default_data_dir
from device.errors import RepCounterError
from web_ui.auth import MAX_PASSWORD, MIN_PASSWORD
from web_ui.credentials import Credentials


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "password", help="set a new web UI password (for a forgotten one); every phone logs out"
    )
    parser.add_argument("--data-dir", type=Path, help="the service's data folder "
                        "(default: $STATE_DIRECTORY, else ~/.local/state/repcounter)")  # fmt: skip
    parser.add_argument(
        "--stdin", action="store_true", help="read the password from one line of standard input"
    )
    parser.set_defaults(run=run_password)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Same password again: ") != first:
        raise RepCounterError("the passwords differ: nothing was changed")
    return first


def run_password(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir or default_data_dir()
    if not data_dir.is_dir():
        raise RepCounterError(
            f"{data_dir} does not exist: pass the service's --data-dir (on the Pi "
            "/var/lib/repcounter, run as its user: sudo -u repcounter ...)"
        )
    password = _read_password(args.stdin)
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise RepCounterError(
            f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters: nothing changed"
        )
    try:
        Credentials(data_dir / "auth.json").set_password(password)
    except PermissionError as exc:
        raise RepCounterError(
            f"cannot write {exc.filename}: run as the service's user (sudo -u repcounter ...)"
        ) from exc
    print(
        f"Password set in {data_dir / 'auth.json'}. Restart the service "
        "(sudo systemctl restart repcounter) and log in on the phone with it."
    )
    return 0
