"""Checkpoints (model + optimizer, for resuming) and shipped weights (model + metadata only).

Shipped weight files carry the charset, the input normalisation and the training metrics,
so a `.pt` file alone is a complete model; optimizer state never lands in `weights/`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch


class TeacherMismatch(ValueError):
    """The --distill teacher cannot teach this model (another charset, another model)."""


def _atomic_save(obj: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_checkpoint(path: str | Path, model: torch.nn.Module, opt, step: int,
                    average: torch.nn.Module | None = None) -> None:
    state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step}
    if average is not None:
        state["average"] = average.state_dict()
    _atomic_save(state, path)


def load_checkpoint(path: str | Path, model: torch.nn.Module, opt=None) -> int:
    state = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(state["model"])
    if opt is not None and "opt" in state:
        opt.load_state_dict(state["opt"])
    return int(state.get("step", 0))


def weight_average(model: torch.nn.Module, decay: float,
                   checkpoint: str | Path | None = None) -> torch.optim.swa_utils.AveragedModel:
    """An exponential moving average of `model`'s weights and buffers (`decay` per step),
    starting from its present weights, or resumed from `checkpoint`'s saved average."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    average = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    state = torch.load(checkpoint, map_location="cpu", weights_only=False) \
        if checkpoint is not None and Path(checkpoint).exists() else {}
    if "average" in state:
        average.load_state_dict(state["average"])
    else:
        average.update_parameters(model)  # the first update copies the weights
    average.module.eval()
    return average


def save_weights(path: str | Path, model: torch.nn.Module, meta: dict) -> None:
    """Half-size-free float32 state dict plus metadata: what `weights/` holds."""
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    _atomic_save({"model": state, "meta": meta}, path)


def format_metrics(metrics: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.4f}" for k, v in metrics.items())


class BestWeights:
    """Writes the shipped weights whenever the validation score improves; given `keep_dir`,
    every validated model is also kept there (`step_N.pt`), so that a step other than the
    best by the one score (a mean over sets that swing by chance) can still be chosen."""

    def __init__(self, path: str | Path, meta: dict, higher_is_better: bool, log=print,
                 keep_dir: str | Path | None = None) -> None:
        self.path, self.meta, self.higher, self.log = path, meta, higher_is_better, log
        self.keep_dir = Path(keep_dir) if keep_dir is not None else None
        self.best: float | None = None

    def update(self, model: torch.nn.Module, step: int, metrics: dict, score: float) -> None:
        self.log(f"step {step} val {format_metrics(metrics)}")
        meta = {**self.meta, "step": step, "metrics": metrics}
        if self.keep_dir is not None:
            save_weights(self.keep_dir / f"step_{step}.pt", model, meta)
        better = self.best is None or (score > self.best if self.higher else score < self.best)
        if better:
            self.best = score
            save_weights(self.path, model, meta)
            self.log(f"saved {self.path}")


class PeriodicCheckpoint:
    """Model + optimizer every few minutes, so a killed run resumes where it was."""

    def __init__(self, path: str | Path, minutes: float) -> None:
        self.path, self.seconds = Path(path), minutes * 60
        self.last = time.time()

    def maybe_save(self, model: torch.nn.Module, opt, step: int, force: bool = False,
                   average: torch.nn.Module | None = None) -> None:
        if force or time.time() - self.last > self.seconds:
            save_checkpoint(self.path, model, opt, step, average)
            self.last = time.time()
