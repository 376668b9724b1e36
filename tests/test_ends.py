"""Line ends grown over the glyphs the detector cut off (ocrtool/layout/ends.py), on drawn
pixels and through the Reader."""

from __future__ import annotations

import numpy as np
import pytest
from fonts import dejavu_sans
from PIL import Image, ImageDraw

from ocrtool import Reader
from ocrtool.layout import PageLayout, grown_line_ends
from ocrtool.layout.ends import END_GAP, grown_along, line_end_growth, walk_out
from ocrtool.recognition.assemble import read_lines


def cols(pattern: str) -> np.ndarray:
    return np.array([c == "#" for c in pattern])


def test_the_walk_takes_in_ink_runs_up_to_the_first_wide_gap():
    # the line's first column is 6; a gap of one column, a glyph (3-4), then a wide gap
    assert walk_out(cols("...##.####"), 6, -1, gap=1, reach=10) == 3
    # to the right: the line's last column is 1, then a glyph after a one-column gap
    assert walk_out(cols("##.##....."), 1, 1, gap=1, reach=10) == 3


def test_the_walk_gives_up_on_ink_that_runs_off_the_strip_or_past_the_reach():
    assert walk_out(cols("#.#.####"), 4, -1, gap=1, reach=10) == 0  # off the strip
    assert walk_out(cols("....######.#"), 11, -1, gap=1, reach=3) == 0  # past the reach
    assert walk_out(cols("......####"), 6, -1, gap=1, reach=10) == 0  # nothing beside


def page_with_glyphs(boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """A white page with black rectangles (x0, y0, x1, y1) standing in for glyphs."""
    gray = np.full((120, 400), 255, np.uint8)
    for x0, y0, x1, y1 in boxes:
        gray[y0:y1, x0:x1] = 0
    return gray


LINE = np.array([[100, 40], [300, 40], [300, 70], [100, 70]], np.float32)  # 30 px high
LETTERS = [(x, 42, x + 14, 68) for x in range(104, 290, 18)]  # inside the box


def test_a_line_grows_over_the_letter_it_cut_off():
    cut_off = (84, 42, 98, 68)  # a letter two pixels before the box starts
    lead, tail = line_end_growth(page_with_glyphs([cut_off, *LETTERS]), LINE)
    assert lead == pytest.approx(16, abs=1.5)  # back to the letter's first column
    assert tail == 0.0


def test_a_line_does_not_grow_over_a_word_space_a_dot_or_a_frame():
    word_away = (100 - 14 - int(END_GAP * 30) - 4, 42, 100 - int(END_GAP * 30) - 4, 68)
    dot = (92, 62, 96, 68)
    frame = (84, 0, 98, 120)  # taller than the strip looked at
    for extra in (word_away, dot, frame):
        assert line_end_growth(page_with_glyphs([extra, *LETTERS]), LINE) == (0.0, 0.0)


def test_growing_moves_only_the_ends_along_the_text():
    grown = grown_along(LINE, 10.0, 5.0)
    assert grown.tolist() == [[90, 40], [305, 40], [305, 70], [90, 70]]


def test_only_sparse_pages_grow_and_their_end_words_grow_with_the_line():
    gray = page_with_glyphs([(84, 42, 98, 68), *LETTERS])
    words = [[LINE]] * 40  # a receipt's worth of words
    assert not PageLayout([LINE] * 40, words, [0] * 40, [False] * 40).is_sparse
    sparse = PageLayout([LINE], [[LINE]], [0], [False])
    assert sparse.is_sparse
    ((i, quad, (word,)),) = grown_line_ends(sparse, gray, [0])
    assert i == 0 and quad[0][0] == pytest.approx(84, abs=1.5)
    assert word[0][0] == pytest.approx(84, abs=1.5)


def page_with_a_cut_off_letter() -> tuple[np.ndarray, PageLayout, float]:
    """"Creative Printing" drawn on a page, and a layout whose one line box starts in the
    middle of the "C" (as the detector's box may), and where it starts."""
    img = Image.new("RGB", (520, 120), "white")
    ImageDraw.Draw(img).text((30, 35), "Creative Printing", font=dejavu_sans(40),
                             fill="black")
    rgb = np.asarray(img)
    dark = rgb.min(axis=2) < 128
    ink = np.flatnonzero(dark.any(axis=0))
    top, bottom = np.flatnonzero(dark.any(axis=1))[[0, -1]]
    start = ink[0] + 22
    box = np.array([[start, top], [ink[-1] + 1, top], [ink[-1] + 1, bottom + 1],
                    [start, bottom + 1]], np.float32)
    return rgb, PageLayout([box], [[box]], [0], [False]), float(start)


def test_the_reader_reads_the_letter_a_line_box_cut_off():
    rgb, layout, start = page_with_a_cut_off_letter()
    reader = Reader(backend="onnx")
    (first,) = read_lines(reader.recognition, rgb, layout.lines, layout.words, layout.blocks)
    assert not first.text.startswith("C")  # the cut box alone misses it
    (line,) = reader._with_ends_on_ink(rgb, layout, [first])
    assert line.text == "Creative Printing"
    assert line.words[0].points[0][0] < start - 10  # the first word's box grew with it


def test_without_a_word_list_nothing_is_grown():
    rgb, layout, _ = page_with_a_cut_off_letter()
    reader = Reader(backend="onnx", lexicon=False)
    lines = read_lines(reader.recognition, rgb, layout.lines, layout.words, layout.blocks)
    assert not lines[0].text.startswith("C")
    assert reader._with_ends_on_ink(rgb, layout, lines) == lines
