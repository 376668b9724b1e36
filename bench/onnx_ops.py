"""Where the ONNX models spend their time: per-node kernel times on real inputs.

The detector and recognizer inputs the Reader feeds ONNX Runtime while reading a data
set's first pages are captured, then each model file given runs them again (one thread
unless `--threads`, best of three) with ONNX Runtime's profiler on. Prints ms per page
and the costliest nodes. Used to find the full-resolution max-pool of the int8
recognizer (`bench/pool_before_relu.py`) and the concatenations of the detector's
decoder (`detection/model.Up`).

    python bench/onnx_ops.py --data ../shared/data/sroie_dev --pages 20
    python bench/onnx_ops.py --threads 2 --recognizer old.int8.onnx --recognizer new.int8.onnx
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def capture_inputs(data: Path, pages: int, weights: str | None) -> dict[str, list[np.ndarray]]:
    """The detector's and recognizer's input batches while reading `pages` pages."""
    from ocrtool.imageio import load_image
    from ocrtool.reader import Reader

    reader = Reader(backend="onnx", weights=weights, threads=1)
    seen: dict[str, list[np.ndarray]] = {"detector": [], "recognizer": []}
    for key, stage in (("detector", reader.detection), ("recognizer", reader.recognition)):
        forward = stage.forward

        def recording(batch, forward=forward, key=key):
            seen[key].append(batch.copy())
            return forward(batch)

        stage.forward = recording
    images = sorted(p for p in (data / "images").iterdir())[:pages]
    for path in images:
        reader.read(load_image(path))
    return seen


def profile(path: str, inputs: list[np.ndarray], pages: int, top: int,
            threads: int = 1) -> None:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.enable_mem_pattern = False
    options.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        options.profile_file_prefix = os.path.join(tmp, "ort")
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for x in inputs:
                session.run(None, {name: x})
            best = min(best, time.perf_counter() - start)
        events = json.loads(Path(session.end_profiling()).read_text())
    per_node: collections.Counter = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            per_node[f"{e['args']['op_name']:16s} {e['name'][:-len('_kernel_time')]}"] += e["dur"]
    total = sum(per_node.values()) or 1
    print(f"{path}: {best / pages * 1000:.1f} ms per page (best of 3, {threads} thread(s))")
    for node, us in per_node.most_common(top):
        print(f"   {us / total:6.1%}  {node}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/data/sroie_dev")
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--weights", default=None, help="weights folder the inputs are captured with")
    ap.add_argument("--detector", action="append", default=[], help="detector .onnx to profile")
    ap.add_argument("--recognizer", action="append", default=[],
                    help="recognizer .onnx to profile")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    args = ap.parse_args()
    from ocrtool.runtime.base import weights_dir

    shipped = Path(args.weights or weights_dir())
    detectors = args.detector or [str(shipped / "detector.onnx")]
    recognizers = args.recognizer or [str(shipped / "recognizer.int8.onnx")]
    inputs = capture_inputs(Path(args.data), args.pages, args.weights)
    for path in detectors:
        profile(path, inputs["detector"], args.pages, args.top, args.threads)
    for path in recognizers:
        profile(path, inputs["recognizer"], args.pages, args.top, args.threads)


if __name__ == "__main__":
    main()
