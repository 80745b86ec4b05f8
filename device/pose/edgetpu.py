"""Deciding whether the Coral Edge TPU may be used, without ever risking this process.

libedgetpu's delegate follows the TF Lite ABI it was built against: loaded into a newer runtime
it segfaults when the delegate is created (google-coral/edgetpu issue 812), which Python cannot
catch. So before libedgetpu is loaded here, `probe` runs device/pose/probe.py in a child process
under a timeout: load the delegate, build the Edge TPU interpreter, run it on a fixed image and
compare its keypoints with the CPU int8 build's. A signal, a hang, an error or a disagreement
means the CPU, with the reason and the fix. The verdict is cached per (runtime and its version,
libedgetpu file identity, model pins) when it cannot change without one of those changing.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from device.errors import ModelError
from device.models.manifest import ModelEntry, verify
from device.pose import probe as probe_child
from device.pose.runtime import (
    Fallback,
    PoseModel,
    load_edgetpu_delegate,
    open_entry,
    runtime_module,
)

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 30.0  # child start, imports and the first Edge TPU run (model upload) on a Pi
CACHE_NAME = "edgetpu_probe.json"
LIBRARY_DIRS = (
    "/usr/lib/aarch64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/usr/lib/arm-linux-gnueabihf",
    "/usr/local/lib", "/usr/lib", "/lib",
)  # fmt: skip
# USB ids of the Coral USB Accelerator before (Global Unichip) and after its firmware is loaded.
CORAL_USB_IDS = ("1a6e:089a", "18d1:9302")
USB_DEVICES = Path("/sys/bus/usb/devices")
DEV = Path("/dev")


def runtime_version() -> tuple[str, str]:
    """The interpreter module's name and its installed version."""
    name, _ = runtime_module()
    package = "ai-edge-litert" if name == "ai_edge_litert" else "tflite-runtime"
    try:
        return name, metadata.version(package)
    except metadata.PackageNotFoundError:
        return name, "unknown"


def install_hint() -> str:
    name, version = runtime_version()
    return (
        f"install the libedgetpu build made for the TF Lite version of {name} {version} "
        "(README.md, Hardware setup, names the matching pair), or set model.accelerator = cpu"
    )


def find_library(name: str) -> Path | None:
    """Where the dynamic loader would find library `name` (a path is taken as it is), or None.

    Read from LD_LIBRARY_PATH, the loader cache (`ldconfig -p`) and the usual folders, without
    loading it: loading runs its code, which the probe does only in a child process.
    """
    if "/" in name:
        return Path(name) if Path(name).is_file() else None
    folders = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    for folder in folders:
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    for ldconfig in ("/sbin/ldconfig", "/usr/sbin/ldconfig"):
        if not Path(ldconfig).is_file():
            continue
        try:
            listing = subprocess.run(
                [ldconfig, "-p"], capture_output=True, text=True, timeout=10
            ).stdout
        except (OSError, subprocess.SubprocessError):
            break
        for line in listing.splitlines():
            if line.strip().startswith(name + " ") and "=>" in line:
                path = Path(line.split("=>", 1)[1].strip())
                if path.is_file():
                    return path
        break
    for folder in LIBRARY_DIRS:
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    return None


def library_identity(path: Path) -> dict:
    """What identifies a library file: its real path, size, modification time and inode."""
    real = path.resolve()
    stat = real.stat()
    return {"path": str(real), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "inode": stat.st_ino}  # fmt: skip


def coral_devices(usb: Path = USB_DEVICES, dev: Path = DEV) -> list[str] | None:
    """The Corals this machine shows: "usb 18d1:9302" per USB Accelerator (sysfs, no lsusb) and
    each /dev/apex_N (PCIe / M.2). None when USB devices cannot be listed (no sysfs)."""
    found = [f"pcie {p}" for p in sorted(dev.glob("apex_*"))]
    try:
        devices = sorted(usb.iterdir())
    except OSError:
        return found or None
    for device in devices:
        try:
            usb_id = f"{(device / 'idVendor').read_text().strip()}:"
            usb_id += (device / "idProduct").read_text().strip()
        except OSError:
            continue
        if usb_id in CORAL_USB_IDS:
            found.append(f"usb {usb_id}")
    return found


@dataclass(frozen=True)
class Verdict:
    """The probe's answer. kind: ok, missing (no library), crash, hang, error or disagree."""

    kind: str
    reason: str
    fix: str = ""
    edgetpu_ms: float | None = None
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.kind == "ok"

    @property
    def lasting(self) -> bool:
        """True when only a new library, runtime or model can change it (so it is cached)."""
        return self.kind in ("ok", "crash", "disagree")

    def fallback(self) -> Fallback:
        return Fallback(self.reason, self.fix, warn=self.kind != "missing")

    def to_json(self) -> dict:
        return {"kind": self.kind, "reason": self.reason, "fix": self.fix,
                "edgetpu_ms": self.edgetpu_ms, "cached": self.cached}  # fmt: skip


def _cache_key(identity: dict, tpu: ModelEntry, cpu: ModelEntry) -> str:
    name, version = runtime_version()
    return json.dumps([name, version, identity, tpu.pin, cpu.pin], sort_keys=True)


def _cached(cache_dir: Path | None, key: str) -> Verdict | None:
    if cache_dir is None:
        return None
    try:
        entry = json.loads((cache_dir / CACHE_NAME).read_text()).get(key)
        return Verdict(**{**entry, "cached": True}) if entry else None
    except (OSError, ValueError, TypeError, AttributeError):
        return None  # no cache yet, or an unreadable one: probe again


def _store(cache_dir: Path | None, key: str, verdict: Verdict) -> None:
    if cache_dir is None or not verdict.lasting:
        return
    path = cache_dir / CACHE_NAME
    try:
        cache = json.loads(path.read_text()) if path.exists() else {}
        cache = cache if isinstance(cache, dict) else {}
    except (OSError, ValueError):
        cache = {}
    cache[key] = {k: v for k, v in verdict.to_json().items() if k != "cached"}
    tmp = path.with_name(f".{CACHE_NAME}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(cache, indent=1))
        os.replace(tmp, path)
    except OSError as exc:  # a read-only data folder costs a probe per start, nothing more
        log.warning("cannot cache the Edge TPU probe verdict in %s: %s", path, exc)
        tmp.unlink(missing_ok=True)


def probe(
    library: str,
    tpu: ModelEntry,
    cpu: ModelEntry,
    models_dir: Path,
    cache_dir: Path | None = None,
    timeout: float | None = None,
) -> Verdict:
    """Whether the Edge TPU build runs safely and correctly with `library`, from a child process
    (or the cache). Both model files must be present; their pins are checked here."""
    path = find_library(library)
    if path is None:
        return Verdict(
            "missing",
            f"{library} is not installed",
            f"{install_hint()}; or set model.edgetpu_library to the library's path",
        )
    tpu_path, cpu_path = verify(tpu, models_dir), verify(cpu, models_dir)
    key = _cache_key(library_identity(path), tpu, cpu)
    verdict = _cached(cache_dir, key)
    if verdict is None:
        verdict = _run_child(path, tpu_path, cpu_path, timeout or PROBE_TIMEOUT_S)
        _store(cache_dir, key, verdict)
    log.info("Edge TPU probe of %s: %s%s", path, verdict.reason, " (cached)" * verdict.cached)
    return verdict


def _run_child(library: Path, tpu_path: Path, cpu_path: Path, timeout: float) -> Verdict:
    command = [sys.executable, "-m", probe_child.__name__, str(library), str(tpu_path),
               str(cpu_path)]  # fmt: skip
    root = Path(probe_child.__file__).resolve().parents[2]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=root, check=False
        )
    except subprocess.TimeoutExpired:
        return Verdict(
            "hang",
            f"the Edge TPU probe with {library} did not finish in {timeout:.0f} s",
            "unplug the Coral and plug it back in (straight into a USB 3 port or a powered hub),"
            f" check `dmesg` for USB errors; if it persists, {install_hint()}",
        )
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        return Verdict(
            "crash",
            f"the Edge TPU delegate in {library} crashed the probe ({name}): that libedgetpu is "
            "not built for this TF Lite runtime",
            install_hint(),
        )
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
        return Verdict(
            "error",
            f"the Edge TPU cannot be used with {library}: "
            f"{message or f'the probe exited with status {done.returncode}'}",
            "check that the Coral is plugged in (`repcounter doctor` looks for it) and that this "
            f"user is in the plugdev group; if it is, {install_hint()}",
        )
    return _judge(json.loads(done.stdout.strip().splitlines()[-1]), library)


def _judge(result: dict, library: Path) -> Verdict:
    agree, deviation, compared = probe_child.compare(
        np.array(result["edgetpu"], float), np.array(result["cpu"], float)
    )
    ms = result.get("edgetpu_ms")
    if not agree:
        return Verdict(
            "disagree",
            f"the Edge TPU's keypoints with {library} differ from the CPU int8 build's "
            f"(largest difference {deviation:.3f} of the image on {compared} keypoints, limit "
            f"{probe_child.MAX_DEVIATION})",
            f"the delegate computes wrong results: {install_hint()}",
            ms,
        )
    if not result.get("stable", True):
        return Verdict(
            "disagree",
            f"the Edge TPU with {library} gave different keypoints for the same image",
            f"the delegate computes unstable results: {install_hint()}",
            ms,
        )
    return Verdict(
        "ok",
        f"the Edge TPU runs and agrees with the CPU build (largest difference {deviation:.3f} "
        f"on {compared} keypoints; {ms} ms per frame)",
        edgetpu_ms=ms,
    )


def open_edgetpu(
    tpu: ModelEntry,
    reference: ModelEntry,
    threads: int | None,
    models_dir: Path,
    library: str,
    cache_dir: Path | None,
) -> PoseModel:
    """The Edge TPU model after a passed probe, or ModelError with the verdict's reason."""
    verdict = probe(library, tpu, reference, models_dir, cache_dir)
    if not verdict.ok:
        raise EdgeTpuUnusable(verdict)
    path = find_library(library)
    return open_entry(tpu, threads, models_dir, load_edgetpu_delegate(str(path or library)))


class EdgeTpuUnusable(ModelError):
    """The probe failed: the Edge TPU must not be loaded in this process."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        super().__init__(
            f"the Coral Edge TPU cannot be used: {verdict.reason}. Fix: {verdict.fix}."
        )
