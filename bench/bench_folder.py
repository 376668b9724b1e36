"""Folder runs: speed and peak memory of `ocrtool read DIR`, per setting, in one run.

    python bench/bench_folder.py [--data ../shared/data/sroie_dev] [--images 30]
        [--workers 1 2] [--repeats 3] [--ref COMMIT] [--threads N]

Each setting runs the real CLI (`ocrtool read DIR --format json -o FILE -q`) in a fresh
process, so model loading is charged to every run the way a user pays for it; the table
gives the median wall time over `--repeats`, images/s, CPU seconds (user + system of the
whole process tree), peak RSS (the largest process; with workers, the largest worker or
the parent), and the ratio to the first setting measured in the same run.

`--images` larger than the data set repeats its images under new names (a long run of
100+ receipts shows whether memory grows). `--ref COMMIT` also runs the code of that
commit (extracted with `git archive` into a temporary folder; the repository is not
touched), so a change's before/after come from one run on one machine load.
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


def timed_run(code: Path, folder: Path, workers: int, out: Path,
              threads: int | None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MB) of one CLI run of the code in `code`."""
    cmd = [sys.executable, "-m", "ocrtool.cli", "read", str(folder), "--format", "json",
           "-o", str(out), "-q", "--workers", str(workers)]
    if threads:
        cmd += ["--threads", str(threads)]
    env = {**os.environ, "PYTHONPATH": str(code)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=code, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited with {proc.returncode}")
    # wait4's usage covers the child and the workers it reaped: CPU is summed, ru_maxrss
    # is the largest single process.
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024


def extract(ref: str, into: Path) -> Path:
    """The tree of commit `ref` (weights included) in a folder of its own."""
    into.mkdir()
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/sroie_dev")
    parser.add_argument("--images", type=int, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ref", default=None, help="also run this commit's code")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    sources = sorted((args.data / "images").iterdir())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for i in range(args.images):
            src = sources[i % len(sources)]
            prefix = f"r{i // len(sources)}_" if args.images > len(sources) else ""
            shutil.copy(src, folder / f"{prefix}{src.name}")
        codes = {"this tree": ROOT}
        if args.ref:
            codes[f"ref {args.ref}"] = extract(args.ref, Path(tmp) / "ref")
        settings = [(label, w) for label in codes for w in args.workers]
        runs: dict[tuple[str, int], list[tuple[float, float, float]]] = {
            s: [] for s in settings}
        for _ in range(args.repeats):  # interleaved, so drifting load hits all settings
            for label, w in settings:
                out = Path(tmp) / f"out{w}.jsonl"
                out.unlink(missing_ok=True)
                runs[label, w].append(timed_run(codes[label], folder, w, out, args.threads))
    print(f"# {args.images} images from {args.data}, {os.cpu_count()} CPUs, "
          f"load avg {os.getloadavg()[0]:.1f}, repeats {args.repeats} (medians; model "
          f"loading included; threads {args.threads or 'default'})")
    base = statistics.median(t[0] for t in runs[settings[0]])
    print(f"{'code':>24} {'workers':>7} {'seconds':>8} {'images/s':>9} {'CPU s':>7} "
          f"{'peak MB':>8} {'speed':>7}")
    for label, w in settings:
        wall = statistics.median(t[0] for t in runs[label, w])
        cpu = statistics.median(t[1] for t in runs[label, w])
        peak = max(t[2] for t in runs[label, w])
        print(f"{label:>24} {w:7d} {wall:8.2f} {args.images / wall:9.2f} {cpu:7.1f} "
              f"{peak:8.0f} {base / wall:6.2f}x")


if __name__ == "__main__":
    main()
