"""The `repcounter` command: one subcommand per job, each a thin wrapper over a module."""

from __future__ import annotations

import argparse
import sys

from device.bench import bench_export, bench_history, bench_serve, pose_bench
from device.daemon import doctor, service
from device.errors import RepCounterError
from device.exercise import commands as exercise_commands
from device.models import cli as models_cli
from device.pose import commands as pose_commands
from web_ui import password_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="repcounter", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    # Each module adds its own subcommands and sets `run` to the function that executes them.
    pose_commands.register(commands)
    pose_bench.register(commands)
    models_cli.register(commands)
    exercise_commands.register(commands)
    service.register(commands)
    bench_serve.register(commands)
    bench_history.register(commands)
    bench_export.register(commands)
    doctor.register(commands)
    password_cli.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except RepCounterError as exc:
        print(f"repcounter: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
