"""`repcounter bench-export`: what downloading the history's exports costs the live daemon.

Fills a history with bench-history's synthetic years (`--years`, `--people`), starts
`repcounter serve` on it with the clip played in real time (as a camera delivers frames), and
downloads the CSV and then the JSON export over HTTP while one Server-Sent Events client
watches the pose events. For a quiet phase before them and for each download it prints: the
daemon's peak RSS against its RSS just before, the download's time and size, the processed
frame rate, frames dropped, and the longest gap between two pose events (what the phone's
skeleton and the counting would feel).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from device.bench.api_client import ApiClient
from device.bench.bench_history import fill
from device.bench.bench_serve import PASSWORD, SHARED_CLIP, RssSampler, spawn_serve
from device.daemon import config
from device.daemon.service import rss_bytes
from device.errors import RepCounterError


class PoseWatch:
    """Arrival times of pose events on one SSE stream, read in a thread."""

    def __init__(self, client: ApiClient) -> None:
        self.times: list[float] = []
        self._client = client
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for _ in self._client.events("pose", timeout=600):
                self.times.append(time.monotonic())
        except (OSError, RuntimeError):
            return

    def longest_gap(self, start: float, end: float) -> float:
        inside = [t for t in self.times if start <= t <= end]
        return max((b - a for a, b in itertools.pairwise(inside)), default=end - start)


def _download(client: ApiClient, fmt: str) -> int:
    connection = http.client.HTTPConnection(client.host, client.port, timeout=600)
    cookie = {"Cookie": f"repcounter_session={client.cookie}"}
    connection.request("GET", f"/api/export?format={fmt}", headers=cookie)
    response = connection.getresponse()
    if response.status != 200:
        raise RepCounterError(f"/api/export?format={fmt} answered {response.status}")
    size = 0
    while chunk := response.read(1 << 16):
        size += len(chunk)
    connection.close()
    return size


def _frames(client: ApiClient) -> tuple[int, int]:
    status, health = client.json("GET", "/api/health")
    if status != 200:
        raise RepCounterError(f"/api/health answered {status}")
    return health["frames_processed"], health["frames_dropped"]


def _measure(client: ApiClient, rss: RssSampler, watch: PoseWatch, stage: str, run) -> dict:
    before_rss = rss_bytes(rss.pid)
    rss.stage = stage
    frames0, dropped0 = _frames(client)
    start = time.monotonic()
    size = run()
    end = time.monotonic()
    frames1, dropped1 = _frames(client)
    peak = max(rss.samples.get(stage, [before_rss]))
    rss.stage = f"after {stage}"
    return {
        "stage": stage,
        "seconds": round(end - start, 1),
        "mb": round(size / 1e6, 1),
        "rss_before_mib": round(before_rss / 2**20, 1),
        "rss_peak_mib": round(peak / 2**20, 1),
        "fps": round((frames1 - frames0) / (end - start), 1),
        "dropped": dropped1 - dropped0,
        "longest_gap_s": round(watch.longest_gap(start, end), 2),
    }


def run_bench(args: argparse.Namespace) -> int:
    if not args.clip.is_file():
        raise RepCounterError(f"{args.clip} does not exist: pass --clip with a video file")
    with tempfile.TemporaryDirectory(prefix="repcounter-export-") as tmp:
        data_dir = Path(tmp) / "data"
        fill(data_dir / "history.sqlite3", args.years, args.people).close()
        with sqlite3.connect(data_dir / "history.sqlite3") as db:
            reps = db.execute("SELECT count(*) FROM reps").fetchone()[0]
        settings = config.Settings(camera={"file_pace": "realtime", "file_loop": True})
        config.save(settings, data_dir / "settings.toml")
        process, port = spawn_serve(args.clip, data_dir, Path(tmp) / "serve.log")
        rss = RssSampler(process.pid, every=0.1)
        try:
            client = ApiClient("127.0.0.1", port)
            client.log_in(PASSWORD)
            watch = PoseWatch(client)
            time.sleep(args.warmup_s)
            rows = [_measure(client, rss, watch, "quiet", lambda: time.sleep(args.quiet_s) or 0)]
            for fmt in ("csv", "json"):
                rows.append(_measure(client, rss, watch, fmt, lambda f=fmt: _download(client, f)))
                time.sleep(2.0)
        finally:
            rss.close()
            process.terminate()
            process.wait(15)
    print(f"{args.years:g} years, {args.people} people: {reps} reps; clip {args.clip.name}")
    print(f"{'phase':<6} {'s':>6} {'MB':>6} {'RSS MiB before -> peak':>24} {'fps':>6} "
          f"{'dropped':>8} {'longest pose gap s':>19}")  # fmt: skip
    for row in rows:
        print(
            f"{row['stage']:<6} {row['seconds']:>6} {row['mb']:>6} "
            f"{row['rss_before_mib']:>13} -> {row['rss_peak_mib']:<7} {row['fps']:>6} "
            f"{row['dropped']:>8} {row['longest_gap_s']:>19}"
        )
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser(
        "bench-export", help="memory, time and counting fps while the history is exported"
    )
    bench.add_argument("--clip", type=Path, default=SHARED_CLIP, help="video played in real time")
    bench.add_argument("--years", type=float, default=5.0, help="years of daily sets (5)")
    bench.add_argument("--people", type=int, default=2, help="people in the household (2)")
    bench.add_argument("--warmup-s", type=float, default=8.0, help="seconds before measuring")
    bench.add_argument("--quiet-s", type=float, default=10.0, help="the phase without export")
    bench.set_defaults(run=run_bench)
