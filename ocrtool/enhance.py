"""Inference-time image clean-up shared by the detector and the recognizer."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np


def subsample(image: np.ndarray) -> np.ndarray:
    """About 256 x 256 evenly spaced pixels: enough for page statistics, cheap on a scan."""
    return image[:: max(image.shape[0] // 256, 1), :: max(image.shape[1] // 256, 1)]


def pixel_percentiles(pixels: np.ndarray, percents: Sequence[float]) -> list[float]:
    """`np.percentile(pixels, percents)` (linear interpolation, the same numbers) of uint8
    pixels, read off their histogram: every line crop and colon gap takes a few, and
    np.percentile's sort costs two to five times as much on arrays this size."""
    if pixels.dtype != np.uint8 or pixels.size == 0:
        return [float(v) for v in np.percentile(pixels, percents)]
    below = np.bincount(pixels.ravel(), minlength=256).cumsum()  # values <= each level
    last = int(below[-1]) - 1
    pos = [(q / 100.0) * last for q in percents]  # in numpy's order of operations
    lower = [math.floor(p) for p in pos]
    ranks = np.searchsorted(below, lower + [min(i + 1, last) for i in lower], side="right")
    out = []
    for k, p in enumerate(pos):
        a, b, t = float(ranks[k]), float(ranks[k + len(pos)]), p - lower[k]
        # numpy's _lerp: from the nearer end, so that t = 1 gives b exactly
        out.append(b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t)
    return out


def pixel_median(pixels: np.ndarray) -> float:
    """`np.median` of uint8 pixels, from their histogram (`pixel_percentiles`)."""
    return pixel_percentiles(pixels, [50.0])[0]


def contrast_range(image: np.ndarray, low: float = 1.0,
                   high: float = 99.0) -> tuple[float, float] | None:
    """The 1st and 99th intensity percentiles (of a subsample), or None for a flat image."""
    lo, hi = pixel_percentiles(subsample(image), [low, high])
    if hi - lo < 8:  # a blank or nearly flat image: nothing to stretch
        return None
    return float(lo), float(hi)


def stretch_lut(image: np.ndarray) -> np.ndarray:
    """256-entry float table mapping the image's 1..99 percentile range to 0..255."""
    return _lut(contrast_range(image))


def _lut(bounds: tuple[float, float] | None) -> np.ndarray:
    levels = np.arange(256, dtype=np.float32)
    if bounds is None:
        return levels
    lo, hi = bounds
    return np.clip((levels - lo) * 255.0 / (hi - lo), 0, 255)


def stretch_contrast(image: np.ndarray) -> np.ndarray:
    """Map the 1st..99th intensity percentiles to 0..255.

    A dim scan (grey paper at 105/255, ink at 30) otherwise hides half its words from the
    detector; on a normal white page this is close to the identity.
    """
    bounds = contrast_range(image)
    if bounds is None:
        return image
    return cv2.LUT(image, _lut(bounds).astype(np.uint8))


def mean_brightness(image: np.ndarray) -> float:
    """Mean grey level (0-255) of a subsample of an RGB or grey image."""
    sample = subsample(image)
    if sample.ndim == 3:
        sample = cv2.cvtColor(np.ascontiguousarray(sample[:, :, :3]), cv2.COLOR_RGB2GRAY)
    return float(sample.mean())


def equalize_locally(rgb: np.ndarray, clip: float = 2.0, tiles: int = 8) -> np.ndarray:
    """CLAHE on the lightness of an RGB image: text in the shadows of a night photo or
    under a dim sign gets the local contrast a global stretch cannot give it."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=clip, tileGridSize=(tiles, tiles)).apply(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
