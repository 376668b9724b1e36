"""Checkpoints (model + optimizer, for resuming) and shipped weights (model + metadata only).

Shipped weight files carry the charset, the input normalisation and the training metrics,
so a `.pt` file alone is a complete model; optimizer state never lands in `weights/`.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch


def _atomic_save(obj: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_checkpoint(path: str | Path, model: torch.nn.Module, opt, step: int) -> None:
    _atomic_save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step}, path)


def load_checkpoint(path: str | Path, model: torch.nn.Module, opt=None) -> int:
    state = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(state["model"])
    if opt is not None and "opt" in state:
        opt.load_state_dict(state["opt"])
    return int(state.get("step", 0))


def save_weights(path: str | Path, model: torch.nn.Module, meta: dict) -> None:
    """Half-size-free float32 state dict plus metadata: what `weights/` holds."""
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    _atomic_save({"model": state, "meta": meta}, path)
