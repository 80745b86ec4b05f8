"""The appliance daemon: `repcounter serve`.

Wires settings, history, the live pipeline and the web server together; tells systemd when it
is ready and pings its watchdog only while both pipeline threads show signs of life, so a
stalled pipeline gets the service restarted. SIGTERM and SIGINT stop it cleanly.
"""

from __future__ import annotations

import argparse
import errno
import functools
import ipaddress
import json
import logging
import os
import shutil
import signal
import socket
import sqlite3
import tempfile
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
from device.daemon import addresses, backup, config, health, http_server, mqtt
from device.daemon.clock import STEP_S, ClockWatch, synchronised
from device.daemon.events import EventBus
from device.daemon.live import LivePipeline, PoseStage, Tracker
from device.daemon.sdnotify import Notifier
from device.daemon.training import Trainee, Training
from device.errors import RepCounterError
from device.exercise.rules import ExerciseRules
from device.history.store import Store, StoreError
from device.history.workout import Workout

log = logging.getLogger("repcounter")

LAST_ADDRESS = "last_address.json"  # the server address that last worked (fallback)
STALL_S = 20.0  # a pipeline thread silent this long counts as stalled (no watchdog ping)
HEALTH_EVERY_S = 1.0
LOW_FPS_HOLD_S = 5.0  # the processed frame rate must stay low this long before it is a warning


def default_data_dir() -> Path:
    """$STATE_DIRECTORY (systemd), else $XDG_STATE_HOME/repcounter or ~/.local/state/repcounter."""
    if os.environ.get("STATE_DIRECTORY"):
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "repcounter"


def default_pose_factory(settings: config.ModelSettings, cache_dir: Path | None) -> PoseStage:
    """The pose pipeline for the model settings; the Edge TPU probe's verdict kept in cache_dir."""
    from device.pose.pipeline import PosePipeline

    return PosePipeline.create(
        model=settings.name,
        accelerator=settings.accelerator,
        threads=settings.threads,
        precision=settings.precision,
        edgetpu_library=settings.edgetpu_library,
        cache_dir=cache_dir,
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
        pose_factory: Callable[[config.ModelSettings], PoseStage] | None = None,
        tracker_factory: Callable[[ExerciseRules, str], Tracker] = default_tracker_factory,
        backoff: Callable[[], Backoff] = Backoff,
    ) -> None:
        self.data_dir = data_dir
        self.settings_path = settings_path or data_dir / "settings.toml"
        self.settings, self.safe_mode = config.load_or_safe_mode(self.settings_path)
        if self.safe_mode is not None:
            log.error("safe mode, serving on the defaults: %s", self.safe_mode.error)
        if source is not None:
            parse_source(source)  # a typo in --source fails here, not in the capture thread
        self.source_override = source
        self.host = host or self.settings.server.host
        self.port = self.settings.server.port if port is None else port
        self.address_fixed = host is not None or port is not None  # from the command line
        self.listen_fallback: str | None = None
        self._pose_factory = pose_factory or functools.partial(
            default_pose_factory, cache_dir=data_dir
        )
        self._tracker_factory = tracker_factory
        self._backoff = backoff
        self.bus = EventBus()
        self.preview = PreviewBuffer(
            self.settings.camera.preview_width,
            self.settings.camera.preview_height,
            self.settings.server.preview_quality,
        )
        self._restore_lock = threading.Lock()
        self.auto_backup = backup.AutoBackup(
            data_dir / "backups", self.write_backup, self._history_bytes
        )
        self.store: Store | None = None
        self.workout: Workout | None = None
        self.training = Training(session_gap_s=self.settings.workout.session_gap_s)
        self.pipeline: LivePipeline | None = None
        self.pose: PoseStage | None = None
        self.pipeline_error: str | None = None
        self.mqtt: mqtt.MqttPublisher | None = None
        self.accelerator_verdict: Any = None  # accelerator = edgetpu and its probe failed
        self.started = time.monotonic()
        self.clock = ClockWatch()
        self.server: Any = None
        self._server_thread: threading.Thread | None = None
        self._settings_lock = threading.Lock()
        self._people_lock = threading.Lock()  # who trains: switching against deleting
        self.notifier = Notifier()

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Open the history, start the pipeline and bind the web server (errors propagate)."""
        from web_ui.app import create_app

        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.store = Store(self.data_dir / "history.sqlite3")
        self.workout = Workout(
            self.store, self.settings.workout.set_idle_s, self.settings.workout.session_gap_s
        )
        self.training.keeper = self.store  # plan progress survives a restart
        person = self._active_person()
        self.training.set_person(Trainee.from_json(person) if person is not None else None)
        self.app = create_app(self, self.data_dir / "auth.json")
        self.server = self._listen()
        self.port = int(self.server.effective_port)
        self._start_pipeline()
        self._start_mqtt()
        self._server_thread = threading.Thread(target=self.server.run, name="http", daemon=True)
        self._server_thread.start()
        urls = addresses.phone_urls(self.host, self.port)
        if urls:
            log.info("serving: open %s on a phone on this network", " or ".join(urls))
        else:
            log.info(
                "serving on http://%s:%d, this machine only (server.host)", self.host, self.port
            )
        self.notifier.ready(f"serving on port {self.port}")

    def _listen(self) -> http_server.GuardedServer:
        """A server bound to the settings' address; if that fails (and no address was given on
        the command line), to the last address that worked, then to the defaults, so a bad
        server setting cannot keep the phone out."""
        from web_ui.errors import JsonErrorChannel  # waitress's own error answers as JSON

        candidates = [(self.host, self.port)]
        if not self.address_fixed:
            defaults = config.ServerSettings()
            for fallback in (self._last_address(), (defaults.host, defaults.port)):
                if fallback is not None and fallback not in candidates:
                    candidates.append(fallback)
        failures = []
        for host, port in candidates:
            try:
                server = http_server.create_server(
                    self.app, host, port, self.settings.server.threads, JsonErrorChannel
                )
            except OSError as exc:
                failures.append(f"{host}:{port} ({exc.strerror})")
                log.error("cannot listen on %s", failures[-1])
                continue
            self.host, self.port = host, int(server.effective_port)
            if failures:
                self.listen_fallback = (
                    f"cannot listen on {failures[0]}, so RepCounter serves on {host}:{self.port} "
                    "(the last address that worked, else the default)"
                )
            elif not self.address_fixed:
                self._save_last_address(host, self.port)
            return server
        raise RepCounterError(
            f"cannot listen on {', '.join(failures)}: is another repcounter running? "
            "Use --port or server.port to pick another port."
        )

    def _last_address(self) -> tuple[str, int] | None:
        try:
            data = json.loads((self.data_dir / LAST_ADDRESS).read_text())
            return str(data["host"]), int(data["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save_last_address(self, host: str, port: int) -> None:
        if self._last_address() == (host, port):
            return
        try:
            text = json.dumps({"host": host, "port": port})
            config.write_atomic(self.data_dir / LAST_ADDRESS, text, mode=0o600)
        except OSError as exc:
            log.warning("cannot save the working address: %s", exc)

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
                self.clock.check()
                self.bus.publish("health", self.health())
            if self.store is not None and self.store.error:
                self.store.try_open()  # it could not be opened at start (full disk)
            elif self.store is not None:
                self.auto_backup.tick()
            if self.workout is not None:
                self.workout.writer.retry()  # reps waiting for a full or read-only disk
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
            if pipeline:
                pipeline.tick_training()  # the rest countdown while no frame comes
            if pipeline and pipeline.capture.state == "ended":
                pipeline.finish()

    def shutdown(self) -> None:
        self.notifier.stopping()
        self._stop_pipeline()
        self._stop_mqtt()
        self._close_pose()
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
        if self.workout is not None and (waiting := self.workout.writer.flush_now()):
            log.error(
                "%d reps could not be saved before stopping: %s",
                waiting,
                self.workout.writer.error,
            )
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
            # device.pose.edgetpu.EdgeTpuUnusable: the Edge TPU was required and cannot be used
            self.accelerator_verdict = getattr(exc, "verdict", None)
            log.error("pipeline not started: %s", exc)
            return
        self.pipeline_error = self.accelerator_verdict = None
        self.pipeline = LivePipeline(
            self._open_source,
            self.pose,
            tracker,
            self.workout,
            self.bus,
            self.preview,
            self._backoff(),
            self.training,
        )
        self.pipeline.start()

    def _close_pose(self) -> None:
        """Let go of the pose model (an Edge TPU holds the Coral until its thread ends)."""
        pose, self.pose = self.pose, None
        close = getattr(pose, "close", None)
        if close is not None:
            close()

    def _stop_pipeline(self) -> None:
        pipeline, self.pipeline = self.pipeline, None
        if pipeline is not None:
            pipeline.stop()
            pipeline.finish()

    def _start_mqtt(self) -> None:
        """The Home Assistant publisher, when enabled; it never holds up the pipeline."""
        assert self.store is not None
        if not self.settings.mqtt.enabled:
            return
        history = self.store.path
        self.mqtt = mqtt.MqttPublisher(
            self.settings.mqtt,
            self.bus,
            mqtt.device_id(self.data_dir),
            lambda: mqtt.today_reps(history),
            _version(),
        )
        self.mqtt.start()

    def _stop_mqtt(self) -> None:
        publisher, self.mqtt = self.mqtt, None
        if publisher is not None:
            publisher.stop()

    # --- what the web UI asks --------------------------------------------------------------

    def update_settings(self, changes: dict, client: str | None = None) -> dict:
        """Validate and save a (partial) settings change, then apply it. client: the address
        of the phone that asks (None: this machine).

        Exercise and workout changes apply live; camera and model changes restart the
        pipeline; an MQTT change restarts only the MQTT publisher; server changes need a
        service restart. Raises config.SettingsInvalid, and then nothing is saved or changed.
        """
        with self._settings_lock:
            new = config.validate(config.merge(self.settings.model_dump(mode="json"), changes))
            self._check_reachable(new.server, client)
            self._check_listen(new.server)
            changed = config.changed_sections(self.settings, new)
            config.save(new, self.settings_path)
            old, self.settings = self.settings, new
            self.safe_mode = None  # a settings file is written again
            self._apply(old, new, changed)
        return {
            "settings": new.model_dump(mode="json"),
            "changed": sorted(changed),
            "restart_required": sorted(changed & set(config.RESTART_SECTIONS)),
        }

    def _check_reachable(self, server: config.ServerSettings, client: str | None) -> None:
        """SettingsInvalid when a phone asks for a server address that only this machine can
        reach (127.0.0.1, ::1): after the restart no phone could open RepCounter again."""
        if server.host == self.settings.server.host or client is None:
            return
        if ipaddress.ip_address(server.host).is_loopback and not _loopback(client):
            message = (
                f"only this machine could reach RepCounter at {server.host}: your phone would be "
                "locked out after the restart. Use 0.0.0.0 (every network) or this machine's "
                "address on your network; set it to this machine only on the machine itself "
                "(settings.toml, or repcounter serve --host)"
            )
            raise config.SettingsInvalid([{"field": "server.host", "message": message}])

    def _check_listen(self, server: config.ServerSettings) -> None:
        """SettingsInvalid unless this machine can listen on a changed server address: binding
        it now is the test (the port we serve on now is ours, so then only the host is)."""
        current = self.settings.server
        if (server.host, server.port) == (current.host, current.port):
            return
        port = 0 if server.port == self.port else server.port
        family = socket.AF_INET6 if ":" in server.host else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((server.host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                field = "server.host"
                message = (
                    "not an address of this machine: use 0.0.0.0, ::, 127.0.0.1 or the "
                    "address of one of its network interfaces"
                )
            elif exc.errno == errno.EADDRINUSE:
                field, message = "server.port", "in use by another program: pick another port"
            else:
                field = "server.port"
                message = f"cannot listen there ({exc.strerror}): pick another port"
            raise config.SettingsInvalid([{"field": field, "message": message}]) from None

    def restore_broken(self, client: str | None = None) -> dict:
        """Save what is valid in the newest set-aside settings file (see
        config.load_or_safe_mode); the fields left at their defaults are in "dropped"."""
        copies = config.broken_copies(self.settings_path)
        if not copies:
            message = "there is no set-aside settings file to restore"
            raise config.SettingsInvalid([{"field": "settings.toml", "message": message}])
        try:
            data = config.read_toml(copies[-1])
        except config.ConfigError as exc:
            message = f"{exc}: nothing can be restored; set the settings here instead"
            raise config.SettingsInvalid([{"field": copies[-1].name, "message": message}]) from None
        settings, dropped = config.salvage(data)
        changes = settings.model_dump(mode="json")
        try:
            answer = self.update_settings(changes, client)
        except config.SettingsInvalid as exc:  # an address this machine cannot listen on
            dropped.extend(exc.fields)
            changes["server"].update(host=self.settings.server.host, port=self.settings.server.port)
            answer = self.update_settings(changes, client)
        return {**answer, "restored_from": copies[-1].name, "dropped": dropped}

    def _history_bytes(self) -> int:
        path = self.data_dir / "history.sqlite3"
        return path.stat().st_size if path.exists() else 0

    def write_backup(self, dest: Path) -> dict:
        """A backup file of the history and settings at dest (device.daemon.backup)."""
        assert self.store is not None
        return backup.write_backup(self.store.path, self.settings, dest, _version())

    def restore_backup(self, upload: Path) -> dict:
        """Replace the history and settings with a backup's, once all of it has passed
        backup.check_backup (BackupInvalid otherwise, and nothing changed). The data before
        stays in DATA_DIR/pre-restore-<time>/; if the restored history cannot be loaded, it is
        put back. The MQTT password is this device's (backups leave it out)."""
        assert self.store is not None and self.workout is not None
        with (
            self._restore_lock,
            tempfile.TemporaryDirectory(dir=self.data_dir, prefix=".restore-") as work,
        ):
            checked = backup.check_backup(upload, Path(work))
            self._stop_pipeline()
            try:
                self.workout.writer.flush_now()  # reps waiting for the disk go in first
                aside = backup.set_aside(
                    self.data_dir, self.store.path, self.settings_path, time.time()
                )
                try:
                    self.store.replace_from(checked.history)
                    self.store.people()
                except (sqlite3.Error, RepCounterError) as exc:  # StoreError among them
                    self.store.replace_from(aside / backup.HISTORY)
                    raise backup.BackupInvalid(
                        500, f"the restored history could not be loaded ({exc}): nothing changed"
                    ) from exc
                self.workout = Workout(
                    self.store, self.settings.workout.set_idle_s,
                    self.settings.workout.session_gap_s,
                )  # fmt: skip
                restored = checked.settings.model_dump(mode="json")
                restored["mqtt"]["password"] = self.settings.mqtt.password
                try:
                    answer = self.update_settings(restored)
                except config.SettingsInvalid:  # an address this machine cannot listen on
                    restored["server"] = self.settings.server.model_dump(mode="json")
                    answer = self.update_settings(restored)
            finally:
                if self.pipeline is None:
                    self._start_pipeline()
            self.people_changed()
            backup.drop_older_set_asides(self.data_dir, aside)
        log.info("restored a backup made %s; the data before is in %s",
                 checked.manifest.get("created"), aside)  # fmt: skip
        return {
            "restored": {k: checked.manifest.get(k) for k in ("version", "schema", "created")},
            "previous_data": str(aside),
            "restart_required": answer["restart_required"],
        }

    def _apply(self, old: config.Settings, new: config.Settings, changed: set[str]) -> None:
        assert self.workout is not None
        self.workout.set_idle_s = new.workout.set_idle_s
        self.workout.session_gap_s = new.workout.session_gap_s
        self.training.session_gap_s = new.workout.session_gap_s
        self.preview.quality = new.server.preview_quality
        self.preview.width, self.preview.height = (
            new.camera.preview_width,
            new.camera.preview_height,
        )
        if "mqtt" in changed:
            self._stop_mqtt()
            self._start_mqtt()
        if changed & set(config.PIPELINE_SECTIONS) or self.pipeline is None:
            self._stop_pipeline()
            if "model" in changed:
                self._close_pose()
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
        state = (
            self.pipeline.state()
            if self.pipeline is not None
            else {"phase": "stopped", "reps": 0, "set": None}
        )
        return {**state, "person": self._active_person()}

    def _active_person(self) -> dict | None:
        if self.store is None or self.workout is None:
            return None
        try:
            return self.store.person(self.workout.person_id)
        except sqlite3.Error:
            return None  # the history cannot be read now (health says why)

    def switch_person(self, person_id: int) -> dict | None:
        """Count the next reps for this person and remember the choice; None if no such
        person. An open set of the previous person ends (published as a set end)."""
        assert self.store is not None and self.workout is not None
        with self._people_lock:
            person = self.store.person(person_id)
            if person is None:
                return None
            self.store.set_active_person(person_id)
            if self.pipeline is not None:
                self.pipeline.switch_person(person_id)
            else:
                self.workout.switch_person(person_id)
        self.people_changed()
        return person

    def delete_person(self, person_id: int) -> bool:
        """Delete a person (False when there is no such person). The person training now
        cannot be deleted (PersonInvalid: switch first): their set, target and plan are in
        use, and their reps would go to someone else."""
        assert self.store is not None and self.workout is not None
        with self._people_lock:
            deleted = self.store.delete_person(person_id, training=self.workout.person_id)
        if deleted:
            self.people_changed()
        return deleted

    def _future_sessions(self) -> int:
        """Sessions dated more than a step after now (0 when the history cannot be read)."""
        try:
            return self.store.sessions_after(time.time() + STEP_S) if self.store else 0
        except (sqlite3.Error, StoreError):
            return 0

    def people_changed(self) -> None:
        """Tell the phones (and MQTT) that someone else trains or a profile changed: a
        `person` event with who trains now. Training takes their targets, rest and plan now."""
        person = self._active_person()
        if person is not None:  # None: the history cannot be read now; training keeps its own
            trainee = Trainee.from_json(person)
            if self.pipeline is not None:
                self.pipeline.set_trainee(trainee)
            else:
                self.training.set_person(trainee)
        self.bus.publish("person", person)

    def health(self) -> dict:
        pipeline = self.pipeline
        status = pipeline.status() if pipeline else {"camera": {"state": "stopped", "source": ""}}
        backend = getattr(self.pose, "backend", None)
        usage = shutil.disk_usage(self.data_dir)
        db = self.data_dir / "history.sqlite3"
        storage = self.workout.writer.status() if self.workout else None
        if storage is not None and self.store is not None and not storage["error"]:
            storage["error"] = self.store.error  # not even opened yet (full disk at start)
        min_fps = self.settings.exercise.min_fps
        mqtt_status = self.mqtt.status() if self.mqtt else {"state": "off"}
        clock = {"time": time.time(), "synchronised": synchronised(),
                 "last_step_s": self.clock.last_step_s}  # fmt: skip
        warnings = health.run_checks([
            lambda: health.camera(status["camera"]),
            lambda: health.safe_mode(self.safe_mode, self.listen_fallback),
            lambda: health.storage(storage, usage.free, self.data_dir, self.settings.storage),
            lambda: health.low_fps(
                pipeline.timing.low_fps(min_fps, LOW_FPS_HOLD_S) if pipeline else None, min_fps
            ),
            lambda: health.accelerator(self.accelerator_verdict,
                                       getattr(backend, "fallback", None)),
            lambda: health.mqtt(mqtt_status),
            lambda: health.clock(clock["synchronised"], self.clock.last_step_s,
                                 self._future_sessions()),
        ])  # fmt: skip
        ok = pipeline is not None
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
            "backups": self.auto_backup.status(),
            "storage": storage,
            "clients": self.bus.subscriber_count,
            "mqtt": mqtt_status,
            "rss_bytes": rss_bytes(),
            "clock": clock,
        }


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.removeprefix("::ffff:")).is_loopback
    except ValueError:
        return False


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
