"""The Edge TPU probe's child: `python -m device.pose.probe LIBRARY EDGETPU_MODEL CPU_MODEL`.

It loads the delegate from LIBRARY, builds the interpreter for the Edge TPU model, runs it a few
times on a fixed image (a drawn figure every MoveNet finds), runs the CPU build on the same image
and prints both outputs as one JSON line. Anything that goes wrong on the way ends this process
(a signal, a hang the parent times out, or exit status 3 with the message on stderr), never the
process that asked. The parent (device/pose/edgetpu.py) judges the outputs with `compare`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

RUNS = 3
MIN_SCORE = 0.5  # keypoints the CPU build is this sure of are compared
MIN_COMPARED = 8  # fewer such keypoints: the fixed image did not work, nothing was tested
# Largest |dy| or |dx| (share of the image) allowed between the builds. Coral's own reference
# outputs of the int8 CPU and Edge TPU builds on one image differ by up to 0.02; a delegate
# that computes garbage is off by far more.
MAX_DEVIATION = 0.1


def probe_image(size: int) -> np.ndarray:
    """A person drawn facing the camera (head, arms, legs), size x size RGB uint8.

    Deterministic. The CPU builds find most of its keypoints with a score of 0.5 or more
    (Lightning float16 17, int8 16; Thunder float16 11), and tests/test_edgetpu.py checks that
    each finds at least MIN_COMPARED.
    """
    scale = 4  # drawn large, then shrunk: smooth edges
    full = size * scale
    image = np.full((full, full, 3), (200, 210, 220), np.uint8)

    def at(x: float, y: float) -> tuple[int, int]:
        return int(x * full), int(y * full)

    def width(fraction: float) -> int:
        return max(1, int(fraction * full))

    skin, shirt, trousers, shoes = (190, 140, 110), (40, 60, 150), (40, 40, 50), (20, 20, 20)
    for hip, knee, ankle in (((0.45, 0.55), (0.41, 0.74), (0.37, 0.93)),
                             ((0.55, 0.55), (0.59, 0.74), (0.63, 0.93))):  # fmt: skip
        cv2.line(image, at(*hip), at(*knee), trousers, width(0.09))
        cv2.line(image, at(*knee), at(*ankle), trousers, width(0.09))
        cv2.ellipse(image, at(ankle[0], 0.95), (width(0.03), width(0.015)), 0, 0, 360, shoes, -1)
    cv2.ellipse(image, at(0.5, 0.40), (width(0.085), width(0.17)), 0, 0, 360, shirt, -1)
    for start, end, colour in (
        ((0.42, 0.26), (0.36, 0.42), shirt),
        ((0.36, 0.42), (0.34, 0.56), skin),
        ((0.58, 0.26), (0.64, 0.42), shirt),
        ((0.64, 0.42), (0.66, 0.56), skin),
        ((0.50, 0.20), (0.50, 0.25), skin),
    ):
        cv2.line(image, at(*start), at(*end), colour, width(0.045))
    cv2.ellipse(image, at(0.5, 0.14), (width(0.05), width(0.065)), 0, 0, 360, skin, -1)
    for x in (0.48, 0.52):
        cv2.circle(image, at(x, 0.13), width(0.007), (30, 30, 30), -1)
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def compare(edgetpu: np.ndarray, cpu: np.ndarray) -> tuple[bool, float, int]:
    """(agree, largest deviation, keypoints compared) of two (17, 3) y, x, score outputs."""
    confident = cpu[:, 2] >= MIN_SCORE
    compared = int(confident.sum())
    if compared < MIN_COMPARED:
        return False, float("nan"), compared
    deviation = np.abs(edgetpu[confident, :2] - cpu[confident, :2]).max()
    deviation = float(deviation) if np.isfinite(deviation) else float("inf")
    return deviation <= MAX_DEVIATION, deviation, compared


def run(library: str, edgetpu_model: Path, cpu_model: Path) -> dict:
    """Both builds' outputs on the probe image (the Edge TPU's from its last of RUNS runs)."""
    from device.pose import runtime

    _, module = runtime.runtime_module()
    delegate = module.load_delegate(library)  # a broken library crashes or hangs right here
    tpu = module.Interpreter(model_path=str(edgetpu_model), experimental_delegates=[delegate])
    tpu.allocate_tensors()
    size = int(tpu.get_input_details()[0]["shape"][1])
    image = probe_image(size)
    outputs, times = [], []
    for _ in range(RUNS):
        start = time.perf_counter()
        outputs.append(_invoke(tpu, image))
        times.append(time.perf_counter() - start)
    cpu = module.Interpreter(model_path=str(cpu_model), num_threads=1)
    cpu.allocate_tensors()
    return {
        "edgetpu": outputs[-1].tolist(),
        "cpu": _invoke(cpu, image).tolist(),
        "stable": all(np.array_equal(outputs[0], out) for out in outputs),
        "edgetpu_ms": round(min(times) * 1000, 2),
    }


def _invoke(interpreter, image: np.ndarray) -> np.ndarray:
    interpreter.tensor(interpreter.get_input_details()[0]["index"])()[0] = image
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0, 0].copy()


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m device.pose.probe LIBRARY EDGETPU_MODEL CPU_MODEL", file=sys.stderr)
        return 2
    try:
        result = run(argv[0], Path(argv[1]), Path(argv[2]))
    except Exception as exc:  # every failure is reported to the parent, which decides
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{type(exc).__name__}: {message}", file=sys.stderr)
        return 3
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
