"""Give a shipped int8 recognizer graph the output layer of a model that only added outputs.

A fine-tune with `--freeze features --freeze rnn --freeze known` changes nothing of the
recognizer but new rows of its output layer. Re-quantizing it would still change how the
old characters are read, because the int8 convolutions' ranges come from a calibration run
that cannot be repeated exactly (model card, v0.6: a re-export with the same weights read
the samples at 0.82% CER against the shipped file's 0.68%). Grafting keeps the shipped
int8 convolutions and BiLSTM byte for byte and takes the candidate's float output layer
(float in every int8 graph: only convolutions are quantized) and metadata.

    python bench/graft_head.py weights/recognizer.onnx weights/recognizer.int8.onnx \
        CANDIDATE/recognizer.onnx OUT/recognizer.int8.onnx

Refuses unless the candidate's float graph holds the shipped float graph's weights
everywhere but the output layer, and its old output rows are the shipped ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtool.export import OUTPUT_NAMES  # noqa: E402
from ocrtool.runtime.base import META_KEY, RECOGNIZER  # noqa: E402

HEAD_OUTPUT = OUTPUT_NAMES[RECOGNIZER]


def head_initializers(model: onnx.ModelProto) -> tuple[str, str]:
    """Names of the weight and bias initializers of the node pair that writes the logits."""
    names = {i.name for i in model.graph.initializer}
    producers = {o: n for n in model.graph.node for o in n.output}
    add = producers[HEAD_OUTPUT]
    bias = next(i for i in add.input if i in names)
    matmul = producers[next(i for i in add.input if i not in names)]
    weight = next(i for i in matmul.input if i in names)
    return weight, bias


def arrays(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}


def check_only_new_rows(shipped: onnx.ModelProto, candidate: onnx.ModelProto) -> None:
    """Raise unless `candidate` is `shipped` plus new output columns."""
    old, new = arrays(shipped), arrays(candidate)
    head = set(head_initializers(shipped))
    if head != set(head_initializers(candidate)):
        raise SystemExit("the two float graphs name their output layers differently")
    for name, value in old.items():
        if name in head:
            n = value.shape[-1]
            if not np.array_equal(value, new[name][..., :n]):
                raise SystemExit(f"{name}: the old outputs' weights differ")
        elif name not in new or not np.array_equal(value, new[name]):
            raise SystemExit(f"{name}: differs outside the output layer (not a --freeze "
                             "features rnn known fine-tune)")


def graft(shipped_int8: onnx.ModelProto, candidate: onnx.ModelProto) -> onnx.ModelProto:
    """`shipped_int8` with `candidate`'s output layer, output width and metadata."""
    out = onnx.ModelProto()
    out.CopyFrom(shipped_int8)
    new = arrays(candidate)
    weight, bias = head_initializers(out)
    for init in out.graph.initializer:
        if init.name in (weight, bias):
            init.CopyFrom(numpy_helper.from_array(new[init.name], init.name))
    classes = new[bias].shape[0]
    for info in (*out.graph.output, *out.graph.value_info):
        if info.name in (HEAD_OUTPUT, *(n.output[0] for n in out.graph.node
                                        if weight in n.input)):
            info.type.tensor_type.shape.dim[-1].dim_value = classes
    meta = {p.key: p.value for p in candidate.metadata_props}
    for prop in out.metadata_props:
        if prop.key == META_KEY:  # the candidate's, plus what quantizing added
            prop.value = json.dumps({**json.loads(prop.value), **json.loads(meta[prop.key])},
                                    ensure_ascii=False)
        elif prop.key in meta:
            prop.value = meta[prop.key]
    onnx.checker.check_model(out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("shipped_float")
    ap.add_argument("shipped_int8")
    ap.add_argument("candidate_float")
    ap.add_argument("out")
    a = ap.parse_args()
    candidate = onnx.load(a.candidate_float)
    check_only_new_rows(onnx.load(a.shipped_float), candidate)
    onnx.save(graft(onnx.load(a.shipped_int8), candidate), a.out)
    print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
