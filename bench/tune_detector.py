"""Grid-search the detector post-processing thresholds on the dev sets.

The network runs once per image; only the numpy post-processing is repeated per setting,
so a grid of dozens of settings costs about as much as one evaluation. The printed table
is what chose the defaults in ocrtool/detection/postprocess.py (DetectParams).

    python bench/tune_detector.py --weights weights/detector.pt --data-root ../shared/data
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from ocrtool.detection.postprocess import (
    DetectParams,
    group_lines,
    line_boxes,
    maps_to_words,
    padded_line_box,
    prepare_image,
)
from ocrtool.evaluation import evaluate_pages
from ocrtool.training.datasets import read_jsonl

SETS = (("sroie_dev", "line"), ("born_digital_dev", "word"))


def predict_maps(model, root: Path, rows: list[dict], params: DetectParams):
    import torch

    out = []
    for row in rows:
        img = cv2.cvtColor(cv2.imread(str(root / row["image"])), cv2.COLOR_BGR2RGB)
        batch, scale = prepare_image(img, params)
        with torch.inference_mode():
            maps = model(torch.from_numpy(batch)).numpy()[0]
        out.append((maps, scale))
    return out


def score(rows, maps, params: DetectParams, level: str) -> dict:
    preds = []
    for row, (m, scale) in zip(rows, maps):
        words, _ = maps_to_words(m[0], m[1], params, scale)
        groups = group_lines(words)
        lines = [{"text": "", "points": padded_line_box(box, params.line_pad).tolist(),
                  "words": [{"text": "", "points": words[i].tolist()} for i in g]}
                 for g, box in zip(groups, line_boxes(words, groups))]
        preds.append({"image": row["image"], "lines": lines})
    return evaluate_pages(rows, preds, level=level)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--weights", default="weights/detector.pt")
    ap.add_argument("--data-root", default="../shared/data")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    from ocrtool.runtime.torch_backend import load_detector

    model, _ = load_detector(args.weights)
    base = DetectParams()
    grid = {"text_threshold": (0.35, 0.5, 0.6, 0.7), "low_text": (0.25, 0.35, 0.45),
            "expand": (0.1, 0.25, 0.45)}
    results = []
    cache = {}
    for name, level in SETS:
        root = Path(args.data_root) / name
        rows = read_jsonl(root / "gt.jsonl")[: args.limit]
        cache[name] = (rows, predict_maps(model, root, rows, base), level)
    for values in itertools.product(*grid.values()):
        p = replace(base, **dict(zip(grid, values)))
        p = replace(p, link_threshold=p.low_text)
        row = dict(zip(grid, values))
        for name, (rows, maps, level) in cache.items():
            row[name] = score(rows, maps, p, level)["det_hmean"]
        row["mean"] = float(np.mean([row[n] for n, _ in SETS]))
        results.append(row)
        print(json.dumps(row))
    best = max(results, key=lambda r: r["mean"])
    print("best:", json.dumps(best))


if __name__ == "__main__":
    main()
