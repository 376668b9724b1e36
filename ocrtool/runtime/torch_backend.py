"""PyTorch backend: eager forward passes on CPU or CUDA."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from ..detection.model import CraftNet
from ..recognition.model import CRNN, crnn_from_meta
from .base import DETECTOR, RECOGNIZER, model_path


def load_detector(path: str | Path) -> tuple[CraftNet, dict]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    meta = state.get("meta", {})
    model = CraftNet(**meta.get("arch_args", {}))
    model.load_state_dict(state["model"])
    return model.eval(), meta


def load_recognizer(path: str | Path) -> tuple[CRNN, dict]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    meta = state["meta"]
    model = crnn_from_meta(meta)
    model.load_state_dict(state["model"])
    return model.eval(), meta


def resolve_device(device: str) -> str:
    """'auto' -> cuda when present; 'cuda' without a GPU falls back with a message."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        print("ocrtool: CUDA is not available, running on the CPU", file=sys.stderr)
        return "cpu"
    return device


def module_forward(module: torch.nn.Module, device: str = "cpu"):
    """numpy in, numpy out through an in-memory module: what the stages call, whether the
    module was loaded from a weight file or is being trained."""

    @torch.inference_mode()
    def forward(batch: np.ndarray) -> np.ndarray:
        return module(torch.from_numpy(batch).to(device)).float().cpu().numpy()

    return forward


class TorchBackend:
    name = "torch"
    recognize_workers = 1  # torch's threads are the process's: one batch at a time

    def __init__(self, weights: str | Path | None = None, device: str = "auto",
                 threads: int | None = None, recognizer: str = RECOGNIZER) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.device = resolve_device(device)
        self.detector, self.detector_meta = load_detector(model_path(DETECTOR, ".pt", weights))
        self.recognizer, self.recognizer_meta = load_recognizer(
            model_path(recognizer, ".pt", weights)
        )
        self.detector.to(self.device)
        self.recognizer.to(self.device)
        self.detect = module_forward(self.detector, self.device)
        self.recognize = module_forward(self.recognizer, self.device)
