"""Evaluation: ground truth in, ocrtool (or another engine) run, scores out.

    groundtruth.py  the shared JSON-lines format and ICDAR folders (the one GT reader)
    metrics.py      edit distance, CER, word F1, precision/recall: strings and counts only
    matching.py     regions as polygons, IoU matching with ignored regions, page text
    scorer.py       per-page / per-crop scores and a set's report (`evaluate_pages`, ...)
    predict.py      the Reader over a labelled folder (`predict_with_reader`, GT boxes)

The names below are importable from `ocrtool.evaluation` directly; each submodule is
imported only when one of its names is first used, so training can take `metrics` or
`groundtruth` without loading the scorer.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "groundtruth": ("EvaluationError", "IMAGE_EXTENSIONS", "gt_crop_rows", "is_crop_set",
                    "load_ground_truth", "parse_icdar_line", "read_icdar_folder",
                    "read_jsonl_rows"),
    "metrics": ("bag_of_words", "cer", "detection_precision", "edit_distance", "f1_score",
                "hmean", "normalize_text", "word_counts", "word_f1"),
    "matching": ("IGNORE_COVERAGE", "IOU_THRESHOLD", "DetectionMatch", "Region",
                 "gt_regions", "match_detections", "match_predictions", "on_ignored",
                 "overlap", "overlap_pairs", "polygon", "prediction_regions",
                 "reading_order_text"),
    "scorer": ("WORD_LEVEL_MAX_SPACED", "choose_level", "crop_prediction_text", "evaluate",
               "evaluate_crops", "evaluate_pages", "score_crop", "score_page",
               "summary_lines"),
    "predict": ("predict_gt_crops", "predict_with_reader"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'ocrtool.evaluation' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value
    return value
