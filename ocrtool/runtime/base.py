"""The backend interface: only the two forward passes differ between PyTorch and ONNX.

This module names the interface and the model files; `loader.py` picks and loads a
backend (so neither backend module imports the loader, and no import runs in a circle).

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
# metadata_props key of the JSON meta an exported ONNX file carries (export.py writes it,
# onnx_backend.py reads it)
META_KEY = "ocrtool_meta"


class Backend(Protocol):
    """A loaded detector + recognizer pair with their metadata."""

    name: str
    device: str
    detector_meta: dict
    recognizer_meta: dict
    # how many recognizer batches may run at once (`recognize` called from that many
    # threads); 1 where calls must not overlap
    recognize_workers: int

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
