"""Scoring: CER, word accuracy/F1 and detection precision/recall/H-mean.

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

import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from rapidfuzz.distance import Levenshtein

IOU_THRESHOLD = 0.5
IGNORE_COVERAGE = 0.5  # share of a prediction's area inside an ignored region to drop it
WORD_LEVEL_MAX_SPACED = 0.05  # auto level: word boxes if at most 5% of GT texts have spaces
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp")


class EvaluationError(ValueError):
    """Bad or missing evaluation input; the message is meant for the user as is."""


def edit_distance(a: str, b: str) -> int:
    return Levenshtein.distance(a, b)


# ---------------------------------------------------------------------------- primitives


@dataclass
class Region:
    """A polygon with its text: a ground-truth region or a predicted line/word.

    `points` is None where the prediction has no usable geometry (a text-only engine);
    such a region can be read but never matched to a box.
    """

    points: np.ndarray | None
    text: str
    ignore: bool = False


def normalize_text(text: str) -> str:
    """Collapse whitespace runs into single spaces, so layout whitespace is not scored."""
    return " ".join(text.split())


def cer(reference: str, hypothesis: str) -> float:
    """Edit distance over reference length; an empty reference scores 0 or 1."""
    return _ratio(edit_distance(reference, hypothesis), len(reference))


def _ratio(errors: int, length: int) -> float:
    """errors / length, where nothing to read scores 0 if nothing was read, else 1."""
    if length == 0:
        return 0.0 if errors == 0 else 1.0
    return errors / length


def _safe_div(num: float, den: float) -> float:
    """num / den with 0/0 = 1: nothing to find and nothing claimed is a perfect score."""
    return 1.0 if den == 0 else num / den


def detection_precision(hits: int, predictions: int, gt: int) -> float:
    """hits / predictions; with no predictions, 1 only if there was nothing to find.

    An engine that outputs nothing on a page with text must not get a perfect precision.
    """
    if predictions == 0:
        return 1.0 if gt == 0 else 0.0
    return hits / predictions


def _hmean(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def bag_of_words(texts: Iterable[str], lower: bool = False) -> Counter:
    """Multiset of whitespace tokens of all texts."""
    words: Counter = Counter()
    for text in texts:
        words.update((text.lower() if lower else text).split())
    return words


def word_counts(gt_texts: Iterable[str], pred_texts: Iterable[str],
                lower: bool = False) -> tuple[int, int, int]:
    """(true positives, #GT tokens, #predicted tokens) of two bags of words."""
    gt, pred = bag_of_words(gt_texts, lower), bag_of_words(pred_texts, lower)
    tp = sum((gt & pred).values())
    return tp, sum(gt.values()), sum(pred.values())


def word_f1(gt_texts: Iterable[str], pred_texts: Iterable[str], lower: bool = False) -> float:
    """Order-free bag-of-words F1, so line and word granularity compare directly."""
    tp, n_gt, n_pred = word_counts(gt_texts, pred_texts, lower)
    return _f1(tp, n_gt, n_pred)


def _f1(tp: int, n_gt: int, n_pred: int) -> float:
    return 1.0 if n_gt + n_pred == 0 else 2 * tp / (n_gt + n_pred)


# ---------------------------------------------------------------------------- geometry


def _polygon(points) -> np.ndarray | None:
    """Convex hull of the given points as float32 (N, 2), or None if unusable.

    The hull makes the intersection valid whatever the point order another engine used.
    """
    try:
        pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    except (TypeError, ValueError):
        return None
    if len(pts) < 3 or not np.all(np.isfinite(pts)):
        return None
    return cv2.convexHull(pts).reshape(-1, 2)


def _area(poly: np.ndarray) -> float:
    return abs(float(cv2.contourArea(poly)))


def _bboxes(polys: list[np.ndarray]) -> np.ndarray:
    """(N, 4) axis-aligned boxes x0, y0, x1, y1 of polygons."""
    if not polys:
        return np.zeros((0, 4), np.float32)
    return np.array([np.concatenate([p.min(axis=0), p.max(axis=0)]) for p in polys])


def _bbox_overlaps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) mask of boxes that overlap: a cheap filter before exact areas."""
    return ((a[:, None, 0] < b[None, :, 2]) & (b[None, :, 0] < a[:, None, 2])
            & (a[:, None, 1] < b[None, :, 3]) & (b[None, :, 1] < a[:, None, 3]))


def overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(IoU, share of a's area inside b) of two convex polygons."""
    area_a, area_b = _area(a), _area(b)
    if area_a <= 0 or area_b <= 0:
        return 0.0, 0.0
    inter = max(float(cv2.intersectConvexConvex(a, b)[0]), 0.0)
    union = area_a + area_b - inter
    iou = inter / union if union > 0 else 0.0
    coverage = inter / area_a if area_a > 0 else 0.0
    return iou, coverage


def overlap_pairs(a: list[np.ndarray], b: list[np.ndarray]) -> list[tuple[int, int, float, float]]:
    """(i, j, IoU, share of a[i] inside b[j]) for every pair of polygons that touch."""
    mask = _bbox_overlaps(_bboxes(a), _bboxes(b))
    return [(int(i), int(j), *overlap(a[i], b[j])) for i, j in zip(*np.nonzero(mask))]


def on_ignored(preds: list[Region], ignored: list[Region]) -> list[bool]:
    """Per prediction: does it lie mostly on an ignored region (IoU >= 0.5 or > half of
    its area inside)? Predictions without geometry cannot be told, so they stay."""
    flags = [False] * len(preds)
    placed = [i for i, p in enumerate(preds) if p.points is not None]
    regions = [g.points for g in ignored if g.points is not None]
    if not placed or not regions:
        return flags
    for i, _, iou, coverage in overlap_pairs([preds[i].points for i in placed], regions):
        if iou >= IOU_THRESHOLD or coverage > IGNORE_COVERAGE:
            flags[placed[i]] = True
    return flags


# ---------------------------------------------------------------------------- detection


@dataclass
class DetectionMatch:
    hits: int  # matched pairs
    gt: int  # non-ignored ground-truth regions
    predictions: int  # predictions that count (all minus those on ignored regions)
    ignored_predictions: int
    pairs: list[tuple[int, int]]  # (index into gt list, index into prediction list)

    @property
    def precision(self) -> float:
        return detection_precision(self.hits, self.predictions, self.gt)

    @property
    def recall(self) -> float:
        return _safe_div(self.hits, self.gt)


def match_detections(gt: list[Region], preds: list[Region],
                     iou_threshold: float = IOU_THRESHOLD) -> DetectionMatch:
    """Greedy one-to-one matching by IoU (highest first), with ignored regions.

    A prediction is first offered to the non-ignored regions; only if it matches none is
    it checked against the ignored ones, so a good box next to an ignored one still hits.
    """
    care = [i for i, g in enumerate(gt) if not g.ignore and g.points is not None]
    placed = [i for i, p in enumerate(preds) if p.points is not None]
    ignored = [g for g in gt if g.ignore and g.points is not None]
    pairs_found = overlap_pairs([gt[i].points for i in care], [preds[i].points for i in placed])
    candidates = [(iou, care[gi], placed[pi]) for gi, pi, iou, _ in pairs_found
                  if iou >= iou_threshold]
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    used_gt: set[int] = set()
    used_pred: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _, gi, pi in candidates:
        if gi not in used_gt and pi not in used_pred:
            used_gt.add(gi)
            used_pred.add(pi)
            pairs.append((gi, pi))
    unmatched = [i for i in range(len(preds)) if i not in used_pred]
    n_ignored = sum(on_ignored([preds[i] for i in unmatched], ignored))
    n_gt = sum(1 for g in gt if not g.ignore)
    return DetectionMatch(len(pairs), n_gt, len(preds) - n_ignored, n_ignored, pairs)


# ---------------------------------------------------------------------------- page text


def reading_order_text(regions: list[Region]) -> str:
    """Texts grouped into rows top to bottom, left to right inside a row, space-joined.

    A region joins the current row when its vertical centre lies within half the smaller
    height of the row's first region; regions without geometry come last, in input order.
    This assumes roughly upright text, which is what the dev sets hold.
    """
    placed = [r for r in regions if r.points is not None]
    loose = [r for r in regions if r.points is None]
    placed.sort(key=lambda r: float(r.points[:, 1].mean()))
    rows: list[list[Region]] = []
    anchors: list[tuple[float, float]] = []  # (centre y, height) of each row's first region
    for region in placed:
        ys = region.points[:, 1]
        cy, h = float(ys.mean()), float(ys.max() - ys.min())
        if anchors and abs(cy - anchors[-1][0]) <= 0.5 * min(h, anchors[-1][1]):
            rows[-1].append(region)
        else:
            rows.append([region])
            anchors.append((cy, h))
    ordered = [r for row in rows for r in sorted(row, key=lambda r: float(r.points[:, 0].mean()))]
    return normalize_text(" ".join(r.text for r in ordered + loose))


# ---------------------------------------------------------------------------- inputs


def gt_regions(row: dict) -> list[Region]:
    """Regions of one ground-truth page row (shared JSON-lines format)."""
    return [
        Region(_polygon(r.get("points")), str(r.get("text", "")), bool(r.get("ignore", False)))
        for r in row.get("regions", [])
    ]


def prediction_regions(pred: dict | None, level: str) -> list[Region]:
    """Predicted lines (`level="line"`) or words (`"word"`) of one PageResult dict.

    At word level a line without words stands for itself, so engines that only give lines
    are still scored. A row with text but no lines gives one region without geometry.
    """
    if not pred or pred.get("error") is not None:
        return []
    lines = pred.get("lines") or []
    if not lines:
        text = normalize_text(str(pred.get("text", "")))
        return [Region(None, text)] if text else []
    out: list[Region] = []
    for line in lines:
        words = line.get("words") or []
        if level == "word" and words:
            out.extend(Region(_polygon(w.get("points")), str(w.get("text", ""))) for w in words)
        else:
            out.append(Region(_polygon(line.get("points")), str(line.get("text", ""))))
    return out


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


def is_crop_set(gt_rows: list[dict]) -> bool:
    """Crop sets carry a `text` per image and no `regions`."""
    return bool(gt_rows) and all("regions" not in row for row in gt_rows)


def read_jsonl_rows(path: str | Path) -> list[dict]:
    """JSON-lines rows with a line number in the error message for a broken line."""
    rows: list[dict] = []
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise EvaluationError(f"{path}:{number}: not valid JSON ({e.msg})") from e
                if not isinstance(row, dict) or "image" not in row:
                    raise EvaluationError(f"{path}:{number}: expected an object with 'image'")
                rows.append(row)
    except (OSError, UnicodeDecodeError) as e:
        raise EvaluationError(f"cannot read {path}: {e}") from e
    return rows


_NUM = r"\s*(-?\d+(?:\.\d+)?)\s*"
_QUAD_LINE = re.compile(r"^" + ",".join([_NUM] * 8) + r",(.*)$")
_BOX_LINE = re.compile(r"^" + r"[,\s]".join([_NUM] * 4) + r"[,\s](.*)$")


def parse_icdar_line(line: str) -> dict | None:
    """One `x1,y1,...,x4,y4,text` (ICDAR 2015) or `x1 y1 x2 y2 "text"` (ICDAR 2013) line.

    "###" marks an ignored region. Returns None for a blank line.
    """
    line = line.strip().lstrip("\ufeff")
    if not line:
        return None
    m = _QUAD_LINE.match(line)
    if m:
        v = [float(x) for x in m.groups()[:8]]
        points = [[v[0], v[1]], [v[2], v[3]], [v[4], v[5]], [v[6], v[7]]]
        text = m.group(9)
    else:
        m = _BOX_LINE.match(line)
        if not m:
            raise EvaluationError(f"not an ICDAR ground-truth line: {line[:60]!r}")
        x1, y1, x2, y2 = (float(x) for x in m.groups()[:4])
        points = [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]
        text = m.group(5)
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    region: dict = {"points": points, "text": text}
    if text == "###":
        region["ignore"] = True
    return region


def _find_image(root: Path, stem: str) -> str:
    for folder in (root, root / "images"):
        for ext in IMAGE_EXTENSIONS:
            for candidate in (folder / (stem + ext), folder / (stem + ext.upper())):
                if candidate.is_file():
                    return candidate.relative_to(root).as_posix()
    return stem  # no image found: predictions can still be matched by name


def read_icdar_folder(root: str | Path) -> list[dict]:
    """Rows in the shared format from `gt_<name>.txt` files; images looked up by name."""
    root = Path(root)
    rows = []
    for gt_file in sorted(root.glob("gt_*.txt")):
        try:
            lines = gt_file.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise EvaluationError(f"cannot read {gt_file}: {e}") from e
        try:
            regions = [r for r in (parse_icdar_line(s) for s in lines) if r is not None]
        except EvaluationError as e:
            raise EvaluationError(f"{gt_file}: {e}") from e
        stem = gt_file.stem[len("gt_"):]
        rows.append({"image": _find_image(root, stem), "regions": regions})
    return rows


def load_ground_truth(data_dir: str | Path) -> list[dict]:
    """Ground truth of a folder: `gt.jsonl` (shared format) or ICDAR `gt_*.txt` files."""
    root = Path(data_dir)
    if not root.is_dir():
        raise EvaluationError(f"no such directory: {root}")
    if (root / "gt.jsonl").is_file():
        rows = read_jsonl_rows(root / "gt.jsonl")
    elif any(root.glob("gt_*.txt")):
        rows = read_icdar_folder(root)
    else:
        raise EvaluationError(f"{root} holds neither gt.jsonl nor gt_*.txt files")
    if not rows:
        raise EvaluationError(f"{root}: the ground truth is empty")
    return rows


def _name_keys(image: str) -> list[str]:
    """Keys an image path can be matched by: as given, its basename, its stem."""
    path = image.replace("\\", "/")
    base = path.rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return [path, base, stem]


def match_predictions(gt_rows: list[dict], pred_rows: list[dict]) -> list[dict | None]:
    """The prediction row for each ground-truth row, by path, basename, then stem."""
    index: list[dict[str, dict]] = [{}, {}, {}]
    for pred in pred_rows:
        for table, key in zip(index, _name_keys(str(pred.get("image", "")))):
            table.setdefault(key, pred)
    matched: list[dict | None] = []
    for row in gt_rows:
        keys = _name_keys(str(row["image"]))
        found = next((t[k] for t, k in zip(index, keys) if k in t), None)
        matched.append(found)
    return matched


# ---------------------------------------------------------------------------- scoring


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
        "cer": _ratio(errors, len(gt_text)),
        "cer_ci": _ratio(errors_ci, len(gt_text)),
        "word_f1": _f1(tp, n_gt, n_pred),
        "word_f1_ci": _f1(tp_ci, n_gt, n_pred),
        "det_precision": det.precision,
        "det_recall": det.recall,
        "det_hmean": _hmean(det.precision, det.recall),
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
    }


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
        "cer": _ratio(errors, len(gt_text)),
        "cer_ci": _ratio(errors_ci, len(gt_text)),
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


_PAGE_DETAIL_DROP = ("gt_text", "pred_text")


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
    recall = _safe_div(total["hits"], total["gt_regions"])
    report = {
        "kind": "pages",
        "level": level,
        "cer": _ratio(total["char_errors"], total["gt_chars"]),
        "cer_ci": _ratio(total["char_errors_ci"], total["gt_chars"]),
        "word_f1": _f1(total["word_tp"], total["gt_words"], total["pred_words"]),
        "word_f1_ci": _f1(total["word_tp_ci"], total["gt_words"], total["pred_words"]),
        "det_precision": precision,
        "det_recall": recall,
        "det_hmean": _hmean(precision, recall),
    }
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
        "cer": _ratio(sum(d["char_errors"] for d in details), chars),
        "cer_ci": _ratio(sum(d["char_errors_ci"] for d in details), chars),
        "word_accuracy": _safe_div(sum(d["correct"] for d in details), n),
        "word_accuracy_ci": _safe_div(sum(d["correct_ci"] for d in details), n),
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


# ---------------------------------------------------------------------------- running


def predict_with_reader(reader, data_dir: str | Path, gt_rows: list[dict],
                        recognize_only: bool = False,
                        progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Run a Reader over the ground truth's images; one prediction row per image.

    The first image is read once untimed so that lazy start-up (model load, first-call
    allocation) is not charged to it: timings are warm. An image that fails gives an
    `{"image", "error"}` row, scored as an empty page, and the run goes on.
    """
    root = Path(data_dir)
    if gt_rows:
        try:
            _read(reader, root / gt_rows[0]["image"], recognize_only)
        except Exception:  # the timed pass below records the error
            pass
    rows: list[dict] = []
    for i, row in enumerate(gt_rows):
        start = time.perf_counter()
        try:
            pred = _read(reader, root / row["image"], recognize_only).to_dict()
        except Exception as e:  # one bad image must not end the run
            pred = {"error": f"{type(e).__name__}: {e}"}
        pred["image"] = row["image"]
        pred["seconds"] = time.perf_counter() - start
        rows.append(pred)
        if progress is not None:
            progress(i + 1, len(gt_rows))
    return rows


def _read(reader, path: Path, recognize_only: bool):
    if recognize_only:
        return reader.read(str(path), recognize_only=True)
    return reader.read(str(path))


def gt_crop_rows(gt_rows: list[dict]) -> list[dict]:
    """One crop-set row per readable ground-truth region of a page set.

    Scoring the recognizer on exact ground-truth boxes separates its accuracy from the
    detector's: this is what `ocrtool eval --gt-boxes` measures.
    """
    rows = []
    for row in gt_rows:
        for k, region in enumerate(row.get("regions", [])):
            if region.get("ignore") or not str(region.get("text", "")).strip():
                continue
            rows.append({"image": f"{row['image']}#{k}", "text": region["text"],
                         "page": row["image"], "points": region["points"]})
    return rows


def predict_gt_crops(reader, data_dir: str | Path, crop_rows: list[dict]) -> list[dict]:
    """Recognize every ground-truth box (cut from its page) with the Reader."""
    from .geometry import order_clockwise
    from .imageio import load_image
    from .recognition.preprocess import crop_line

    root = Path(data_dir)
    by_page: dict[str, list[dict]] = {}
    for row in crop_rows:
        by_page.setdefault(row["page"], []).append(row)
    preds: list[dict] = []
    for page, rows in by_page.items():
        start = time.perf_counter()
        image = load_image(root / page)
        crops = [crop_line(image, order_clockwise(np.array(r["points"], np.float32)))
                 for r in rows]
        texts = reader.recognize_text(crops)
        seconds = (time.perf_counter() - start) / max(len(rows), 1)
        preds += [{"image": r["image"], "text": t, "confidence": c, "seconds": seconds}
                  for r, (t, c) in zip(rows, texts)]
    return preds


# ---------------------------------------------------------------------------- summary


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
    if report["missing_predictions"] or report["errors"]:
        lines.append(f"  missing predictions: {report['missing_predictions']}, "
                     f"errors: {report['errors']}")
    if report["worst"]:
        lines.append("  worst: " + ", ".join(
            f"{w['image']} ({w['cer_ci']:.2f})" for w in report["worst"][:5]))
    return lines
