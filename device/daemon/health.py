"""What /api/health warns about, each as {"kind", "message", "fix"} (and a "detail" where the
cause adds something): what is wrong in words the owner understands, and what to do about it.
The live page shows every entry (a banner, or a full-screen overlay for the camera). One function
per kind; each returns [] when all is well, and Daemon.health runs them as one list of checks
(run_checks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from device.daemon.config import SafeMode, StorageSettings

Entry = dict[str, str]  # {"kind", "message", "fix"}
Check = Callable[[], list[Entry]]

CAMERA = {
    "missing": (
        "No camera found.",
        "Plug in the Pi camera or a USB webcam: counting starts by itself. Or choose another "
        "camera or a stream in Settings → Camera.",
    ),
    "reconnecting": (
        "The camera stopped sending pictures: reconnecting.",
        "Check the camera's cable or the stream's address; counting resumes by itself.",
    ),
    "ended": (
        "The video has ended.",
        "Choose a camera or another video in Settings → Camera to count again.",
    ),
}


def camera(status: dict) -> list[Entry]:
    """A camera that gives no frames (the capture loop's status)."""
    found = CAMERA.get(status.get("state", ""))
    if found is None:
        return []
    message, fix = found
    entry = {"kind": "camera", "message": message, "fix": fix}
    error = status.get("error") or ""
    # The capture error in detail, unless it only says the message again ("no camera found:
    # connect the Pi camera..." beside "No camera found." and "Plug in the Pi camera...").
    if (
        error
        and status["state"] != "ended"
        and not error.lower().startswith(message.rstrip(".").lower())
    ):
        entry["detail"] = error
    return [entry]


def safe_mode(settings: SafeMode | None, listen_fallback: str | None) -> list[Entry]:
    """The settings file could not be used, or the server could not bind its address."""
    warnings = []
    if settings is not None:
        where = f" It was moved to {settings.moved_to}." if settings.moved_to else ""
        warnings.append({
            "kind": "safe_mode",
            "message": f"Safe mode: the settings file could not be used ({settings.error}), so "
            f"the default settings are in use.{where}",
            "fix": "Check the settings and save them (that ends safe mode), or restore what is "
            "valid in the moved file (POST /api/settings/restore-broken).",
        })  # fmt: skip
    if listen_fallback is not None:
        warnings.append({
            "kind": "safe_mode",
            "message": f"Safe mode: {listen_fallback}.",
            "fix": "Set server.host and server.port to an address this Pi can use, save, and "
            "restart the service.",
        })  # fmt: skip
    return warnings


def storage(
    writer: dict | None, free_bytes: int, data_dir: Path, settings: StorageSettings
) -> list[Entry]:
    """Reps cannot be written (the rep writer's status), or the disk is nearly full."""
    warnings = []
    if writer and writer["error"]:
        lost = f", {writer['lost_reps']} lost" if writer["lost_reps"] else ""
        warnings.append({
            "kind": "storage",
            "message": f"reps cannot be saved ({writer['error']}): "
            f"{writer['pending_reps']} wait in memory{lost}",
            "fix": f"free space in {data_dir} (or make it writable): the waiting reps are saved "
            "as soon as it can be written, if RepCounter keeps running",
        })  # fmt: skip
    if free_bytes < settings.warn_free_mb * 1_000_000:
        warnings.append({
            "kind": "storage",
            "message": f"only {free_bytes / 1e6:.0f} MB free in {data_dir}",
            "fix": "free space on that disk by deleting files you no longer need (this shows "
            f"below storage.warn_free_mb = {settings.warn_free_mb} MB)",
        })  # fmt: skip
    return warnings


def low_fps(fps: float | None, min_fps: float) -> list[Entry]:
    """fps: the rate while it has stayed under min_fps long enough (None: it has not). Fast
    reps then have few frames and may be missed."""
    if fps is None:
        return []
    return [{
        "kind": "fps",
        "message": f"Only {fps:.1f} frames per second are processed (under {min_fps:g}): "
        "counting may miss fast reps.",
        "fix": "Use the int8 model, stop other programs that keep the CPU busy, plug in a Coral "
        "USB Accelerator, or lower the camera resolution.",
    }]  # fmt: skip


def accelerator(required_verdict: Any, fallback: Any) -> list[Entry]:
    """The Edge TPU cannot be used: required (accelerator = edgetpu) and refused by its probe,
    so nothing runs (required_verdict: device.pose.edgetpu.Verdict), or the pose runs on the
    CPU while a Coral seems meant (fallback: device.pose.runtime.Fallback with warn set)."""
    warnings = []
    if required_verdict is not None:
        warnings.append(
            {"kind": "accelerator", "message": required_verdict.reason, "fix": required_verdict.fix}
        )
    if fallback is not None and fallback.warn:
        warnings.append({"kind": "accelerator", "message": fallback.reason, "fix": fallback.fix})
    return warnings


def mqtt(status: dict) -> list[Entry]:
    """Home Assistant is on but the broker is not connected (the publisher's status; "off"
    when MQTT is off, "connecting" for the first seconds)."""
    state = status.get("state", "off")
    if state in ("off", "connected", "connecting"):
        return []
    return [{
        "kind": "mqtt",
        "message": f"Home Assistant (MQTT) is not connected: the broker at {status['broker']} "
        f"is {state}. Counting goes on; Home Assistant gets the news once it connects.",
        "fix": "Check Settings → Home Assistant (MQTT): “Test connection” says what fails.",
    }]  # fmt: skip


def clock(synchronised: bool | None, last_step_s: float | None, future: int) -> list[Entry]:
    """The clock is not synchronised and has shown it is wrong: it was stepped while running,
    or sessions are dated after now (it was ahead when they were counted). Not synchronised
    alone is only reported in /api/health's "clock": a house without internet is normal."""
    if synchronised is not False or (last_step_s is None and not future):
        return []
    if last_step_s is not None:
        moved = "forward" if last_step_s > 0 else "back"
        why = f"it was moved {moved} by {_duration(abs(last_step_s))} while RepCounter ran"
    else:
        why = f"{future} sessions in the history are dated after now"
    return [{
        "kind": "clock",
        "message": f"The clock is not synchronised with a time server, and {why}: the dates "
        "of reps may be wrong.",
        "fix": "Give the Pi a time source: internet access or a time server on your network "
        "(timedatectl set-ntp true), or set its date by hand (sudo date -s '2026-05-01 18:00').",
    }]  # fmt: skip


def _duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 60:.0f} minutes"


def run_checks(checks: Iterable[Check]) -> list[Entry]:
    """Every check's warnings, in the order of the checks."""
    return [entry for check in checks for entry in check()]
