"""`repcounter bench-serve`: the live daemon's figures on a looping clip.

Starts `repcounter serve` as a separate process on 127.0.0.1 (so the benchmark's own clients do
not share its interpreter) and reads /api/health:
- real-time playback (the clip at its own frame rate, as a camera delivers frames):
  capture-to-event latency p50 and p99 with 0 and with N Server-Sent Events clients;
- as-fast-as-possible playback: processed frames per second with 0 and with N clients, and
  their ratio;
- resident memory (RSS) after warm-up and after a long looping run.
Latency is from the frame leaving the source to its pose event being published, which is when
every SSE client's stream is written.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from device import jsonout
from device.daemon import config
from device.daemon.api_client import ApiClient
from device.daemon.service import rss_bytes
from device.errors import RepCounterError

SHARED_CLIP = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "clips" / "darebee_squat.mp4"
)
PASSWORD = "bench-serve-password"
SERVING = re.compile(r"serving on http://[\d.]+:(\d+)")


def spawn_serve(
    source: Path | str,
    data_dir: Path,
    log_path: Path,
    timeout: float = 60.0,
    extra: tuple[str, ...] = (),
) -> tuple[subprocess.Popen, int]:
    """Run `repcounter serve` on 127.0.0.1 with any free port; (process, port) once it listens."""
    command = [
        sys.executable, "-m", "device.cli", "serve", "--source", str(source),
        "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", "0", *extra,
    ]  # fmt: skip
    log = log_path.open("wb")
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2]
    )
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = SERVING.search(log_path.read_text(errors="replace"))
        if match:
            return process, int(match[1])
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    process.wait()
    raise RepCounterError(
        f"repcounter serve did not start:\n{log_path.read_text(errors='replace')[-2000:]}"
    )


class SseClients:
    """N logged-in clients reading /api/events in threads, counting what they receive."""

    def __init__(self, port: int, count: int) -> None:
        self.received = [0] * count
        self._stop = threading.Event()
        self._clients = []
        for _ in range(count):
            client = ApiClient("127.0.0.1", port)
            client.log_in(PASSWORD)
            self._clients.append(client)
        self._threads = [
            threading.Thread(target=self._read, args=(i,), daemon=True) for i in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def _read(self, slot: int) -> None:
        try:
            for _ in self._clients[slot].events():
                self.received[slot] += 1
                if self._stop.is_set():
                    return
        except OSError:
            return

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)


def _health(client: ApiClient) -> dict:
    status, health = client.json("GET", "/api/health")
    if status != 200:
        raise RepCounterError(f"/api/health answered {status}: {health}")
    return health


def _phase(client: ApiClient, seconds: float, clients: int, port: int) -> dict:
    """Frames processed per second and latency over `seconds` with `clients` SSE readers."""
    readers = SseClients(port, clients) if clients else None
    try:
        time.sleep(1.0)  # let the readers connect
        start = _health(client)
        t0 = time.monotonic()
        time.sleep(seconds)
        end = _health(client)
        elapsed = time.monotonic() - t0
    finally:
        if readers:
            readers.close()
    result = {
        "clients": clients,
        "fps": round((end["frames_processed"] - start["frames_processed"]) / elapsed, 1),
        "latency_ms": end["latency_ms"],
        "dropped_frames": end["frames_dropped"] - start["frames_dropped"],
    }
    if readers:
        result["events_per_client_per_s"] = round(min(readers.received) / elapsed, 1)
    return result


def _run(clip: Path, pace: str, phase_s: float, clients: int, soak_s: float, work: Path) -> dict:
    data_dir = work / pace
    settings = config.Settings(camera={"file_pace": pace, "file_loop": True})
    config.save(settings, data_dir / "settings.toml")
    process, port = spawn_serve(clip, data_dir, work / f"serve-{pace}.log")
    try:
        client = ApiClient("127.0.0.1", port)
        client.log_in(PASSWORD)
        time.sleep(3.0)  # warm-up: model caches, crop tracking
        result = {"pace": pace, "rss_start_bytes": rss_bytes(process.pid)}
        result["backend"] = _health(client)["backend"]
        result["phases"] = [
            _phase(client, phase_s, 0, port),
            _phase(client, phase_s, clients, port),
        ]
        if soak_s > 0:
            time.sleep(soak_s)
            result["soak_s"] = soak_s
            result["rss_end_bytes"] = rss_bytes(process.pid)
        result["frames_processed"] = _health(client)["frames_processed"]
        return result
    finally:
        process.terminate()
        process.wait(15)


def register(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser("bench-serve", help="latency, fps and memory of the live daemon")
    bench.add_argument("--clip", type=Path, default=SHARED_CLIP, help="video to loop")
    bench.add_argument("--clients", type=int, default=10, help="SSE clients in the loaded phase")
    bench.add_argument("--phase-s", type=float, default=20.0, help="seconds per measured phase")
    bench.add_argument("--soak-s", type=float, default=300.0, help="long looping run for memory")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(run=run_bench_serve)


def run_bench_serve(args: argparse.Namespace) -> int:
    if not args.clip.is_file():
        raise RepCounterError(f"{args.clip} does not exist: pass --clip with a video file")
    with tempfile.TemporaryDirectory(prefix="repcounter-bench-") as tmp:
        realtime = _run(args.clip, "realtime", args.phase_s, args.clients, 0, Path(tmp))
        fast = _run(args.clip, "fast", args.phase_s, args.clients, args.soak_s, Path(tmp))
    idle, loaded = fast["phases"]
    report = {
        "clip": str(args.clip),
        "cpus": os.cpu_count(),
        "backend": fast["backend"],
        "latency_ms": {f"{p['clients']}_clients": p["latency_ms"] for p in realtime["phases"]},
        "realtime_fps": {f"{p['clients']}_clients": p["fps"] for p in realtime["phases"]},
        "fast_fps": {"0_clients": idle["fps"], f"{loaded['clients']}_clients": loaded["fps"]},
        "fps_ratio": round(loaded["fps"] / idle["fps"], 3) if idle["fps"] else None,
        "events_per_client_per_s": loaded.get("events_per_client_per_s"),
        "rss_mib": {
            "start": round(fast["rss_start_bytes"] / 2**20, 1),
            f"after_{fast.get('soak_s', 0):.0f}s": round(fast.get("rss_end_bytes", 0) / 2**20, 1),
        },
        "frames_in_long_run": fast["frames_processed"],
    }
    if args.json:
        print(jsonout.dumps(report, indent=1))
        return 0
    print(f"clip {report['clip']} on {report['cpus']} CPUs, backend {report['backend']}")
    for name, latency in report["latency_ms"].items():
        clients = name.replace("_", " ")
        print(
            f"capture-to-event latency, real time, {clients}: "
            f"p50 {latency['p50']} ms, p99 {latency['p99']} ms"
        )
    for name, fps in report["fast_fps"].items():
        print(f"processed fps, as fast as possible, {name.replace('_', ' ')}: {fps}")
    print(f"fps ratio ({loaded['clients']} clients / 0): {report['fps_ratio']}")
    print(f"RSS: {report['rss_mib']}")
    return 0
