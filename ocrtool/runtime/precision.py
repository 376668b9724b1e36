"""Which precision the default CPU path uses, and why.

The int8 graphs are static QDQ with unsigned 8-bit activations and signed 8-bit weights
(u8s8). onnxruntime runs them with integer dot-product instructions where the CPU has
them (x86 VNNI, ARM dot product). Without them, on AVX2-only x86 CPUs, the u8s8 kernels
add pairs of products in 16 bits, which saturate (onnxruntime's quantization guide says
so). Measured on an AVX2-only AMD EPYC, the int8 default lost 0.06 word F1 on sroie_dev.
So "auto" takes int8 only where the CPU has those instructions, and fp32 elsewhere.
On a later AVX2-only AMD EPYC (session 33, ONNX Runtime 1.32, only the recognizer in
int8) int8 read like fp32 (2.05% of the 5119 validation crops read differently, as on
VNNI; sroie_dev word F1 (ci) 0.9335 against 0.9341) but ran 9% slower than fp32
(`python bench/onnx_ops.py`): without VNNI fp32 is also the faster choice.
"""

from __future__ import annotations

import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

# /proc/cpuinfo flags of x86 CPUs whose int8 dot products do not saturate
X86_INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
# /proc/cpuinfo "Features" of ARM CPUs with the int8 dot-product instructions
ARM_INT8_FLAGS = ("asimddp",)
PRECISIONS = ("auto", "fp32", "int8")


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision a backend will load, with a one-line reason for `ocrtool info`."""

    precision: str  # "int8" or "fp32"
    reason: str


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU's feature flags (x86 "flags", ARM "Features"); empty when unknown."""
    if cpuinfo is None:
        cpuinfo = _read_cpuinfo()
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            flags.update(value.split())
    return flags


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's model name, for `ocrtool info` and benchmark reports."""
    for line in (_read_cpuinfo() if cpuinfo is None else cpuinfo).splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("model name", "hardware", "cpu model"):
            return value.strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def _read_cpuinfo() -> str:
    path = Path("/proc/cpuinfo")
    if path.exists():
        try:
            return path.read_text(errors="replace")
        except OSError:
            return ""
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return _macos_arm_features()
    return ""


def _macos_arm_features() -> str:
    """Apple silicon has the dot-product instructions (FEAT_DotProd) on every model."""
    try:
        out = subprocess.run(["sysctl", "-n", "hw.optional.arm.FEAT_DotProd"],
                             capture_output=True, text=True, timeout=2).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return "Features: asimddp" if out == "1" else ""


def int8_instructions(flags: set[str]) -> str | None:
    """The flag that makes int8 safe and fast on this CPU, or None."""
    for flag in X86_INT8_FLAGS + ARM_INT8_FLAGS:
        if flag in flags:
            return flag
    return None


def choose_precision(requested: str = "auto", on_gpu: bool = False,
                     int8_available: bool = True,
                     flags: set[str] | None = None) -> PrecisionChoice:
    """Resolve "auto" | "fp32" | "int8" to what the ONNX backend loads.

    An explicit request is obeyed (int8 on a CPU without dot-product instructions reads
    worse, but a user may want to measure it); "auto" takes int8 only on a CPU with
    VNNI / dot-product instructions and int8 files present, never on a GPU.
    """
    if requested not in PRECISIONS:
        raise ValueError(f"unknown precision {requested!r} (use {', '.join(PRECISIONS)})")
    if requested != "auto":
        return PrecisionChoice(requested, "asked for")
    if on_gpu:
        return PrecisionChoice("fp32", "on a GPU int8 QDQ graphs do not pay")
    if not int8_available:
        return PrecisionChoice("fp32", "no int8 model files")
    flag = int8_instructions(cpu_flags() if flags is None else flags)
    if flag is None:
        return PrecisionChoice("fp32", "this CPU has no VNNI / dot-product instructions, "
                                       "where int8 kernels saturate and read worse")
    return PrecisionChoice("int8", f"this CPU has {flag}: int8 reads as fp32 and is faster")
