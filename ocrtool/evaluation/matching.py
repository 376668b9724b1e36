"""Regions and their matching: ground-truth and predicted boxes as polygons, one-to-one
matching by IoU with ignored regions, page text in reading order, predictions paired
with ground-truth rows by image name."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..geometry import figure_quad
from .metrics import detection_precision, normalize_text, safe_div

IOU_THRESHOLD = 0.5


IGNORE_COVERAGE = 0.5  # share of a prediction's area inside an ignored region to drop it


@dataclass
class Region:
    """A polygon with its text: a ground-truth region or a predicted line/word.

    `points` is None where the prediction has no usable geometry (a text-only engine);
    such a region can be read but never matched to a box.
    """

    points: np.ndarray | None
    text: str
    ignore: bool = False


def polygon(points) -> np.ndarray | None:
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
        return safe_div(self.hits, self.gt)


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


def gt_regions(row: dict) -> list[Region]:
    """Regions of one ground-truth page row (shared JSON-lines format).

    A page's `figures` (boxes whose inner text, axis labels and legends, is not
    annotated) are ignored regions: text read there is neither a hit nor a false positive.
    """
    regions = [
        Region(polygon(r.get("points")), str(r.get("text", "")), bool(r.get("ignore", False)))
        for r in row.get("regions", [])
    ]
    return regions + [Region(polygon(figure_quad(box)), "", True)
                      for box in row.get("figures", [])]


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
            out.extend(Region(polygon(w.get("points")), str(w.get("text", ""))) for w in words)
        else:
            out.append(Region(polygon(line.get("points")), str(line.get("text", ""))))
    return out


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
