"""Pick and load a backend: PyTorch or ONNX Runtime, on the CPU or a GPU.

Kept apart from base.py (the interface both backends import), so the import graph has no
circle: loader -> {torch_backend, onnx_backend} -> base.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..languages import DEFAULT_LANG, get_language
from .base import DETECTOR, Backend, torch_available, weights_dir


def load_backend(backend: str = "auto", device: str = "auto",
                 weights: str | Path | None = None, threads: int | None = None,
                 precision: str = "auto", lang: str = DEFAULT_LANG) -> Backend:
    """Pick a backend: 'torch', 'onnx', or 'auto' (torch on a GPU, else ONNX, else torch).

    `lang` picks the recognizer (see languages.py); the detector is shared.

    ONNX Runtime is the faster CPU path and needs no torch; torch is used for CUDA.
    `precision` 'auto' takes the int8 ONNX files where they exist (they ship only when
    they are faster at a negligible accuracy cost, see the model card), 'fp32' never does.
    """
    if backend not in ("auto", "torch", "onnx"):
        raise ValueError(f"unknown backend {backend!r} (use auto, torch or onnx)")
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"unknown device {device!r} (use auto, cpu or cuda)")
    if precision not in ("auto", "fp32", "int8"):
        raise ValueError(f"unknown precision {precision!r} (use auto, fp32 or int8)")
    recognizer = get_language(lang).recognizer
    _require_installed(lang, recognizer, weights)
    if backend == "auto":
        backend = _auto_backend(device, weights)
    if backend == "torch":
        if precision == "int8":
            raise ValueError("int8 models run on the onnx backend only")
        if not torch_available():
            raise RuntimeError("the torch backend needs PyTorch: pip install 'ocrtool[torch]'")
        from .torch_backend import TorchBackend

        return TorchBackend(weights, device=device, threads=threads, recognizer=recognizer)
    from .onnx_backend import OnnxBackend

    return OnnxBackend(weights, device=device, threads=threads, precision=precision,
                       recognizer=recognizer)


def _require_installed(lang: str, recognizer: str, weights: str | Path | None) -> None:
    """A registered language without its model files is a missing model, said plainly."""
    root = Path(weights or weights_dir())
    if lang != DEFAULT_LANG and not any((root / f"{recognizer}{s}").exists()
                                        for s in (".onnx", ".pt")):
        raise FileNotFoundError(f"model file not found: {root / recognizer}.onnx (language "
                                f"{lang!r} is not installed in {root})")


def _auto_backend(device: str, weights: str | Path | None) -> str:
    onnx_ready = (Path(weights or weights_dir()) / f"{DETECTOR}.onnx").exists()
    if device == "cuda" or (device == "auto" and _cuda_available()):
        return "torch" if torch_available() else "onnx"
    return "onnx" if onnx_ready else "torch"


def _cuda_available() -> bool:
    """Whether torch sees a CUDA GPU. Asked only where a GPU driver shows: importing torch
    costs ~2 s and ~180 MB of resident memory that the ONNX path on a CPU never uses."""
    if not torch_available() or not _gpu_driver_present():
        return False
    import torch

    return bool(torch.cuda.is_available())


def _gpu_driver_present() -> bool:
    """A GPU driver's device node on Linux (NVIDIA, ROCm, WSL); macOS has no CUDA; other
    systems are asked through torch."""
    if sys.platform.startswith("linux"):
        return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0",
                                                "/dev/kfd", "/dev/dxg"))
    return sys.platform != "darwin"
