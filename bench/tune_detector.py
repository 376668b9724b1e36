"""Grid-search the detector post-processing parameters on validation pages.

Settings are chosen on the held-out tenth of the detector's training sets
(`DetectorConfig.val_sets`, `training.datasets.validation_rows`: pages no model trained on),
never on the dev sets, which only report. Each setting is scored on the whole pipeline
`ocrtool read` runs (detection with its second pass, layout, recognition, receipt rules),
through `Reader.from_stages`, and scored as `ocrtool eval` scores it. The network runs
once per distinct input: its maps are cached by input, so a grid costs one detector pass
per image and scale plus the numpy post-processing and the recognizer per setting. The
table is what chose the defaults in ocrtool/detection/postprocess.py (DetectParams).

    python bench/tune_detector.py [--limit 40] [--grid '{"midline": [0, 2.0]}']
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from ocrtool.detection.postprocess import DetectParams
from ocrtool.detection.stage import DetectionStage
from ocrtool.evaluation import evaluate_pages, load_ground_truth, predict_with_reader
from ocrtool.reader import Reader
from ocrtool.recognition.stage import RecognitionStage
from ocrtool.runtime.loader import load_backend
from ocrtool.training.datasets import validation_rows
from ocrtool.training.detector import DetectorConfig

GRID = {"text_threshold": (0.5, 0.6, 0.7), "low_text": (0.3, 0.35, 0.4),
        "expand": (0.2, 0.25, 0.3)}


def cached(forward):
    """`forward` remembered by input bytes: thresholds change, the maps do not."""
    memo: dict[str, np.ndarray] = {}

    def run(batch: np.ndarray) -> np.ndarray:
        key = hashlib.blake2b(batch.tobytes(), digest_size=16).hexdigest()
        if key not in memo:
            memo[key] = forward(batch)
        return memo[key]

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--weights", default=None, help="model folder (default: shipped)")
    ap.add_argument("--backend", default="onnx")
    ap.add_argument("--data-root", default="../shared/data")
    ap.add_argument("--limit", type=int, default=None, help="validation pages per set")
    ap.add_argument("--threads", type=int, default=1,
                    help="CPU threads (1 leaves the other core to a training run)")
    ap.add_argument("--sets", default=None,
                    help="name:level,... (default: the detector's validation sets)")
    ap.add_argument("--grid", default=None,
                    help="JSON {DetectParams field: [values]} (default: the thresholds)")
    args = ap.parse_args()
    grid = json.loads(args.grid) if args.grid else GRID
    backend = load_backend(args.backend, "cpu", args.weights, args.threads, "auto")
    detect = cached(backend.detect)
    recognition = RecognitionStage.from_backend(backend)
    sets = []
    val_sets = dict(item.split(":") for item in args.sets.split(",")) if args.sets \
        else DetectorConfig().val_sets
    for name, level in val_sets.items():
        root = Path(args.data_root) / name
        sets.append((name, root, validation_rows(load_ground_truth(root))[: args.limit], level))
    results = []
    for values in itertools.product(*grid.values()):
        params = replace(DetectParams(), **dict(zip(grid, values)))
        if "low_text" in grid and "link_threshold" not in grid:
            params = replace(params, link_threshold=params.low_text)
        reader = Reader.from_stages(
            DetectionStage(detect, backend.detector_meta, params), recognition)
        row = dict(zip(grid, values))
        for name, root, rows, level in sets:
            report = evaluate_pages(rows, predict_with_reader(reader, root, rows), level)
            row[name] = round(report["det_hmean"], 4)
            row[f"{name}/f1_ci"] = round(report["word_f1_ci"], 4)
        row["mean"] = round(float(np.mean([row[name] for name, *_ in sets])), 4)
        results.append(row)
        print(json.dumps(row), flush=True)
    print("best:", json.dumps(max(results, key=lambda r: r["mean"])))


if __name__ == "__main__":
    main()
