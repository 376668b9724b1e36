"""Box geometry, the one home for it: quadrilaterals (order, size, growth, crop, IoU) and
text frames (centre, reading direction, length along it, height across it) of word boxes,
point sets and pages. Detection, layout, recognition cropping, training and evaluation all
measure boxes with these functions.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np


def order_clockwise(points: np.ndarray) -> np.ndarray:
    """Order 4 points clockwise starting at the top-left corner of the text.

    For a rotated box the 'top-left' is taken along the box's own long side, so a line
    rotated by 90 degrees still starts at the first character.
    """
    pts = np.asarray(points, dtype=np.float32).reshape(4, 2)
    center = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - center[1], pts[:, 0] - center[0])
    pts = pts[np.argsort(angles)]  # clockwise in image coordinates (y down)
    # start at the point with the smallest x + y, i.e. nearest the top-left
    start = int(np.argmin(pts.sum(axis=1)))
    return np.roll(pts, -start, axis=0)


def figure_quad(box) -> np.ndarray:
    """A clockwise quad from a page's `figures` entry: `[x0, y0, x1, y1]` or four points.
    Data sets mark figures whose inner text is not annotated this way (docbank)."""
    pts = np.asarray(box, np.float32)
    if pts.shape == (4,):
        x0, y0, x1, y1 = pts
        pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
    return order_clockwise(pts.reshape(-1, 2)[:4])


def quad_size(quad: np.ndarray) -> tuple[float, float]:
    """(width, height) of a clockwise quad: mean of opposite side lengths. Plain floats,
    not `np.linalg.norm`: this runs thousands of times a page, and four norms cost ten
    times the arithmetic."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = np.asarray(quad, dtype=np.float32).tolist()
    w = (math.hypot(x1 - x0, y1 - y0) + math.hypot(x2 - x3, y2 - y3)) / 2
    h = (math.hypot(x3 - x0, y3 - y0) + math.hypot(x2 - x1, y2 - y1)) / 2
    return w, h


def expand_quad(quad: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Grow a clockwise quad by dx along its width and dy along its height on each side."""
    q = np.asarray(quad, dtype=np.float32)
    ux = (q[1] - q[0]) + (q[2] - q[3])
    uy = (q[3] - q[0]) + (q[2] - q[1])
    ux /= max(np.linalg.norm(ux), 1e-6)
    uy /= max(np.linalg.norm(uy), 1e-6)
    sx = np.array([-1, 1, 1, -1], np.float32)[:, None]
    sy = np.array([-1, -1, 1, 1], np.float32)[:, None]
    return q + sx * dx * ux + sy * dy * uy


def crop_quad(image: np.ndarray, quad: np.ndarray, height: int | None = None) -> np.ndarray:
    """Warp a clockwise quad to an upright rectangle (optionally of a given height)."""
    w, h = quad_size(quad)
    w, h = max(w, 1.0), max(h, 1.0)
    if height is not None:
        w, h = w * height / h, float(height)
    W, H = max(int(round(w)), 1), max(int(round(h)), 1)
    dst = np.array([[0, 0], [W, 0], [W, H], [0, H]], np.float32)
    M = cv2.getPerspectiveTransform(np.asarray(quad, np.float32), dst)
    return cv2.warpPerspective(
        image, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def polygon_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two convex polygons (rotated quads included)."""
    a = np.asarray(a, np.float32).reshape(-1, 2)
    b = np.asarray(b, np.float32).reshape(-1, 2)
    area_a, area_b = abs(cv2.contourArea(a)), abs(cv2.contourArea(b))
    if area_a <= 0 or area_b <= 0:
        return 0.0
    inter, _ = cv2.intersectConvexConvex(a, b)
    inter = max(float(inter), 0.0)
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


# ---------------------------------------------------------------- text frames


def _norm(d: np.ndarray) -> float:
    return math.hypot(float(d[0]), float(d[1]))


def reading_direction(quad: np.ndarray) -> np.ndarray:
    """Unit vector along a box's long side, pointing right (or down for vertical text)."""
    q = np.asarray(quad, np.float32)
    a, b = q[1] - q[0], q[2] - q[1]
    u = a if _norm(a) >= _norm(b) else b
    u = u / max(_norm(u), 1e-6)
    if u[0] < -1e-6 or (abs(u[0]) <= 1e-6 and u[1] < 0):
        u = -u
    return u


def oriented_box(points: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The box around `points` aligned with direction u, clockwise from the text's top-left."""
    v = np.array([-u[1], u[0]], np.float32)  # 'down' for text running along u
    pu, pv = points @ u, points @ v
    corners = [(pu.min(), pv.min()), (pu.max(), pv.min()), (pu.max(), pv.max()),
               (pu.min(), pv.max())]
    return np.array([a * u + b * v for a, b in corners], np.float32)


@dataclass
class BoxFrame:
    center: np.ndarray
    u: np.ndarray
    length: float
    height: float


HORIZONTAL = np.array([1.0, 0.0], np.float32)


def box_frames(quads: list[np.ndarray]) -> list[BoxFrame]:
    """`box_frame` of many boxes at once (the same numbers, vectorised: a receipt has
    ~100 words and this runs several times per page)."""
    if not len(quads):
        return []
    q = np.asarray(quads, np.float32).reshape(-1, 4, 2)
    a, b = q[:, 1] - q[:, 0], q[:, 2] - q[:, 1]
    na, nb = np.hypot(a[:, 0], a[:, 1]), np.hypot(b[:, 0], b[:, 1])
    elongated = np.maximum(na, nb) >= 1.5 * np.maximum(np.minimum(na, nb), 1e-6)
    u = np.where((na >= nb)[:, None], a, b) / np.maximum(np.maximum(na, nb), 1e-6)[:, None]
    flip = (u[:, 0] < -1e-6) | ((np.abs(u[:, 0]) <= 1e-6) & (u[:, 1] < 0))
    u = np.where(flip[:, None], -u, u)
    u = np.where(elongated[:, None], u, HORIZONTAL).astype(np.float32)
    v = np.stack([-u[:, 1], u[:, 0]], axis=1)
    pu, pv = np.einsum("nkc,nc->nk", q, u), np.einsum("nkc,nc->nk", q, v)
    length, height = np.ptp(pu, axis=1), np.ptp(pv, axis=1)
    centre = q.mean(axis=1)
    return [BoxFrame(centre[i], u[i], float(length[i]), float(height[i])) for i in range(len(q))]


def box_frame(quad: np.ndarray, u: np.ndarray | None = None) -> BoxFrame:
    """Centre, direction, length and height of a box; a box that is not clearly longer
    than tall (a single character, often taller than wide) is taken as horizontal."""
    q = np.asarray(quad, np.float32)
    if u is None:
        return _own_frame(q.tobytes(), q.shape)
    return _frame_along(q, u)


@functools.lru_cache(maxsize=4096)
def _own_frame(points: bytes, shape: tuple[int, ...]) -> BoxFrame:
    """`box_frame` of a box along its own direction, the box given by its float32 bytes.
    Line grouping, line boxes, the receipt rules and line assembly each ask for the frames
    of the same words (about four times a word on a receipt), so each is worked out once;
    its arrays are read-only, being shared."""
    q = np.frombuffer(points, np.float32).reshape(shape)
    a, b = _norm(q[1] - q[0]), _norm(q[2] - q[1])
    elongated = max(a, b) >= 1.5 * max(min(a, b), 1e-6)
    frame = _frame_along(q, reading_direction(q) if elongated else HORIZONTAL.copy())
    frame.center.setflags(write=False)
    frame.u.setflags(write=False)
    return frame


def _frame_along(q: np.ndarray, u: np.ndarray) -> BoxFrame:
    """Centre, and length along u and height across it, of a box's corners."""
    v = np.array([-u[1], u[0]], np.float32)
    pu, pv = q @ u, q @ v
    return BoxFrame(q.mean(axis=0), u, float(pu.max() - pu.min()), float(pv.max() - pv.min()))



def text_height(quads: list[np.ndarray]) -> float:
    """Median short side of the word boxes (0 without words)."""
    return float(np.median([min(quad_size(q)) for q in quads])) if quads else 0.0


def page_direction(boxes: list[np.ndarray], max_skew: float = 30.0) -> np.ndarray:
    """Median reading direction of the elongated boxes (a slightly rotated photo's skew);
    horizontal when that is more than `max_skew` degrees off."""
    angles = []
    for g in box_frames(boxes):
        if g.length >= 1.5 * g.height:
            angles.append(math.atan2(float(g.u[1]), float(g.u[0])))
    if not angles:
        return HORIZONTAL
    a = float(np.median(angles))
    if abs(a) > math.radians(max_skew):  # vertical or strongly rotated: leave it alone
        return HORIZONTAL
    return np.array([math.cos(a), math.sin(a)], np.float32)


def point_frames(words: list[np.ndarray]):
    """Per word point set: centre, unit direction along its longer side, length, height."""
    rects = [cv2.minAreaRect(p) for p in words]
    centre = np.array([r[0] for r in rects], np.float64)
    size = np.array([r[1] for r in rects], np.float64)
    angle = np.radians([r[2] for r in rects])
    u = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    tall = size[:, 0] < size[:, 1]  # the rectangle's first side is the short one
    u[tall] = np.stack([-u[tall, 1], u[tall, 0]], axis=1)
    length, height = size.max(axis=1), np.maximum(size.min(axis=1), 1.0)
    return centre, u, length, height


def pixel_box(points, width: int = 0, height: int = 0) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the integer box that encloses the points, clipped to the page when
    its size is known (x1 >= x0, y1 >= y0). hOCR's bbox and ALTO's HPOS/VPOS come from it."""
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    x0, y0 = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
    x1, y1 = math.ceil(max(xs)), math.ceil(max(ys))
    if width > 0 and height > 0:
        x1, y1 = min(x1, width), min(y1, height)
    return x0, y0, max(x0, x1), max(y0, y1)
