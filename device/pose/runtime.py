"""Building a LiteRT interpreter for a MoveNet model on the CPU (XNNPACK) or the Coral Edge TPU.

`ai_edge_litert` is the runtime; `tflite_runtime` is used only when it is the one installed
(an older Pi image). Which model file runs is decided here from the manifest and the settings:

- precision: which CPU build. auto takes the int8 build when it is present (about twice as fast
  on ARM, and it counted the dev clips at least as well), else float16.
- accelerator auto: the Edge TPU when its build is present and the probe in a child process
  (device/pose/edgetpu.py) found the delegate safe and right, else the CPU, with the reason.
- accelerator cpu: the CPU build the precision picks.
- accelerator edgetpu: the Edge TPU build, or a clear error when the probe or the model fails.

libedgetpu is never loaded in this process before the probe has passed: a libedgetpu built for
another TF Lite version segfaults when the delegate is created, and that cannot be caught.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from device.errors import ModelError
from device.models.manifest import MODELS_DIR, ModelEntry, verify

EDGETPU_LIBRARY = "libedgetpu.so.1"
ACCELERATORS = ("auto", "cpu", "edgetpu")
PRECISIONS = ("auto", "int8", "float16")


def runtime_module() -> tuple[str, Any]:
    """The interpreter module and its name: ai_edge_litert, else tflite_runtime."""
    try:
        from ai_edge_litert import interpreter

        return "ai_edge_litert", interpreter
    except ImportError:
        pass
    try:
        from tflite_runtime import interpreter

        return "tflite_runtime", interpreter
    except ImportError as exc:
        raise ModelError(
            "no TFLite runtime is installed: run `pip install ai-edge-litert` in the venv."
        ) from exc


def load_edgetpu_delegate(library: str = EDGETPU_LIBRARY) -> Any:
    """The Edge TPU delegate, or ModelError saying why it cannot be loaded.

    Call it only after the probe passed for this library (device/pose/edgetpu.py).
    """
    _, module = runtime_module()
    try:
        # Probe the library first: a failed load_delegate leaves a half-built Delegate whose
        # destructor prints a traceback (ai_edge_litert 2.x).
        ctypes.CDLL(library)
        return module.load_delegate(library)
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"the Coral Edge TPU cannot be used ({str(exc).strip()}). Check that the Coral is "
            f"plugged in (`repcounter doctor` looks for it), that {library} is installed and "
            "that this user is in the plugdev group; or set accelerator = cpu."
        ) from exc


@dataclass(frozen=True)
class Fallback:
    """Why the Edge TPU is not running, and what fixes it."""

    reason: str
    fix: str
    warn: bool = True  # False when nothing points to a Coral being meant (no library, no device)

    def to_json(self) -> dict:
        return {"reason": self.reason, "fix": self.fix, "warn": self.warn}


@dataclass(frozen=True)
class Backend:
    """What is running: shown on the health page and by `repcounter bench`."""

    accelerator: str  # "cpu" or "edgetpu"
    runtime: str  # "ai_edge_litert" or "tflite_runtime"
    model: ModelEntry
    threads: int
    fallback: Fallback | None = None  # on the CPU although the Edge TPU was asked for: why

    def to_json(self) -> dict:
        return {
            "accelerator": self.accelerator,
            "runtime": self.runtime,
            "model": self.model.name,
            "model_file": self.model.file,
            "precision": self.model.precision,
            "input_size": self.model.input_size,
            "input_dtype": self.model.input_dtype,
            "threads": self.threads,
            "fallback": self.fallback.to_json() if self.fallback else None,
        }


class PoseModel:
    """A MoveNet interpreter: square RGB image in, (17, 3) y, x, score normalised out."""

    def __init__(self, interpreter: Any, backend: Backend) -> None:
        self.backend = backend
        self._interpreter = interpreter
        inp = interpreter.get_input_details()[0]
        out = interpreter.get_output_details()[0]
        self._input_index = inp["index"]
        self._output_index = out["index"]
        self.input_dtype = np.dtype(inp["dtype"])
        self.input_size = int(inp["shape"][1])
        if tuple(inp["shape"]) != (1, self.input_size, self.input_size, 3) or tuple(
            out["shape"]
        ) != (1, 1, 17, 3):
            raise ModelError(
                f"{backend.model.file} is not a MoveNet SinglePose model (input "
                f"{list(inp['shape'])}, output {list(out['shape'])}): check models/manifest.json."
            )

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Keypoints (17, 3) as y, x, score in [0, 1] for an (input_size, input_size, 3) image."""
        # Written straight into the input tensor (cast on the way): no temporary array, one pass.
        # The view must be dropped before invoke, so it is never kept.
        self._interpreter.tensor(self._input_index)()[0] = image
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output_index)[0, 0].copy()


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _interpreter(path: Path, delegates: list[Any], threads: int) -> Any:
    """A ready interpreter, or ModelError when the file cannot run with these delegates."""
    _, module = runtime_module()
    try:
        interpreter = module.Interpreter(
            model_path=str(path), experimental_delegates=delegates, num_threads=threads
        )
        interpreter.allocate_tensors()
        return interpreter
    except RuntimeError as exc:
        if "edgetpu-custom-op" in str(exc):
            raise ModelError(
                f"{path.name} is an Edge TPU build and cannot run on the CPU: choose a CPU model "
                "or connect the Coral and set accelerator = edgetpu."
            ) from exc
        raise ModelError(
            f"{path.name} cannot be loaded ({exc}): run `repcounter models fetch` "
            "or restore models/ from git."
        ) from exc
    except ValueError as exc:
        raise ModelError(
            f"{path.name} is not a valid TFLite model ({exc}): restore models/ "
            "from git or run `repcounter models fetch`."
        ) from exc


def present(entries: list[ModelEntry], name: str, accelerator: str, models_dir: Path):
    return [
        e
        for e in entries
        if e.name == name and e.accelerator == accelerator and e.path(models_dir).is_file()
    ]


def open_entry(
    entry: ModelEntry,
    threads: int | None = None,
    models_dir: Path = MODELS_DIR,
    delegate: Any = None,
) -> PoseModel:
    """The interpreter for one manifest entry, after checking its pin.

    An Edge TPU entry needs its delegate passed in: load it only once the probe has passed.
    """
    threads = threads or default_threads()
    runtime_name, _ = runtime_module()
    path = verify(entry, models_dir)
    if entry.accelerator == "edgetpu" and delegate is None:
        raise ModelError(
            f"{entry.file} is an Edge TPU build: open it with loader.open_model, which probes "
            "libedgetpu in a child process first."
        )
    interpreter = _interpreter(path, [delegate] if delegate else [], threads)
    return PoseModel(interpreter, Backend(entry.accelerator, runtime_name, entry, threads))


def cpu_entry(
    entries: list[ModelEntry], name: str, precision: str, models_dir: Path = MODELS_DIR
) -> ModelEntry:
    """The CPU build of `name` that `precision` asks for (auto: int8 when present)."""
    cpu = present(entries, name, "cpu", models_dir)
    wanted = ("int8", "float16") if precision == "auto" else (precision,)
    for kind in wanted:
        for entry in cpu:
            if entry.precision == kind:
                return entry
    if precision == "int8":
        raise ModelError(
            f"no int8 CPU build of {name!r} is in {models_dir}: run `repcounter models fetch`, "
            "or set model.precision = auto."
        )
    raise ModelError(
        f"no {'' if precision == 'auto' else precision + ' '}CPU build of {name!r} is in "
        f"{models_dir}: restore models/ from git (git checkout models/)."
    )


def with_fallback(model: PoseModel, fallback: Fallback | None) -> PoseModel:
    """model, its backend now saying why it is not on the Edge TPU."""
    model.backend = dataclasses.replace(model.backend, fallback=fallback)
    return model
