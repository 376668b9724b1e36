"""`ocrtool train calibrate`: fit the confidence calibration and store it in the weights.

The recognizer reads the ground-truth boxes of the validation pages of training sets (the
tenth that recognizer training holds out, `datasets.validation_rows`: never trained on,
and not the dev sets, which are for reporting); a crop counts as right when its text
matches exactly (case-insensitively for case-free sets such as SROIE). The mapping is
fitted on half of the pages and its ECE reported on the other half, then refitted on all
of them and written into `recognizer.pt`'s metadata (and from there, by `ocrtool
export-onnx`, into the ONNX file).
"""


from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..evaluation import gt_crop_rows, load_ground_truth, predict_gt_crops
from ..languages import DEFAULT_LANG
from ..recognition.calibration import Calibrator, calibration_report
from .datasets import is_case_insensitive, validation_rows

# the default sets: receipts, web graphics, printed papers and scene photos
CALIBRATION_SETS = ("sroie_train", "born_digital_train", "docbank_pages_train",
                    "ic15_pages_train")


def crop_outcomes(reader, data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw confidence, correctness and page index of every ground-truth crop."""
    rows = gt_crop_rows(validation_rows(load_ground_truth(data_dir)))
    preds = predict_gt_crops(reader, data_dir, rows)
    fold = is_case_insensitive(data_dir.name)
    norm = reader.charset.canonical
    conf, correct, page = [], [], []
    pages = {p: i for i, p in enumerate(dict.fromkeys(r["page"] for r in rows))}
    for row, pred in zip(rows, preds):
        truth, text = norm(row["text"]), pred["text"]
        if fold:
            truth, text = truth.upper(), text.upper()
        conf.append(pred["confidence"])
        correct.append(truth == text)
        page.append(pages[row["page"]])
    return np.array(conf), np.array(correct, float), np.array(page)


def calibrate(weights: Path, data_root: Path, sets: tuple[str, ...], method: str = "platt",
              log=print) -> dict:
    from ..reader import Reader

    state = torch.load(weights, map_location="cpu", weights_only=False)
    # the language's recognizer file in that folder (recognizer_ko.pt for Korean)
    reader = Reader(backend="torch", device="cpu", weights=weights.parent,
                    lang=state["meta"].get("lang", DEFAULT_LANG))
    reader.calibrator = None  # measure raw confidences
    outcomes = [crop_outcomes(reader, data_root / s) for s in sets if (data_root / s).exists()]
    conf = np.concatenate([o[0] for o in outcomes])
    correct = np.concatenate([o[1] for o in outcomes])
    even = np.concatenate([o[2] % 2 == 0 for o in outcomes])
    held_out = calibration_report(conf[~even], correct[~even],
                                  Calibrator.fit(conf[even], correct[even], method))
    log(f"held-out pages: ECE raw {held_out['ece_raw']:.4f} -> calibrated "
        f"{held_out['ece_calibrated']:.4f} on {held_out['n']} crops")
    final = Calibrator.fit(conf, correct, method)
    state["meta"]["calibration"] = final.to_dict()
    state["meta"]["calibration_report"] = {
        "sets": list(sets), "method": method, "fit_on": "even pages, reported on odd pages",
        "ece_raw": held_out["ece_raw"], "ece_calibrated": held_out["ece_calibrated"],
        "crops": int(conf.size),
    }
    torch.save(state, weights)
    return held_out
