"""Spaced colons the detector misses are found between lines and read (`layout/colons.py`),
then joined to the nearer of their label and value (`receipts.attach_trailing_marks`)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocrtool.layout.colons import colon_candidates, insert_after
from ocrtool.layout.receipts import attach_trailing_marks
from ocrtool.reader import Reader
from ocrtool.results import Line, Word

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
GREY = (150, 150, 150)  # a faint colon, as thermal receipts print them


def _line(text: str, x0: float, x1: float, y0: float = 10, y1: float = 30) -> Line:
    points = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    return Line(text, 0.9, points, [Word(text, 0.9, points)])


def receipt_rows() -> np.ndarray:
    img = Image.new("RGB", (900, 200), "white")
    draw, font = ImageDraw.Draw(img), ImageFont.truetype(FONT, 28)
    draw.text((40, 40), "Total Amt Payable", font=font, fill="black")
    draw.text((310, 40), ":", font=font, fill=GREY)
    draw.text((600, 40), "79.50", font=font, fill="black")
    draw.text((40, 110), "Amount", font=font, fill="black")
    draw.text((420, 110), ":", font=font, fill=GREY)
    draw.text((440, 110), "JULIANA", font=font, fill="black")
    return np.array(img)


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader(threads=1)


def test_faint_spaced_colons_are_read_and_joined_to_the_nearer_line(reader):
    page = receipt_rows()
    found = reader.read(page).lines
    # case-blind: a lone capitalised word may come out in capitals (issue 16's case
    # weakness), which is not what this test is about
    assert [ln.text.lower() for ln in found] == ["total amt payable :", "79.50", "amount",
                                                 ":juliana"]
    reader_without = Reader.from_stages(reader.detection, reader.recognition)
    reader_without._with_spaced_colons = lambda rgb, lines: lines
    # the detector alone does not see them: the colon finder is what reads them
    assert [ln.text.lower() for ln in reader_without.read(page).lines] == [
        "total amt payable", "79.50", "amount", "juliana"]


def _gray_row(marks) -> np.ndarray:
    gray = np.full((120, 600), 255, np.uint8)
    for x in range(20, 200, 6):  # the label: strokes, a third of its box in ink
        gray[40:60, x:x + 2] = 0
    for x in range(450, 560, 6):  # the value
        gray[40:60, x:x + 2] = 0
    for draw in marks:
        draw(gray)
    return gray


def _colon(gray):
    gray[44:48, 300:304] = 0
    gray[54:58, 300:304] = 0


def _dashed_rule(gray):
    for y in range(0, 120, 8):
        gray[y:y + 4, 300:302] = 0


def _blob(gray):
    gray[42:58, 300:340] = 0


def test_a_colon_shaped_patch_is_a_candidate_and_rules_and_blobs_are_not():
    lines = [_line("LABEL", 20, 200, 40, 60), _line("VALUE", 450, 560, 40, 60)]
    found = colon_candidates(lines, _gray_row([_colon]))
    assert len(found) == 1 and found[0][0] == 0
    box = found[0][1]
    assert box[:, 0].min() < 300 and box[:, 0].max() > 304  # around the ink
    assert colon_candidates(lines, _gray_row([_dashed_rule])) == []
    assert colon_candidates(lines, _gray_row([_blob])) == []
    assert colon_candidates(lines, _gray_row([])) == []


def test_found_lines_go_right_after_the_line_they_follow():
    a, b, c = _line("A", 0, 10), _line("B", 20, 30), _line(":", 12, 14)
    assert [ln.text for ln in insert_after([a, b], [(0, c)])] == ["A", ":", "B"]


def test_a_colon_joins_its_label_or_its_value_whichever_is_nearer():
    label_side = attach_trailing_marks([_line("TOTAL", 10, 90), _line(":", 100, 106),
                                        _line("9.00", 300, 360)])
    assert [ln.text for ln in label_side] == ["TOTAL :", "9.00"]
    value_side = attach_trailing_marks([_line("CASHIER", 10, 110), _line(":", 250, 256),
                                        _line("JULIANA", 270, 380)])
    assert [ln.text for ln in value_side] == ["CASHIER", ": JULIANA"]
    assert [w.text for w in value_side[1].words] == [":", "JULIANA"]
    assert value_side[1].points[0][0] == 250
    alone = attach_trailing_marks([_line("TAX", 10, 60), _line(":", 200, 206),
                                   _line("1.02", 400, 450)])
    assert [ln.text for ln in alone] == ["TAX", ":", "1.02"]
