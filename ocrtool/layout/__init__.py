"""Layout: words -> lines -> blocks -> reading order, and the receipt rules.

    lines.py       which word boxes form a line (link model or gap rule), line boxes
    line_links.py  the link model: features of a neighbour pair, a numpy tree ensemble
    ends.py        line ends grown over the glyphs the detector cut off
    ink.py         word boxes trimmed to their ink
    order.py       blocks and reading order by recursive XY-cut
    receipts.py    faint glyphs, specks, trailing colons, glyph cells, padded line boxes
    union_find.py  the one union-find
    stage.py       `lay_out` (before recognition) and `finish` (after it)

Box measurements (centre, direction, length, height) come from `ocrtool.geometry`.
"""

from .stage import PageLayout, finish, grown_line_ends, lay_out, trim_words_to_ink

__all__ = ["PageLayout", "finish", "lay_out", "trim_words_to_ink", "grown_line_ends"]
