"""Cutting line crops (the context margin, word boxes mapped back through it), the
Reader's per-line clean-up, and the pixel and box statistics they use."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ocrtool.enhance import pixel_median, pixel_percentiles
from ocrtool.geometry import box_frame
from ocrtool.layout.receipts import looks_like_a_speck, padded
from ocrtool.recognition.assemble import span_quad
from ocrtool.recognition.preprocess import (
    CROP_CONTEXT,
    MIN_WIDTH,
    batches_by_width,
    crop_line,
    resize_line,
)
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


def test_a_line_narrower_than_the_minimum_is_padded_not_stretched():
    line = np.full((40, 10), 200, np.uint8)
    line[:, 4:6] = 0  # a thin dark stroke in the middle; light on both sides
    out = resize_line(line, 32)
    assert out.shape == (32, MIN_WIDTH)
    # the stroke keeps its width at the new height (8 px wide -> 2 columns of ink), padded
    # evenly with the line's own background on both sides
    dark = np.nonzero(out.min(axis=0) < 100)[0]
    assert 1 <= len(dark) <= 3
    assert abs((dark.min() + dark.max()) / 2 - (MIN_WIDTH - 1) / 2) <= 1
    assert (out[:, :3] == 200).all() and (out[:, -3:] == 200).all()
    # wider lines are only scaled
    assert resize_line(np.full((40, 80), 200, np.uint8), 32).shape == (32, 64)


@pytest.mark.parametrize("font", ["DejaVuSerif.ttf", "DejaVuSansCondensed.ttf",
                                  "DejaVuSerif-Italic.ttf"])
def test_lone_punctuation_cut_on_its_box_reads_as_itself(font):
    # docbank-style word boxes: a lone mark, cut tight left and right on its ink and as
    # high as the font's line. Stretched to the minimum width, "." and ":" read as "-".
    from PIL import Image, ImageDraw, ImageFont

    from ocrtool.reader import Reader

    face = ImageFont.truetype(f"/usr/share/fonts/truetype/dejavu/{font}", 40)
    top, bottom = face.getbbox("Ag")[1], face.getbbox("Ag")[3]
    crops = []
    for mark in ",.;:":
        img = Image.new("L", (120, 80), 255)
        ImageDraw.Draw(img).text((40, 10), mark, font=face, fill=0)
        ink = np.nonzero((np.array(img) < 128).any(axis=0))[0]
        crops.append(np.array(img)[10 + top:10 + bottom, ink.min():ink.max() + 1])
    assert all(c.shape[1] * 32 / c.shape[0] < MIN_WIDTH for c in crops)
    assert [t for t, _ in Reader().recognize_text(crops)] == list(",.;:")


def test_pixel_percentiles_are_numpys_to_the_last_bit():
    """The histogram shortcut gives np.percentile's numbers (linear interpolation), on
    every size from one pixel up and at every percent the code asks for."""
    rng = np.random.default_rng(0)
    percents = [0, 1, 2, 37.5, 50, 98, 99, 100]
    for size in (1, 2, 3, 4, 7, 33, 1000, 4097):
        for pixels in (rng.integers(0, 256, size, dtype=np.uint8),
                       rng.integers(100, 104, size).astype(np.uint8)):  # many ties
            assert pixel_percentiles(pixels, percents) == list(np.percentile(pixels, percents))
            assert pixel_median(pixels) == np.median(pixels)
    grey = rng.integers(0, 256, (12, 40), dtype=np.uint8)
    assert pixel_percentiles(grey, [1, 99]) == list(np.percentile(grey, [1, 99]))
    floats = rng.uniform(0, 1, 50)  # not pixels: numpy's own answer
    assert pixel_percentiles(floats, [10]) == [np.percentile(floats, 10)]


def test_a_box_frame_is_worked_out_once_and_shared_read_only():
    quad = np.array([[10, 10], [90, 14], [89, 34], [9, 30]], np.float32)
    first, again = box_frame(quad), box_frame(quad.copy())
    assert again is first  # the same words are asked about several times a page
    turned = box_frame(quad, np.array([0.0, 1.0], np.float32))
    assert turned.length < turned.height  # an explicit direction is not the cached one
    with pytest.raises(ValueError):
        first.center[0] = 0.0
    assert first.length == pytest.approx(80.1, abs=0.05) and first.height > 18


def _lines(widths: list[int]) -> list[np.ndarray]:
    return [np.zeros((32, w), np.uint8) for w in widths]


def _fed(widths: list[int], runs: list[list[int]], batch_cost: int) -> int:
    """Columns fed for a cut into runs (each line padded to its run's widest, rounded
    up to the frame stride), plus batch_cost per run."""
    return sum(len(r) * -(-max(widths[i] for i in r) // 4) * 4 + batch_cost for r in runs)


def test_batches_keep_narrow_lines_apart_from_wide_ones():
    # two short words and a long line: padded together they would feed 3 x 400 columns
    widths = [40, 400, 44]
    assert batches_by_width(_lines(widths), 32, batch_cost=16) == [[0, 2], [1]]
    # with calls dear enough, one call is cheaper than two
    assert batches_by_width(_lines(widths), 32, batch_cost=800) == [[0, 2, 1]]


def test_batches_hold_every_line_once_at_most_batch_size_widest_last():
    widths = [int(w) for w in np.random.default_rng(0).integers(16, 900, 200)]
    runs = batches_by_width(_lines(widths), 32)
    assert sorted(i for r in runs for i in r) == list(range(200))
    assert all(len(r) <= 32 for r in runs)
    flat = [widths[i] for r in runs for i in r]
    assert flat == sorted(flat)


def test_batches_feed_no_more_columns_than_any_other_cut():
    # every cut of the width-sorted lines into runs, against the chosen one
    rng = np.random.default_rng(1)
    for _ in range(20):
        widths = [int(w) for w in rng.integers(16, 300, 7)]
        order = sorted(range(7), key=lambda i: widths[i])
        best = min(_fed(widths, [order[a:b] for a, b in zip((0,) + cuts, cuts + (7,))], 16)
                   for k in range(7) for cuts in itertools.combinations(range(1, 7), k)
                   if all(b - a <= 3 for a, b in zip((0,) + cuts, cuts + (7,))))
        assert _fed(widths, batches_by_width(_lines(widths), 3, batch_cost=16), 16) == best


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_a_word_cut_tight_keeps_its_last_mark(precision):
    # word boxes cut exactly on the ink, as users and benchmarks hand them over: read with
    # no background after the last glyph, the model dropped it ("Min." -> "Min", "ef-" ->
    # "ef", "[10]" -> "[101"); every line is now read with TRAILING_PAD columns after it
    from PIL import Image, ImageDraw, ImageFont

    from ocrtool.reader import Reader

    cases = [("DejaVuSerif.ttf", 24, "Min."), ("DejaVuSerif.ttf", 24, "M."),
             ("DejaVuSerif.ttf", 24, 'now"'), ("DejaVuSans.ttf", 24, "ef-"),
             ("DejaVuSerif.ttf", 32, "[10]")]
    crops = []
    for font, size, word in cases:
        face = ImageFont.truetype(f"/usr/share/fonts/truetype/dejavu/{font}", size)
        top, bottom = face.getbbox("Ag")[1], face.getbbox("Ag")[3]
        img = Image.new("L", (300, 80), 255)
        ImageDraw.Draw(img).text((40, 10), word, font=face, fill=0)
        ink = np.nonzero((np.array(img) < 128).any(axis=0))[0]
        crops.append(np.array(img)[10 + top:10 + bottom, ink.min():ink.max() + 1])
    read = [t for t, _ in Reader(precision=precision).recognize_text(crops)]
    assert read == [word for *_, word in cases]
