"""The appliance daemon: `repcounter serve`.

Wires settings, history, the live pipeline and the web server together; tells systemd when it
is ready and pings its watchdog only while both pipeline threads show signs of life, so a
stalled pipeline gets the service restarted. SIGTERM and SIGINT stop it cleanly.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from waitress.channel import HTTPChannel

from device.capture.preview import PreviewBuffer
from device.capture.runner import Backoff
from device.capture.source import CaptureOptions, FrameSource
from device.capture.sources import open_source, parse_source
from device.daemon import config
from device.daemon.events import EventBus
from device.daemon.live import LivePipeline, PoseStage, Tracker
from device.daemon.sdnotify import Notifier
from device.daemon.store import Store
from device.daemon.workout import Workout
from device.errors import RepCounterError
from device.exercise.rules import ExerciseRules

log = logging.getLogger("repcounter")

STALL_S = 20.0  # a pipeline thread silent this long counts as stalled (no watchdog ping)
HEALTH_EVERY_S = 1.0
LOW_FPS_HOLD_S = 5.0  # the processed frame rate must stay low this long before it is a warning


def default_data_dir() -> Path:
    """$STATE_DIRECTORY (systemd), else $XDG_STATE_HOME/repcounter or ~/.local/state/repcounter."""
    if os.environ.get("STATE_DIRECTORY"):
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "repcounter"


def default_pose_factory(settings: config.ModelSettings) -> PoseStage:
    from device.pose.pipeline import PosePipeline

    return PosePipeline.create(
        model=settings.name, accelerator=settings.accelerator, threads=settings.threads
    )


def default_tracker_factory(rules: ExerciseRules, mode: str) -> Tracker:
    from device.exercise.tracker import ExerciseTracker

    return ExerciseTracker(rules, mode=mode)


def rss_bytes(pid: int | str = "self") -> int:
    """Resident memory of a process (Linux), 0 where /proc is not available."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Daemon:
    def __init__(
        self,
        data_dir: Path,
        settings_path: Path | None = None,
        source: str | None = None,
        host: str | None = None,
        port: int | None = None,
        pose_factory: Callable[[config.ModelSettings], PoseStage] = default_pose_factory,
        tracker_factory: Callable[[ExerciseRules, str], Tracker] = default_tracker_factory,
        backoff: Callable[[], Backoff] = Backoff,
    ) -> None:
        self.data_dir = data_dir
        self.settings_path = settings_path or data_dir / "settings.toml"
        self.settings = config.load(self.settings_path)
        if source is not None:
            parse_source(source)  # a typo in --source fails here, not in the capture thread
        self.source_override = source
        self.host = host or self.settings.server.host
        self.port = self.settings.server.port if port is None else port
        self._pose_factory = pose_factory
        self._tracker_factory = tracker_factory
        self._backoff = backoff
        self.bus = EventBus()
        self.preview = PreviewBuffer(
            self.settings.camera.preview_width,
            self.settings.camera.preview_height,
            self.settings.server.preview_quality,
        )
        self.store: Store | None = None
        self.workout: Workout | None = None
        self.pipeline: LivePipeline | None = None
        self.pose: PoseStage | None = None
        self.pipeline_error: str | None = None
        self.started = time.monotonic()
        self.server: Any = None
        self._server_thread: threading.Thread | None = None
        self._settings_lock = threading.Lock()
        self.notifier = Notifier()

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Open the history, start the pipeline and bind the web server (errors propagate)."""
        from waitress.server import create_server

        from web_ui.app import create_app

        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.store = Store(self.data_dir / "history.sqlite3")
        self.workout = Workout(
            self.store, self.settings.workout.set_idle_s, self.settings.workout.session_gap_s
        )
        self.app = create_app(self, self.data_dir / "auth.json")
        try:
            self.server = create_server(
                self.app,
                host=self.host,
                port=self.port,
                threads=self.settings.server.threads,
                max_request_body_size=1 << 20,
                connection_limit=200,
                channel_timeout=60,
                ident="RepCounter",
                clear_untrusted_proxy_headers=True,
            )
        except OSError as exc:
            raise RepCounterError(
                f"cannot listen on {self.host}:{self.port} ({exc.strerror}): is another "
                "repcounter running? Use --port or server.port to pick another port."
            ) from exc
        self.port = int(self.server.effective_port)
        self._start_pipeline()
        self._server_thread = threading.Thread(target=self.server.run, name="http", daemon=True)
        self._server_thread.start()
        url_host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        log.info("serving on http://%s:%d", url_host, self.port)
        self.notifier.ready(f"serving on port {self.port}")

    def run(self, stop: threading.Event) -> None:
        """Health events, watchdog pings and end-of-file handling until stop is set."""
        interval = HEALTH_EVERY_S
        if self.notifier.watchdog_s:
            interval = min(interval, self.notifier.watchdog_s / 4)
        last_health = 0.0
        stalled_before = False
        while not stop.wait(interval):
            now = time.monotonic()
            if now - last_health >= HEALTH_EVERY_S:
                last_health = now
                self.bus.publish("health", self.health())
            pipeline = self.pipeline
            reason = pipeline.stalled(STALL_S, now) if pipeline else None
            if reason:
                if not stalled_before:
                    log.error("pipeline stalled: %s; withholding the watchdog ping", reason)
                    self.notifier.status(f"stalled: {reason}")
                stalled_before = True
                continue
            stalled_before = False
            self.notifier.watchdog()
            if pipeline and pipeline.capture.state == "ended":
                pipeline.finish()

    def shutdown(self) -> None:
        self.notifier.stopping()
        self._stop_pipeline()
        self.bus.close()  # ends the live-update streams so the server threads can finish
        if self.server is not None:
            self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=3)
            for dispatcher in list(self.server._map.values()):  # listener, trigger, channels
                if isinstance(dispatcher, HTTPChannel):
                    dispatcher.handle_close()
                else:
                    dispatcher.close()
        if self._server_thread is not None:
            self._server_thread.join(3)
        if self.store is not None:
            self.store.close()
        self.notifier.close()

    # --- pipeline --------------------------------------------------------------------------

    @property
    def source_text(self) -> str:
        return self.source_override or self.settings.camera.source

    def _open_source(self) -> FrameSource:
        camera = self.settings.camera
        options = CaptureOptions(
            camera.width, camera.height, camera.fps, camera.preview_width, camera.preview_height,
            camera.file_pace, camera.file_loop,
        )  # fmt: skip
        return open_source(parse_source(self.source_text), options)

    def _start_pipeline(self) -> None:
        assert self.workout is not None
        try:
            if self.pose is None:
                self.pose = self._pose_factory(self.settings.model)
            else:
                self.pose.reset()  # a new source: find the person on the whole image again
            tracker = self._tracker_factory(self.settings.exercise, self.settings.workout.mode)
        except RepCounterError as exc:
            # The web UI stays up so the setting that caused this can be fixed from the phone.
            self.pipeline_error = str(exc)
            log.error("pipeline not started: %s", exc)
            return
        self.pipeline_error = None
        self.pipeline = LivePipeline(
            self._open_source,
            self.pose,
            tracker,
            self.workout,
            self.bus,
            self.preview,
            self._backoff(),
        )
        self.pipeline.start()

    def _stop_pipeline(self) -> None:
        pipeline, self.pipeline = self.pipeline, None
        if pipeline is not None:
            pipeline.stop()
            pipeline.finish()

    # --- what the web UI asks --------------------------------------------------------------

    def update_settings(self, changes: dict) -> dict:
        """Validate and save a (partial) settings change, then apply it.

        Exercise and workout changes apply live; camera and model changes restart the
        pipeline; server changes need a service restart. Raises config.SettingsInvalid, and
        then nothing is saved or changed.
        """
        with self._settings_lock:
            new = config.validate(config.merge(self.settings.model_dump(mode="json"), changes))
            changed = config.changed_sections(self.settings, new)
            config.save(new, self.settings_path)
            old, self.settings = self.settings, new
            self._apply(old, new, changed)
        return {
            "settings": new.model_dump(mode="json"),
            "changed": sorted(changed),
            "restart_required": sorted(changed & set(config.RESTART_SECTIONS)),
        }

    def _apply(self, old: config.Settings, new: config.Settings, changed: set[str]) -> None:
        assert self.workout is not None
        self.workout.set_idle_s = new.workout.set_idle_s
        self.workout.session_gap_s = new.workout.session_gap_s
        self.preview.quality = new.server.preview_quality
        self.preview.width, self.preview.height = (
            new.camera.preview_width,
            new.camera.preview_height,
        )
        if changed & set(config.PIPELINE_SECTIONS) or self.pipeline is None:
            if "model" in changed:
                self.pose = None
            self._stop_pipeline()
            self._start_pipeline()
        elif {"exercise", "workout"} & changed and new.workout.mode == old.workout.mode:
            pipeline = self.pipeline
            with pipeline.lock:
                pipeline.tracker.rules = new.exercise
        elif "workout" in changed:
            pipeline = self.pipeline
            with pipeline.lock:
                pipeline.tracker = self._tracker_factory(new.exercise, new.workout.mode)

    def state(self) -> dict:
        if self.pipeline is None:
            return {"phase": "stopped", "reps": 0, "set": None}
        return self.pipeline.state()

    def health(self) -> dict:
        pipeline = self.pipeline
        status = pipeline.status() if pipeline else {"camera": {"state": "stopped", "source": ""}}
        backend = getattr(self.pose, "backend", None)
        usage = shutil.disk_usage(self.data_dir)
        db = self.data_dir / "history.sqlite3"
        ok = pipeline is not None and status["camera"]["state"] in ("ok", "ended")
        warnings = self._fps_warnings(pipeline)
        return {
            "status": "ok" if ok and not warnings else "degraded",
            "warnings": warnings,
            "version": _version(),
            "uptime_s": round(time.monotonic() - self.started, 1),
            "source": self.source_text,
            "pipeline": "running"
            if pipeline
            else f"stopped: {self.pipeline_error or 'not started'}",
            **status,
            "backend": backend.to_json() if hasattr(backend, "to_json") else backend,
            "model": self.settings.model.name,
            "disk": {
                "path": str(self.data_dir),
                "free_bytes": usage.free,
                "total_bytes": usage.total,
            },
            "history_bytes": db.stat().st_size if db.exists() else 0,
            "clients": self.bus.subscriber_count,
            "rss_bytes": rss_bytes(),
        }

    def _fps_warnings(self, pipeline: LivePipeline | None) -> list[dict[str, str]]:
        """A warning when fewer frames than exercise.min_fps were processed per second for
        LOW_FPS_HOLD_S: fast reps then have few frames and may be missed."""
        min_fps = self.settings.exercise.min_fps
        fps = pipeline.timing.low_fps(min_fps, LOW_FPS_HOLD_S) if pipeline else None
        if fps is None:
            return []
        return [
            {
                "kind": "fps",
                "message": f"Only {fps:.1f} frames per second are processed (under {min_fps:g}): "
                "counting may miss fast reps.",
                "fix": "Use the int8 model, stop other programs that keep the CPU busy, plug in a "
                "Coral USB Accelerator, or lower the camera resolution.",
            }
        ]


def _version() -> str:
    try:
        return metadata.version("repcounter")
    except metadata.PackageNotFoundError:
        return "unknown"


# --- command line ----------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="run the appliance: camera, counting, web UI and API")
    serve.add_argument(
        "--source",
        help="camera or video (overrides camera.source): auto, picamera, a webcam number, "
        "/dev/videoN, rtsp://..., or a video file",
    )
    serve.add_argument(
        "--config", type=Path, help="settings file (default: DATA_DIR/settings.toml)"
    )
    serve.add_argument("--data-dir", type=Path, help="history, login and settings folder "
                       "(default: $STATE_DIRECTORY, else ~/.local/state/repcounter)")  # fmt: skip
    serve.add_argument("--host", help="address to listen on (overrides server.host)")
    serve.add_argument(
        "--port", type=int, help="port to listen on (overrides server.port; 0 = any)"
    )
    serve.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    daemon = Daemon(
        args.data_dir or default_data_dir(), args.config, args.source, args.host, args.port
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        daemon.start()
        daemon.run(stop)
    finally:
        log.info("stopping")
        daemon.shutdown()
    return 0
