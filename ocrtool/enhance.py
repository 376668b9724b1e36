"""Inference-time image clean-up shared by the detector and the recognizer."""

from __future__ import annotations

import cv2
import numpy as np


def subsample(image: np.ndarray) -> np.ndarray:
    """About 256 x 256 evenly spaced pixels: enough for page statistics, cheap on a scan."""
    return image[:: max(image.shape[0] // 256, 1), :: max(image.shape[1] // 256, 1)]


def contrast_range(image: np.ndarray, low: float = 1.0,
                   high: float = 99.0) -> tuple[float, float] | None:
    """The 1st and 99th intensity percentiles (of a subsample), or None for a flat image."""
    lo, hi = np.percentile(subsample(image), [low, high])
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
