"""A wider detector that starts out computing exactly what a narrower one computes.

Scene photos need more detector capacity than the shipped CraftNet has (45% of ic15's
words get no box), but a wider model trained from scratch throws away everything the
narrow one learned, and the reading passes that were fitted to its maps with it. Widening
keeps both: every layer of the wider net holds the narrow layer's weights in its first
channels, the added channels start random, and every convolution that reads across
channels gives the added input channels a weight of zero. So the added channels compute
something but nothing reads it yet: the output is the narrow model's (up to float
rounding), and training grows the new channels from the first step, since their outgoing
weights get a gradient at once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .model import CraftNet, Up

_DEFAULT = CraftNet.__init__.__defaults__  # (widths, depths, up_widths)
_UP_FUSE_CONV = ".fuse.0.0"  # Up.fuse = (conv_bn(concatenation), separable): its conv


@dataclass(frozen=True)
class CraftArch:
    """The constructor arguments of a CraftNet: what a detector's weights record in their
    metadata (`arch_args`) so that any loader rebuilds the same network."""

    widths: tuple[int, ...] = _DEFAULT[0]
    depths: tuple[int, ...] = _DEFAULT[1]
    up_widths: tuple[int, ...] = _DEFAULT[2]

    def scaled(self, factor: float) -> CraftArch:
        """Every width times `factor` (rounded to a multiple of 8, never narrower)."""
        def grow(ws: tuple[int, ...]) -> tuple[int, ...]:
            return tuple(max(w, 8 * round(w * factor / 8)) for w in ws)
        return CraftArch(grow(self.widths), self.depths, grow(self.up_widths))

    def build(self) -> CraftNet:
        return CraftNet(**self.as_args())

    def as_args(self) -> dict:
        return {k: list(v) for k, v in asdict(self).items()}

    @classmethod
    def from_args(cls, args: dict | None) -> CraftArch:
        return cls(**{k: tuple(v) for k, v in (args or {}).items()})


def widen(model: CraftNet, arch: CraftArch) -> CraftNet:
    """A CraftNet of `arch` (as deep as `model`, no narrower anywhere) that computes what
    `model` computes: see the module's docstring."""
    wide = arch.build()
    old_modules = dict(model.named_modules())
    with torch.no_grad():
        for name, new in wide.named_modules():
            old = old_modules[name]
            if isinstance(new, nn.Conv2d):
                _copy_conv(old, new, _input_spans(name, old_modules, wide))
            elif isinstance(new, nn.BatchNorm2d):
                _copy_batchnorm(old, new)
    return wide.train(model.training)


def _input_spans(conv_name: str, old_modules: dict, wide: CraftNet
                 ) -> list[tuple[int, int, int]]:
    """(old start, new start, length) of each block of input channels the convolution
    reads: one block, except `Up`'s fusing convolution, which reads [upsampled x, skip]."""
    parent = conv_name.removesuffix(_UP_FUSE_CONV)
    if parent != conv_name and isinstance(old_modules[parent], Up):
        old_up, new_up = old_modules[parent], wide.get_submodule(parent)
        old_in = old_up.fuse[0][0].in_channels
        return [(0, 0, old_up.cin), (old_up.cin, new_up.cin, old_in - old_up.cin)]
    conv = old_modules[conv_name]
    return [(0, 0, conv.in_channels // conv.groups)]


def _copy_conv(old: nn.Conv2d, new: nn.Conv2d, spans: list[tuple[int, int, int]]) -> None:
    rows = old.out_channels
    if old.groups == 1:
        new.weight[:rows] = 0.0  # the old outputs read nothing of the added inputs
        for old_start, new_start, length in spans:
            new.weight[:rows, new_start:new_start + length] = \
                old.weight[:, old_start:old_start + length]
    else:  # depthwise: each channel filters only itself
        new.weight[:rows] = old.weight
    if old.bias is not None:
        new.bias[:rows] = old.bias


def _copy_batchnorm(old: nn.BatchNorm2d, new: nn.BatchNorm2d) -> None:
    n = old.num_features
    for attr in ("weight", "bias", "running_mean", "running_var"):
        getattr(new, attr)[:n] = getattr(old, attr)
    new.num_batches_tracked.copy_(old.num_batches_tracked)
