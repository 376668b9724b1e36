"""Detector post-processing on hand-made maps, line grouping and reading order."""

from __future__ import annotations

import cv2
import numpy as np

from ocrtool.detection.postprocess import (
    DetectParams,
    group_lines,
    line_box,
    maps_to_words,
    prepare_image,
    reading_order,
)
from ocrtool.geometry import order_clockwise, polygon_iou


def _box(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def test_axis_aligned_component_gives_exact_box():
    region = np.zeros((40, 80), np.float32)
    region[10:21, 10:51] = 0.9  # pixel centres span x 10.5..50.5, y 10.5..20.5
    params = DetectParams(expand=0.0)
    quads, scores = maps_to_words(region, np.zeros_like(region), params, scale=1.0)
    assert len(quads) == 1 and abs(scores[0] - 0.9) < 1e-6
    # maps are at half resolution: image box = 2 x map box
    assert np.allclose(order_clockwise(quads[0]), _box(21, 21, 101, 41), atol=1e-3)


def test_expand_grows_box_by_fraction_of_height():
    region = np.zeros((40, 80), np.float32)
    region[10:21, 10:51] = 0.9
    quads, _ = maps_to_words(region, np.zeros_like(region), DetectParams(expand=0.5), 1.0)
    # short side 10 map px -> 5 px per side -> 10 image px per side
    assert np.allclose(order_clockwise(quads[0]), _box(11, 11, 111, 51), atol=1e-3)


def test_rotated_component_gives_rotated_box():
    region = np.zeros((200, 200), np.float32)
    rect = ((100.0, 100.0), (120.0, 20.0), 30.0)
    cv2.fillPoly(region, [cv2.boxPoints(rect).astype(np.int32)], 0.95)
    quads, _ = maps_to_words(region, np.zeros_like(region), DetectParams(expand=0.0), 1.0)
    assert len(quads) == 1
    assert polygon_iou(quads[0], cv2.boxPoints(rect) * 2) > 0.9


def _angle(quad: np.ndarray) -> float:
    (tl, tr) = order_clockwise(quad)[:2]
    return float(np.degrees(np.arctan2(tr[1] - tl[1], tr[0] - tl[0])))


def test_a_descender_at_one_end_does_not_tilt_a_level_word():
    region = np.zeros((60, 200), np.float32)
    region[20:32, 10:170] = 0.9  # a long level word ("lamp") ...
    region[14:20, 10:16] = 0.9  # ... with an ascender at its start
    region[32:38, 164:170] = 0.9  # ... and a descender at its end
    words = lambda midline: maps_to_words(  # noqa: E731
        region, np.zeros_like(region), DetectParams(expand=0.0, midline=midline), 1.0)[0]
    assert abs(_angle(words(0)[0])) > 0.5  # the smallest rectangle leans
    assert abs(_angle(words(DetectParams().midline)[0])) < 0.05


def test_a_tilted_word_keeps_its_tilt_along_its_midline():
    region = np.zeros((120, 240), np.float32)
    cv2.fillPoly(region, [cv2.boxPoints(((120, 60), (160, 12), 6.0)).astype(np.int32)], 0.9)
    quads, _ = maps_to_words(region, np.zeros_like(region), DetectParams(expand=0.0), 1.0)
    assert abs(_angle(quads[0]) - 6.0) < 0.5


def test_affinity_links_characters_and_threshold_filters_weak_blobs():
    region = np.zeros((40, 120), np.float32)
    affinity = np.zeros_like(region)
    for x in (10, 30, 50):  # three characters of one word
        region[10:20, x : x + 12] = 0.9
    affinity[12:18, 20:52] = 0.8  # links between them
    region[10:20, 90:100] = 0.4  # a weak blob: above low_text but below text_threshold
    quads, _ = maps_to_words(region, affinity, DetectParams(expand=0.0), 1.0)
    assert len(quads) == 1
    xs = quads[0][:, 0]
    assert xs.min() < 22 and xs.max() > 120


def test_blank_maps_give_no_boxes():
    z = np.zeros((64, 64), np.float32)
    assert maps_to_words(z, z, DetectParams(), 1.0) == ([], [])


def test_huge_image_is_downscaled_to_the_canvas():
    image = np.zeros((10000, 10000, 3), np.uint8)
    batch, scale = prepare_image(image, DetectParams(canvas=1280))
    assert batch.shape == (1, 3, 1280, 1280)
    assert abs(scale - 0.128) < 1e-9


def test_small_image_is_enlarged_and_padded_to_multiple_of_32():
    batch, scale = prepare_image(np.zeros((100, 250, 3), np.uint8), DetectParams())
    assert scale == 2.0
    assert batch.shape == (1, 3, 224, 512)


def test_words_on_one_row_form_one_line_in_order():
    words = [_box(200, 10, 260, 30), _box(10, 12, 80, 31), _box(90, 11, 190, 30)]
    lines = group_lines(words)
    assert lines == [[1, 2, 0]]


def test_distant_words_on_a_row_stay_separate_lines():
    words = [_box(10, 10, 80, 30), _box(600, 10, 660, 30)]
    assert sorted(map(sorted, group_lines(words))) == [[0], [1]]


def test_rotated_line_is_grouped_and_boxed_along_its_direction():
    angle = np.radians(30)
    u = np.array([np.cos(angle), np.sin(angle)])
    v = np.array([-np.sin(angle), np.cos(angle)])
    words = []
    for start in (0, 70, 140):
        corners = [start * u, (start + 60) * u, (start + 60) * u + 20 * v, start * u + 20 * v]
        words.append(np.array(corners, np.float32) + 100)
    lines = group_lines(words)
    assert lines == [[0, 1, 2]]
    box = line_box(words)
    direction = box[1] - box[0]
    assert abs(np.degrees(np.arctan2(direction[1], direction[0])) - 30) < 1.0
    assert np.allclose(box[0], words[0][0], atol=1e-3)  # starts at the first word


def test_two_columns_are_read_column_by_column():
    left = [_box(10, 20 + 40 * i, 300, 45 + 40 * i) for i in range(5)]
    right = [_box(360, 35 + 40 * i, 650, 60 + 40 * i) for i in range(5)]  # offset rows
    order, blocks = reading_order(left + right)
    assert order == list(range(10))
    assert len(set(blocks[:5])) == 1 and blocks[0] != blocks[5]


def test_table_is_read_row_by_row():
    cells = [_box(10 + 150 * c, 20 + 40 * r, 110 + 150 * c, 45 + 40 * r)
             for r in range(3) for c in range(3)]
    shuffled = [cells[i] for i in (4, 0, 8, 2, 6, 1, 3, 5, 7)]
    order, _ = reading_order(shuffled)
    assert [(4, 0, 8, 2, 6, 1, 3, 5, 7)[i] for i in order] == list(range(9))


def test_receipt_with_touching_slanted_rows_is_read_row_by_row():
    # rows 22 px apart, boxes 26 px tall (they touch: no clean horizontal gap), prices
    # drifting down 4 px per row as on a photographed receipt
    items = [_box(10, 20 + 22 * r, 200, 46 + 22 * r) for r in range(5)]
    prices = [_box(400, 24 + 26 * r - 4 * r, 460, 50 + 26 * r - 4 * r) for r in range(5)]
    boxes = [b for pair in zip(items, prices) for b in pair]
    order, blocks = reading_order(boxes[::-1])
    assert [len(boxes) - 1 - i for i in order] == list(range(10))
    assert len(set(blocks)) == 1


def test_paragraph_gap_starts_a_new_block():
    lines = [_box(10, 10, 300, 30), _box(10, 40, 300, 60), _box(10, 140, 300, 160)]
    order, blocks = reading_order(lines)
    assert order == [0, 1, 2]
    assert blocks[0] == blocks[1] != blocks[2]


def _rotated(box: np.ndarray, degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    return box @ rot.T


def test_skewed_receipt_keeps_item_and_price_on_one_row_and_block():
    # an item and its price far to the right, the photo turned by 2 degrees: the price's
    # centre sits 0.6 line heights lower than its item's, yet they share a row
    rows = []
    for r in range(6):
        y = 20 + 26 * r  # 12 px text, 14 px gaps: wider than a line, still one block
        rows += [_box(10, y, 150, y + 12), _box(400, y, 440, y + 12)]
    boxes = [_rotated(b, 2.0) for b in rows]
    order, blocks = reading_order(boxes[::-1])
    assert [len(boxes) - 1 - i for i in order] == list(range(12))
    assert len(set(blocks)) == 1


def _item_table(rows: int = 6) -> list[np.ndarray]:
    """Item (two words, 0.3 text heights apart) | quantity | price columns; quantity and
    price only 0.9 text heights apart."""
    words = []
    for r in range(rows):
        y = 20 + r * 30
        words += [_box(10, y, 60, y + 20), _box(66, y, 120, y + 20),
                  _box(200, y, 250, y + 20), _box(268, y, 300, y + 20)]
    return words


def test_link_model_keeps_close_table_columns_apart():
    words = _item_table()
    # the plain gap rule joins quantity and price (gap 18 px < 1.2 x 20 px) on every row
    assert sorted(map(sorted, group_lines(words, learned=False)))[:2] == [[0, 1], [2, 3]]
    # a gap three times the page's word spacing, repeated on every row as a gutter, tells
    # the link model that they are separate fields; the item's words stay one line
    expected = [[k, k + 1] if k % 4 == 0 else [k] for k in range(len(words)) if k % 4 != 1]
    assert sorted(map(sorted, group_lines(words))) == expected


def test_link_model_keeps_words_of_a_paragraph_together():
    words = []
    for r in range(4):
        y, x = 20 + r * 30, 10
        for width in [60, 40, 90, 30, 70][: 5 - r % 2]:
            words.append(_box(x, y, x + width, y + 20))
            x += width + 8
    assert [len(g) for g in group_lines(words)] == [5, 4, 5, 4]


def test_faint_colon_beside_a_word_joins_it_and_other_faint_marks_do_not():
    region = np.zeros((40, 120), np.float32)
    region[10:20, 10:50] = 0.9  # a word, 10 map pixels tall
    region[11:19, 62:65] = 0.5  # a faint colon 1.2 heights to its right, 3 px wide
    region[11:19, 80:87] = 0.5  # a faint mark 7 px wide (a short word or digit): dropped
    region[30:36, 100:103] = 0.5  # a faint speck on no word's row: dropped
    params = DetectParams(expand=0.0)
    quads, _ = maps_to_words(region, np.zeros_like(region), params, scale=1.0)
    assert len(quads) == 1
    x0, y0 = quads[0].min(axis=0) / 2
    x1, y1 = quads[0].max(axis=0) / 2
    # pixel centres: the word spans 10.5..49.5, and now ends after the colon (64.5)
    assert np.allclose((x0, y0, x1, y1), (10.5, 10.5, 64.5, 19.5))
    off = DetectParams(expand=0.0, satellite_threshold=1.0)
    quads, _ = maps_to_words(region, np.zeros_like(region), off, scale=1.0)
    assert len(quads) == 1 and np.isclose(quads[0].max(axis=0)[0] / 2, 49.5)


def test_faint_narrow_glyph_of_word_height_becomes_a_word():
    region = np.zeros((60, 200), np.float32)
    for x in (10, 60, 110):  # three words, 10 map pixels tall
        region[10:20, x : x + 40] = 0.9
    region[40:50, 20:23] = 0.55  # a faint "1": word height, 3 px wide, on no word's row
    region[40:50, 80:90] = 0.55  # a faint square blob of the same height: not a glyph
    region[40:43, 150:153] = 0.55  # a faint speck, too short
    params = DetectParams(expand=0.0)
    quads, scores = maps_to_words(region, np.zeros_like(region), params, scale=1.0)
    assert len(quads) == 4 and sorted(scores)[0] == np.float32(0.55)
    faint = quads[int(np.argmin(scores))] / 2
    assert np.allclose((faint.min(axis=0), faint.max(axis=0)), ((20.5, 40.5), (22.5, 49.5)))
    off = maps_to_words(region, np.zeros_like(region), DetectParams(faint_glyph=1.0), 1.0)
    assert len(off[0]) == 3


def _page_with_stack(bridge_width: int) -> np.ndarray:
    """Three level words, 10 map pixels tall, and below them two short lines (10 px tall,
    4 px apart) joined at one point by a bridge `bridge_width` pixels wide, as a comma
    touching the line below joins them on a tightly printed receipt."""
    region = np.zeros((80, 200), np.float32)
    for x in (10, 70, 130):
        region[5:15, x : x + 50] = 0.9
    region[30:40, 40:80] = 0.9  # "(201283-M)"
    region[44:54, 20:100] = 0.9  # "LOT LG 315, ..."
    region[40:44, 60 : 60 + bridge_width] = 0.9
    return region


def test_two_lines_joined_by_a_thin_bridge_are_cut_apart():
    region = _page_with_stack(bridge_width=3)
    quads, scores = maps_to_words(region, np.zeros_like(region), DetectParams(expand=0.0), 1.0)
    assert len(quads) == 5 and len(scores) == 5
    stack = sorted((q / 2 for q in quads if q[:, 1].min() / 2 > 20), key=lambda q: q[:, 1].min())
    tops, bottoms = [q[:, 1].min() for q in stack], [q[:, 1].max() for q in stack]
    # the cut falls inside the bridge; each line keeps its own rows and its own width
    assert np.isclose(tops[0], 30.5, atol=0.05) and 39.4 <= bottoms[0] < 44
    assert 40 <= tops[1] <= 44.6 and np.isclose(bottoms[1], 53.5, atol=0.05)
    assert np.ptp(stack[0][:, 0]) < 45 and np.ptp(stack[1][:, 0]) > 75
    off = maps_to_words(region, np.zeros_like(region), DetectParams(stacked_lines=0), 1.0)
    assert len(off[0]) == 4


def test_a_tall_word_and_a_wide_join_are_not_cut():
    region = _page_with_stack(bridge_width=30)  # no neck: half as wide as the upper line
    assert len(maps_to_words(region, np.zeros_like(region), DetectParams(), 1.0)[0]) == 4
    region = np.zeros((80, 200), np.float32)
    for x in (10, 70, 130):
        region[5:15, x : x + 50] = 0.9
    region[30:60, 20:120] = 0.9  # a heading three times as tall: one word
    assert len(maps_to_words(region, np.zeros_like(region), DetectParams(), 1.0)[0]) == 4


def test_a_stack_taller_than_wide_is_cut_between_its_lines_not_its_letters():
    region = np.zeros((100, 200), np.float32)
    for x in (10, 70, 130):
        region[5:15, x : x + 50] = 0.9
    for y in (30, 44, 58):  # three 12-pixel-wide lines ("1", "22", "3") bridged on the left
        region[y : y + 10, 50:62] = 0.9
    region[40:44, 50:52] = 0.9
    region[54:58, 50:52] = 0.9
    quads, _ = maps_to_words(region, np.zeros_like(region), DetectParams(expand=0.0), 1.0)
    stack = sorted((q / 2 for q in quads if q[:, 1].min() / 2 > 20), key=lambda q: q[:, 1].min())
    assert len(stack) == 3
    assert all(np.ptp(q[:, 0]) >= 11 and np.ptp(q[:, 1]) <= 14 for q in stack)
