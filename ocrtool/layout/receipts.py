"""Receipt rules: what a page's recognised lines need before they are reported.

Scanned receipts break the general rules in a few known ways; each rule is here, with
what it fixed when it was added:
- a faint lone glyph (a quantity "1", a spaced ":") is a line of its own, kept only when
  it reads as such a glyph (`reads_as_glyph`);
- a line with no letter or digit read without confidence is a speck of dirt
  (`looks_like_a_speck`);
- a lone ":" beside a line on its row belongs to the nearer line (`attach_trailing_marks`);
- a reported line box is padded as annotators draw them, and a one-character line is as
  wide as its glyph's cell (`padded`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..geometry import expand_quad, oriented_box, quad_size
from ..results import Line, Points, Word
from .lines import line_direction, padded_line_box

SPECK_CONFIDENCE = 0.8  # see looks_like_a_speck
# a one-character line's reported box is at least this wide for its height: annotators
# box a character's cell, not its ink (a "1" is a third as wide as its cell)
GLYPH_CELL = 0.8
TRAILING_MARKS = (":",)  # read alone right after a line, they are that line's (see below)
MARK_GAP = 3.0  # ... when at most this many line heights past its end


def reads_as_glyph(line: Line) -> bool:
    """A faint lone component is kept only when it reads as what such components on
    receipts are: a quantity digit or a spaced colon. Read as letters, they were noise."""
    text = line.text.strip()
    return text.isdigit() or text in TRAILING_MARKS


def looks_like_a_speck(line: Line) -> bool:
    """No letter or digit, and read without confidence: on scanned receipts such lines are
    mostly specks of dirt read as '.', '-' or ':' (dropping them: sroie_dev line H-mean
    0.820 -> 0.830, CER 7.2% -> 7.0%; born_digital_dev unchanged)."""
    return line.confidence < SPECK_CONFIDENCE and not any(c.isalnum() for c in line.text)


def attach_trailing_marks(lines: list[Line]) -> list[Line]:
    """Join a lone ":" to the nearer of the lines it follows and precedes on its row.
    Receipts space their colons ("TOTAL   :", "CASHIER      : JULIANA"); the detector
    finds such a colon as a word of its own (or not at all, `colons.py`), too far for the
    link model to join, and alone it is dropped as a speck. Colons were the words
    sroie_dev's receipts lost most often (74 of 6,203). A colon belongs with what it is
    closer to: its label ("TOTAL :") or its value (": JULIANA"), as receipts' annotators
    box it; one far from both (`MARK_GAP`) stays alone."""
    marks = [k for k, ln in enumerate(lines) if ln.text.strip() in TRAILING_MARKS]
    if not marks:
        return lines
    merged = dict(enumerate(lines))
    for k in marks:
        target = _nearest_on_row(lines, k, set(marks))
        if target is not None:
            j, u, spaced, before = target
            merged[j] = _with_mark(merged[j], lines[k], u, spaced, before)
            del merged[k]
    return [merged[k] for k in sorted(merged)]


def _with_mark(line: Line, mark: Line, u: np.ndarray, spaced: bool, before: bool) -> Line:
    """`line` extended by `mark` after it (`before`: the mark precedes the line's text): a
    word of its own when spaced, else part of the nearest word."""
    def joined(a: Points, b: Points) -> Points:
        return oriented_box(np.concatenate([np.asarray(a, np.float32),
                                            np.asarray(b, np.float32)]), u).tolist()

    text = mark.text.strip()
    words = list(line.words)
    if spaced or not words:
        words = mark.words + words if before else words + mark.words
        line_text = f"{text} {line.text}" if before else f"{line.text} {text}"
    elif before:
        first = words[0]
        words[0] = Word(text + first.text, first.confidence * mark.confidence,
                        joined(first.points, mark.points))
        line_text = text + line.text
    else:
        last = words[-1]
        words[-1] = Word(last.text + text, last.confidence * mark.confidence,
                         joined(last.points, mark.points))
        line_text = line.text + text
    return replace(line, text=line_text, confidence=line.confidence * mark.confidence,
                   points=joined(line.points, mark.points), words=words)


def _nearest_on_row(lines: list[Line], k: int, skip: set[int]):
    """(index, direction, spaced, before) of the line nearest to mark k on its row, on
    either side, within `MARK_GAP` of that line's heights, or None. `before`: the mark
    precedes that line. A line the mark overlaps counts as the one it follows."""
    mark = np.asarray(lines[k].points, np.float32)
    best = None
    for j, line in enumerate(lines):
        if j in skip:
            continue
        q = np.asarray(line.points, np.float32)
        u = line_direction([q])
        v = np.array([-u[1], u[0]], np.float32)
        height = float(np.ptp(q @ v))
        if abs(float((mark @ v).mean() - (q @ v).mean())) >= 0.5 * height:
            continue
        after = float((mark @ u).min() - (q @ u).max())  # gap when the mark follows
        ahead = float((q @ u).min() - (mark @ u).max())  # gap when it precedes
        for gap, before in ((after, False), (ahead, True)):
            if -0.3 * height < gap < MARK_GAP * height and (best is None or gap < best[0]):
                best = (gap, j, u, gap > 0.25 * height, before)
    return None if best is None else best[1:]


def padded(line: Line, pad: float, width: int, height: int) -> Line:
    """The line with its reported box grown by `pad` of its height above and below (and a
    one-character line's to `GLYPH_CELL` of its height across)."""
    q = padded_line_box(line.points, pad)
    length, tall = quad_size(q)
    if len(line.text.strip()) == 1 and length < GLYPH_CELL * tall:
        q = expand_quad(q, (GLYPH_CELL * tall - length) / 2, 0.0)
    q = np.clip(q, 0, [width, height])
    return replace(line, points=q.tolist())
