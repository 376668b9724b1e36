"""What a recognizer call costs: time per input column of one line, and the fixed cost of
a call, for `preprocess.BATCH_COST` (the batching that feeds the fewest padded columns).

    python bench/batch_cost.py [--model weights/recognizer.onnx] [--threads 2]

Times ONNX Runtime on blank (B, 1, 32, W) inputs for a few batch sizes and widths (each
the median of repeated runs) and fits time = per_column * B * W + per_call by least
squares. Session 33 (AMD EPYC, AVX2 only, fp32, 2 threads): the time was the input's area
within a few percent from 1 x 64 to 32 x 1024, and a call cost about 16 columns.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

SIZES = (1, 4, 16, 32)
WIDTHS = (64, 256, 1024)


def time_call(session, name: str, x: np.ndarray, seconds: float = 0.4) -> float:
    """Median seconds of one run on `x`, after a warm-up run."""
    session.run(None, {name: x})
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        t = time.perf_counter()
        session.run(None, {name: x})
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    import onnxruntime as ort

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="weights/recognizer.onnx")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    rows = []
    for size in SIZES:
        for width in WIDTHS:
            seconds = time_call(session, name, np.ones((size, 1, 32, width), np.float32))
            rows.append((size * width, seconds))
            print(f"{size:2d} x {width:4d}: {seconds * 1000:8.2f} ms, "
                  f"{seconds / (size * width) * 1e6:6.2f} us per column", flush=True)
    area, seconds = np.array(rows).T
    per_column, per_call = np.polyfit(area, seconds, 1)
    print(f"fit: {per_column * 1e6:.2f} us per column, {per_call * 1000:.2f} ms per call "
          f"= {per_call / per_column:.0f} columns")


if __name__ == "__main__":
    main()
