"""Which CPU arithmetic runs the model: the architecture and the features XNNPACK picks kernels by.

The same model file gives different last bits on different CPUs: XNNPACK chooses its kernels
from the CPU's features (x86: AVX2, FMA, AVX-512, VNNI; arm64: NEON, dot product, fp16 arithmetic,
i8mm, and the core's part number for tuned kernels), and int8 kernels requantise differently.
An int8 keypoint can move by several pixels between two CPUs. Everything measured on one CPU is
one sample; the pose cache keys its poses by this, and the eval names it per column.
"""

from __future__ import annotations

import ctypes
import hashlib
import platform
from dataclasses import dataclass
from pathlib import Path

# x86-64 /proc/cpuinfo flags that change XNNPACK's kernel choice (its cpuinfo reads CPUID; the
# kernel's flags mirror it).
X86_FEATURES = (
    "sse4_1", "avx", "f16c", "fma", "avx2", "avx512f", "avx512bw", "avx512dq", "avx512vl",
    "avx512vbmi", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_int8",
)  # fmt: skip

# arm64 hardware capabilities (getauxval, which XNNPACK's cpuinfo reads on Linux), by bit.
ARM_HWCAP = {"fphp": 9, "asimdhp": 10, "asimddp": 20, "sve": 22}
ARM_HWCAP2 = {"i8mm": 13, "bf16": 14}
AT_HWCAP, AT_HWCAP2 = 16, 26

# The Arm cores of Raspberry Pis, by the "CPU part" of /proc/cpuinfo.
ARM_PARTS = {
    "0xd03": "Cortex-A53 (Pi 3)",
    "0xd08": "Cortex-A72 (Pi 4)",
    "0xd0b": "Cortex-A76 (Pi 5)",
}


@dataclass(frozen=True)
class Arithmetic:
    machine: str  # platform.machine(): x86_64, aarch64
    cpu: str  # the model name (x86) or the core (arm64)
    features: tuple[str, ...]  # the features above that this CPU has, in their order

    @property
    def key(self) -> str:
        """What decides the kernels: the same key, the same arithmetic (the name is not part)."""
        part = self.cpu if self.machine == "aarch64" else ""
        return f"{self.machine}:{part}:{'+'.join(self.features)}"

    @property
    def short_id(self) -> str:
        return short_id(self.key)

    def describe(self) -> str:
        shown = [f for f in self.features if f not in ("sse4_1", "avx", "f16c", "fma")]
        return f"{self.machine} {self.cpu} [{' '.join(shown) or 'baseline'}]"


def short_id(key: str) -> str:
    """A folder name for an arithmetic's key: the machine, then a hash of the key."""
    machine = key.split(":", 1)[0]
    return f"{machine}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def _cpuinfo(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except OSError:
        return []


def _field(lines: list[str], name: str) -> str:
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            return value.strip()
    return ""


def _arm_features() -> tuple[str, ...]:
    try:
        getauxval = ctypes.CDLL(None).getauxval
    except (OSError, AttributeError):
        return ()
    getauxval.restype = ctypes.c_ulong
    getauxval.argtypes = [ctypes.c_ulong]
    hwcap, hwcap2 = getauxval(AT_HWCAP), getauxval(AT_HWCAP2)
    found = [name for name, bit in ARM_HWCAP.items() if hwcap >> bit & 1]
    found += [name for name, bit in ARM_HWCAP2.items() if hwcap2 >> bit & 1]
    return tuple(found)


def current(cpuinfo: Path = Path("/proc/cpuinfo")) -> Arithmetic:
    """This machine's arithmetic (under qemu-user: the emulated CPU's, as XNNPACK sees it)."""
    machine = platform.machine()
    lines = _cpuinfo(cpuinfo)
    if machine == "aarch64":
        part = _field(lines, "cpu part").lower()
        return Arithmetic(machine, ARM_PARTS.get(part, f"part {part or '?'}"), _arm_features())
    flags = set(_field(lines, "flags").split())
    cpu = _field(lines, "model name") or platform.processor() or "unknown CPU"
    return Arithmetic(machine, " ".join(cpu.split()), tuple(f for f in X86_FEATURES if f in flags))
