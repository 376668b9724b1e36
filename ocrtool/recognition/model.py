"""CRNN: a small VGG-like CNN, a mean over height, a 2-layer BiLSTM and a CTC head.

The height axis is collapsed with a plain mean (not AdaptiveAvgPool2d((None, 1))) so the
ONNX graph keeps dynamic batch and width without special cases. Every output column covers
4 input pixels, enough for doubled narrow letters to keep a blank between them.
"""

from __future__ import annotations

import torch
from torch import nn

from .preprocess import INPUT_HEIGHT  # noqa: F401  (torch-free home of the constant)


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]


def default_channels(width: int = 1) -> tuple[int, int, int, int]:
    """The convolution widths of the four CNN stages: (32, 64, 128, 192) times `width`."""
    return 32 * width, 64 * width, 128 * width, 192 * width


class CRNN(nn.Module):
    """Grayscale line image (B, 1, 32, W) -> class logits (B, W/4, num_classes).

    `channels` (the four stages' widths) overrides `width`: a model slimmed by
    `training.prune` keeps the layout with fewer channels per stage."""

    def __init__(self, num_classes: int, width: int = 1, hidden: int = 128,
                 channels: tuple[int, int, int, int] | None = None) -> None:
        super().__init__()
        c = list(channels) if channels else list(default_channels(width))
        self.channels = tuple(c)
        self.features = nn.Sequential(
            # The first pool comes before its ReLU: the same function (max and ReLU
            # commute), but ONNX Runtime then keeps convolution and pool in its blocked
            # float layout instead of pooling the full-resolution maps in plain NCHW,
            # which took a quarter of the int8 recognizer's time (`bench/onnx_ops.py`).
            # Positions 2 and 3 have no weights: checkpoints load either way.
            nn.Conv2d(1, c[0], 3, padding=1, bias=False), nn.BatchNorm2d(c[0]),
            nn.MaxPool2d(2, 2), nn.ReLU(True),  # 16 x W/2
            *_conv(c[0], c[1]),
            nn.MaxPool2d(2, 2),  # 8 x W/4
            *_conv(c[1], c[2]),
            *_conv(c[2], c[2]),
            nn.MaxPool2d((2, 1), (2, 1)),  # 4 x W/4
            *_conv(c[2], c[3]),
            *_conv(c[3], c[3]),
            nn.MaxPool2d((2, 1), (2, 1)),  # 2 x W/4
        )
        self.rnn = nn.LSTM(c[3], hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(2 * hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x).mean(dim=2)  # (B, C, T)
        f = f.permute(0, 2, 1)  # (B, T, C)
        f, _ = self.rnn(f)
        return self.head(f)


def meta_channels(meta: dict) -> tuple[int, int, int, int]:
    """The CNN stage widths of the weight file with metadata `meta`: its `channels` (a
    slimmed model's, and every model's trained since), or those of its `width`."""
    return tuple(meta.get("channels") or default_channels(meta.get("width", 1)))


def crnn_from_meta(meta: dict) -> CRNN:
    """An untrained CRNN shaped as the weight file with metadata `meta` describes (its
    charset's size, stage widths and LSTM size)."""
    num_classes = len(meta["charset"]["chars"]) + 1
    return CRNN(num_classes, hidden=meta.get("hidden", 128), channels=meta_channels(meta))
