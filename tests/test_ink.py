"""Word boxes trimmed to their rows of ink (ocrtool/layout/ink.py), on drawn pixels and
through the Reader."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocrtool import Reader
from ocrtool.geometry import quad_size
from ocrtool.layout import trim_words_to_ink
from ocrtool.layout.ink import INK_PAD, gap_cuts, ink_band, ink_spans_on_line, words_trimmed_to_ink
from ocrtool.layout.stage import RUNNING_TEXT_LINES
from ocrtool.results import Line, Word

BOX = [[10, 0], [110, 0], [110, 100], [10, 100]]


def page_with_bar(top: int, bottom: int, ink: int = 0, paper: int = 255) -> np.ndarray:
    gray = np.full((100, 120), paper, np.uint8)
    gray[top:bottom, 20:100] = ink
    return gray


@pytest.mark.parametrize("ink, paper", [(0, 255), (250, 30)])  # dark on light, light on dark
def test_the_band_is_the_inked_rows_plus_the_pad(ink, paper):
    top, bottom = ink_band(page_with_bar(40, 60, ink, paper), BOX)
    assert top == pytest.approx(0.40 - INK_PAD, abs=0.015)
    assert bottom == pytest.approx(0.60 + INK_PAD, abs=0.015)


def test_a_box_without_ink_has_no_band():
    assert ink_band(np.full((100, 120), 200, np.uint8), BOX) is None


def test_words_lose_the_empty_rows_and_columns():
    # the bar fills columns 20..100 of the box's 10..110; its band is 30 px high, so the
    # pad is 1.5 px each side
    line = Line("ab", 0.9, BOX, [Word("ab", 0.9, BOX)])
    (word,) = words_trimmed_to_ink(line, page_with_bar(40, 60)).words
    pts = np.asarray(word.points)
    assert pts[:, 0].min() == pytest.approx(18.5, abs=1.0)
    assert pts[:, 0].max() == pytest.approx(101.5, abs=1.0)
    assert pts[:, 1].min() == pytest.approx(35, abs=1.5)
    assert pts[:, 1].max() == pytest.approx(65, abs=1.5)
    assert words_trimmed_to_ink(line, page_with_bar(40, 60)).points == BOX  # line kept


def test_the_span_is_the_inked_columns_plus_the_pad():
    whole, pad = np.array([[0.0, 1.0]]), np.array([5.0])  # 5 px: INK_PAD of the 100 px height
    ((start, end),) = ink_spans_on_line(page_with_bar(40, 60)[:, 10:110], whole, whole, pad)
    assert start == pytest.approx(0.05, abs=0.015)
    assert end == pytest.approx(0.95, abs=0.015)
    speck = np.full((100, 120), 255, np.uint8)
    speck[40:60, 50:55] = 0  # 5 of 100 columns: too short a span to trust
    assert ink_spans_on_line(speck[:, 10:110], whole, whole, pad).tolist() == [[0.0, 1.0]]


def test_running_text_keeps_its_line_bands_and_trims_along_them():
    line = Line("ab", 0.9, BOX, [Word("ab", 0.9, BOX)])
    page = page_with_bar(40, 60)
    trimmed = trim_words_to_ink([line] * RUNNING_TEXT_LINES, page)
    pts = np.asarray(trimmed[0].words[0].points)
    assert (pts[:, 1].min(), pts[:, 1].max()) == (0, 100)
    assert pts[:, 0].min() == pytest.approx(15, abs=1.0)
    assert pts[:, 0].max() == pytest.approx(105, abs=1.0)
    assert all(ln.points == BOX for ln in trimmed)
    assert np.ptp(np.asarray(trim_words_to_ink([line], page)[0].words[0].points)[:, 1]) < 40


def test_the_reader_boxes_a_word_around_its_letters():
    img = Image.new("RGB", (420, 160), "white")
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 40)
    ImageDraw.Draw(img).text((40, 50), "Harbour", font=font, fill="black")
    rgb = np.asarray(img)
    ys = np.flatnonzero((rgb.min(axis=2) < 128).any(axis=1))
    page = Reader(backend="onnx").read(rgb)
    (line,) = page.lines
    (word,) = line.words
    assert word.text == "Harbour"
    ink_height = ys[-1] + 1 - ys[0]
    # the box's height is the letters' and at most INK_PAD of it above and below (plus a
    # pixel of rounding each side), where the reported line box stands well beyond them
    assert quad_size(word.points)[1] <= ink_height * (1 + 2 * INK_PAD) + 2
    assert quad_size(line.points)[1] > ink_height * (1 + 4 * INK_PAD)
    centre = np.asarray(word.points)[:, 1].mean()
    assert abs(centre - (ys[0] + ys[-1] + 1) / 2) <= 2


def test_the_trim_runs_on_the_upright_page_and_lands_on_the_turned_one():
    # a page scanned sideways: the trim sees the page as read (upright), and the trimmed
    # box goes back onto the sideways pixels
    from ocrtool.orientation import read_any_way_up, turn_image

    upright = np.stack([page_with_bar(40, 60)] * 3, axis=-1)
    sideways = turn_image(upright, 90)
    line = Line("ab", 0.9, BOX, [Word("ab", 0.9, BOX)])
    seen = []

    def polish(rgb, lines):
        seen.append(rgb.shape)
        return trim_words_to_ink(lines, rgb[:, :, 0])

    lines, rotation = read_any_way_up(sideways, 270, lambda rgb: [line], None, polish=polish)
    assert rotation == 270 and seen == [upright.shape]
    (word,) = lines[0].words
    pts = np.asarray(word.points)
    # upright rows 35..65 are columns 100-65..100-35 of the page turned clockwise
    assert pts[:, 0].min() == pytest.approx(35, abs=1.5)
    assert pts[:, 0].max() == pytest.approx(65, abs=1.5)


def test_a_word_is_boxed_around_all_its_ink_when_its_ctc_span_is_narrow():
    # two words' ink at columns 20..50 and 70..100; the recognizer's spans cover only
    # their middles: each box grows to the gap between them, then shrinks to its ink
    page = np.full((100, 120), 255, np.uint8)
    page[40:60, 20:50] = 0
    page[40:60, 70:100] = 0
    narrow = [[[30, 0], [40, 0], [40, 100], [30, 100]], [[80, 0], [90, 0], [90, 100], [80, 100]]]
    line = Line("ab cd", 0.9, BOX, [Word(t, 0.9, q) for t, q in zip(("ab", "cd"), narrow)])
    first, second = (np.asarray(w.points) for w in words_trimmed_to_ink(line, page).words)
    assert first[:, 0].min() == pytest.approx(18.5, abs=1.0)
    assert first[:, 0].max() == pytest.approx(51.5, abs=1.0)
    assert second[:, 0].min() == pytest.approx(68.5, abs=1.0)
    assert second[:, 0].max() == pytest.approx(101.5, abs=1.0)


def test_words_are_cut_apart_in_the_blank_gap_even_where_their_ctc_spans_overlap_it():
    # ink at columns 10..40 and 46..90 of a 100-column line; the spans reach into each
    # other (0.2..0.5 and 0.42..0.8): the cut is the middle of the blank run 40..46
    blank = np.ones(100, bool)
    blank[10:40] = False
    blank[46:90] = False
    cuts = gap_cuts(np.array([[0.2, 0.5], [0.42, 0.8]]), blank, reach=10)
    assert cuts.tolist() == pytest.approx([0.0, 0.43, 1.0])
    touching = np.zeros(100, bool)  # no blank column: the middle of the spans' gap
    assert gap_cuts(np.array([[0.2, 0.5], [0.42, 0.8]]), touching, 10)[1] == pytest.approx(0.46)


def test_words_listed_out_of_order_still_get_their_own_ink():
    page = np.full((100, 120), 255, np.uint8)
    page[40:60, 20:50] = 0
    page[40:60, 70:100] = 0
    right = [[80, 0], [90, 0], [90, 100], [80, 100]]
    left = [[30, 0], [40, 0], [40, 100], [30, 100]]
    line = Line("cd ab", 0.9, BOX, [Word("cd", 0.9, right), Word("ab", 0.9, left)])
    cd, ab = (np.asarray(w.points) for w in words_trimmed_to_ink(line, page).words)
    assert cd[:, 0].min() == pytest.approx(68.5, abs=1.0)
    assert ab[:, 0].max() == pytest.approx(51.5, abs=1.0)
