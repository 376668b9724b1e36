"""Should two neighbouring words on one row be one line? A small logistic model decides.

A fixed gap rule (join when the gap is under ~1.2 text heights) splits or merges about one
annotated receipt line in ten: separate fields (a price and its tax code, the columns of
an item table) often sit closer than the words of one field. What tells them apart is the
page around them: a gap that other rows repeat at the same place is a column gutter, and
an edge that words above and below line up with starts or ends a field. The model weighs
the gap with those cues; `bench/fit_line_links.py` fits it on sroie_train pages (labels
from the annotated line boxes: 31,821 neighbour pairs) and prints the coefficients below.
On sroie_dev's 3,289 pairs it decides 93.9% right against 91.9% for the gap rule.
`group_lines` lets it veto the rule's joins, never add joins across wider gaps: that
kept born-digital graphics (whose spacing SROIE never taught it) as they were.
"""

from __future__ import annotations

import numpy as np

FEATURES = ("gap", "log_gap", "offset", "height_ratio", "short_pair", "left_aligned",
            "right_aligned", "crossed", "gutter")
# fitted by bench/fit_line_links.py on sroie_train; standardised features
MEAN = np.array([0.5738, -0.4426, 0.0506, 0.8676, 0.1910, 0.6422, 0.6832, 1.4426, 1.2214])
SCALE = np.array([0.5742, 0.6001, 0.1105, 0.1204, 0.3931, 0.5935, 0.6004, 0.5970, 0.6530])
COEF = np.array([-0.3944, -2.0150, -0.8169, -0.0621, -0.3590, 0.0835, -0.5860, 0.6886, -0.6452])
BIAS = 3.5554
ROW_WINDOW = 8.0  # rows within this many text heights above and below give the context
ALIGN_TOLERANCE = 0.35  # edges this close (in text heights) line up


def pair_features(boxes: np.ndarray, a: int, b: int) -> np.ndarray:
    """Features of joining word `a` to word `b` on its right.

    `boxes` holds every word of the page as axis-aligned (x0, y0, x1, y1) in a frame where
    the text runs left to right (the caller deskews rotated pages first).
    """
    ax0, ay0, ax1, ay1 = boxes[a]
    bx0, by0, bx1, by1 = boxes[b]
    h = max(ay1 - ay0, by1 - by0, 1.0)
    gap = (bx0 - ax1) / h
    offset = abs((ay0 + ay1) - (by0 + by1)) / (2 * h)
    height_ratio = min(ay1 - ay0, by1 - by0) / h
    short_pair = float(min(ax1 - ax0, bx1 - bx0) < 1.2 * h)
    cy = (ay0 + ay1 + by0 + by1) / 4
    centers = (boxes[:, 1] + boxes[:, 3]) / 2
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
    return np.array([gap, np.log(max(gap, 0.0) + 0.2), offset, height_ratio, short_pair,
                     np.log1p(left_aligned), np.log1p(right_aligned), np.log1p(crossed),
                     np.log1p(gutter)], np.float64)


def link_probability(features: np.ndarray) -> np.ndarray:
    """P(same line) for rows of features (any leading shape)."""
    z = ((features - MEAN) / SCALE) @ COEF + BIAS
    return 1.0 / (1.0 + np.exp(-z))
