"""Grid-search the detector post-processing thresholds on the dev sets.

Each setting is scored on the whole pipeline `ocrtool read` runs (detection with its
second pass, layout, recognition, receipt rules), through `Reader.from_stages`, and
scored as `ocrtool eval` scores it. The network runs once per distinct input: its maps are
cached by input, so a grid costs one detector pass per image and scale plus the numpy
post-processing and the recognizer per setting. The printed table is what chose the
defaults in ocrtool/detection/postprocess.py (DetectParams).

    python bench/tune_detector.py --weights weights --data-root ../shared/data [--limit 10]
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

SETS = (("sroie_dev", "line"), ("born_digital_dev", "word"))
GRID = {"text_threshold": (0.35, 0.5, 0.6, 0.7), "low_text": (0.25, 0.35, 0.45),
        "expand": (0.1, 0.25, 0.45)}


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
    ap.add_argument("--backend", default="torch")
    ap.add_argument("--data-root", default="../shared/data")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    backend = load_backend(args.backend, "cpu", args.weights, None, "fp32")
    detect = cached(backend.detect)
    recognition = RecognitionStage.from_backend(backend)
    sets = []
    for name, level in SETS:
        root = Path(args.data_root) / name
        sets.append((name, root, load_ground_truth(root)[: args.limit], level))
    results = []
    for values in itertools.product(*GRID.values()):
        params = replace(DetectParams(), **dict(zip(GRID, values)))
        params = replace(params, link_threshold=params.low_text)
        reader = Reader.from_stages(
            DetectionStage(detect, backend.detector_meta, params), recognition)
        row = dict(zip(GRID, values))
        for name, root, rows, level in sets:
            report = evaluate_pages(rows, predict_with_reader(reader, root, rows), level)
            row[name] = report["det_hmean"]
        row["mean"] = float(np.mean([row[name] for name, *_ in sets]))
        results.append(row)
        print(json.dumps(row), flush=True)
    print("best:", json.dumps(max(results, key=lambda r: r["mean"])))


if __name__ == "__main__":
    main()
