"""The Edge TPU probe: fake libedgetpu libraries that crash, hang or fail can never take the
process down; `auto` falls back to the CPU with the reason, `edgetpu` fails with a message."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from device.errors import ModelError
from device.models.manifest import MODELS_DIR, load_manifest
from device.pose import edgetpu, loader, probe, runtime
from device.pose.failover import FailoverModel
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
FAKE_SOURCE = Path(__file__).with_name("fake_libedgetpu.c")
KINDS = {"segv": "crash", "hang": "hang", "null": "error"}
REASONS = {
    "segv": r"crashed the probe \(SIGSEGV\)",
    "hang": r"did not finish in \d+ s",
    "null": r"no Edge TPU device found",
}


def build_fake(tmp_path: Path, kind: str) -> Path:
    """Compile tests/fake_libedgetpu.c into a shared library that misbehaves as `kind` says."""
    if shutil.which("cc") is None:
        pytest.skip("no C compiler (cc) to build the fake libedgetpu")
    out = tmp_path / f"libedgetpu-{kind}.so.1"
    subprocess.run(
        ["cc", "-shared", "-fPIC", "-O0", f"-DFAKE_{kind.upper()}", "-o", str(out),
         str(FAKE_SOURCE)],
        check=True,
    )  # fmt: skip
    return out


@pytest.fixture(params=sorted(KINDS))
def fake(request, tmp_path, monkeypatch) -> tuple[str, Path]:
    """(kind, library path); the hanging one is given up on after 5 s instead of 30 (the others
    keep 30 s: on a loaded machine the child's imports alone can take seconds)."""
    if request.param == "hang":
        monkeypatch.setattr(edgetpu, "PROBE_TIMEOUT_S", 5.0)
    return request.param, build_fake(tmp_path, request.param)


def lightning(accelerator: str, precision: str = "int8"):
    entries = load_manifest(MODELS_DIR)
    return next(
        e for e in entries
        if e.name == "lightning" and e.accelerator == accelerator and e.precision == precision
    )  # fmt: skip


def test_probe_reports_each_failure_with_its_reason(fake) -> None:
    kind, library = fake
    verdict = edgetpu.probe(str(library), lightning("edgetpu"), lightning("cpu"), MODELS_DIR)
    assert verdict.kind == KINDS[kind]
    assert not verdict.ok
    assert str(library) in verdict.reason
    assert verdict.fix

    assert re.search(REASONS[kind], verdict.reason), verdict.reason


def test_auto_falls_back_to_the_cpu_and_says_why(fake) -> None:
    kind, library = fake
    model = loader.open_model("lightning", "auto", 1, MODELS_DIR, edgetpu_library=str(library))
    backend = model.backend
    assert backend.accelerator == "cpu" and backend.model.precision == "int8"
    assert backend.fallback is not None and backend.fallback.warn

    assert re.search(REASONS[kind], backend.fallback.reason)
    assert "libedgetpu" in backend.fallback.fix
    keypoints = model(probe.probe_image(model.input_size))
    assert keypoints.shape == (17, 3) and keypoints[:, 2].max() > 0.5
    # Only an error or a hang may clear up (the Coral replugged): then the Edge TPU is retried.
    assert isinstance(model, FailoverModel) == (kind in ("hang", "null"))


def test_edgetpu_required_is_a_clear_error(fake) -> None:
    _, library = fake
    with pytest.raises(ModelError, match="the Coral Edge TPU cannot be used") as error:
        loader.open_model("lightning", "edgetpu", 1, MODELS_DIR, edgetpu_library=str(library))
    assert str(library) in str(error.value)


def pose_command(image: Path, library: Path, accelerator: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "device.cli", "pose", str(image), "--json", "--accelerator",
         accelerator, "--edgetpu-library", str(library)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["segv", "null"])
def test_pose_command_with_a_broken_libedgetpu(tmp_path, kind) -> None:
    """The command of the issue: auto exits 0 with keypoints; edgetpu exits 1-127 with a message
    (the hanging library takes the whole probe timeout, so it is left to the tests above)."""
    library = build_fake(tmp_path, kind)
    image = tmp_path / "figure.png"
    cv2.imwrite(str(image), probe.probe_image(384)[:, :, ::-1])
    auto = pose_command(image, library, "auto")
    assert auto.returncode == 0, auto.stderr
    keypoints = json.loads(auto.stdout.splitlines()[-1])["keypoints"]
    assert len(keypoints) == 17
    assert "on cpu" in auto.stderr and str(library) in auto.stderr
    required = pose_command(image, library, "edgetpu")
    assert 1 <= required.returncode <= 127, required
    assert "the Coral Edge TPU cannot be used" in required.stderr
    assert required.stdout == ""


def test_a_lasting_verdict_is_cached_and_a_new_library_is_probed_again(tmp_path, monkeypatch):
    library = build_fake(tmp_path, "segv")
    tpu, cpu = lightning("edgetpu"), lightning("cpu")
    first = edgetpu.probe(str(library), tpu, cpu, MODELS_DIR, tmp_path)
    assert first.kind == "crash" and not first.cached
    assert (tmp_path / edgetpu.CACHE_NAME).is_file()
    second = edgetpu.probe(str(library), tpu, cpu, MODELS_DIR, tmp_path)
    assert second.cached and second.kind == "crash" and second.reason == first.reason
    # A new libedgetpu (here: the one that returns NULL, at the same path) is probed again.
    shutil.copy(build_fake(tmp_path / "..", "null"), library)
    os.utime(library, ns=(1, 1))
    third = edgetpu.probe(str(library), tpu, cpu, MODELS_DIR, tmp_path)
    assert third.kind == "error" and not third.cached


def test_errors_and_hangs_are_not_cached(tmp_path):
    library = build_fake(tmp_path, "null")
    tpu, cpu = lightning("edgetpu"), lightning("cpu")
    assert edgetpu.probe(str(library), tpu, cpu, MODELS_DIR, tmp_path).kind == "error"
    assert not (tmp_path / edgetpu.CACHE_NAME).exists()  # a Coral plugged in later may work


def test_a_missing_library_is_no_warning_unless_a_coral_is_plugged_in(monkeypatch):
    library = "libedgetpu-not-installed.so.1"
    monkeypatch.setattr(edgetpu, "coral_devices", lambda: [])
    model = loader.open_model("lightning", "auto", 1, MODELS_DIR, edgetpu_library=library)
    assert model.backend.fallback.reason == f"{library} is not installed"
    assert not model.backend.fallback.warn
    monkeypatch.setattr(edgetpu, "coral_devices", lambda: ["usb 18d1:9302"])
    model = loader.open_model("lightning", "auto", 1, MODELS_DIR, edgetpu_library=library)
    assert model.backend.fallback.warn and "Coral is plugged in" in model.backend.fallback.reason


def test_compare_accepts_close_outputs_and_rejects_garbage():
    cpu = np.array([[0.1 + i / 40, 0.5, 0.9] for i in range(17)])
    assert probe.compare(cpu, cpu)[:2] == (True, 0.0)
    near = cpu.copy()
    near[:, :2] += 0.03
    assert probe.compare(near, cpu)[0]
    far = cpu.copy()
    far[3, 1] += 0.2
    assert not probe.compare(far, cpu)[0]
    assert not probe.compare(np.zeros((17, 3)), cpu)[0]
    assert not probe.compare(np.full((17, 3), np.nan), cpu)[0]
    unsure = cpu.copy()
    unsure[:, 2] = 0.1  # nothing the CPU is sure of: nothing was tested, so no agreement
    assert probe.compare(unsure, unsure) == (False, pytest.approx(np.nan, nan_ok=True), 0)


@pytest.mark.parametrize("name", ["lightning", "thunder"])
def test_the_probe_image_is_found_by_every_cpu_build_alike(name):
    """The fixed image must give confident keypoints, and two honest builds of the same weights
    (float16 and int8) must agree within the probe's limit: else the probe tests nothing."""
    entries = [e for e in runtime.present(load_manifest(MODELS_DIR), name, "cpu", MODELS_DIR)]
    outputs = {}
    for entry in entries:
        model = runtime.open_entry(entry, 1)
        outputs[entry.precision] = model(probe.probe_image(model.input_size))
        agree, _, compared = probe.compare(outputs[entry.precision], outputs[entry.precision])
        assert agree and compared >= probe.MIN_COMPARED, (entry.file, compared)
    if len(outputs) == 2:
        agree, deviation, _ = probe.compare(outputs["int8"], outputs["float16"])
        assert agree, deviation


def test_judge_turns_child_output_into_a_verdict():
    cpu = np.array([[0.1 + i / 40, 0.5, 0.9] for i in range(17)])
    result = {"edgetpu": cpu.tolist(), "cpu": cpu.tolist(), "stable": True, "edgetpu_ms": 7.5}
    ok = edgetpu._judge(result, Path("/lib/libedgetpu.so.1"))
    assert ok.ok and ok.edgetpu_ms == 7.5
    shifted = {**result, "edgetpu": (cpu + np.array([0.3, 0, 0])).tolist()}
    bad = edgetpu._judge(shifted, Path("/lib/libedgetpu.so.1"))
    assert bad.kind == "disagree" and "0.300" in bad.reason and bad.lasting
    unstable = edgetpu._judge({**result, "stable": False}, Path("/lib/libedgetpu.so.1"))
    assert unstable.kind == "disagree"


def test_coral_devices_reads_sysfs_and_dev(tmp_path):
    usb, dev = tmp_path / "usb", tmp_path / "dev"
    dev.mkdir()
    for name, ids in {
        "1-1": ("1d6b", "0002"),
        "1-2": ("18d1", "9302"),
        "2-1": ("1a6e", "089a"),
    }.items():
        (usb / name).mkdir(parents=True)
        (usb / name / "idVendor").write_text(ids[0] + "\n")
        (usb / name / "idProduct").write_text(ids[1] + "\n")
    (usb / "usb1").mkdir()  # a hub entry without ids
    assert edgetpu.coral_devices(usb, dev) == ["usb 18d1:9302", "usb 1a6e:089a"]
    (dev / "apex_0").touch()
    assert edgetpu.coral_devices(usb, dev)[0] == f"pcie {dev / 'apex_0'}"
    assert edgetpu.coral_devices(tmp_path / "no-sysfs", tmp_path / "empty") is None


def test_find_library_by_path_and_by_name(tmp_path, monkeypatch):
    library = tmp_path / "libedgetpu.so.1"
    library.write_bytes(b"\x7fELF")
    assert edgetpu.find_library(str(library)) == library
    assert edgetpu.find_library(str(tmp_path / "absent.so")) is None
    monkeypatch.setenv("LD_LIBRARY_PATH", str(tmp_path))
    assert edgetpu.find_library("libedgetpu.so.1") == library
    assert edgetpu.find_library("libc.so.6") is not None  # from the loader cache or /lib


def test_serve_with_a_crashing_libedgetpu_stays_up_counts_and_says_why(shared_data, tmp_path):
    """`repcounter serve` with model.edgetpu_library = the segfaulting fake: the daemon comes up
    on the CPU, counts a real clip right and reports why in /api/health and its log."""
    from device.daemon import config
    from tests.test_serve_e2e import start, stop, truth

    library = build_fake(tmp_path, "segv")
    settings = config.Settings()
    settings.model.edgetpu_library = str(library)
    config.save(settings, tmp_path / "data" / "settings.toml")
    clip = "calimiro_push-up_40.mp4"
    low, high = truth(shared_data, clip)
    process, client = start(shared_data, tmp_path, clip)
    try:
        assert wait_until(lambda: client.set_ends, 120), (tmp_path / "serve.log").read_text()[
            -3000:
        ]
        health = client.api.json("GET", "/api/health")[1]
        assert process.poll() is None  # still up
    finally:
        stop(process)
    complete = [rep for rep in client.reps if rep["complete"]]
    assert low <= len(complete) <= high, client.reps
    backend = health["backend"]
    assert backend["accelerator"] == "cpu" and backend["precision"] == "int8"
    assert "SIGSEGV" in backend["fallback"]["reason"]
    assert health["status"] == "degraded"
    [warning] = [w for w in health["warnings"] if w["kind"] == "accelerator"]
    assert "SIGSEGV" in warning["message"] and "libedgetpu" in warning["fix"]
    log = (tmp_path / "serve.log").read_text()
    assert "Edge TPU not used" in log and "SIGSEGV" in log
    cached = json.loads((tmp_path / "data" / edgetpu.CACHE_NAME).read_text())
    assert [v["kind"] for v in cached.values()] == ["crash"]  # the next start skips the probe


def test_daemon_with_accelerator_edgetpu_and_a_crashing_library_says_why(tmp_path):
    """accelerator = edgetpu insists on the Edge TPU: the pipeline stays stopped, the web UI up,
    and /api/health carries the probe's reason as an accelerator warning."""
    from device.daemon import config
    from device.daemon.service import Daemon

    library = build_fake(tmp_path, "segv")
    settings = config.Settings()
    settings.model.accelerator = "edgetpu"
    settings.model.edgetpu_library = str(library)
    config.save(settings, tmp_path / "settings.toml")
    daemon = Daemon(tmp_path, source=str(tmp_path / "no-clip.mp4"), host="127.0.0.1", port=0)
    daemon.start()
    try:
        health = daemon.health()
    finally:
        daemon.shutdown()
    assert health["pipeline"].startswith("stopped: the Coral Edge TPU cannot be used")
    assert health["status"] == "degraded" and health["backend"] is None
    [warning] = health["warnings"]
    assert warning["kind"] == "accelerator" and "SIGSEGV" in warning["message"]


def test_a_library_without_a_coral_is_no_warning(tmp_path, monkeypatch):
    """libedgetpu installed, no Coral connected: the CPU runs with the reason, not a warning;
    the Edge TPU is tried again once a Coral shows up."""
    library = build_fake(tmp_path, "null")
    monkeypatch.setattr(edgetpu, "coral_devices", lambda: [])
    model = loader.open_model("lightning", "auto", 1, MODELS_DIR, edgetpu_library=str(library))
    assert model.backend.accelerator == "cpu" and not model.backend.fallback.warn
    assert model.backend.fallback.reason.startswith("no Coral is connected")
    assert isinstance(model, FailoverModel)
