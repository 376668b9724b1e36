"""Word boxes trimmed to their rows of ink (ocrtool/layout/ink.py), on drawn pixels and
through the Reader."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocrtool import Reader
from ocrtool.geometry import quad_size
from ocrtool.layout import trim_words_to_ink
from ocrtool.layout.ink import INK_PAD, ink_band, words_trimmed_to_ink
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


def test_words_keep_their_length_and_lose_the_empty_rows():
    line = Line("ab", 0.9, BOX, [Word("ab", 0.9, BOX)])
    (word,) = words_trimmed_to_ink(line, page_with_bar(40, 60)).words
    pts = np.asarray(word.points)
    assert pts[:, 0].min() == pytest.approx(10) and pts[:, 0].max() == pytest.approx(110)
    assert pts[:, 1].min() == pytest.approx(35, abs=1.5)
    assert pts[:, 1].max() == pytest.approx(65, abs=1.5)
    assert words_trimmed_to_ink(line, page_with_bar(40, 60)).points == BOX  # line kept


def test_running_text_keeps_its_line_bands():
    line = Line("ab", 0.9, BOX, [Word("ab", 0.9, BOX)])
    page = page_with_bar(40, 60)
    assert trim_words_to_ink([line] * RUNNING_TEXT_LINES, page) == [line] * RUNNING_TEXT_LINES
    assert trim_words_to_ink([line], page)[0].words[0].points != BOX


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
