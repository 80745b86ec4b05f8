"""`repcounter bench-serve`: the live daemon's figures on a looping clip.

Starts `repcounter serve` as a separate process on 127.0.0.1 (so the benchmark's own clients do
not share its interpreter) and reads /api/health:
- real-time playback (the clip at its own frame rate, as a camera delivers frames):
  capture-to-event latency p50 and p99 with 0 and with N Server-Sent Events clients;
- as-fast-as-possible playback: processed frames per second in alternating phases with 0 and
  with N clients (`--rounds` pairs, so a noisy machine's drift hits both sides), each N-client
  phase's ratio to the mean of the 0-client phases around it, and their median;
- resident memory (RSS), sampled every 0.2 s: after warm-up, with 20 streams open (SSE and
  MJPEG, `--streams`), while 20 MB request bodies are sent (refused with 413), and after a long
  looping run; the peak and the last value of each stage.
Latency is from the frame leaving the source to its pose event being published, which is when
every SSE client's stream is written.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from device import jsonout
from device.bench.api_client import ApiClient
from device.daemon import config
from device.daemon.service import rss_bytes
from device.errors import RepCounterError
from web_ui.streams import PER_LOGIN

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


def phones(login: ApiClient, count: int) -> list[ApiClient]:
    """count clients for streams: as few logins as the server's per-login and per-address
    stream caps allow (web_ui/streams.py), each from a loopback address of its own (a password
    hash per client would burn CPU and memory that are not the streams')."""
    clients: list[ApiClient] = []
    for first in range(0, count, PER_LOGIN):
        phone = ApiClient(login.host, login.port, source=f"127.0.60.{first // PER_LOGIN + 1}")
        phone.log_in(PASSWORD)
        for _ in range(min(PER_LOGIN, count - first)):
            client = ApiClient(login.host, login.port, source=phone.source[0])
            client.cookie, client.csrf = phone.cookie, phone.csrf
            clients.append(client)
    return clients


class SseClients:
    """N clients reading /api/events in threads (see `phones`), counting events."""

    def __init__(self, login: ApiClient, count: int) -> None:
        self.received = [0] * count
        self._stop = threading.Event()
        self._clients = phones(login, count)
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _phase(client: ApiClient, pid: int, seconds: float, clients: int) -> dict:
    """Frames processed per second, the server's CPU time per frame and latency over
    `seconds` with `clients` SSE readers. CPU per frame barely depends on what else the
    machine runs, so it shows the readers' cost even where fps is noisy."""
    readers = SseClients(client, clients) if clients else None
    try:
        time.sleep(1.0)  # let the readers connect
        start, cpu_start = _health(client), cpu_seconds(pid)
        t0 = time.monotonic()
        time.sleep(seconds)
        end, cpu_end = _health(client), cpu_seconds(pid)
        elapsed = time.monotonic() - t0
    finally:
        if readers:
            readers.close()
    frames = end["frames_processed"] - start["frames_processed"]
    result = {
        "clients": clients,
        "fps": round(frames / elapsed, 1),
        "cpu_ms_per_frame": round(1000 * (cpu_end - cpu_start) / frames, 2) if frames else None,
        "latency_ms": end["latency_ms"],
        "dropped_frames": end["frames_dropped"] - start["frames_dropped"],
    }
    if readers:
        result["events_per_client_per_s"] = round(min(readers.received) / elapsed, 1)
    return result


class RssSampler:
    """The server's RSS every `every` seconds in a thread; `stage` names what is going on."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.pid, self.every = pid, every
        self.stage = "warm-up"
        self.samples: dict[str, list[int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.setdefault(self.stage, []).append(rss_bytes(self.pid))

    def close(self) -> dict[str, dict[str, float]]:
        """{stage: {"peak": MiB, "last": MiB}}."""
        self._stop.set()
        self._thread.join(5)
        return {
            stage: {"peak": round(max(v) / 2**20, 1), "last": round(v[-1] / 2**20, 1)}
            for stage, v in self.samples.items()
            if v
        }


def _open_streams(client: ApiClient, count: int) -> list[http.client.HTTPResponse]:
    """count open streams, half SSE and half MJPEG, each read by a thread."""
    responses = []
    for i, phone in enumerate(phones(client, count)):
        connection = http.client.HTTPConnection(
            phone.host, phone.port, timeout=30, source_address=(phone.source[0], 0)
        )
        path = "/api/events" if i % 2 == 0 else "/api/preview.mjpeg"
        connection.request("GET", path, headers={"Cookie": f"repcounter_session={phone.cookie}"})
        response = connection.getresponse()
        if response.status != 200:
            raise RepCounterError(f"{path} answered {response.status}: {response.read()!r}")
        threading.Thread(target=_drain, args=(response,), daemon=True).start()
        responses.append(response)
    return responses


def _drain(response: http.client.HTTPResponse) -> None:
    try:
        while response.read1(65536):
            pass
    except (OSError, ValueError, AttributeError):
        pass  # closed by the benchmark


def _send_big_bodies(client: ApiClient, count: int, size: int) -> list[int]:
    """count bodies of `size` bytes to PUT /api/settings, alternately with Content-Length and
    chunked; the status of each answer (413 expected)."""
    statuses = []
    chunk = b"x" * 65536
    for i in range(count):
        chunked = i % 2 == 1
        head = (
            "PUT /api/settings HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nCookie: repcounter_session={client.cookie}\r\n"
            f"X-CSRF-Token: {client.csrf}\r\n"
            + (
                "Transfer-Encoding: chunked\r\n\r\n"
                if chunked
                else f"Content-Length: {size}\r\n\r\n"
            )
        )
        with socket.create_connection((client.host, client.port), timeout=30) as raw:
            try:
                raw.sendall(head.encode())
                for _ in range(size // len(chunk)):
                    raw.sendall(b"10000\r\n" + chunk + b"\r\n" if chunked else chunk)
                if chunked:
                    raw.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the server answered and closed before the whole body was sent
            answer = raw.recv(64)
        statuses.append(int(answer.split()[1]) if answer.startswith(b"HTTP/") else 0)
    return statuses


def _run(args: argparse.Namespace, pace: str, work: Path) -> dict:
    data_dir = work / pace
    settings = config.Settings(camera={"file_pace": pace, "file_loop": True}, mqtt=args.mqtt)
    config.save(settings, data_dir / "settings.toml")
    process, port = spawn_serve(args.clip, data_dir, work / f"serve-{pace}.log")
    rss = RssSampler(process.pid)
    try:
        result = _measure(args, pace, process.pid, port, rss)
    finally:
        rss_stages = rss.close()
        process.terminate()
        process.wait(15)
    return {**result, "rss_mib": rss_stages}


def _measure(args: argparse.Namespace, pace: str, pid: int, port: int, rss: RssSampler) -> dict:
    client = ApiClient("127.0.0.1", port)
    client.log_in(PASSWORD)
    time.sleep(3.0)  # warm-up: model caches, crop tracking
    result = {"pace": pace, "backend": _health(client)["backend"]}
    rss.stage = "phases"
    rounds = 1 if pace == "realtime" else args.rounds
    phases = [_phase(client, pid, args.phase_s, 0)]
    for _ in range(rounds):
        phases.append(_phase(client, pid, args.phase_s, args.clients))
        phases.append(_phase(client, pid, args.phase_s, 0))
    result["phases"] = phases
    if pace == "fast":
        rss.stage = f"{args.streams}_streams_open"
        streams = _open_streams(client, args.streams)
        time.sleep(1.0)
        result["streams_fps"] = _phase(client, pid, args.phase_s, 0)["fps"]
        for response in streams:
            response.close()
        rss.stage = "20_MB_bodies"
        result["body_statuses"] = _send_big_bodies(client, 6, 20 * 2**20)
        rss.stage = "soak"
        time.sleep(args.soak_s)
    health = _health(client)
    result["frames_processed"] = health["frames_processed"]
    result["mqtt"] = health.get("mqtt")
    return result


def loaded_ratios(phases: list[dict], key: str) -> list[float]:
    """Each loaded phase's `key` over the mean of the idle phases before and after it."""
    ratios = []
    for i in range(1, len(phases) - 1, 2):
        idle = (phases[i - 1][key] + phases[i + 1][key]) / 2
        if idle and phases[i][key] is not None:
            ratios.append(round(phases[i][key] / idle, 3))
    return ratios


def register(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser("bench-serve", help="latency, fps and memory of the live daemon")
    bench.add_argument("--clip", type=Path, default=SHARED_CLIP, help="video to loop")
    bench.add_argument("--clients", type=int, default=10, help="SSE clients in the loaded phase")
    bench.add_argument("--phase-s", type=float, default=20.0, help="seconds per measured phase")
    bench.add_argument("--rounds", type=int, default=3, help="loaded phases, between idle ones")
    bench.add_argument("--streams", type=int, default=20, help="SSE + MJPEG streams for memory")
    bench.add_argument("--soak-s", type=float, default=300.0, help="long looping run for memory")
    bench.add_argument(
        "--mqtt",
        type=_broker,
        default=config.MqttSettings(),
        metavar="HOST:PORT",
        help="publish to this MQTT broker (Home Assistant) during the runs",
    )
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(run=run_bench_serve)


def _broker(value: str) -> config.MqttSettings:
    host, _, port = value.rpartition(":")
    try:
        return config.MqttSettings(enabled=True, host=host, port=int(port))
    except ValueError as exc:  # pydantic's ValidationError is one too
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT of a broker") from exc


def run_bench_serve(args: argparse.Namespace) -> int:
    if not args.clip.is_file():
        raise RepCounterError(f"{args.clip} does not exist: pass --clip with a video file")
    with tempfile.TemporaryDirectory(prefix="repcounter-bench-") as tmp:
        realtime = _run(args, "realtime", Path(tmp))
        fast = _run(args, "fast", Path(tmp))
    ratios = loaded_ratios(fast["phases"], "fps")
    cpu_ratios = loaded_ratios(fast["phases"], "cpu_ms_per_frame")
    report = {
        "clip": str(args.clip),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "backend": fast["backend"],
        "latency_ms": {f"{p['clients']}_clients": p["latency_ms"] for p in realtime["phases"]},
        "realtime_fps": {f"{p['clients']}_clients": p["fps"] for p in realtime["phases"]},
        "fast_fps_phases": [[p["clients"], p["fps"]] for p in fast["phases"]],
        "fps_ratios": ratios,
        "fps_ratio_median": statistics.median(ratios) if ratios else None,
        "cpu_ms_per_frame_phases": [p["cpu_ms_per_frame"] for p in fast["phases"]],
        "cpu_per_frame_ratios": cpu_ratios,
        "cpu_per_frame_ratio_median": statistics.median(cpu_ratios) if cpu_ratios else None,
        "events_per_client_per_s": [
            p["events_per_client_per_s"] for p in fast["phases"] if p["clients"]
        ],
        "fast_fps_with_streams_open": fast["streams_fps"],
        "body_statuses": fast["body_statuses"],
        "rss_mib": fast["rss_mib"],
        "rss_mib_peak": max(stage["peak"] for stage in fast["rss_mib"].values()),
        "frames_in_long_run": fast["frames_processed"],
        "mqtt": fast["mqtt"],
    }
    if args.json:
        print(jsonout.dumps(report, indent=1))
        return 0
    print(
        f"clip {report['clip']} on {report['cpus']} CPUs (load average "
        f"{' '.join(f'{v:.1f}' for v in report['load_average'])}), backend {report['backend']}"
    )
    for name, latency in report["latency_ms"].items():
        clients = name.replace("_", " ")
        print(
            f"capture-to-event latency, real time, {clients}: "
            f"p50 {latency['p50']} ms, p99 {latency['p99']} ms"
        )
    phases = ", ".join(f"{clients}: {fps}" for clients, fps in report["fast_fps_phases"])
    print(f"processed fps, as fast as possible, by SSE clients: {phases}")
    print(
        f"fps ratio ({args.clients} clients / 0, each against the phases around it): "
        f"{ratios}, median {report['fps_ratio_median']}"
    )
    cpu = ", ".join(str(v) for v in report["cpu_ms_per_frame_phases"])
    print(f"server CPU ms per processed frame, same phases: {cpu}")
    print(
        f"CPU per frame ratio ({args.clients} clients / 0): {cpu_ratios}, "
        f"median {report['cpu_per_frame_ratio_median']}"
    )
    print(f"processed fps with {args.streams} streams open: {report['fast_fps_with_streams_open']}")
    print(f"answers to 20 MB bodies: {report['body_statuses']}")
    for stage, values in report["rss_mib"].items():
        print(f"RSS {stage}: peak {values['peak']} MiB, last {values['last']} MiB")
    print(f"MQTT (fast run): {report['mqtt']}")
    return 0
