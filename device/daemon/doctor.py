"""`repcounter doctor [--json]`: what a Pi owner runs when something is off.

One line per check, each OK, WARN (the appliance runs, but not as well as it could) or FAIL (it
cannot run as set up), with the fix. The exit status is 1 when any check fails. Nothing here
changes the system: the Edge TPU probe runs in a child process and its verdict is not cached.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from device.daemon import config
from device.daemon.clock import synchronised
from device.daemon.service import default_data_dir
from device.errors import RepCounterError
from device.models.manifest import MODELS_DIR, ModelEntry, load_manifest, mismatch
from device.pose import edgetpu
from device.pose.runtime import EDGETPU_LIBRARY, cpu_entry, present

SERVICE = "repcounter"
SERVICE_DATA_DIR = Path("/var/lib/repcounter")  # StateDirectory= of systemd/repcounter.service
MIN_FREE_BYTES = 200 * 1024 * 1024
LIBCAMERA_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # OK, WARN or FAIL
    detail: str
    fix: str = ""


def ok(name: str, detail: str) -> Check:
    return Check(name, "OK", detail)


def _run(command: list[str], timeout: float = 10.0) -> str | None:
    """A command's standard output, or None when it is missing or fails."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


# --- the system --------------------------------------------------------------------------------


def check_os() -> Check:
    name = platform.system()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    machine = platform.machine()
    detail = f"{name}, kernel {platform.release()}, {machine}"
    if machine in ("armv7l", "armv6l"):
        return Check("os", "WARN", detail, "install the 64-bit Raspberry Pi OS (aarch64)")
    return ok("os", detail)


def check_python() -> Check:
    return ok("python", f"Python {platform.python_version()} ({sys.executable})")


def check_cpu() -> Check:
    model = ""
    for path, key in ((Path("/proc/device-tree/model"), None), (Path("/proc/cpuinfo"), None)):
        try:
            text = path.read_text(errors="replace").strip("\0\n ")
        except OSError:
            continue
        if key is None and path.name == "model":
            model = text
            break
        for line in text.splitlines():
            if line.split(":")[0].strip() in ("model name", "Model", "Hardware"):
                model = line.split(":", 1)[1].strip()
                break
        if model:
            break
    return ok("cpu", f"{model or platform.processor() or 'unknown model'}, {os.cpu_count()} cores")


def check_runtime() -> Check:
    try:
        name, version = edgetpu.runtime_version()
    except RepCounterError as exc:
        return Check("runtime", "FAIL", "no TFLite runtime", str(exc))
    return ok("runtime", f"{name} {version}")


def package_of(path: Path) -> str | None:
    """The Debian package that installed path, with its version ("libedgetpu1-std 16.0")."""
    owner = _run(["dpkg-query", "-S", str(path)]) or _run(["dpkg-query", "-S", str(path.resolve())])
    if not owner:
        return None
    package = owner.split(":")[0].strip()
    version = _run(["dpkg-query", "-W", "-f=${Version}", package])
    return f"{package} {version}" if version else package


# --- the Coral ---------------------------------------------------------------------------------


def check_libedgetpu(library: str, coral: list[str] | None) -> tuple[Check, Path | None]:
    path = edgetpu.find_library(library)
    if path is None:
        detail = f"{library} not found"
        if coral:
            return Check("libedgetpu", "WARN", detail, edgetpu.install_hint()), None
        return ok("libedgetpu", f"{detail} (needed only with a Coral)"), None
    package = package_of(path) or "not from a Debian package"
    return ok("libedgetpu", f"{path} ({package})"), path


def check_coral(coral: list[str] | None) -> Check:
    if coral is None:
        return ok("coral", "cannot list USB devices here (no /sys/bus/usb)")
    if not coral:
        return ok("coral", "none connected (USB 1a6e:089a / 18d1:9302, /dev/apex_*)")
    return ok("coral", ", ".join(coral))


def check_probe(
    settings: config.ModelSettings, library: Path | None, service: str | None = None
) -> Check:
    if settings.accelerator == "cpu" or settings.precision == "float16":
        return ok("edgetpu probe", "not run: the settings keep the pose on the CPU")
    entries = load_manifest(MODELS_DIR)
    tpu = present(entries, settings.name, "edgetpu", MODELS_DIR)
    if library is None or not tpu:
        what = "no libedgetpu" if library is None else f"no Edge TPU build of {settings.name}"
        status = "FAIL" if settings.accelerator == "edgetpu" else "OK"
        fix = "install libedgetpu, or set model.accelerator = auto" if status == "FAIL" else ""
        return Check("edgetpu probe", status, f"not run: {what}, so the CPU is used", fix)
    try:
        cpu = cpu_entry(entries, settings.name, settings.precision)
        verdict = edgetpu.probe(str(library), tpu[0], cpu, MODELS_DIR)
    except RepCounterError as exc:
        return Check("edgetpu probe", "FAIL", str(exc), "restore models/ (git checkout models/)")
    if verdict.ok:
        return ok("edgetpu probe", verdict.reason)
    status = "FAIL" if settings.accelerator == "edgetpu" else "WARN"
    fix = verdict.fix
    if verdict.kind in ("error", "hang") and service == "active":
        fix = f"the running service may hold the Coral: stop it and run doctor again; else {fix}"
    return Check("edgetpu probe", status, f"{verdict.reason}: the CPU is used", fix)


# --- cameras, models, storage, network, service ------------------------------------------------


def libcamera_cameras() -> list[str] | None:
    """The cameras libcamera sees through picamera2, or None when picamera2 is not installed.

    Asked in a child process: libcamera may log or block while the service holds a camera.
    """
    code = (
        "import json; from picamera2 import Picamera2; "
        "print(json.dumps([c.get('Model', '?') for c in Picamera2.global_camera_info()]))"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True,
            timeout=LIBCAMERA_TIMEOUT_S,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return ["(libcamera did not answer)"]
    if done.returncode != 0:
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def video_devices(root: Path = Path("/sys/class/video4linux")) -> list[str]:
    """/dev/videoN with the driver's name for each ("/dev/video0 (USB Camera)")."""
    devices = []
    for device in sorted(Path("/dev").glob("video*")):
        try:
            name = (root / device.name / "name").read_text().strip()
        except OSError:
            name = ""
        devices.append(f"{device} ({name})" if name else str(device))
    return devices


def check_cameras(source: str) -> Check:
    libcamera = libcamera_cameras()
    video = video_devices()
    parts = [
        "picamera2 not installed" if libcamera is None
        else f"libcamera: {', '.join(libcamera) or 'no camera'}",
        f"video devices: {', '.join(video) or 'none'}",
    ]  # fmt: skip
    detail = "; ".join(parts)
    if source not in ("auto", "picamera") and not source.isdigit() and "/dev/video" not in source:
        if "://" in source or Path(source).is_file():
            return ok("cameras", f"{detail}; camera.source = {source}")
        return Check("cameras", "FAIL", f"{detail}; camera.source {source} not found",
                     "set camera.source to auto or to an existing file")  # fmt: skip
    if libcamera or video:
        return ok("cameras", detail)
    return Check(
        "cameras", "WARN", detail,
        "connect the Pi camera (ribbon contacts the right way, then reboot) or a USB webcam; "
        "on Raspberry Pi OS: apt install python3-picamera2",
    )  # fmt: skip


def check_model(entry: ModelEntry, chosen: str) -> Check:
    """One manifest entry; a download missing is a warning only for the chosen model."""
    label = f"{entry.file} ({entry.name} {entry.precision} {entry.accelerator})"
    path = entry.path(MODELS_DIR)
    if not path.is_file():
        if not entry.url:
            return Check("model", "FAIL", f"{label} missing", "restore it: git checkout models/")
        if entry.name == chosen:
            return Check("model", "WARN", f"{label} not downloaded", "repcounter models fetch")
        return ok("model", f"{label} not downloaded (optional: repcounter models fetch)")
    wrong = mismatch(entry, path)
    if wrong:
        fix = "run `repcounter models fetch`" if entry.url else "restore it: git checkout models/"
        return Check("model", "FAIL", f"{label} corrupt ({wrong[:23]}…)", f"delete it and {fix}")
    return ok("model", f"{label} present, {entry.pin[:19]}… verified")


def check_models(chosen: str) -> list[Check]:
    try:
        return [check_model(entry, chosen) for entry in load_manifest(MODELS_DIR)]
    except RepCounterError as exc:
        return [Check("models", "FAIL", str(exc), "git checkout models/")]


def check_data_dir(data_dir: Path) -> Check:
    if not data_dir.exists():
        return ok("data dir", f"{data_dir} does not exist yet (serve creates it)")
    try:
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check(
            "data dir", "FAIL", f"{data_dir} is not writable by this user ({exc.strerror})",
            f"run doctor as the service user (sudo -u {SERVICE} ...) or fix the ownership: "
            f"chown -R {SERVICE}: {data_dir}",
        )  # fmt: skip
    free = shutil.disk_usage(data_dir).free
    detail = f"{data_dir} writable, {free / 1e9:.1f} GB free"
    if free < MIN_FREE_BYTES:
        return Check("data dir", "WARN", detail, "free some space: the history needs room")
    return ok("data dir", detail)


def service_state() -> str | None:
    """systemd's state of the repcounter unit ("active", "inactive", "failed", "not installed"),
    or None where systemd does not run (no systemctl, or a container without it)."""
    load = _run(["systemctl", "show", "-p", "LoadState", "--value", SERVICE])
    if not load:
        return None
    if load == "not-found":
        return "not installed"
    state = subprocess.run(
        ["systemctl", "is-active", SERVICE], capture_output=True, text=True, timeout=10
    )  # is-active exits non-zero for every state but active: its output is the answer
    return state.stdout.strip() or "unknown"


def check_port(host: str, port: int, service: str | None) -> Check:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if service == "active":
                return ok("port", f"{host}:{port} in use by the running service")
            return Check(
                "port", "WARN", f"{host}:{port} is not free ({exc.strerror})",
                "stop the program using it (`ss -ltnp`), or set server.port to another port",
            )  # fmt: skip
    return ok("port", f"{host}:{port} is free")


def check_reach(host: str) -> Check:
    """server.host that only this machine reaches: fine behind a local reverse proxy, a
    locked-out phone otherwise (a phone cannot set it, since issue 19; an older one could)."""
    if ipaddress.ip_address(host).is_loopback:
        return Check(
            "reach", "WARN", f"server.host = {host}: only this machine can open RepCounter",
            "set server.host = \"0.0.0.0\" in settings.toml and restart the service, unless a "
            "reverse proxy on this machine serves the phones",
        )  # fmt: skip
    return ok("reach", f"server.host = {host}")


def check_clock(synchronised: bool | None) -> Check:
    if synchronised is None:
        return ok("clock", "the kernel cannot say whether the clock is synchronised here")
    if synchronised:
        return ok("clock", "synchronised with a time source")
    return Check(
        "clock", "WARN", "not synchronised with a time source: the dates of reps may be wrong",
        "give the Pi internet access or a time server on your network (timedatectl set-ntp "
        "true), or set the date by hand (sudo date -s '2026-05-01 18:00')",
    )  # fmt: skip


def check_service(state: str | None) -> Check:
    if state is None:
        return ok("service", "systemd does not run here: start `repcounter serve` by hand")
    if state == "active":
        return ok("service", "repcounter.service is active")
    if state == "not installed":
        return Check("service", "WARN", "repcounter.service is not installed",
                     "README.md, Hardware setup: copy systemd/repcounter.service")  # fmt: skip
    status = "FAIL" if state == "failed" else "WARN"
    return Check(
        "service", status, f"repcounter.service is {state}",
        "systemctl restart repcounter; journalctl -u repcounter -n 50 says why it stopped",
    )  # fmt: skip


# --- the command -------------------------------------------------------------------------------


def data_dir_of(args: argparse.Namespace) -> Path:
    """--data-dir, else the service's folder where it exists, else serve's default."""
    if args.data_dir:
        return args.data_dir
    if not os.environ.get("STATE_DIRECTORY") and SERVICE_DATA_DIR.is_dir():
        return SERVICE_DATA_DIR
    return default_data_dir()


def run_checks(args: argparse.Namespace) -> list[Check]:
    data_dir = data_dir_of(args)
    checks = [check_os(), check_python(), check_cpu(), check_runtime()]
    settings_path = args.config or data_dir / "settings.toml"
    try:
        settings = config.load(settings_path)
    except RepCounterError as exc:
        checks.append(Check("settings", "FAIL", str(exc), "fix the field it names, or delete the "
                            "file to start from the defaults"))  # fmt: skip
        settings = config.Settings()
    else:
        where = settings_path if settings_path.exists() else f"defaults ({settings_path} absent)"
        checks.append(ok("settings", str(where)))
    library = args.edgetpu_library or settings.model.edgetpu_library
    coral = edgetpu.coral_devices()
    state = service_state()
    lib_check, library_path = check_libedgetpu(library, coral)
    checks += [lib_check, check_coral(coral), check_probe(settings.model, library_path, state)]
    checks.append(check_cameras(settings.camera.source))
    checks += check_models(settings.model.name)
    checks.append(check_data_dir(data_dir))
    checks += [
        check_port(settings.server.host, settings.server.port, state),
        check_reach(settings.server.host),
        check_clock(synchronised()),
        check_service(state),
    ]
    return checks


def run(args: argparse.Namespace) -> int:
    checks = run_checks(args)
    failed = any(c.status == "FAIL" for c in checks)
    if args.json:
        print(json.dumps({"ok": not failed, "checks": [asdict(c) for c in checks]}, indent=1))
    else:
        for c in checks:
            print(f"{c.status:<4} {c.name:<15} {c.detail}")
            if c.fix:
                print(f"{'':<4} {'':<15} fix: {c.fix}")
    return 1 if failed else 0


def register(commands: argparse._SubParsersAction) -> None:
    doctor = commands.add_parser(
        "doctor", help="check the system, Coral, cameras, models, storage, port and service"
    )
    doctor.add_argument("--json", action="store_true", help="the checks as one JSON object")
    doctor.add_argument("--data-dir", type=Path, help="the data folder (default: the service's)")
    doctor.add_argument(
        "--config", type=Path, help="settings file (default: DATA_DIR/settings.toml)"
    )
    doctor.add_argument(
        "--edgetpu-library",
        metavar="PATH",
        help=f"probe this libedgetpu (default: model.edgetpu_library, {EDGETPU_LIBRARY})",
    )
    doctor.set_defaults(run=run)
