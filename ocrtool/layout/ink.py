"""Word boxes trimmed to the rows that hold their ink.

A word box is either the detector's (its region blob, grown so that recognition sees
whole glyphs) or the part of its line's box that its CTC frames cover, with the line's
height: on a web graphic or a sign it stands well above and below the letters.
Annotations, search highlights and hOCR readers expect a box around the letters, as the
word-boxed data sets draw them. So after reading, each word's box is cut down across its
height to the band of rows that hold its ink, with INK_PAD of its height kept above and
below. Running text (`stage.RUNNING_TEXT_LINES`) keeps its line bands: there every word
of a line has the line's height, ascenders and descenders included, as text layers do.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from ..geometry import crop_quad
from ..results import Line

INK_ROW_SHARE = 0.02  # a row holds ink when this share of its pixels is ink
INK_PAD = 0.05  # of the box's height, kept above and below the ink
MIN_BAND = 0.3  # a band thinner than this share of the box is not trusted


def ink_band(gray: np.ndarray, quad) -> tuple[float, float] | None:
    """(top, bottom) of the rows holding ink, as fractions of the quad's height across
    its first edge, padded by INK_PAD; None when the box holds no clear band."""
    patch = crop_quad(gray, np.asarray(quad, np.float32))
    h = patch.shape[0]
    if h < 4 or patch.shape[1] < 2:
        return None
    border = np.concatenate([patch[0], patch[-1], patch[:, 0], patch[:, -1]])
    threshold, _ = cv2.threshold(patch, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # ink is whichever side of the threshold the box's border (background) is not on
    ink = patch > threshold if np.median(border) <= threshold else patch <= threshold
    rows = np.flatnonzero(ink.mean(axis=1) > INK_ROW_SHARE)
    if len(rows) == 0:
        return None
    top = max(rows[0] - INK_PAD * h, 0.0) / h
    bottom = min(rows[-1] + 1 + INK_PAD * h, h) / h
    return (top, bottom) if bottom - top >= MIN_BAND else None


def within_band(quad, top: float, bottom: float) -> np.ndarray:
    """The part of a clockwise quad between fractions `top` and `bottom` of its height."""
    q = np.asarray(quad, np.float32)
    return np.array([q[0] + top * (q[3] - q[0]), q[1] + top * (q[2] - q[1]),
                     q[1] + bottom * (q[2] - q[1]), q[0] + bottom * (q[3] - q[0])],
                    np.float32)


def words_trimmed_to_ink(line: Line, gray: np.ndarray) -> Line:
    """The line with each word's box cut down to its own band of ink rows."""
    words = []
    for w in line.words:
        band = ink_band(gray, w.points)
        if band is not None:
            w = replace(w, points=within_band(w.points, *band).tolist())
        words.append(w)
    return replace(line, words=words)
