"""Recognizer speed per language, in one run: crops/s of each installed language's model.

    python bench/bench_languages.py [--repeats 7] [--threads 1] [--json OUT]

Each recognizer runs the same 32 x 200 crops (a typical line) at batch 1 and 32 through
ONNX Runtime at the default precision, alternating languages within each repeat so the
machine's load falls on all of them alike; medians and the ratio to English are printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ocrtool.languages import DEFAULT_LANG, installed_languages  # noqa: E402
from ocrtool.runtime.loader import load_backend  # noqa: E402

BATCHES = (1, 32)
CROP = (32, 200)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    langs = [lang.code for lang in installed_languages()]
    backends = {code: load_backend("onnx", "cpu", threads=args.threads, lang=code)
                for code in langs}
    rng = np.random.default_rng(0)
    batches = {n: rng.uniform(-1, 1, (n, 1, *CROP)).astype(np.float32) for n in BATCHES}
    times: dict[tuple[str, int], list[float]] = {(c, n): [] for c in langs for n in BATCHES}
    for code in langs:  # warm-up: ORT allocates on the first runs
        for n in BATCHES:
            backends[code].recognize(batches[n])
    for _ in range(args.repeats):
        for n in BATCHES:
            for code in langs:
                t0 = time.perf_counter()
                backends[code].recognize(batches[n])
                times[(code, n)].append(time.perf_counter() - t0)
    report = {"threads": args.threads, "repeats": args.repeats, "languages": {}}
    for code in langs:
        row = {"precision": backends[code].precision.precision}
        for n in BATCHES:
            row[f"crops_per_s_b{n}"] = n / float(np.median(times[(code, n)]))
        report["languages"][code] = row
    base = report["languages"].get(DEFAULT_LANG)
    print(f"{'lang':<6}{'precision':<11}" + "".join(f"{f'crops/s b{n}':>14}{'vs en':>8}"
                                                   for n in BATCHES))
    for code, row in report["languages"].items():
        cells = "".join(f"{row[f'crops_per_s_b{n}']:14.0f}"
                        f"{row[f'crops_per_s_b{n}'] / base[f'crops_per_s_b{n}']:8.2f}"
                        for n in BATCHES) if base else ""
        print(f"{code:<6}{row['precision']:<11}{cells}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
