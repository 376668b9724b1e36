"""The layout stage: a page's word boxes -> lines in reading order, and back after reading.

`lay_out` runs before recognition (which crops it cuts); `finish` runs after it, when
the receipt rules can look at the text. Both are plain functions of boxes and results, so
the Reader, detector validation, threshold tuning, calibration and `fit_line_links` get
the same lines from the same words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..geometry import oriented_box
from ..results import Line
from .ends import along_unit, grown_along, line_end_growth
from .ink import extent_on_line, words_trimmed_to_ink
from .lines import DENSE_PAGE_WORDS, band_box, group_lines, line_boxes
from .order import reading_order
from .receipts import attach_trailing_marks, looks_like_a_speck, padded, reads_as_glyph


@dataclass
class PageLayout:
    """A page's lines in reading order: each line's box, its word boxes (in order along the
    line), its block id, and whether it is a lone faint glyph (kept only if it reads as one)."""

    lines: list[np.ndarray]
    words: list[list[np.ndarray]]
    blocks: list[int]
    faint: list[bool]

    @property
    def is_sparse(self) -> bool:
        """Fewer than DENSE_PAGE_WORDS words: a web graphic, a photo, a sign."""
        return sum(len(w) for w in self.words) < DENSE_PAGE_WORDS


def lay_out(words: Sequence[np.ndarray], scores: Sequence[float],
            faint_below: float) -> PageLayout:
    """Group word boxes into lines and order them.

    Words scoring under `faint_below` (the detector's text threshold: they were admitted
    as faint glyphs) are lines of their own: linked into rows, they merged separate fields.
    """
    words = list(words)
    faint = [s < faint_below for s in scores]
    groups = group_lines(words, alone=faint)
    quads = line_boxes(words, groups)
    order, blocks = reading_order(quads)
    return PageLayout([quads[i] for i in order],
                      [[words[j] for j in groups[i]] for i in order],
                      [blocks[i] for i in order],
                      [faint[groups[i][0]] for i in order])


def grown_line_ends(layout: PageLayout, gray: np.ndarray,
                    chosen: Sequence[int]) -> list[tuple[int, np.ndarray, list[np.ndarray]]]:
    """(index, box, word boxes) of the `chosen` lines whose boxes grow at their ends over
    the glyphs the detector cut off (`ends.py`), the first and last word's box with them.
    For sparse pages (`PageLayout.is_sparse`): on a receipt or a paper the next ink along
    a line is another field or column."""
    out = []
    for i in chosen:
        quad, quads = layout.lines[i], list(layout.words[i])
        lead, tail = line_end_growth(gray, quad)
        if not (lead or tail):
            continue
        if quads:  # word boxes may start at any corner: fitted along the line first
            ext = extent_on_line(quad, np.asarray(quads, np.float64))
            first, last = int(np.argmin(ext[:, 0])), int(np.argmax(ext[:, 1]))
            u = along_unit(quad)
            quads[first] = grown_along(oriented_box(quads[first], u), lead, 0.0)
            quads[last] = grown_along(oriented_box(quads[last], u), 0.0, tail)
        out.append((i, grown_along(quad, lead, tail), quads))
    return out


# A page with at least this many lines is running text (a page of a paper, a book, a
# letter), where a word's box is its line's band: the detector's word boxes hug the ink
# core (x-height words such as "we" get half the line's height), while text layers and
# document annotations (PDF, DocBank) give every word the line's height. Word box H-mean
# on docbank_pages_train's validation pages: 0.685 -> 0.897. Web graphics and scene
# photos keep the detector's boxes: a line there may join words of different sizes (on
# born_digital_train the same rule cost 0.06), and none of its 269 pages has more than
# 24 lines.
RUNNING_TEXT_LINES = 30


def finish(layout: PageLayout, lines: Sequence[Line], line_pad: float, width: int,
           height: int, find_marks: Callable[[list[Line]], list[Line]] | None = None,
           ) -> list[Line]:
    """The recognised lines (one per layout line) as reported: the receipt rules applied,
    the boxes padded and clipped to the page, and on a page of running text each word's
    box its line's band. `find_marks` adds what the detector missed between the lines
    (the Reader's spaced colons, `colons.py`) before the rules run."""
    kept = [ln for ln, faint in zip(lines, layout.faint) if not faint or reads_as_glyph(ln)]
    if find_marks is not None:
        kept = find_marks(kept)
    out = [padded(ln, line_pad, width, height)
           for ln in attach_trailing_marks(kept) if not looks_like_a_speck(ln)]
    if len(out) >= RUNNING_TEXT_LINES:
        out = [words_on_line_band(ln) for ln in out]
    return out


def trim_words_to_ink(lines: Sequence[Line], gray: np.ndarray) -> list[Line]:
    """The page's word boxes cut down to their ink (`ink.words_trimmed_to_ink`); on
    running text only along the line, so that words keep their line's band. Done on the
    final result, after the orientation checks, which read words cut with the margin the
    recognizer expects. Cutting words along the line (session 25) took word box H-mean
    on the held-out pages (`data/val`) from 0.8750 to 0.8922 on born_digital, 0.5865 ->
    0.6212 ic15, 0.8421 -> 0.8708 ic03, 0.9212 -> 0.9413 docbank (model card)."""
    across = len(lines) < RUNNING_TEXT_LINES
    return [words_trimmed_to_ink(ln, gray, across) for ln in lines]


def words_on_line_band(line: Line) -> Line:
    """The line with each word's box spanning the line's height (see RUNNING_TEXT_LINES)."""
    words = [replace(w, points=band_box(line.points, w.points).tolist()) for w in line.words]
    return replace(line, words=words)
