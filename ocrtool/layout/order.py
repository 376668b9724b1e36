"""Lines -> blocks and reading order: recursive XY-cut on the line boxes of a page."""

from __future__ import annotations

import numpy as np

from ..geometry import page_direction


def _intervals_gap(lo: np.ndarray, hi: np.ndarray, axis_order: np.ndarray):
    """Largest empty gap between consecutive intervals sorted by start: (gap, cut index)."""
    best_gap, best_cut, reach = -np.inf, -1, -np.inf
    for n, i in enumerate(axis_order):
        if n > 0 and lo[i] - reach > best_gap:
            best_gap, best_cut = lo[i] - reach, n
        reach = max(reach, hi[i])
    return best_gap, best_cut


def _rows(idx: list[int], cy: np.ndarray, med_h: float) -> list[list[int]]:
    """Group boxes whose centres lie within half a line height of a row's mean centre."""
    rows: list[list[int]] = []
    for i in sorted(idx, key=lambda i: cy[i]):
        if rows and abs(cy[i] - float(np.mean(cy[rows[-1]]))) <= 0.5 * med_h:
            rows[-1].append(i)
        else:
            rows.append([i])
    return rows


def _typical_row_gap(y0: np.ndarray, y1: np.ndarray, med_h: float) -> float:
    """Median empty space between consecutive rows of the page (its line spacing)."""
    rows = _rows(list(range(len(y0))), (y0 + y1) / 2, med_h)
    gaps = [min(y0[b]) - max(y1[a]) for a, b in zip(rows, rows[1:])]
    gaps = [g for g in gaps if g > 0]
    return float(np.median(gaps)) if gaps else med_h


def reading_order(boxes: list[np.ndarray]) -> tuple[list[int], list[int]]:
    """Line order and a block id per line, by recursive XY-cut on the line boxes.

    Boxes are first turned by the page's skew, so the rows of a slightly rotated photo stay
    rows. At each level the widest clean gap wins; a vertical cut (columns) is taken only
    when the two sides are not row-aligned, so a table or a receipt (item ... price) is read
    row by row while a two-column page is read column by column. A gap clearly wider than
    the page's own line spacing starts a new block.
    """
    if not boxes:
        return [], []
    u = page_direction(boxes)
    v = np.array([-u[1], u[0]], np.float32)
    pts = np.array([np.asarray(b, np.float32) for b in boxes])
    px, py = pts @ u, pts @ v
    x0, x1 = px.min(1), px.max(1)
    y0, y1 = py.min(1), py.max(1)
    med_h = float(np.median(y1 - y0)) or 1.0
    block_gap = max(med_h, 1.6 * _typical_row_gap(y0, y1, med_h))
    order: list[int] = []
    blocks: list[int] = [0] * len(boxes)
    block = [0]

    def has_row_partner(i: int, others: list[int]) -> bool:
        overlap = np.minimum(y1[others], y1[i]) - np.maximum(y0[others], y0[i])
        shorter = np.minimum(y1[others] - y0[others], y1[i] - y0[i])
        return bool(np.any(overlap >= 0.5 * shorter))

    def rows_aligned(left: list[int], right: list[int]) -> bool:
        hits = sum(has_row_partner(i, right) for i in left)
        return hits >= 0.5 * min(len(left), len(right))

    def cut(idx: list[int]) -> None:
        if len(idx) == 1:
            order.append(idx[0])
            blocks[idx[0]] = block[0]
            return
        a = np.array(idx)
        ys = a[np.argsort(y0[a], kind="stable")]
        xs = a[np.argsort(x0[a], kind="stable")]
        gy, cy = _intervals_gap(y0, y1, ys)
        gx, cx = _intervals_gap(x0, x1, xs)
        if gx > 0 and gx > gy * 0.8 and gx > 0.5 * med_h:
            left, right = list(xs[:cx]), list(xs[cx:])
            if not rows_aligned(left, right):
                cut(left)
                block[0] += 1
                cut(right)
                return
        if gy > 0:
            top, bottom = list(ys[:cy]), list(ys[cy:])
            cut(top)
            if gy > block_gap:
                block[0] += 1
            cut(bottom)
            return
        # no clean horizontal gap (touching or slanted rows, a table): row by row
        for row in _rows(idx, (y0 + y1) / 2, med_h):
            for i in sorted(row, key=lambda i: x0[i]):
                order.append(i)
                blocks[i] = block[0]

    cut(list(range(len(boxes))))
    return order, blocks
