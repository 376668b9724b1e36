"""Quadrilateral helpers shared by detection, recognition cropping, training and evaluation."""

from __future__ import annotations

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


def quad_size(quad: np.ndarray) -> tuple[float, float]:
    """(width, height) of a clockwise quad: mean of opposite side lengths."""
    q = np.asarray(quad, dtype=np.float32)
    w = (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2
    h = (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
    return float(w), float(h)


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
