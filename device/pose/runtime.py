"""Building a LiteRT interpreter for a MoveNet model on the CPU (XNNPACK) or the Coral Edge TPU.

`ai_edge_litert` is the runtime; `tflite_runtime` is used only when it is the one installed
(an older Pi image). Which model file runs is decided here from the manifest and the
`accelerator` setting:

- auto: the Edge TPU when libedgetpu.so.1 loads and an Edge TPU build is present, else the CPU.
- cpu: the first CPU build of the chosen model in manifest order (the converted models first).
- edgetpu: the Edge TPU build, or a clear error if the delegate or the model is missing.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from device.errors import ModelError
from device.models.manifest import MODELS_DIR, ModelEntry, load_manifest, verify

EDGETPU_LIBRARY = "libedgetpu.so.1"
ACCELERATORS = ("auto", "cpu", "edgetpu")


def _runtime_module() -> tuple[str, Any]:
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


def load_edgetpu_delegate() -> Any:
    """The Edge TPU delegate, or ModelError saying why it cannot be loaded."""
    _, module = _runtime_module()
    try:
        # Probe the library first: a failed load_delegate leaves a half-built Delegate whose
        # destructor prints a traceback (ai_edge_litert 2.x).
        ctypes.CDLL(EDGETPU_LIBRARY)
        return module.load_delegate(EDGETPU_LIBRARY)
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"the Coral Edge TPU cannot be used ({exc}). Check that the Coral is plugged in "
            f"(lsusb shows 'Global Unichip' or 'Google'), that {EDGETPU_LIBRARY} is installed "
            "(apt install libedgetpu1-std) and that this user is in the plugdev group; or set "
            "accelerator = cpu."
        ) from exc


@dataclass(frozen=True)
class Backend:
    """What is running: shown on the health page and by `repcounter bench`."""

    accelerator: str  # "cpu" or "edgetpu"
    runtime: str  # "ai_edge_litert" or "tflite_runtime"
    model: ModelEntry
    threads: int

    def to_json(self) -> dict:
        return {
            "accelerator": self.accelerator,
            "runtime": self.runtime,
            "model": self.model.name,
            "model_file": self.model.file,
            "input_size": self.model.input_size,
            "input_dtype": self.model.input_dtype,
            "threads": self.threads,
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
    _, module = _runtime_module()
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


def _present(entries: list[ModelEntry], name: str, accelerator: str, models_dir: Path):
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
    """The interpreter for one manifest entry, after checking its sha256.

    An Edge TPU entry loads the delegate itself unless one is passed in.
    """
    threads = threads or default_threads()
    runtime_name, _ = _runtime_module()
    path = verify(entry, models_dir)
    delegates = []
    if entry.accelerator == "edgetpu":
        delegates = [delegate or load_edgetpu_delegate()]
    interpreter = _interpreter(path, delegates, threads)
    return PoseModel(interpreter, Backend(entry.accelerator, runtime_name, entry, threads))


def open_model(
    name: str = "lightning",
    accelerator: str = "auto",
    threads: int | None = None,
    models_dir: Path = MODELS_DIR,
) -> PoseModel:
    """The interpreter for model `name` on the accelerator the setting asks for."""
    if accelerator not in ACCELERATORS:
        raise ModelError(
            f"accelerator must be one of {', '.join(ACCELERATORS)}, not {accelerator!r}."
        )
    entries = load_manifest(models_dir)
    if not any(e.name == name for e in entries):
        known = sorted({e.name for e in entries})
        raise ModelError(f"unknown model {name!r}: choose one of {', '.join(known)}.")

    if accelerator in ("auto", "edgetpu"):
        tpu_models = _present(entries, name, "edgetpu", models_dir)
        if accelerator == "edgetpu" and not tpu_models:
            raise ModelError(
                f"no Edge TPU build of {name!r} is in {models_dir}: run `repcounter models fetch` "
                "(Edge TPU builds exist for lightning), or set accelerator = cpu."
            )
        if tpu_models:
            try:
                delegate = load_edgetpu_delegate()
            except ModelError:
                if accelerator == "edgetpu":
                    raise
            else:
                return open_entry(tpu_models[0], threads, models_dir, delegate)

    cpu_models = _present(entries, name, "cpu", models_dir)
    if not cpu_models:
        raise ModelError(f"no CPU build of {name!r} is in {models_dir}: restore models/ from git.")
    return open_entry(cpu_models[0], threads, models_dir)
