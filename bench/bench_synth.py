"""Synthetic data throughput: lines/s and pages/s written to disk with N workers.

    nice -n 10 python bench/bench_synth.py --workers 2 --lines 2000 --pages 100 --repeats 3

Reports the median over repeats of end-to-end `write_dataset` (render + PNG + gt.jsonl),
and the single-process render-only rate (what an on-the-fly training loader gets per
core). Goal on a 2-core machine: >= 400 lines/s and >= 8 pages/s with 2 workers.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtool.synth.fonts import discover_fonts  # noqa: E402
from ocrtool.synth.lines import render_line  # noqa: E402
from ocrtool.synth.pages import render_page  # noqa: E402
from ocrtool.synth.writer import write_dataset  # noqa: E402


def bench_write(kind: str, count: int, workers: int, repeats: int) -> list[float]:
    rates = []
    for r in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            write_dataset(kind, count, tmp, seed=100 + r, workers=workers, progress=False)
            rates.append(count / (time.perf_counter() - t))
    return rates


def bench_render(kind: str, count: int) -> tuple[float, float]:
    """(samples per wall second, samples per CPU second) in this process.

    The CPU-second rate does not depend on what else runs on the machine: on a busy
    box it is the better estimate of what one free core would deliver.
    """
    fn = render_line if kind == "lines" else render_page
    for i in range(5):  # warm the font caches
        fn(random.Random(-1 - i))
    t, c = time.perf_counter(), time.process_time()
    for i in range(count):
        fn(random.Random(i))
    return count / (time.perf_counter() - t), count / (time.process_time() - c)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--lines", type=int, default=2000)
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    discover_fonts()
    for kind, count in (("lines", args.lines), ("pages", args.pages)):
        rates = bench_write(kind, count, args.workers, args.repeats)
        wall, cpu = bench_render(kind, max(count // 4, 10))
        print(
            f"{kind}: write {statistics.median(rates):7.1f}/s median of "
            f"{', '.join(f'{r:.1f}' for r in rates)} ({count} x {args.repeats}, "
            f"{args.workers} workers); render-only, 1 process: {wall:.1f}/s wall, "
            f"{cpu:.1f}/s per CPU-second"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
