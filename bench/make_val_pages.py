"""Write the held-out pages of the training page sets as folders `ocrtool eval` reads:
`data/val/<set>/gt.jsonl` plus the page images (copied), for thresholds and candidates to
be chosen on (bench/tune_noise.py, `ocrtool eval --data data/val/<set>`). The held-out
pages are every tenth page of each set (`training.datasets.validation_rows`), the ones
no training step reads; the dev sets stay for reporting.

    python bench/make_val_pages.py [--data-root ../shared/data] [--out data/val]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtool.training.datasets import validation_rows  # noqa: E402

SETS = ("sroie_train", "born_digital_train", "ic15_pages_train", "ic03_pages_train",
        "docbank_pages_train")


def write_set(root: Path, out: Path) -> int:
    rows = [json.loads(line) for line in (root / "gt.jsonl").read_text().splitlines()
            if line.strip()]
    held = validation_rows(rows)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "gt.jsonl", "w", encoding="utf-8") as f:
        for row in held:
            (out / row["image"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / row["image"], out / row["image"])
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(held)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=Path("data/val"))
    args = ap.parse_args()
    for name in SETS:
        if (args.data_root / name / "gt.jsonl").is_file():
            print(f"{name}: {write_set(args.data_root / name, args.out / name)} pages")


if __name__ == "__main__":
    main()
