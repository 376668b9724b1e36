"""Is weights B better than A on a held-out set? A paired bootstrap of two eval reports.

    ocrtool eval --data data/val/ic15_pages_train --out a.json
    ocrtool eval --data data/val/ic15_pages_train --weights runs/cand --out b.json
    python bench/paired_bootstrap.py a.json b.json [--score word_f1_ci det_hmean]
    python bench/paired_bootstrap.py a_ic15.json,a_ic03.json b_ic15.json,b_ic03.json

Comma-joined reports are pooled (`pool_reports`): the held-out scene photos of ic15 and
ic03 judged as one set of 50 rather than two of 25.

Prints each score of A and B, B - A with its 95% interval over resampled images, and the
share of resamples in which B is ahead (`ocrtool.evaluation.compare`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtool.evaluation.compare import (  # noqa: E402
    CROP_SCORES,
    PAGE_SCORES,
    paired_bootstrap,
    pool_reports,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--score", nargs="+", default=None,
                    help=f"default: the report kind's ({list(PAGE_SCORES)} or "
                         f"{list(CROP_SCORES)})")
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    a, b = (pool_reports([json.loads(Path(p).read_text()) for p in arg.split(",")])
            for arg in (args.a, args.b))
    scores = args.score or (list(CROP_SCORES) if a.get("kind") == "crops" else list(PAGE_SCORES))
    for score in scores:
        r = paired_bootstrap(a, b, score, args.rounds, args.seed)
        print(f"{score:16s} A {r['a']:.4f}  B {r['b']:.4f}  B-A {r['diff']:+.4f} "
              f"[{r['low']:+.4f}, {r['high']:+.4f}]  B ahead in {r['b_ahead']:.0%} of draws")


if __name__ == "__main__":
    main()
