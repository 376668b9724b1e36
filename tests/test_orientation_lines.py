"""The per-line 180-degree check (issue 18, item 2): one line printed upside down on an
upright page is read the right way up, keeps its place in the text, and its boxes stay on
its ink in the original image's pixels; a clean page costs no extra reading."""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocrtool import Reader
from ocrtool.orientation import flip_candidates, flip_lines, turn_image
from ocrtool.results import Line

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
TEXT = ["INVOICE 2024-117", "Fresh apples 3.50", "FRAGILE handle with care",
        "Orange juice 4.10", "Total amount 9.85", "Thank you for shopping"]
TURNED = 2  # the line printed upside down
STRIP = (600, 50)  # the size of the strip it is printed on before being turned
LEFT = 40


def row_top(row: int) -> int:
    return 40 + 56 * row


@cache
def mixed_page() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A page whose line TURNED is printed upside down (a label on a box), and the pixel
    box of each of that line's words in the page as printed."""
    image = Image.new("RGB", (640, 90 + 56 * len(TEXT)), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 30)
    boxes = {}
    for row, line in enumerate(TEXT):
        if row != TURNED:
            draw.text((LEFT, row_top(row)), line, font=font, fill="black")
            continue
        strip = Image.new("RGB", STRIP, "white")
        strip_draw = ImageDraw.Draw(strip)
        x = 0.0
        for word in line.split():
            left, top, right, bottom = strip_draw.textbbox((x, 5), word, font=font)
            strip_draw.text((x, 5), word, font=font, fill="black")
            # turned by 180 in the strip, then pasted at (LEFT, top of the row - 5)
            w, h = STRIP
            x0, y0 = LEFT + w - right, row_top(row) - 5 + h - bottom
            x1, y1 = LEFT + w - left, row_top(row) - 5 + h - top
            boxes[word] = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
            x = right + strip_draw.textlength(" ", font=font)
        image.paste(strip.rotate(180), (LEFT, row_top(row) - 5))
    return np.asarray(image), boxes


def covered(inner: np.ndarray, outer: np.ndarray) -> float:
    """The share of box `inner` that lies inside box `outer`."""
    area, _ = cv2.intersectConvexConvex(np.float32(inner), np.float32(outer))
    return float(area) / float(cv2.contourArea(np.float32(inner)))


def span_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boxes' extents across the page (the way a level line runs)."""
    lo, hi = max(a[:, 0].min(), b[:, 0].min()), min(a[:, 0].max(), b[:, 0].max())
    union = max(a[:, 0].max(), b[:, 0].max()) - min(a[:, 0].min(), b[:, 0].min())
    return max(hi - lo, 0.0) / union


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader(threads=1)


def test_an_upside_down_line_reads_the_right_way_up_in_its_place(reader: Reader):
    rgb, boxes = mixed_page()
    page = reader.read(rgb)
    assert page.rotation == 0  # the page is upright: only the one line is turned
    texts = [ln.text.lower() for ln in page.lines]
    assert texts[TURNED] == TEXT[TURNED].lower()
    # without the check the same line reads as garbage: the check is what reads it
    as_is = Reader(threads=1, rotate="none").read(rgb)
    assert TEXT[TURNED].lower() not in [ln.text.lower() for ln in as_is.lines]
    # every other line reads as it did without the check
    others = [t for i, t in enumerate(texts) if i != TURNED]
    assert others == [ln.text.lower() for i, ln in enumerate(as_is.lines) if i != TURNED]


def test_the_turned_lines_boxes_stay_on_its_ink_in_original_pixels(reader: Reader):
    rgb, boxes = mixed_page()
    line = reader.read(rgb).lines[TURNED]
    points = np.asarray(line.points)
    ink = np.concatenate(list(boxes.values()))
    assert points[:, 0].min() <= ink[:, 0].min() + 5 and points[:, 0].max() >= ink[:, 0].max() - 5
    # the first corner is where the text starts: the bottom right of the box as printed
    assert points[0, 0] > points[2, 0] and points[0, 1] > points[2, 1]
    found = {w.text.lower(): w for w in line.words}
    for word, truth in boxes.items():
        got = np.asarray(found[word.lower()].points)
        # a word box spans its line's height; the ink of "care" is only x-height tall
        assert covered(truth, got) > 0.8 and span_iou(got, truth) > 0.6, word
        assert got[0, 0] > got[2, 0]  # each word's box starts at its text's start too


def test_the_check_works_on_a_turned_page_too(reader: Reader):
    """The whole page scanned upside down: the page turn is found, and the line printed
    upside down on it (now the right way up on the scan) is read and mapped back."""
    rgb, boxes = mixed_page()
    page = reader.read(turn_image(rgb, 180))
    assert page.rotation == 180
    assert page.lines[TURNED].text.lower() == TEXT[TURNED].lower()
    h, w = rgb.shape[:2]
    want = np.array([[w, h]], np.float32) - boxes["FRAGILE"]  # the same ink, turned
    got = np.asarray({wd.text.lower(): wd for wd in page.lines[TURNED].words}["fragile"].points)
    assert covered(want, got) > 0.8 and span_iou(got, want) > 0.6


def test_a_clean_page_reads_nothing_again(reader: Reader):
    rgb, _ = mixed_page()
    clean = Reader(threads=1, rotate="none").read(rgb)
    confident = [ln for ln in clean.lines if ln.confidence >= 0.5]
    calls = []

    def recognize(crops):
        calls.append(("recognize", len(crops)))
        return reader.recognition.recognize_caseless(crops)

    def read_boxes(image, quads):
        calls.append(("read_boxes", len(quads)))
        return reader.read_boxes(image, quads)

    assert flip_lines(rgb, confident, recognize, read_boxes) == confident
    assert calls == []
    # the garbage line is a candidate: the candidates are read turned in one call, only
    # the ones that read clearly so are read as found (a second call), and only those
    # reading better turned are read again as lines
    candidates = flip_candidates(clean.lines)
    assert TURNED in candidates
    checked = flip_lines(rgb, clean.lines, recognize, read_boxes)
    assert calls[0] == ("recognize", len(candidates))  # turned
    assert len(calls) == 3 and calls[1][0] == "recognize" and calls[2][0] == "read_boxes"
    assert 1 <= calls[2][1] <= calls[1][1] < len(candidates), calls
    assert checked[TURNED].text.lower() == TEXT[TURNED].lower()


def test_an_upright_line_in_doubt_is_not_turned(reader: Reader):
    """Lines the right way up, their first reading doubted (confidence 0): read turned
    they read worse than as found, so each keeps its first reading (read caseless, as the
    Reader checks them: "Thank you" turned reads "noʎ ʞuɐɥʇ"-like letters clearly enough,
    but less clearly than "Thank you" itself, whatever case the model gives it)."""
    rgb, _ = mixed_page()
    page = Reader(threads=1, rotate="none").read(rgb)
    doubted = [Line(ln.text, 0.0, ln.points, ln.words, ln.block)
               for i, ln in enumerate(page.lines) if i != TURNED]
    assert flip_candidates(doubted) == list(range(len(doubted)))
    checked = flip_lines(rgb, doubted, reader.recognition.recognize_caseless,
                         reader.read_boxes)
    assert [ln.text for ln in checked] == [ln.text for ln in doubted]
    assert [ln.points for ln in checked] == [ln.points for ln in doubted]
