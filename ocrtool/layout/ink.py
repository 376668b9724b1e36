"""Word boxes trimmed to the ink they hold.

A word box is either the detector's (its region blob, grown so that recognition sees
whole glyphs) or the part of its line's box that its CTC frames cover, with the line's
height: on a web graphic or a sign it stands well above and below the letters, and a
short word's CTC span ("is", "a") takes in some of the spaces beside it. Annotations,
search highlights and hOCR readers expect a box around the letters, as the word-boxed
data sets draw them. So after reading, each word's box is cut down across its height to
the band of rows that hold its ink, and along its length to the columns that hold ink,
with INK_PAD of its height kept on every side. Running text (`stage.RUNNING_TEXT_LINES`)
keeps its line bands across: there every word of a line has the line's height,
ascenders and descenders included, as text layers do; only its length is trimmed.
"""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np

from ..geometry import crop_quad, quad_size
from ..results import Line, Word

INK_SHARE = 0.02  # a row or column holds ink when this share of its pixels is ink
INK_PAD = 0.05  # of the box's height, kept on each side of the ink
MIN_BAND = 0.3  # a band thinner than this share of the box's height is not trusted
MIN_SPAN = 0.2  # a span shorter than this share of the box's length is not trusted
GAP_REACH = 0.5  # of the words' height: how far inside a CTC span a space may start


def ink_mask(gray: np.ndarray, quad) -> np.ndarray | None:
    """The quad's pixels, upright, True where ink (`inked`). None for a patch too small
    to tell."""
    return inked(crop_quad(gray, np.asarray(quad, np.float32)))


def inked(patch: np.ndarray) -> np.ndarray | None:
    """True where a gray patch holds ink: whichever side of its Otsu threshold its border
    (the background) is not on. None for a patch too small to tell."""
    if patch.shape[0] < 4 or patch.shape[1] < 2:
        return None
    patch = np.ascontiguousarray(patch)
    border = np.concatenate([patch[0], patch[-1], patch[:, 0], patch[:, -1]])
    threshold, _ = cv2.threshold(patch, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return patch > threshold if median(border) <= threshold else patch <= threshold


def median(values: np.ndarray) -> float:
    """`np.median` of a 1-D array, exactly, without its overhead (it runs for every word
    of a page, several times)."""
    n = values.size
    k = n // 2
    if n % 2:
        return float(np.partition(values, k)[k])
    part = np.partition(values, (k - 1, k))
    return (float(part[k - 1]) + float(part[k])) / 2


def column_share(ink: np.ndarray) -> np.ndarray:
    """The share of each column's pixels that are ink (`ink.mean(axis=0)`, faster)."""
    return np.count_nonzero(ink, axis=0) / ink.shape[0]


def inked_extent(share: np.ndarray, pad: float, size: int) -> tuple[float, float] | None:
    """(first, last) of the rows or columns whose ink share passes INK_SHARE, widened by
    `pad` pixels each side, as fractions of `size`; None when none holds ink."""
    held = np.flatnonzero(share > INK_SHARE)
    if len(held) == 0:
        return None
    return max(held[0] - pad, 0.0) / size, min(held[-1] + 1 + pad, size) / size


def ink_band(gray: np.ndarray, quad) -> tuple[float, float] | None:
    """(top, bottom) of the rows holding ink, as fractions of the quad's height across
    its first edge, padded by INK_PAD; None when the box holds no clear band."""
    ink = ink_mask(gray, quad)
    if ink is None:
        return None
    h = ink.shape[0]
    band = inked_extent(column_share(ink.T), INK_PAD * h, h)
    return band if band is not None and band[1] - band[0] >= MIN_BAND else None


def within_band(quad, top: float, bottom: float) -> np.ndarray:
    """The part of a clockwise quad between fractions `top` and `bottom` of its height."""
    q = np.asarray(quad, np.float32)
    return np.array([q[0] + top * (q[3] - q[0]), q[1] + top * (q[2] - q[1]),
                     q[1] + bottom * (q[2] - q[1]), q[0] + bottom * (q[3] - q[0])],
                    np.float32)


def extent_on_line(line_quad, quads: np.ndarray, corner: int = 1) -> np.ndarray:
    """(first, last) of each quad's corners along the line box's edge from its first
    corner to `corner` (1: along the line, its length; 3: across it, its height), as
    fractions of that edge: (n, 4, 2) quads -> (n, 2)."""
    q = np.asarray(line_quad, np.float64)
    e = q[corner] - q[0]
    f = (quads - q[0]) @ e / max(float(e @ e), 1e-9)
    return np.stack([f.min(axis=1), f.max(axis=1)], axis=1)


def moved_along(quads: np.ndarray, line_quad, spans: np.ndarray, now: np.ndarray) -> np.ndarray:
    """The (clockwise) word quads with their ends moved from `now` to `spans` (fractions
    of their line's length, as `extent_on_line` gives them), their extent across the line
    kept."""
    q = np.asarray(line_quad, np.float64)
    u = q[1] - q[0]
    shift = spans - now  # (n, 2): how far each end moves
    lead, tail = shift[:, :1] * u, shift[:, 1:] * u  # (n, 2) each
    return quads + np.stack([lead, tail, tail, lead], axis=1)


def blank_middle(blank: np.ndarray, lo: int, hi: int) -> float | None:
    """The middle (a column position) of the longest run of blank columns in [lo, hi)
    (the first, of equally long ones); None when there is none."""
    edges = np.diff(np.concatenate([[0], blank[lo:hi].astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if len(starts) == 0:
        return None
    k = int(np.argmax(ends - starts))
    return lo + (starts[k] + ends[k]) / 2


def gap_cuts(spans: np.ndarray, blank: np.ndarray, reach: float) -> np.ndarray:
    """Where each word of a line ends and the next begins, as fractions of the line's
    length: 0, the cuts between neighbours, 1.

    A word's CTC span covers only the frames around its characters' peaks: a wide glyph
    sticks out of it (a lone "M" in a table got a box a tenth of its width) and the
    spans of neighbours can overlap. The space between two words is the longest run of
    blank columns (`blank`, one per column of the line's crop) from `reach` columns
    inside the first's span end to `reach` inside the second's start (never past their
    middles); where the words touch, the middle of their spans' gap.
    """
    n = len(blank)
    cuts = [0.0]
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        lo = int(max(a1 * n - reach, (a0 + a1) / 2 * n, 0))
        hi = int(min(b0 * n + reach, (b0 + b1) / 2 * n, n))
        middle = blank_middle(blank, lo, hi) if hi > lo else None
        cuts.append((a1 + b0) / 2 if middle is None else middle / n)
    return np.asarray(cuts + [1.0])


def trimmed_across(word: Word, gray: np.ndarray) -> Word:
    """The word with its box cut down to its band of ink rows (kept when unclear)."""
    band = ink_band(gray, word.points)
    return word if band is None else replace(word, points=within_band(word.points, *band).tolist())


def ink_spans_on_line(patch: np.ndarray, spans: np.ndarray, bands: np.ndarray,
                      pads: np.ndarray) -> np.ndarray:
    """Each word's span along its line (fractions of the length of the line's crop
    `patch`) cut down to the columns holding ink within its band across the line
    (`bands`, fractions of the line's height), widened by `pads` columns; a span whose
    part of the line holds no clear ink is kept. Each word's part is thresholded on its
    own (a button's colours differ from the next word's)."""
    rows, n = patch.shape
    out = spans.copy()
    for i, ((first, last), (top, bottom), pad) in enumerate(
            zip(spans.tolist(), bands.tolist(), pads.tolist())):
        c0, c1 = max(math.floor(first * n), 0), min(math.ceil(last * n), n)
        r0, r1 = max(math.floor(top * rows), 0), min(math.ceil(bottom * rows), rows)
        ink = inked(patch[r0:r1, c0:c1])
        found = None if ink is None else inked_extent(column_share(ink), pad, c1 - c0)
        if found is not None and found[1] - found[0] >= MIN_SPAN:
            out[i] = (c0 + found[0] * (c1 - c0)) / n, (c0 + found[1] * (c1 - c0)) / n
    return out


def words_trimmed_to_ink(line: Line, gray: np.ndarray, across: bool = True) -> Line:
    """The line with each word's box cut down to its band of ink rows (when `across`),
    then along the line to the blank gaps beside it (`gap_cuts`) and down to its span of
    ink columns (`ink_spans_on_line`); the line's own box is kept. The line is cut out
    of the page once, not once per word."""
    words = [trimmed_across(w, gray) for w in line.words] if across else list(line.words)
    if not words:
        return line
    patch = crop_quad(gray, np.asarray(line.points, np.float32))
    quads = np.asarray([w.points for w in words], np.float64)
    spans = now = extent_on_line(line.points, quads)
    heights = (np.linalg.norm(quads[:, 3] - quads[:, 0], axis=1)
               + np.linalg.norm(quads[:, 2] - quads[:, 1], axis=1)) / 2
    px = patch.shape[1] / max(quad_size(line.points)[0], 1.0)  # crop columns per page pixel
    ink = inked(patch)
    if ink is not None:
        order = np.argsort(spans[:, 0], kind="stable")  # words as they stand along the line
        cuts = gap_cuts(spans[order], column_share(ink) <= INK_SHARE,
                        GAP_REACH * median(heights) * px)
        spans = np.empty_like(spans)
        spans[order] = np.stack([cuts[:-1], cuts[1:]], axis=1)
        spans = ink_spans_on_line(patch, spans, extent_on_line(line.points, quads, 3),
                                  INK_PAD * heights * px)
    moved = moved_along(quads, line.points, spans, now).astype(np.float32)
    return replace(line, words=[replace(w, points=q.tolist()) for w, q in zip(words, moved)])
