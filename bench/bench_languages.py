"""Recognizer speed per language, in one run: crops/s of each installed language's model.

    python bench/bench_languages.py [--repeats 7] [--threads 1] [--json OUT]

Each recognizer runs the same 32 x 200 crops (a typical line) at batch 1 and 32 through
ONNX Runtime at the default precision, alternating languages within each repeat so the
machine's load falls on all of them alike; medians and the ratio to English are printed.
"read lines/s" is the whole recognition stage (prepare, batches of 32, forward, decode,
and for Korean the second decode of lines with a stray jamo) on 200 synthetic lines of the
language's own text (`ocrtool synth lines --lang L --held-out` samples), as a page read
runs it.
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
from ocrtool.recognition.stage import RecognitionStage  # noqa: E402
from ocrtool.runtime.loader import load_backend  # noqa: E402
from ocrtool.synth.writer import render_sample  # noqa: E402

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
    stages = {code: RecognitionStage.from_backend(backends[code]) for code in langs}
    lines = {code: [render_sample("lines", 3, i, code, held_out=True)[0] for i in range(200)]
             for code in langs}
    for _ in range(args.repeats):
        for n in BATCHES:
            for code in langs:
                t0 = time.perf_counter()
                backends[code].recognize(batches[n])
                times[(code, n)].append(time.perf_counter() - t0)
        for code in langs:
            t0 = time.perf_counter()
            stages[code].recognize(lines[code])
            times.setdefault((code, "read"), []).append(time.perf_counter() - t0)
    report = {"threads": args.threads, "repeats": args.repeats, "languages": {}}
    for code in langs:
        row = {"precision": backends[code].precision.precision}
        for n in BATCHES:
            row[f"crops_per_s_b{n}"] = n / float(np.median(times[(code, n)]))
        row["read_lines_per_s"] = len(lines[code]) / float(np.median(times[(code, "read")]))
        report["languages"][code] = row
    base = report["languages"].get(DEFAULT_LANG)
    keys = {f"crops/s b{n}": f"crops_per_s_b{n}" for n in BATCHES}
    keys["read lines/s"] = "read_lines_per_s"
    print(f"{'lang':<6}{'precision':<11}" + "".join(f"{k:>14}{'vs en':>8}" for k in keys))
    for code, row in report["languages"].items():
        cells = "".join(f"{row[k]:14.0f}{row[k] / base[k]:8.2f}"
                        for k in keys.values()) if base else ""
        print(f"{code:<6}{row['precision']:<11}{cells}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
