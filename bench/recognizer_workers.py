"""Recognizer batches one at a time on every thread, or several at once on a share each
(`onnx_backend.split_threads`, RECOGNIZE_WORKERS): which reads a page's batches sooner.

    python bench/recognizer_workers.py --data ../shared/data/sroie_dev --pages 5 [--threads 2]

The recognizer inputs the Reader feeds ONNX Runtime while reading the set's first pages
are captured (`onnx_ops.capture_inputs`), then replayed: all of them one batch at a time
on a session with `--threads` threads, and two at a time (and more, up to the threads) on
one session with `threads // workers` threads each; best of three alternating rounds,
ms per page, and whether the logits are the same. Session 34 (AMD EPYC, AVX2 only, fp32,
2 threads, 5 receipts), one at a time against two at once, ms per receipt, in three runs
over the session (the machine's speed drifted): 517 / 434 (1.19x), 437 / 401 (1.09x),
411 / 384 (1.07x); one at a time on one thread: 852; logits identical every time.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from onnx_ops import capture_inputs

from ocrtool.runtime.onnx_backend import create_session


def replay(session, inputs: list[np.ndarray], workers: int) -> list[np.ndarray]:
    """The logits of every input, `workers` runs at a time, in order."""
    name = session.get_inputs()[0].name
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda x: session.run(None, {name: x})[0], inputs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/sroie_dev"))
    ap.add_argument("--pages", type=int, default=5)
    ap.add_argument("--model", default="weights/recognizer.onnx")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    inputs = capture_inputs(args.data, args.pages, None)["recognizer"]
    plans = [(w, max(1, args.threads // w)) for w in range(1, args.threads + 1)]
    sessions = {threads: create_session(args.model, threads=threads)[0]
                for _, threads in plans}
    reference = replay(sessions[args.threads], inputs, 1)
    best = {plan: float("inf") for plan in plans}
    for _ in range(3):
        for workers, threads in plans:
            start = time.perf_counter()
            out = replay(sessions[threads], inputs, workers)
            best[workers, threads] = min(best[workers, threads], time.perf_counter() - start)
            same = all(np.array_equal(a, b) for a, b in zip(out, reference))
            assert same, f"{workers} at once on {threads} thread(s) gave other logits"
    print(f"{len(inputs)} batches of {args.pages} pages of {args.data.name}, {args.model}:")
    for (workers, threads), seconds in best.items():
        print(f"  {workers} batch(es) at once, {threads} thread(s) each: "
              f"{seconds / args.pages * 1000:.0f} ms per page (logits identical)")


if __name__ == "__main__":
    main()
