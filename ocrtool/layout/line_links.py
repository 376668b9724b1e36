"""Should two neighbouring words on one row be one line? A small tree ensemble decides.

A fixed gap rule (join when the gap is under ~1.2 text heights) splits or merges about one
annotated receipt line in ten: separate fields (a price and its tax code, the columns of
an item table) often sit closer than the words of one field, and one field's words can
sit wider apart than two fields elsewhere on the page. What tells them apart is the page
around the pair: a gap that other rows repeat at the same place is a column gutter, edges
that the words above and below line up with start or end a field, the page's own word
spacing sets what a wide gap is, and a row's widest gap is where it splits.

`link_features` describes each candidate pair by 28 such numbers and `link_probability`
runs a gradient-boosted tree ensemble on them (`ocrtool/data/line_links.npz`, fitted by
`bench/fit_line_links.py` on the shipped detector's words of sroie_train's training pages,
labels from the annotated line boxes). Evaluating it needs only numpy. On sroie_train's
held-out pages it decides 97.2% of neighbour pairs right (the gap rule 94.0%).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from .union_find import UnionFind

FEATURES = (
    "gap", "log_gap", "offset", "height_ratio", "short_pair", "left_aligned",
    "right_aligned", "crossed", "gutter", "width_a", "width_b", "top_diff", "bottom_diff",
    "gap_vs_spacing", "page_spacing", "a_end_x", "b_start_x", "b_to_margin",
    "words_right_of_b", "words_left_of_a", "words_in_row", "b_right_aligned",
    "a_left_aligned", "gap_vs_row_max", "gap_over_row_min", "gap_under_row_max",
    "height_vs_page", "height_diff",
)
MODEL_PATH = Path(__file__).resolve().parents[1] / "data" / "line_links.npz"
ROW_WINDOW = 8.0  # rows within this many text heights above and below give the context
ALIGN_TOLERANCE = 0.35  # edges this close (in text heights) line up
WORD_SPACING = (0.8, 0.4)  # gaps under 0.8 heights set the page's spacing (default 0.4)


def link_features(boxes: np.ndarray, links: list[tuple[int, int]]) -> np.ndarray:
    """(len(links), 28) features of joining each word `a` to the word `b` on its right.

    `boxes` holds every word of the page as axis-aligned (x0, y0, x1, y1) in a frame where
    the text runs left to right (the caller deskews rotated pages first). Links that chain
    left to right form a row; a row's gaps are compared with each other.
    """
    if not links:
        return np.zeros((0, len(FEATURES)))
    page = _Page(boxes, links)
    return np.array([_pair(page, a, b) for a, b in links], np.float64)


class _Page:
    """What the features of every pair on a page share: word heights and centres, extent,
    spacing, rows of links."""

    def __init__(self, boxes: np.ndarray, links: list[tuple[int, int]]) -> None:
        self.boxes = boxes
        self.heights = heights = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
        self.centers = (boxes[:, 1] + boxes[:, 3]) / 2
        self.left, self.right = float(boxes[:, 0].min()), float(boxes[:, 2].max())
        self.width = max(self.right - self.left, 1.0)
        self.median_height = max(float(np.median(heights)), 1.0)
        self.gaps = {(a, b): (boxes[b, 0] - boxes[a, 2]) / max(heights[a], heights[b])
                     for a, b in links}
        small = [g for g in self.gaps.values() if -0.2 < g < WORD_SPACING[0]]
        self.spacing = float(np.median(small)) if len(small) >= 3 else WORD_SPACING[1]
        rows = UnionFind(len(boxes))
        for a, b in links:
            rows.union(a, b)
        self.row_of = {link: rows.find(link[0]) for link in links}
        self.row_max: dict[int, float] = {}
        self.row_min: dict[int, float] = {}
        for link, g in self.gaps.items():
            row = self.row_of[link]
            self.row_max[row] = max(self.row_max.get(row, -np.inf), g)
            self.row_min[row] = min(self.row_min.get(row, np.inf), g)


def _pair(page: _Page, a: int, b: int) -> list[float]:
    boxes, heights, centers = page.boxes, page.heights, page.centers
    x0, x1 = boxes[:, 0], boxes[:, 2]
    ax0, ay0, ax1, ay1 = boxes[a]
    bx0, by0, bx1, by1 = boxes[b]
    h = max(heights[a], heights[b])
    gap = page.gaps[(a, b)]
    cy = (ay0 + ay1 + by0 + by1) / 4
    near = np.abs(centers - cy) < ROW_WINDOW * h
    near &= np.abs(centers - cy) > 0.6 * h  # other rows only
    near[[a, b]] = False
    ctx = boxes[near]
    tol = ALIGN_TOLERANCE * h
    left_aligned = np.count_nonzero(np.abs(ctx[:, 0] - bx0) < tol)
    right_aligned = np.count_nonzero(np.abs(ctx[:, 2] - ax1) < tol)
    mid_lo, mid_hi = ax1 + 0.1 * h, bx0 - 0.1 * h
    crossed = np.count_nonzero((ctx[:, 0] < mid_lo) & (ctx[:, 2] > mid_hi)) if \
        mid_hi > mid_lo else np.count_nonzero((ctx[:, 0] < ax1) & (ctx[:, 2] > bx0))
    # rows whose words sit on both sides of the gap without crossing it: a column gutter
    spans_left = ctx[:, 2] <= mid_lo + tol
    spans_right = ctx[:, 0] >= mid_hi - tol
    gutter = min(np.count_nonzero(spans_left & (ctx[:, 2] > ax0)),
                 np.count_nonzero(spans_right & (ctx[:, 0] < bx1)))
    row = np.abs(centers - cy) < 0.5 * h
    row_key = page.row_of[(a, b)]
    row_max, row_min = page.row_max[row_key], page.row_min[row_key]
    return [
        gap, np.log(max(gap, 0.0) + 0.2),
        abs((ay0 + ay1) - (by0 + by1)) / (2 * h),
        min(heights[a], heights[b]) / h,
        float(min(ax1 - ax0, bx1 - bx0) < 1.2 * h),
        np.log1p(left_aligned), np.log1p(right_aligned), np.log1p(crossed), np.log1p(gutter),
        (ax1 - ax0) / h, (bx1 - bx0) / h,
        abs(ay0 - by0) / h, abs(ay1 - by1) / h,
        gap / max(page.spacing, 0.05), page.spacing,
        (ax1 - page.left) / page.width, (bx0 - page.left) / page.width,
        (page.right - bx1) / page.width,
        np.count_nonzero(row & (x0 > bx1 - 0.1 * h)),
        np.count_nonzero(row & (x1 < ax0 + 0.1 * h)),
        np.count_nonzero(row),
        np.log1p(np.count_nonzero(np.abs(ctx[:, 2] - bx1) < tol)),
        np.log1p(np.count_nonzero(np.abs(ctx[:, 0] - ax0) < tol)),
        gap / max(row_max, 1e-3), gap - row_min, row_max - gap,
        heights[a] / page.median_height, abs(heights[a] - heights[b]) / h,
    ]


class TreeEnsemble:
    """A fitted binary gradient-boosted tree ensemble, evaluated with numpy alone.

    Trees are stored flat: node arrays `feature`, `threshold`, `left`, `right`, `value`,
    `is_leaf` (child indices absolute) and the first node of each tree in `roots`. A
    sample goes left when its feature is <= the threshold (NaN goes `nan_left`).
    """

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.feature = arrays["feature"].astype(np.int64)
        self.threshold = arrays["threshold"].astype(np.float64)
        self.left = arrays["left"].astype(np.int64)
        self.right = arrays["right"].astype(np.int64)
        self.value = arrays["value"].astype(np.float64)
        self.is_leaf = arrays["is_leaf"].astype(bool)
        self.nan_left = arrays["nan_left"].astype(bool)
        self.roots = arrays["roots"].astype(np.int64)
        self.bias = float(arrays["bias"])
        self.depth = int(arrays["depth"])
        # leaves lead to themselves (and read feature 0), so a descent step needs no mask
        # for the samples already at a leaf: a receipt scores ~80 word pairs by 279 trees
        here = np.arange(len(self.feature))
        self._left = np.where(self.is_leaf, here, self.left)
        self._right = np.where(self.is_leaf, here, self.right)
        self._feature = np.where(self.is_leaf, 0, self.feature)

    def raw_score(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64).reshape(-1, x.shape[-1])
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        rows = np.arange(len(x))[:, None]
        for _ in range(self.depth):
            if self.is_leaf[node].all():
                break
            v = x[rows, self._feature[node]]
            go_left = np.where(np.isnan(v), self.nan_left[node], v <= self.threshold[node])
            node = np.where(go_left, self._left[node], self._right[node])
        return self.bias + self.value[node].sum(axis=1)


@lru_cache(maxsize=1)
def default_model() -> TreeEnsemble:
    with np.load(MODEL_PATH) as arrays:
        return TreeEnsemble(dict(arrays))


def link_probability(features: np.ndarray) -> np.ndarray:
    """P(same line) for rows of `link_features`."""
    features = np.asarray(features, np.float64)
    if not len(features):
        return np.zeros(0)
    return 1.0 / (1.0 + np.exp(-default_model().raw_score(features)))
