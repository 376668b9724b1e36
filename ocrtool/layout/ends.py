"""Line ends grown over the glyphs the detector cut off.

The detector's region map is weakest on a line's first and last glyphs: a wide capital
("C" of "Creative", "E" of "Electronic") or a thin letter or mark at the end ("l" of
"Original", "!") scores under the threshold, the line's box stops short of it and the
recognizer reads "reative". After a line is read, each of its ends is walked outward
over the page's ink: blank columns up to END_GAP of the line's height (a gap between
letters, not a word space), then a run of ink columns, and so on up to END_REACH of
its height past the end. Ink that runs on past that reach, reaches the top or bottom of
the strip looked at (a picture's edge, a frame) or is shorter than END_TALL of the
line's ink (a dot, a dash, a bullet) is not a glyph of the line, and the end stays.
The Reader reads a grown line again and keeps the new reading only where it completes a
word of the language's word list (`Reader._with_ends_on_ink`): on web graphics the ink
beside a line is as often a logo's edge or an arrow as a letter.
"""

from __future__ import annotations

import numpy as np

from ..geometry import crop_quad, expand_quad, quad_size
from .ink import column_share, inked

# Chosen on the training pages that are not held out (model card, session 26)
END_REACH = 1.0  # of the line's height: how far past an end a cut-off glyph may reach
END_GAP = 0.15  # of the line's height: a blank run wider than this ends the line
END_SHARE = 0.1  # a column holds ink when this share of its pixels is ink
END_TALL = 0.45  # of the line's ink height: a glyph at least this tall (not a dot, a dash)
END_MIN = 0.2  # of the line's height: a smaller growth is none (the crop's margin has it)
END_ACROSS = 0.25  # of the line's height, looked at above and below its box


def walk_out(ink_cols: np.ndarray, start: int, step: int, gap: int, reach: int) -> int:
    """How many columns the end at `start` (its last column inside the line) moves
    outward (`step` -1: left, +1: right) to take in the ink runs beside it: up to the
    first blank run longer than `gap`; 0 when the ink runs on past `reach` columns."""
    n = len(ink_cols)
    i, blanks, reached = start + step, 0, start
    while 0 <= i < n:
        if ink_cols[i]:
            blanks, reached = 0, i
            if abs(reached - start) > reach:
                return 0
        else:
            blanks += 1
            if blanks > gap:
                return abs(reached - start)
        i += step
    return 0


def line_end_growth(gray: np.ndarray, quad) -> tuple[float, float]:
    """(lead, tail): page pixels to grow a line's box by at its start and end."""
    length, height = quad_size(quad)
    if height < 4:
        return 0.0, 0.0
    reach, gap = END_REACH * height, END_GAP * height
    strip = expand_quad(np.asarray(quad, np.float32), reach + gap + 1, END_ACROSS * height)
    patch = crop_quad(gray, strip)
    ink = inked(patch)
    if ink is None:
        return 0.0, 0.0
    px = patch.shape[1] / max(quad_size(strip)[0], 1.0)  # strip columns per page pixel
    cols = column_share(ink) > END_SHARE
    first = int(round((reach + gap + 1) * px))
    last = min(int(round((reach + gap + 1 + length) * px)) - 1, len(cols) - 1)
    gap_cols, reach_cols = max(int(round(gap * px)), 1), int(round(reach * px))
    lead = walk_out(cols, first, -1, gap_cols, reach_cols)
    tail = walk_out(cols, last, 1, gap_cols, reach_cols)
    tall = END_TALL * ink_height(ink[:, first:last + 1])
    lead = lead if lead and is_glyph(ink[:, first - lead:first], tall) else 0
    tail = tail if tail and is_glyph(ink[:, last + 1:last + 1 + tail], tall) else 0
    least = END_MIN * height * px
    return (lead / px if lead >= least else 0.0), (tail / px if tail >= least else 0.0)


def ink_height(ink: np.ndarray) -> int:
    """Rows from the first to the last that hold ink (0 when none do)."""
    rows = np.flatnonzero(ink.any(axis=1))
    return int(rows[-1] - rows[0] + 1) if len(rows) else 0


def is_glyph(ink: np.ndarray, tall: float) -> bool:
    """Is this ink beside a line a glyph of it: at least `tall` rows high (a letter, not
    a dot, dash or bullet) and clear of the strip's top and bottom rows (not something
    taller than the line)?"""
    return (ink.size > 0 and not (ink[0].any() or ink[-1].any())
            and ink_height(ink) >= tall)


def along_unit(quad) -> np.ndarray:
    """The unit vector a clockwise quad's text runs along (its first edge's way)."""
    q = np.asarray(quad, np.float32)
    u = (q[1] - q[0]) + (q[2] - q[3])
    return u / max(float(np.linalg.norm(u)), 1e-6)


def grown_along(quad, lead: float, tail: float) -> np.ndarray:
    """A clockwise quad moved `lead` pixels back at its start and `tail` on at its end."""
    q = np.asarray(quad, np.float32).copy()
    u = along_unit(q)
    q[[0, 3]] -= lead * u
    q[[1, 2]] += tail * u
    return q
