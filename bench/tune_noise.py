"""Choose a language's `min_char_confidence` and `min_short_line_confidence`
(ocrtool/languages.py) on the held-out pages of the training sets: each page is read once
as `ocrtool read` reads it with the filter off, then every pair of thresholds drops the
lines `Reader` would drop (`reader.legible_lines`) and the pages are scored as
`ocrtool eval` scores them.

    python bench/tune_noise.py [--sets data/val/sroie_train ...] [--thresholds 0,0.3,0.4]
        [--short-thresholds 0,0.9,0.95]

The held-out pages are `data/val/<set>` (every tenth page of each page set, see
bench/README.md); the dev sets are for reporting only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtool.evaluation.scorer import evaluate  # noqa: E402
from ocrtool.reader import Reader, legible_lines  # noqa: E402
from ocrtool.results import PageResult  # noqa: E402

SETS = ["data/val/sroie_train", "data/val/born_digital_train", "data/val/ic15_pages_train",
        "data/val/ic03_pages_train", "data/val/docbank_pages_train"]


def read_set(reader: Reader, folder: Path) -> tuple[list[dict], list[PageResult]]:
    gt = [json.loads(line) for line in (folder / "gt.jsonl").read_text().splitlines()
          if line.strip()]
    return gt, [reader.read(str(folder / row["image"]), name=row["image"]) for row in gt]


def filtered(page: PageResult, threshold: float, short: float) -> dict:
    """The page as `Reader` would return it with these thresholds (its text rebuilt from
    the kept lines: a page with none left has none)."""
    return replace(page, lines=legible_lines(page.lines, threshold, short)).to_dict()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sets", nargs="+", default=SETS)
    ap.add_argument("--thresholds", default="0,0.2,0.3,0.35,0.4,0.45,0.5,0.6")
    ap.add_argument("--short-thresholds", default="0",
                    help="for lines of one or two characters (each tried with each of "
                         "--thresholds)")
    ap.add_argument("--lang", default="en")
    ap.add_argument("--weights", default=None, help="model folder (default: shipped)")
    args = ap.parse_args()
    reader = Reader(threads=1, min_char_confidence=0.0, lang=args.lang,  # every line read
                    weights=args.weights)
    pages = {Path(s).name: read_set(reader, Path(s)) for s in args.sets}
    shorts = [float(x) for x in args.short_thresholds.split(",")]
    for t, short in itertools.product((float(x) for x in args.thresholds.split(",")), shorts):
        parts = []
        for name, (gt, read) in pages.items():
            r = evaluate(gt, [filtered(p, t, short) for p in read])
            parts.append(f"{name}: F1ci {r['word_f1_ci']:.4f} H {r['det_hmean']:.4f} "
                         f"CERci {r['cer_ci']:.4f}")
        print(f"{t} (short lines {short}): " + " | ".join(parts), flush=True)


if __name__ == "__main__":
    main()
