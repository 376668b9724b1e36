"""int8 against fp32 on real training data: do both precisions read the same text?

Reads 200 real word/line crops and 20 real pages (cut from the training sets in
../shared/data, never committed) with the default precision, with `--precision int8` and
with fp32, and prints the CER between each and fp32 plus the time each took, in one run.

    python bench/int8_parity.py [--data ../shared/data] [--weights DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ocrtool import Reader
from ocrtool.evaluation import edit_distance
from ocrtool.runtime.precision import cpu_flags, cpu_model, int8_instructions

PAGE_SETS = ("sroie_train", "born_digital_train", "ic15_pages_train", "docbank_pages_train")
CROP_SETS = ("iiit5k_train_cs", "ic15_words_train", "uw3_lines_train",
             "fr_typewritten_lines_train")


def spread(folder: Path, count: int, offset: int = 1) -> list[Path]:
    """`count` images spread over a data set (offset so that they are not the first
    images, which int8 calibration tends to take)."""
    rows = [json.loads(line) for line in open(folder / "gt.jsonl", encoding="utf-8")]
    step = max(len(rows) // count, 1)
    return [folder / r["image"] for r in rows[offset::step][:count]]


def cer(a: list[str], b: list[str]) -> float:
    return sum(edit_distance(x, y) for x, y in zip(a, b)) / max(sum(map(len, b)), 1)


def read_all(reader: Reader, paths: list[Path], recognize_only: bool) -> tuple[list[str], float]:
    start = time.perf_counter()
    texts = [reader.read(p, recognize_only=recognize_only).text for p in paths]
    return texts, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    root = Path(args.data)
    pages = [p for s in PAGE_SETS for p in spread(root / s, 5)]
    crops = [p for s in CROP_SETS for p in spread(root / s, 50)]
    flag = int8_instructions(cpu_flags())
    print(f"CPU: {cpu_model()}; int8 dot-product instructions: {flag or 'none'}")
    readers = {name: Reader(backend="onnx", weights=args.weights, threads=args.threads,
                            precision=name) for name in ("fp32", "auto", "int8")}
    for r in readers.values():  # warm-up, untimed
        r.read(pages[0])
    results = {name: (read_all(r, pages, False), read_all(r, crops, True))
               for name, r in readers.items()}
    (fp_pages, fp_pt), (fp_crops, fp_ct) = results["fp32"]
    print(f"{len(pages)} pages, {len(crops)} crops; CER against fp32, time ratio to fp32")
    for name, ((pg, pt), (cr, ct)) in results.items():
        files = ", ".join(p.name for p in readers[name].backend.files.values())
        print(f"{name:>5} ({files}): pages CER {cer(pg, fp_pages):.4f} "
              f"time x{pt / fp_pt:.2f} | crops CER {cer(cr, fp_crops):.4f} "
              f"time x{ct / fp_ct:.2f}")


if __name__ == "__main__":
    main()
