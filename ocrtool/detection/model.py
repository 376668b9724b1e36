"""A light U-Net that predicts CRAFT's two maps: character region and affinity scores.

No pretrained backbone can be downloaded here, so the encoder is small and trained from
scratch and built from depthwise-separable convolutions (MobileNet-style) so a full page
runs in a fraction of a second on a laptop CPU. The decoder
upsamples and fuses the skip connections back to half the input resolution, where the two
maps live. Input sides must be multiples of 32; the output is already in [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .postprocess import MEAN, STD, STRIDE  # noqa: F401  (torch-free home of the constants)


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def separable(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(conv_bn(cin, cin, 3, groups=cin), conv_bn(cin, cout, 1))


class Down(nn.Sequential):
    """Strided depthwise conv, pointwise widening, then `depth` separable convs."""

    def __init__(self, cin: int, cout: int, depth: int = 1) -> None:
        layers = [conv_bn(cin, cin, 3, 2, groups=cin), conv_bn(cin, cout, 1)]
        layers += [separable(cout, cout) for _ in range(depth)]
        super().__init__(*layers)


class Up(nn.Module):
    """Upsample to the skip's size, concatenate, fuse with a 1x1 then a separable conv.

    The concatenation is never built: a 1x1 convolution of [up(x), skip] equals
    up(W_x x) + W_skip skip, since bilinear upsampling is linear and treats every channel
    alike. So the part of the convolution that reads x runs at x's resolution, a quarter
    of the pixels, and only `cout` channels are upsampled. The same weights and the same
    function up to float rounding; the ONNX detector ran a third faster
    (`bench/onnx_ops.py`), most of it in the last, full-resolution step.
    """

    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.cin = cin
        self.fuse = nn.Sequential(conv_bn(cin + cskip, cout, 1), separable(cout, cout))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        conv, bn, relu = self.fuse[0]
        w_x, w_skip = conv.weight[:, :self.cin], conv.weight[:, self.cin:]
        if self.training:  # batch statistics: BatchNorm after the sum
            y = bn(_upsampled_sum(x, skip, w_x, w_skip, None))
        else:  # BatchNorm folded into both halves, as an export folds it into a conv
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            per_out = scale[:, None, None, None]
            y = _upsampled_sum(x, skip, w_x * per_out, w_skip * per_out,
                               bn.bias - bn.running_mean * scale)
        return self.fuse[1](relu(y))


def _upsampled_sum(x: torch.Tensor, skip: torch.Tensor, w_x: torch.Tensor,
                   w_skip: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """upsample(W_x x) + W_skip skip (+ bias): `Up`'s 1x1 convolution of the concatenation."""
    return F.interpolate(F.conv2d(x, w_x), scale_factor=2.0, mode="bilinear",
                         align_corners=False) + F.conv2d(skip, w_skip, bias)


class CraftNet(nn.Module):
    """RGB (B, 3, H, W) normalised -> (B, 2, H/2, W/2): [region, affinity] in [0, 1]."""

    def __init__(
        self,
        widths: tuple[int, ...] = (16, 32, 64, 128, 192),
        depths: tuple[int, ...] = (1, 1, 2, 2),
        up_widths: tuple[int, ...] = (96, 64, 32, 16),
    ) -> None:
        super().__init__()
        w = widths
        self.stem = conv_bn(3, w[0], 3, 2)  # H/2
        self.down = nn.ModuleList(Down(w[i], w[i + 1], depths[i]) for i in range(len(w) - 1))
        ups = []
        cin = w[-1]
        for skip, cout in zip(reversed(w[:-1]), up_widths):
            ups.append(Up(cin, skip, cout))
            cin = cout
        self.up = nn.ModuleList(ups)
        self.head = nn.Sequential(conv_bn(cin, 16, 1), nn.Conv2d(16, 2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.stem(x)]
        for d in self.down:
            skips.append(d(skips[-1]))
        y = skips.pop()
        for up in self.up:
            y = up(y, skips.pop())
        return torch.sigmoid(self.head(y))
