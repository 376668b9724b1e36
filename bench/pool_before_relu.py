"""Move a recognizer ONNX file's first max-pool in front of its ReLU, in place.

`recognition/model.CRNN` now pools before the first ReLU (the same function: max and ReLU
commute), so every new export has that order and ONNX Runtime keeps the first
convolution and pool in its blocked float layout; in the old order it pooled the
full-resolution maps in plain NCHW, a quarter of the int8 recognizer's time. This edits
files exported before the change without exporting again, so an int8 file keeps the
quantization parameters it shipped with and reads exactly as before (checked here on
random crops: the largest difference in logits is printed and must be 0 or float noise).

    python bench/pool_before_relu.py weights/recognizer.int8.onnx weights/recognizer.onnx ...
"""

from __future__ import annotations

import sys

import numpy as np
import onnx


def swap_first_pool(model: onnx.ModelProto) -> bool:
    """Relu -> MaxPool becomes MaxPool -> Relu for the graph's first MaxPool; False when
    it already comes first (or the graph has no such pair)."""
    nodes = list(model.graph.node)
    pool = next((n for n in nodes if n.op_type == "MaxPool"), None)
    relu = next((n for n in nodes if pool is not None and n.op_type == "Relu"
                 and n.output[0] == pool.input[0]), None)
    if relu is None:
        return False
    before, between, after = relu.input[0], relu.output[0], pool.output[0]
    pool.input[0], pool.output[0] = before, between
    relu.input[0], relu.output[0] = between, after
    i, j = nodes.index(relu), nodes.index(pool)
    nodes[i], nodes[j] = pool, relu
    for value in list(model.graph.value_info):  # the shape between them changed
        if value.name == between:
            model.graph.value_info.remove(value)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return True


def max_difference(a: str, b: onnx.ModelProto) -> float:
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4, 1, 32, 160)).astype(np.float32)
    old = ort.InferenceSession(a, providers=["CPUExecutionProvider"])
    new = ort.InferenceSession(b.SerializeToString(), providers=["CPUExecutionProvider"])
    name = old.get_inputs()[0].name
    return float(np.abs(old.run(None, {name: x})[0] - new.run(None, {name: x})[0]).max())


def main(paths: list[str]) -> None:
    for path in paths:
        model = onnx.load(path)
        if not swap_first_pool(model):
            print(f"{path}: first pool already before its ReLU")
            continue
        onnx.checker.check_model(model)
        print(f"{path}: max |logit difference| {max_difference(path, model):.2e}")
        onnx.save(model, path)


if __name__ == "__main__":
    main(sys.argv[1:])
