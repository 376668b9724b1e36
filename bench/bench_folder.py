"""Folder runs: one batched process (`--workers 1`) against worker processes, same images.

    python bench/bench_folder.py [--data ../shared/data/sroie_dev] [--images 30]
        [--workers 1 2] [--repeats 3]

Each setting runs the real CLI (`ocrtool read DIR --format json -o FILE -q`) in a fresh
process, so model loading is charged to every run the way a user pays for it; the table
gives the median wall time over `--repeats` and images/s, and the ratio to `--workers 1`
measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed_run(folder: Path, workers: int, out: Path) -> float:
    cmd = [sys.executable, "-m", "ocrtool.cli", "read", str(folder), "--format", "json",
           "-o", str(out), "-q", "--workers", str(workers)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/sroie_dev")
    parser.add_argument("--images", type=int, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sources = sorted((args.data / "images").iterdir())[: args.images]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for src in sources:
            shutil.copy(src, folder / src.name)
        times = {w: [] for w in args.workers}
        for _ in range(args.repeats):  # interleaved, so drifting load hits all settings
            for w in args.workers:
                times[w].append(timed_run(folder, w, Path(tmp) / f"out{w}.jsonl"))
    base = statistics.median(times[args.workers[0]])
    print(f"# {len(sources)} images from {args.data}, {os.cpu_count()} CPUs, "
          f"load avg {os.getloadavg()[0]:.1f}, repeats {args.repeats} (median wall time, "
          "model loading included)")
    first = f"vs workers {args.workers[0]}"
    print(f"{'workers':>7} {'seconds':>8} {'images/s':>9} {first:>14}")
    for w in args.workers:
        med = statistics.median(times[w])
        print(f"{w:7d} {med:8.2f} {len(sources) / med:9.2f} {base / med:13.2f}x")


if __name__ == "__main__":
    main()
