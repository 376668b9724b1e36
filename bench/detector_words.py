"""Word box H-mean of the detector alone (no recognition, no layout), on the held-out pages
of the word-boxed training sets, for each weights file given.

End to end, a page's words come from the recognizer's spaces as much as from the
detector, and the held-out scene sets are small (25 pages each): two recognizers (int8 or
float) move ic15's H-mean by 0.04 with the same detector. This scores what the detector
itself finds, so checkpoints of a detector run can be told apart with less of that noise.

    python bench/detector_words.py weights/detector.pt runs/detector_ws/validated/step_*.pt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtool.detection.model import CraftNet  # noqa: E402
from ocrtool.detection.stage import DetectionStage  # noqa: E402
from ocrtool.evaluation import load_ground_truth  # noqa: E402
from ocrtool.evaluation.matching import Region, gt_regions, match_detections  # noqa: E402
from ocrtool.evaluation.metrics import detection_precision, hmean, safe_div  # noqa: E402
from ocrtool.imageio import load_image  # noqa: E402
from ocrtool.training.datasets import validation_rows  # noqa: E402

SETS = ("born_digital_train", "ic15_pages_train", "ic03_pages_train", "docbank_pages_train")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("weights", nargs="+", help="detector .pt files")
    ap.add_argument("--data-root", default="../shared/data")
    ap.add_argument("--limit", type=int, default=40, help="validation pages per set")
    ap.add_argument("--sets", default=",".join(SETS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    pages = {}
    for name in args.sets.split(","):
        root = Path(args.data_root) / name
        rows = validation_rows(load_ground_truth(root))[: args.limit]
        pages[name] = [(row, load_image(root / row["image"])) for row in rows]
    for path in args.weights:
        state = torch.load(path, map_location="cpu", weights_only=False)
        meta = state.get("meta") or {}
        model = CraftNet(**meta.get("arch_args", {}))
        model.load_state_dict(state["model"])
        model.eval()
        stage = DetectionStage.from_module(model, meta or None)
        row = {}
        for name, items in pages.items():
            hits = gt = predicted = 0
            for truth, rgb in items:
                found = [Region(np.asarray(w, np.float32), "") for w in stage(rgb).words]
                match = match_detections(gt_regions(truth), found)
                hits, gt = hits + match.hits, gt + match.gt
                predicted += match.predictions
            precision, recall = detection_precision(hits, predicted, gt), safe_div(hits, gt)
            row[name] = round(hmean(precision, recall), 4)
        row["mean"] = round(float(np.mean(list(row.values()))), 4)
        print(path, row, flush=True)


if __name__ == "__main__":
    main()
