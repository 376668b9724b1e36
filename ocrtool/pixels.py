"""Pixels: turning any decoded array into uint8 RGB, and the size every input must fit.

Kept apart from imageio (which opens files) so that other decoders, such as the PDF page
renderer, can share it without importing imageio back.
"""

from __future__ import annotations

import math

import numpy as np

# Refuse images above this many pixels (20000 x 20000): a page scanned at 600 dpi is about
# 35 Mpx, so this only stops decompression bombs and mistakes, not real documents.
MAX_PIXELS = 20000 * 20000


# Pages above this many pixels are decoded smaller, by a whole factor (a 19000 x 19000
# scan is read at 6334 x 6334), and results are given in the file's pixels. The detector
# sees a page at 1600 pixels (6000 at most) and the recognizer a line 32 pixels high, so
# nothing is lost; keeping such a page whole at 3 bytes a pixel, and the quarter turns the
# orientation step reads, took 4 GB for a 0.7 MB 16-bit PNG.
WORK_PIXELS = 8000 * 8000


def reduction(width: int, height: int, max_pixels: int | None) -> int:
    """The smallest whole factor that brings a `width` x `height` page within `max_pixels`
    (1: read at full size)."""
    if not max_pixels or width * height <= max_pixels:
        return 1
    factor = max(2, math.ceil(math.sqrt(width * height / max_pixels)))
    while math.ceil(width / factor) * math.ceil(height / factor) > max_pixels:
        factor += 1
    return factor


class ReducedImage(np.ndarray):
    """A page decoded at a fraction of its size; `full_size` is the file's (width, height),
    in which the Reader reports boxes (it reads `np.asarray(page)`, a plain view)."""

    full_size: tuple[int, int]

    def __array_finalize__(self, obj) -> None:
        if obj is not None:
            self.full_size = getattr(obj, "full_size", None)


def reduced(rgb: np.ndarray, full_size: tuple[int, int]) -> np.ndarray:
    """`rgb` marked as the decoded-smaller page of a `full_size` (width, height) file."""
    if (rgb.shape[1], rgb.shape[0]) == tuple(full_size):
        return rgb
    out = rgb.view(ReducedImage)
    out.full_size = (int(full_size[0]), int(full_size[1]))
    return out


class ImageError(ValueError):
    """An input that cannot be read as an image; the message is one line, meant for users."""


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def check_size(width: int, height: int, name: str) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"image has no pixels ({width}x{height}): {name}")
    if width * height > MAX_PIXELS:
        raise ImageError(f"image too large ({width}x{height} is more than {MAX_PIXELS} "
                         f"pixels): {name}")


def array_to_rgb(array: np.ndarray) -> np.ndarray:
    """Convert a gray/RGB/RGBA array of any common dtype to uint8 RGB (a new array).

    uint16 is scaled by 65535 -> 255 (not clipped, which would turn most of a 16-bit scan
    white); floats in [0, 1] are scaled by 255; other ranges are stretched to 0..255.
    """
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ImageError(f"unsupported array shape {a.shape}: expected (H, W), (H, W, 3) "
                         "or (H, W, 4)")
    check_size(a.shape[1], a.shape[0], "<ndarray>")
    a = to_uint8(a)
    if a.ndim == 2:
        return gray_to_rgb(a)
    if a.shape[2] == 4:
        return composite_on_white(a)
    return np.array(a, dtype=np.uint8, order="C", copy=True)  # never alias the caller's array


def to_uint8(a: np.ndarray, extrema: tuple | None = None) -> np.ndarray:
    """`extrema` (lo, hi) of the whole image when `a` is one band of it."""
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if a.dtype.kind == "u" and a.dtype.itemsize == 2:  # uint16, either byte order
        return ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ImageError(f"unsupported array dtype {a.dtype}")
    f = a.astype(np.float64)
    if not np.isfinite(f).all():
        f = np.nan_to_num(f, nan=0.0, posinf=0.0, neginf=0.0)
    if extrema is not None and np.isfinite(extrema).all():
        lo, hi = float(extrema[0]), float(extrema[1])
    else:  # NaN/inf were zeroed above: the range of what is left
        lo, hi = float(f.min()), float(f.max())
    if np.issubdtype(a.dtype, np.floating) and lo >= 0.0 and hi <= 1.0:
        f = f * 255.0
    elif lo >= 0.0 and hi <= 255.0:
        pass  # already in 8-bit range (e.g. int32 holding 0..255)
    elif lo >= 0.0 and hi <= 65535.0 and np.issubdtype(a.dtype, np.integer):
        f = f * (255.0 / 65535.0)  # 16-bit data in a wider integer type (PIL mode "I")
    else:
        f = (f - lo) * (255.0 / max(hi - lo, 1e-12))
    return np.clip(np.rint(f), 0, 255).astype(np.uint8)


def gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))


def composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Put transparent pixels on white: text on a transparent background is dark on light."""
    rgb = rgba[:, :, :3].astype(np.uint16)
    alpha = rgba[:, :, 3:4].astype(np.uint16)
    out = (rgb * alpha + 255 * (255 - alpha) + 127) // 255
    return out.astype(np.uint8)
