"""Spaced colons the detector does not see: "TOTAL TAX      :      1.02".

Receipts and forms put a colon between a label and its value, often several characters
away from both. Two dots are too little ink for the detector: their region score is
0.1-0.5, under any threshold that keeps specks out, so the colon is lost (the words
sroie_train's held-out receipts missed most often: 80 of 675). Here the gap between a
line and the next line on its row (or the space just past a line with none after it) is
searched for one narrow patch of ink; each patch found is a candidate, which the Reader
reads with the recognizer and keeps only when it reads as ":". Kept colons then go
through the receipt rules like any other lone colon (`receipts.attach_trailing_marks`
joins one to the nearer of its label and its value).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..enhance import pixel_percentiles
from ..results import Line

LEVEL = 0.1  # only rows this close to horizontal (|sin| of their direction) are searched
SEARCH_PAST = 3.0  # line heights searched past a line with no line after it on its row
MARK_WIDTH = 0.5  # a candidate's ink is at most this many line heights wide...
MARK_TALL = (0.3, 1.0)  # ... and this tall (a colon: two dots a little apart)
SPLIT = 0.4  # ink columns this many heights apart are separate candidates
INK = 0.3  # a pixel is ink when it is this far from the line's background towards its ink
INNER = 0.55  # a colon's ink lies within this many line heights of the row's middle...
OUTER = 0.8  # ... and none may lie between INNER and OUTER of it (dashed table rules)
CLEAR = 0.1  # a candidate stands this many line heights clear of both ends of its gap
BOX_TALL = 0.8  # the box read (and reported, before padding) is this much of the height


def colon_candidates(lines: Sequence[Line], gray: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(index of the line it follows, box to read) of each narrow patch of ink in a
    line's gap. The box spans `BOX_TALL` of the line's height around its middle, about a
    colon's cell: annotators box a lone colon so, and it reads as well as the full band."""
    boxes = [_axis_box(ln) for ln in lines]
    out = []
    for i, box in enumerate(boxes):
        if box is None:
            continue
        x0, y0, x1, y1 = box
        h = y1 - y0
        cy = (y0 + y1) / 2
        ends = [b[0] for j, b in enumerate(boxes) if b is not None and j != i
                and b[0] > x1 - 0.1 * h and abs((b[1] + b[3]) / 2 - cy) < 0.5 * h]
        right = min(ends) if ends else x1 + SEARCH_PAST * h
        for a, b in _ink_patches(gray, box, x1 + 0.05 * h, right - 0.05 * h, cy, h):
            half = BOX_TALL * h / 2
            out.append((i, np.array([[a, cy - half], [b, cy - half], [b, cy + half],
                                     [a, cy + half]], np.float32)))
    return out


def insert_after(lines: Sequence[Line], found: Sequence[tuple[int, Line]]) -> list[Line]:
    """`lines` with each found line placed right after the line it follows (reading order)."""
    after: dict[int, list[Line]] = {}
    for i, line in found:
        after.setdefault(i, []).append(line)
    out = []
    for i, line in enumerate(lines):
        out.append(line)
        out.extend(after.get(i, []))
    return out


def _axis_box(line: Line) -> tuple[float, float, float, float] | None:
    """(x0, y0, x1, y1) of a nearly horizontal line, else None."""
    q = np.asarray(line.points, np.float32)
    u = q[1] - q[0]
    norm = float(np.hypot(*u))
    if norm == 0 or abs(u[1]) / norm > LEVEL:
        return None
    (x0, y0), (x1, y1) = q.min(axis=0), q.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def line_ink_levels(gray: np.ndarray,
                    box: tuple[float, float, float, float]) -> tuple[float, float]:
    """(background, ink) grey levels of a line: its median, and the extreme percentile on
    the far side of it (dark print on light paper, or light print on dark)."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    patch = gray[max(y0, 0):max(y1, 1), max(x0, 0):max(x1, 1)]
    if patch.size == 0:
        return 255.0, 0.0
    bg, lo, hi = pixel_percentiles(patch, (50, 2, 98))
    return bg, (lo if bg - lo >= hi - bg else hi)


def _ink_patches(gray: np.ndarray, line_box: tuple[float, float, float, float],
                 left: float, right: float, cy: float, h: float) -> list[tuple[float, float]]:
    """(x0, x1) of each patch of ink between `left` and `right` on the row centred at
    `cy` that could be a colon: narrow, of a colon's height, in two parts one above the
    other, clear of both ends of the gap (a glyph of the next line sticking out of its
    box is not one), and with no ink just above or below the row (a dashed table rule).
    What counts as ink is judged against the line's own print (`line_box`)."""
    H, W = gray.shape[:2]
    xa, xb = max(int(left), 0), min(int(np.ceil(right)), W)
    ya, yb = max(int(cy - OUTER * h), 0), min(int(np.ceil(cy + OUTER * h)), H)
    if xb - xa < 2 or yb - ya < 2:
        return []
    bg, ink = line_ink_levels(gray, line_box)
    if abs(ink - bg) < 20:
        return []
    window = gray[ya:yb, xa:xb].astype(np.float32)
    mask = (window - bg) * np.sign(ink - bg) > INK * abs(ink - bg)
    inner = np.abs(np.arange(ya, yb) + 0.5 - cy) <= INNER * h  # rows a colon may use
    cols = np.flatnonzero(mask[inner].any(axis=0))
    if cols.size == 0:
        return []
    out = []
    clear = CLEAR * h  # ink this close to either end is a neighbour's glyph sticking out
    for run in np.split(cols, np.flatnonzero(np.diff(cols) > SPLIT * h) + 1):
        if run[0] < clear or run[-1] >= window.shape[1] - clear:
            continue
        patch = mask[:, run[0]:run[-1] + 1]
        rows = np.flatnonzero(patch.any(axis=1))
        width, tall = run[-1] - run[0] + 1, rows[-1] - rows[0] + 1
        if (width <= MARK_WIDTH * h and MARK_TALL[0] * h <= tall <= MARK_TALL[1] * h
                and inner[rows].all() and np.diff(rows).max(initial=0) > 1):
            out.append((xa + run[0] - 0.1 * h, xa + run[-1] + 1 + 0.1 * h))
    return out
