"""Word crops whose text runs at a slant: the box along which to read them.

A word crop handed over whole (`--no-detect`, a crop set) is read along its width. Scene
word crops are often the upright bounding rectangle of a tilted word (ICDAR 2015's word
images are: a sign photographed from one side), and read along the width a word tilted
by 20 degrees comes out garbled ("NOVEMBER" -> "ROVIENER", "THROUGH" -> "THRON").

The crop's ink (`layout.ink.inked`: the side of its Otsu threshold its border is not on)
is projected across the line at every SEARCH_STEP degrees from -SEARCH to +SEARCH: where
text is level its rows of ink are sharpest, so the angle with the largest sum of squared
row counts is the text's. A crop is slanted when that angle is at least MIN_SLANT and at
most MAX_SLANT (near 45 degrees the peaks were stacked letters and corners, not text),
the level projection's sharpness is at most SHARPER of the slanted one's, and the main
band of ink (the rows around the peak above BAND of it) holds at least MAIN_INK of the
ink; its box is that band, along the ink it holds. The reader reads the crop along that
box as well and keeps the more confident reading (`assemble.read_whole_crops`).

Chosen on the 4022 ic15_words_train crops that are not held out (the held-out tenth and
the other crop sets only checked): on them the rule read 52 more crops right and 26 fewer
(net +26; the best gate that always took the slanted reading: net +9). Read as
`ocrtool read --no-detect` reads them, right (case-insensitive) of the held-out crops:
ic15_words_train 310 -> 319 of 446, iiit5k_train_cs 190 -> 191 of 200, svt_words_train
16 of 25 either way (session 36). Shearing leaning strokes upright, and cutting level
crops down to their main band, gained nothing on the same crops at any gate (not kept).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..enhance import stretch_contrast
from ..layout.ink import inked

SEARCH = 45.0  # degrees either way
SEARCH_STEP = 1.5
MIN_SLANT = 10.0
MAX_SLANT = 40.0
SHARPER = 0.8  # level sharpness / slanted sharpness at most this
BAND = 0.15  # of the projection's peak: the main band's rows
MAIN_INK = 0.4  # share of the ink the main band must hold
WORK_SIZE = 96  # the ink is found on the crop shrunk to at most this many pixels a side
MIN_INK = 20  # pixels of ink, at the work size, below which nothing is judged
MIN_SIDE = 4  # pixels, at the work size, of a crop's shorter side: below, nothing is judged
END_TRIM = 0.01  # share of the band's ink left out at each end (specks of the background)

_ANGLES = np.deg2rad(np.arange(-SEARCH, SEARCH + SEARCH_STEP / 2, SEARCH_STEP))
# float32, as the ink's positions: each angle's positions are those a per-angle
# `-xs * math.sin(t) + ys * math.cos(t)` gives
_SIN = np.array([math.sin(t) for t in _ANGLES], np.float32)
_COS = np.array([math.cos(t) for t in _ANGLES], np.float32)


def slanted_text_quad(gray: np.ndarray) -> np.ndarray | None:
    """The clockwise box (crop pixels, first corner at the text's start) of a gray word
    crop's main line of ink when that line runs at a slant; None when it runs level, or
    the crop holds too little ink to tell."""
    work = stretch_contrast(gray)
    scale = min(1.0, WORK_SIZE / max(work.shape[:2]))
    if min(work.shape[:2]) * scale < MIN_SIDE:  # a sliver (9 x 9000 px): no slant to see
        return None
    if scale < 1.0:
        work = cv2.resize(work, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ink = inked(work)
    if ink is None:
        return None
    ys, xs = np.nonzero(ink)
    if len(xs) < MIN_INK:
        return None
    cx, cy = work.shape[1] / 2, work.shape[0] / 2
    xs, ys = xs.astype(np.float32) - cx, ys.astype(np.float32) - cy
    sharpness = _sharpness_at_angles(xs, ys)
    best = int(np.argmax(sharpness))
    angle = float(_ANGLES[best])
    if not MIN_SLANT <= abs(math.degrees(angle)) <= MAX_SLANT or \
            _sharpness(ys) > SHARPER * sharpness[best]:
        return None
    band = _main_band(xs, ys, angle)
    if band is None:
        return None
    c0, c1, r0, r1 = band
    cos, sin = math.cos(angle), math.sin(angle)
    corners = [(c0, r0), (c1, r0), (c1, r1), (c0, r1)]
    quad = np.array([[c * cos - r * sin + cx, c * sin + r * cos + cy] for c, r in corners],
                    np.float32)
    return quad / scale


def _sharpness_at_angles(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """`_sharpness` of the ink's positions across the line at each of _ANGLES, in one
    pass over an (ink, angle) array rather than one per angle."""
    across = -xs[:, None] * _SIN + ys[:, None] * _COS
    rows = (across - across.min(axis=0)).astype(np.int64)
    size = int(rows.max()) + 1
    rows += np.arange(len(_ANGLES)) * size  # each angle's rows counted apart
    counts = np.bincount(rows.ravel(), minlength=size * len(_ANGLES)).reshape(-1, size)
    return (counts * counts).sum(axis=1)


def _sharpness(across: np.ndarray) -> float:
    """How sharply ink gathers into rows at these positions across the line: the sum of
    squared counts per one-pixel row."""
    counts = np.bincount((across - across.min()).astype(np.int64)).astype(np.float64)
    return float(counts @ counts)


def _main_band(xs: np.ndarray, ys: np.ndarray,
               angle: float) -> tuple[float, float, float, float] | None:
    """(start, end, top, bottom) along and across the line at `angle` of the band of
    rows around the ink's densest row, or None when it holds under MAIN_INK of the ink."""
    cos, sin = math.cos(angle), math.sin(angle)
    across = -xs * sin + ys * cos
    along = xs * cos + ys * sin
    low = across.min()
    counts = np.bincount((across - low).astype(np.int64)).astype(np.float64)
    counts = np.convolve(counts, np.ones(3) / 3, mode="same")
    peak = int(counts.argmax())
    floor = BAND * counts[peak]
    top = peak
    while top > 0 and counts[top - 1] > floor:
        top -= 1
    bottom = peak
    while bottom < len(counts) - 1 and counts[bottom + 1] > floor:
        bottom += 1
    r0, r1 = top + low, bottom + 1 + low
    inside = (across >= r0) & (across <= r1)
    if inside.mean() < MAIN_INK:
        return None
    ends = np.sort(along[inside])
    k = int(END_TRIM * len(ends))
    return float(ends[k]), float(ends[-1 - k]), float(r0), float(r1)
