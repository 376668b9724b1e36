"""Top-level scores of every `ocrtool eval --out` report in a folder, as one JSON file.

    python bench/summarize_reports.py REPORTS_DIR OUT.json

The committed summaries (bench/reports/*.json) keep scores only: the per-image details and
worst images hold dev-set text, which is not ours to redistribute.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def summarize(reports: Path, out: Path) -> None:
    summary = {p.stem: {k: v for k, v in json.loads(p.read_text()).items()
                        if k not in ("per_image", "worst")}
               for p in sorted(reports.glob("*.json"))}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    summarize(Path(sys.argv[1]), Path(sys.argv[2]))
