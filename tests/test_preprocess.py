"""Cutting line crops (the context margin, word boxes mapped back through it) and the
Reader's per-line clean-up."""

from __future__ import annotations

import numpy as np

from ocrtool.layout.receipts import looks_like_a_speck, padded
from ocrtool.recognition.assemble import span_quad
from ocrtool.recognition.preprocess import CROP_CONTEXT, crop_line
from ocrtool.results import Line


def _box(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def test_crop_keeps_context_around_a_tight_box():
    # a dark vertical bar ('I') touching the box's left edge stays inside the crop, with
    # background before it
    image = np.full((150, 400), 255, np.uint8)
    image[40:80, 50:55] = 0
    box = _box(50, 40, 250, 80)  # 40 px high: cut at its own size
    crop = crop_line(image, box)
    assert crop.shape[0] == round(40 * (1 + 2 * CROP_CONTEXT[1]))
    assert crop.shape[1] == round(200 + 2 * 40 * CROP_CONTEXT[0])
    dark = np.nonzero(crop.min(axis=0) < 128)[0]
    assert dark.min() >= 1 and abs(dark.min() - 40 * CROP_CONTEXT[0]) <= 1
    assert crop_line(image, box, context=(0, 0)).shape == (40, 200)


def test_span_quads_map_back_onto_the_box_not_the_context():
    quad = _box(100, 10, 300, 30)  # 200 x 20; cut with context it is 32 px high
    crop = crop_line(np.zeros((50, 400), np.uint8), quad)
    crop_w = crop.shape[1] * 32.0 / crop.shape[0]
    # frames covering the whole crop give the whole box, clipped to it
    whole = span_quad(quad, 0, int(crop_w // 4), crop_w, CROP_CONTEXT)
    assert np.allclose(whole, quad, atol=1e-3)
    # the frame at the middle of the crop lands at the middle of the box
    mid = int(crop_w / 8)
    part = span_quad(quad, mid, mid, crop_w, CROP_CONTEXT)
    assert abs(part[:, 0].mean() - 200) < 8


def test_reported_line_box_grows_above_and_below_only_within_the_image():
    line = Line("text", 0.9, _box(10, 5, 110, 25).tolist())
    grown = np.array(padded(line, 0.1, 200, 100).points)
    assert np.allclose(grown, _box(10, 3, 110, 27), atol=1e-4)
    clipped = np.array(padded(line, 0.5, 200, 30).points)
    assert np.allclose(clipped, _box(10, 0, 110, 30), atol=1e-4)
    assert padded(line, 0.1, 200, 100).text == "text"


def test_only_unsure_lines_without_letters_or_digits_count_as_specks():
    box = _box(0, 0, 10, 10).tolist()
    assert looks_like_a_speck(Line(".", 0.3, box))
    assert looks_like_a_speck(Line("- :", 0.5, box))
    assert not looks_like_a_speck(Line(":", 0.95, box))  # a sure colon stays
    assert not looks_like_a_speck(Line("a.", 0.1, box))  # unsure text stays
