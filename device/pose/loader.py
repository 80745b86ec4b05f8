"""Opening the model the settings ask for: a CPU build, or the Edge TPU guarded by the CPU build.

runtime.py opens one manifest entry, edgetpu.py probes the Edge TPU in a child process and
failover.py switches between the two at run time; this module, above all three, picks.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from device.errors import ModelError
from device.models.manifest import MODELS_DIR, ModelEntry, load_manifest
from device.pose import edgetpu
from device.pose.failover import FailoverModel
from device.pose.runtime import (
    ACCELERATORS,
    EDGETPU_LIBRARY,
    PRECISIONS,
    Fallback,
    PoseModel,
    cpu_entry,
    open_entry,
    present,
    with_fallback,
)

log = logging.getLogger(__name__)


def _check_choice(value: str, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        raise ModelError(f"{what} must be one of {', '.join(choices)}, not {value!r}.")


def open_model(
    name: str = "lightning",
    accelerator: str = "auto",
    threads: int | None = None,
    models_dir: Path = MODELS_DIR,
    precision: str = "auto",
    edgetpu_library: str = EDGETPU_LIBRARY,
    cache_dir: Path | None = None,
) -> Any:
    """The model `name` on the accelerator the settings ask for: a PoseModel on the CPU, or a
    FailoverModel (Edge TPU with the CPU build standing by) when the Edge TPU passed its probe.

    cache_dir keeps the probe's verdict between runs (the daemon's data folder).
    """
    _check_choice(accelerator, ACCELERATORS, "accelerator")
    _check_choice(precision, PRECISIONS, "precision")
    entries = load_manifest(models_dir)
    if not any(e.name == name for e in entries):
        known = sorted({e.name for e in entries})
        raise ModelError(f"unknown model {name!r}: choose one of {', '.join(known)}.")
    cpu = cpu_entry(entries, name, precision, models_dir)
    if accelerator == "cpu":
        return open_entry(cpu, threads, models_dir)
    if precision == "float16":
        if accelerator == "edgetpu":
            raise ModelError(
                "the Edge TPU runs int8 builds only: set model.precision = auto or int8, or "
                "accelerator = cpu."
            )
        return open_entry(cpu, threads, models_dir)
    return open_with_fallback(
        entries, name, accelerator == "edgetpu", cpu, threads, models_dir, edgetpu_library,
        cache_dir,
    )  # fmt: skip


def open_with_fallback(
    entries: list[ModelEntry],
    name: str,
    required: bool,
    cpu: ModelEntry,
    threads: int | None,
    models_dir: Path,
    library: str,
    cache_dir: Path | None,
) -> Any:
    """The Edge TPU model guarded by the CPU build (FailoverModel), or the CPU build with the
    reason it is not the Edge TPU. required (accelerator = edgetpu): a ModelError instead."""
    tpu_models = present(entries, name, "edgetpu", models_dir)
    if not tpu_models:
        if required:
            raise ModelError(
                f"no Edge TPU build of {name!r} is in {models_dir}: run `repcounter models "
                "fetch`, or set accelerator = cpu."
            )
        present_now = edgetpu.coral_devices()
        return with_fallback(
            open_entry(cpu, threads, models_dir),
            Fallback(
                f"no Edge TPU build of {name!r} is in {models_dir}",
                "run `repcounter models fetch`",
                warn=bool(present_now),
            ),
        )

    def reopen() -> PoseModel:  # compared with the CPU build (the int8 one unless none is here)
        return edgetpu.open_edgetpu(tpu_models[0], cpu, threads, models_dir, library, cache_dir)

    try:
        tpu_model = reopen()
    except ModelError as exc:
        if required:
            raise
        verdict = exc.verdict if isinstance(exc, edgetpu.EdgeTpuUnusable) else None
        fallback = verdict.fallback() if verdict else Fallback(str(exc), edgetpu.install_hint())
        devices = edgetpu.coral_devices()
        if verdict is not None and verdict.kind == "missing" and devices:
            fallback = Fallback(fallback.reason + " although a Coral is plugged in", fallback.fix)
        elif verdict is not None and verdict.kind == "error" and devices == []:
            # libedgetpu is installed but no Coral is connected: the usual CPU-only appliance.
            fallback = Fallback(f"no Coral is connected ({verdict.reason})", "plug in the Coral",
                                warn=False)  # fmt: skip
        level = logging.WARNING if fallback.warn else logging.INFO
        log.log(level, "Edge TPU not used: %s. Fix: %s", fallback.reason, fallback.fix)
        cpu_model = with_fallback(open_entry(cpu, threads, models_dir), fallback)
        if verdict is not None and (verdict.lasting or verdict.kind == "missing"):
            return cpu_model  # nothing changes until the software does: no retries
        return FailoverModel(cpu_model, reopen)
    return FailoverModel(open_entry(cpu, threads, models_dir), reopen, tpu_model)
