"""Scoring: per-page and per-crop scores, and the micro-averaged report of a set.

Every engine (ocrtool itself, or another engine's predictions given to `ocrtool eval
--pred`) is scored by this module, so the numbers are comparable. Predictions use the
JSON-lines layout of `PageResult.to_dict()`; ground truth is the shared JSON-lines format
(`../shared/data/README.md`) or an ICDAR-style folder of `gt_*.txt` files.

Definitions (pages):
- Detection: ground-truth quads are matched one-to-one to predicted quads (lines or words,
  see `level`) greedily by IoU, highest first, at IoU >= 0.5. A prediction left unmatched
  that lies mostly on an ignored region (IoU >= 0.5, or more than half of its own area
  inside it) is neither a hit nor a false positive. Ignored regions are never misses.
- Page text: the non-ignored regions (ground truth) or predictions (engine) are grouped
  into rows top to bottom, each row read left to right, and all joined by single spaces.
  Both sides go through the same function, so line and word granularity give the same
  string for the same content and the engines' own reading order does not matter.
- CER: edit distance between the two page texts over the ground-truth length. The
  aggregate is corpus-level: total edits / total ground-truth characters.
- Word F1: bag of whitespace tokens, order free: TP = size of the multiset intersection,
  F1 = 2 TP / (#GT tokens + #predicted tokens). The aggregate sums TP and counts over all
  images. `_ci` variants lower-case both sides first.

Definitions (crops): whitespace is collapsed on both sides; CER as above; word accuracy
is the share of crops whose text matches exactly.
"""

from __future__ import annotations

import statistics

from .groundtruth import EvaluationError, is_crop_set
from .matching import (
    gt_regions,
    match_detections,
    match_predictions,
    on_ignored,
    prediction_regions,
    reading_order_text,
)
from .metrics import (
    detection_precision,
    edit_distance,
    f1_score,
    hmean,
    normalize_text,
    ratio,
    safe_div,
    word_counts,
)

WORD_LEVEL_MAX_SPACED = 0.05  # auto level: word boxes if at most 5% of GT texts have spaces


def choose_level(gt_rows: list[dict], level: str = "auto") -> str:
    """'line' or 'word'; auto picks word when (almost) no GT region text has a space.

    A tolerance of 5% keeps a word set word-level despite a rare labelled phrase
    (born_digital_dev has one "Mosley Street" among 360 words).
    """
    if level in ("line", "word"):
        return level
    if level != "auto":
        raise EvaluationError(f"unknown level {level!r}: use auto, line or word")
    texts = [r.get("text", "") for row in gt_rows for r in row.get("regions", [])
             if not r.get("ignore")]
    if not texts:
        return "line"
    spaced = sum(1 for t in texts if " " in t.strip())
    return "word" if spaced <= WORD_LEVEL_MAX_SPACED * len(texts) else "line"


def score_page(gt_row: dict, pred: dict | None, level: str) -> dict:
    """Scores and raw counts of one page; the counts let `evaluate_pages` sum over pages."""
    gt = gt_regions(gt_row)
    ignored = [g for g in gt if g.ignore and g.points is not None]
    care = [g for g in gt if not g.ignore]
    det = match_detections(gt, prediction_regions(pred, level))
    # Text is scored on the finest units the prediction has, so words lying on an ignored
    # region can be dropped even when the detection level is "line".
    words = prediction_regions(pred, "word")
    readable = [p for p, drop in zip(words, on_ignored(words, ignored)) if not drop]
    gt_text, pred_text = reading_order_text(care), reading_order_text(readable)
    errors = edit_distance(gt_text, pred_text)
    errors_ci = edit_distance(gt_text.lower(), pred_text.lower())
    gt_words, pred_words = [g.text for g in care], [p.text for p in readable]
    tp, n_gt, n_pred = word_counts(gt_words, pred_words)
    tp_ci, _, _ = word_counts(gt_words, pred_words, lower=True)
    return {
        "image": gt_row["image"],
        "cer": ratio(errors, len(gt_text)),
        "cer_ci": ratio(errors_ci, len(gt_text)),
        "word_f1": f1_score(tp, n_gt, n_pred),
        "word_f1_ci": f1_score(tp_ci, n_gt, n_pred),
        "det_precision": det.precision,
        "det_recall": det.recall,
        "det_hmean": hmean(det.precision, det.recall),
        "gt_regions": det.gt,
        "ignored_regions": len(gt) - len(care),
        "predictions": det.predictions + det.ignored_predictions,
        "hits": det.hits,
        "false_positives": det.predictions - det.hits,
        "ignored_predictions": det.ignored_predictions,
        "char_errors": errors,
        "char_errors_ci": errors_ci,
        "gt_chars": len(gt_text),
        "word_tp": tp,
        "word_tp_ci": tp_ci,
        "gt_words": n_gt,
        "pred_words": n_pred,
        "seconds": _seconds(pred),
        "error": _error(pred),
        "gt_text": gt_text,
        "pred_text": pred_text,
        "label_hits": label_hits(gt_row, det.pairs),
    }


def label_hits(gt_row: dict, pairs: list[tuple[int, int]]) -> dict[str, list[int]]:
    """{label: [regions found, regions]} over a page's non-ignored regions that carry a
    `label` (DocBank's paragraph, equation, table, ...): which kinds of text the reading
    misses. `pairs` index `gt_regions(gt_row)`, whose first entries are the row's regions."""
    found = {g for g, _ in pairs}
    out: dict[str, list[int]] = {}
    for i, region in enumerate(gt_row.get("regions", [])):
        if region.get("ignore") or "label" not in region:
            continue
        counts = out.setdefault(str(region["label"]), [0, 0])
        counts[0] += i in found
        counts[1] += 1
    return out


def recall_by_label(details: list[dict]) -> dict[str, dict]:
    """Pages' `label_hits` summed: per label, regions found, regions and detection recall."""
    totals: dict[str, list[int]] = {}
    for d in details:
        for label, (hit, n) in d["label_hits"].items():
            t = totals.setdefault(label, [0, 0])
            t[0] += hit
            t[1] += n
    return {label: {"hits": h, "regions": n, "recall": safe_div(h, n)}
            for label, (h, n) in sorted(totals.items(), key=lambda kv: -kv[1][1])}


def score_crop(gt_row: dict, pred: dict | None) -> dict:
    """Scores of one crop: CER and exact match, case-sensitive and not."""
    gt_text = normalize_text(str(gt_row.get("text", "")))
    pred_text = crop_prediction_text(pred)
    errors = edit_distance(gt_text, pred_text)
    errors_ci = edit_distance(gt_text.lower(), pred_text.lower())
    return {
        "image": gt_row["image"],
        "gt_text": gt_text,
        "pred_text": pred_text,
        "cer": ratio(errors, len(gt_text)),
        "cer_ci": ratio(errors_ci, len(gt_text)),
        "correct": gt_text == pred_text,
        "correct_ci": gt_text.lower() == pred_text.lower(),
        "char_errors": errors,
        "char_errors_ci": errors_ci,
        "gt_chars": len(gt_text),
        "seconds": _seconds(pred),
        "error": _error(pred),
    }


def crop_prediction_text(pred: dict | None) -> str:
    """A crop's predicted text: the row's `text`, else its lines' texts in order."""
    if not pred or pred.get("error") is not None:
        return ""
    if "text" in pred:
        return normalize_text(str(pred["text"]))
    return normalize_text(" ".join(str(ln.get("text", "")) for ln in pred.get("lines") or []))


def _seconds(pred: dict | None) -> float | None:
    value = (pred or {}).get("seconds")
    return float(value) if isinstance(value, (int, float)) else None


def _error(pred: dict | None) -> str | None:
    if pred is None:
        return "no prediction"
    error = pred.get("error")
    return None if error is None else str(error)


def _timing(details: list[dict]) -> tuple[float | None, float | None]:
    """(mean, median) seconds per image over the images that carry a timing."""
    times = [d["seconds"] for d in details if d["seconds"] is not None]
    if not times:
        return None, None
    return sum(times) / len(times), statistics.median(times)


def _worst(details: list[dict], keys: tuple[str, ...], n: int) -> list[dict]:
    """The n images with the highest case-insensitive CER (above 0), to look at."""
    ranked = sorted((d for d in details if d["cer_ci"] > 0), key=lambda d: -d["cer_ci"])[:n]
    return [{k: d[k] for k in keys} for d in ranked]


def _common(details: list[dict], worst_keys: tuple[str, ...], worst: int) -> dict:
    mean, median = _timing(details)
    return {
        "images": len(details),
        "seconds_per_image": mean,
        "seconds_median": median,
        "missing_predictions": sum(1 for d in details if d["error"] == "no prediction"),
        "errors": sum(1 for d in details if d["error"] not in (None, "no prediction")),
        "worst": _worst(details, worst_keys, worst),
    }


_PAGE_DETAIL_DROP = ("gt_text", "pred_text", "label_hits")


def evaluate_pages(gt_rows: list[dict], pred_rows: list[dict], level: str = "auto",
                   worst: int = 10) -> dict:
    """Report for a page set: micro-averaged scores, per-image details, worst images.

    Missing predictions score as empty pages (every region missed).
    """
    level = choose_level(gt_rows, level)
    preds = match_predictions(gt_rows, pred_rows)
    details = [score_page(row, pred, level) for row, pred in zip(gt_rows, preds)]
    total = {k: sum(d[k] for d in details) for k in (
        "hits", "gt_regions", "predictions", "ignored_predictions", "char_errors",
        "char_errors_ci", "gt_chars", "word_tp", "word_tp_ci", "gt_words", "pred_words")}
    precision = detection_precision(
        total["hits"], total["predictions"] - total["ignored_predictions"], total["gt_regions"])
    recall = safe_div(total["hits"], total["gt_regions"])
    report = {
        "kind": "pages",
        "level": level,
        "cer": ratio(total["char_errors"], total["gt_chars"]),
        "cer_ci": ratio(total["char_errors_ci"], total["gt_chars"]),
        "word_f1": f1_score(total["word_tp"], total["gt_words"], total["pred_words"]),
        "word_f1_ci": f1_score(total["word_tp_ci"], total["gt_words"], total["pred_words"]),
        "det_precision": precision,
        "det_recall": recall,
        "det_hmean": hmean(precision, recall),
    }
    by_label = recall_by_label(details)
    if by_label:
        report["recall_by_label"] = by_label
    report.update(_common(details, ("image", "cer_ci", "cer", "word_f1_ci", "det_hmean",
                                    "gt_text", "pred_text"), worst))
    report["per_image"] = [
        {k: v for k, v in d.items() if k not in _PAGE_DETAIL_DROP} for d in details
    ]
    return report


def evaluate_crops(gt_rows: list[dict], pred_rows: list[dict], worst: int = 10) -> dict:
    """Report for a crop set: CER (corpus-level), exact-match word accuracy, details."""
    preds = match_predictions(gt_rows, pred_rows)
    details = [score_crop(row, pred) for row, pred in zip(gt_rows, preds)]
    chars = sum(d["gt_chars"] for d in details)
    n = len(details)
    report = {
        "kind": "crops",
        "cer": ratio(sum(d["char_errors"] for d in details), chars),
        "cer_ci": ratio(sum(d["char_errors_ci"] for d in details), chars),
        "word_accuracy": safe_div(sum(d["correct"] for d in details), n),
        "word_accuracy_ci": safe_div(sum(d["correct_ci"] for d in details), n),
    }
    report.update(_common(details, ("image", "cer_ci", "cer", "gt_text", "pred_text"), worst))
    report["per_image"] = details
    return report


def evaluate(gt_rows: list[dict], pred_rows: list[dict], crops: bool | None = None,
             level: str = "auto", worst: int = 10) -> dict:
    """Page or crop report; `crops=None` decides from the ground truth's shape."""
    if crops is None:
        crops = is_crop_set(gt_rows)
    if crops:
        return evaluate_crops(gt_rows, pred_rows, worst)
    return evaluate_pages(gt_rows, pred_rows, level, worst)


def summary_lines(report: dict) -> list[str]:
    """A short table of the top-level scores for the terminal."""
    if report["kind"] == "crops":
        keys = ("cer", "cer_ci", "word_accuracy", "word_accuracy_ci")
        head = f"crops: {report['images']} images"
    else:
        keys = ("cer", "cer_ci", "word_f1", "word_f1_ci", "det_precision", "det_recall",
                "det_hmean")
        head = f"pages: {report['images']} images, {report['level']} boxes"
    lines = [head]
    lines += [f"  {k:<18}{report[k]:.4f}" for k in keys]
    spi = report["seconds_per_image"]
    lines.append(f"  {'seconds_per_image':<18}{'n/a' if spi is None else f'{spi:.4f}'}")
    if report.get("recall_by_label"):
        lines.append("  recall by label: " + ", ".join(
            f"{label} {v['recall']:.2f} ({v['hits']}/{v['regions']})"
            for label, v in report["recall_by_label"].items()))
    if report["missing_predictions"] or report["errors"]:
        lines.append(f"  missing predictions: {report['missing_predictions']}, "
                     f"errors: {report['errors']}")
    if report["worst"]:
        lines.append("  worst: " + ", ".join(
            f"{w['image']} ({w['cer_ci']:.2f})" for w in report["worst"][:5]))
    return lines
