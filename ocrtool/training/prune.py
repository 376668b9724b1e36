"""Slim a trained recognizer: keep each convolution stage's strongest channels.

Why: on CPUs without VNNI the recognizer's convolutions are most of a receipt's time
(`bench/onnx_ops.py`: the last three 3x3 convolutions alone over half of the model), and
a model with fewer channels per stage, started from the trained one's strongest channels
and then distilled from it (`ocrtool train recognizer --init SLIM --distill FULL
--distill-set all`), starts far closer to the original than a fresh model of that size.
Not close enough for a CPU fine-tune: 85 minutes left 32,48,96,144 at 1.2x the
original's validation CER (model card, session 35); a GPU lease has 25 times the steps.

A channel's strength is the absolute scale of the BatchNorm that follows its convolution
("network slimming"): the BatchNorm's input is normalised, so its scale is how much the
channel passes on. The next convolution (or the BiLSTM's input weights, after the last
stage) keeps the input columns of the kept channels.
"""

from __future__ import annotations

import torch
from torch import nn

from ..recognition.model import CRNN, crnn_from_meta


def strongest_channels(bn: nn.BatchNorm2d, keep: int) -> torch.Tensor:
    """Indices (ascending) of the `keep` channels with the largest |BatchNorm scale|."""
    if not 0 < keep <= bn.num_features:
        raise ValueError(f"cannot keep {keep} of {bn.num_features} channels")
    return bn.weight.detach().abs().topk(keep).indices.sort().values


def conv_stages(model: CRNN) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
    """Each convolution of the CNN with the BatchNorm that follows it, in order."""
    layers = list(model.features)
    return [(conv, layers[i + 1]) for i, conv in enumerate(layers)
            if isinstance(conv, nn.Conv2d)]


def prune_recognizer(model: CRNN, channels: tuple[int, int, int, int]) -> CRNN:
    """A CRNN with `channels` per stage holding `model`'s strongest channels' weights.

    Both convolutions of a stage keep their own strongest channels (the stage's width is
    shared, not the channels); the recurrent and output layers are copied whole but for
    the BiLSTM's input columns."""
    slim = CRNN(model.head.out_features, hidden=model.rnn.hidden_size, channels=channels)
    inputs = torch.arange(1)  # the gray input channel
    with torch.no_grad():
        for (conv, bn), (new_conv, new_bn) in zip(conv_stages(model), conv_stages(slim),
                                                  strict=True):
            keep = strongest_channels(bn, new_conv.out_channels)
            new_conv.weight.copy_(conv.weight[keep][:, inputs])
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(new_bn, name).copy_(getattr(bn, name)[keep])
            inputs = keep
        for name, value in model.rnn.state_dict().items():
            is_input = name.startswith("weight_ih_l0")  # layer 0's, both directions
            getattr(slim.rnn, name).copy_(value[:, inputs] if is_input else value)
        slim.head.load_state_dict(model.head.state_dict())
    return slim.eval()


def prune_weights(path: str, channels: tuple[int, int, int, int], out: str) -> dict:
    """Write `path`'s recognizer slimmed to `channels` to `out` (a weight file with the
    same charset and metadata, its shape in `channels`); returns the new metadata."""
    from .checkpoints import save_weights

    state = torch.load(path, map_location="cpu", weights_only=False)
    model = crnn_from_meta(state["meta"])
    model.load_state_dict(state["model"])
    meta = {k: v for k, v in state["meta"].items() if k not in ("width", "metrics", "step")}
    meta.update(channels=list(channels), pruned_from=str(path))
    save_weights(out, prune_recognizer(model.eval(), channels), meta)
    return meta
