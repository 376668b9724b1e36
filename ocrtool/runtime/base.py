"""The backend interface: only the two forward passes differ between PyTorch and ONNX.

Everything around them (resizing, normalising, cropping, CTC decoding, box building) is
numpy/OpenCV code shared by both, so the two backends give the same text on the same image.
"""

from __future__ import annotations

import hashlib
import importlib.util
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np

DETECTOR = "detector"
RECOGNIZER = "recognizer"


class Backend(Protocol):
    """A loaded detector + recognizer pair with their metadata."""

    name: str
    device: str
    detector_meta: dict
    recognizer_meta: dict

    def detect(self, batch: np.ndarray) -> np.ndarray:
        """(1, 3, H, W) normalised float32 -> (1, 2, H/2, W/2) region/affinity in [0, 1]."""
        ...

    def recognize(self, batch: np.ndarray) -> np.ndarray:
        """(B, 1, 32, W) normalised float32 -> (B, W/4, num_classes) logits."""
        ...


def weights_dir() -> Path:
    """The shipped weights folder (the package `ocrtool._weights`, i.e. top-level weights/)."""
    try:
        return Path(str(resources.files("ocrtool._weights")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "weights"


def model_path(kind: str, suffix: str, directory: str | Path | None = None) -> Path:
    path = Path(directory or weights_dir()) / f"{kind}{suffix}"
    if not path.exists():
        raise FileNotFoundError(f"model file not found: {path}")
    return path


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def load_backend(backend: str = "auto", device: str = "auto",
                 weights: str | Path | None = None, threads: int | None = None,
                 precision: str = "auto") -> Backend:
    """Pick a backend: 'torch', 'onnx', or 'auto' (torch on a GPU, else ONNX, else torch).

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
    if backend == "auto":
        backend = _auto_backend(device, weights)
    if backend == "torch":
        if precision == "int8":
            raise ValueError("int8 models run on the onnx backend only")
        if not torch_available():
            raise RuntimeError("the torch backend needs PyTorch: pip install 'ocrtool[torch]'")
        from .torch_backend import TorchBackend

        return TorchBackend(weights, device=device, threads=threads)
    from .onnx_backend import OnnxBackend

    return OnnxBackend(weights, device=device, threads=threads, precision=precision)


def _auto_backend(device: str, weights: str | Path | None) -> str:
    onnx_ready = (Path(weights or weights_dir()) / f"{DETECTOR}.onnx").exists()
    if device == "cuda" or (device == "auto" and _cuda_available()):
        return "torch" if torch_available() else "onnx"
    return "onnx" if onnx_ready else "torch"


def _cuda_available() -> bool:
    if not torch_available():
        return False
    import torch

    return bool(torch.cuda.is_available())
