"""Synthetic data engine: labels match pixels, boxes nest, maps peak where characters are,
seeds reproduce bytes, and the CLI writes the shared format."""

from __future__ import annotations

import json
import random

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from ocrtool.commands.synth import synth
from ocrtool.detection.targets import (
    affinity_quads,
    ink_split_line_quad,
    ink_split_word_quad,
    region_and_affinity_maps,
    split_line_quad,
    split_word_quad,
)
from ocrtool.synth.fonts import discover_fonts
from ocrtool.synth.lines import render_line
from ocrtool.synth.pages import render_page
from ocrtool.synth.textline import draw_line, rotation_matrix, warp_line

TOL = 1.5  # px: JSON rounds to 0.1 px and glyph edges are anti-aliased


def _font(name: str = "DejaVuSans"):
    fonts = [f for f in discover_fonts() if f.name == name]
    if not fonts:
        pytest.skip(f"font {name} not installed")
    return fonts[0]


def _inside(points, quad, tol: float = TOL) -> bool:
    poly = np.asarray(quad, np.float32).reshape(-1, 1, 2)
    return all(
        cv2.pointPolygonTest(poly, (float(x), float(y)), True) >= -tol
        for x, y in np.asarray(points).reshape(-1, 2)
    )


# ----------------------------------------------------------------------------- targets


def test_region_map_peaks_at_character_centres():
    word = np.array(
        [
            [[10, 20], [30, 20], [30, 50], [10, 50]],
            [[34, 20], [54, 20], [54, 50], [34, 50]],
            [[58, 20], [78, 20], [78, 50], [58, 50]],
        ],
        np.float32,
    )
    region, affinity = region_and_affinity_maps((80, 100), [word], scale=1.0)
    assert region.shape == (80, 100) and region.dtype == np.float32
    for m in (region, affinity):
        assert m.min() >= 0.0 and m.max() <= 1.0
    for q in word:
        cx, cy = q.mean(axis=0)
        y0, x0 = int(cy) - 3, int(cx) - 3
        patch = region[y0 : y0 + 7, x0 : x0 + 7]
        py, px = np.unravel_index(patch.argmax(), patch.shape)
        assert patch.max() > 0.95
        assert abs(x0 + px + 0.5 - cx) <= 1 and abs(y0 + py + 0.5 - cy) <= 1
    assert region[5, 5] == 0.0  # far from any character
    # affinity peaks between neighbours, not on a character centre
    for q in affinity_quads(word):
        cx, cy = q.mean(axis=0)
        assert affinity[int(cy), int(cx)] > 0.9
    assert affinity[35, 20] < 0.2


def test_maps_scale_and_empty():
    r, a = region_and_affinity_maps((101, 203), [], scale=0.5)
    assert r.shape == a.shape == (50, 102) and r.max() == 0
    tiny = split_word_quad(np.array([[10, 10], [16, 10], [16, 13], [10, 13]]), 3)
    r, _ = region_and_affinity_maps((40, 40), [tiny], scale=0.5)
    assert r.max() > 0.5  # characters smaller than a map pixel still leave a mark


def test_split_word_and_line_quads():
    quad = np.array([[0, 0], [100, 0], [100, 20], [0, 20]], np.float32)
    chars = split_word_quad(quad, 4)
    assert chars.shape == (4, 4, 2)
    assert np.allclose(chars[0, 0], [0, 0]) and np.allclose(chars[-1, 2], [100, 20])
    assert np.allclose(chars[:, 1, 0], [25, 50, 75, 100])
    words = split_line_quad(np.array([[0, 0], [70, 0], [70, 10], [0, 10]]), "ab cd e")
    assert [len(w) for w in words] == [2, 2, 1]
    assert np.allclose(words[1][0, 0], [30, 0]) and np.allclose(words[2][0, 0], [60, 0])
    # a vertical word box is split along its long side
    tall = split_word_quad(np.array([[0, 0], [10, 0], [10, 100], [0, 100]]), 5)
    assert np.ptp(tall[:, :, 1]) > 90


def test_ink_split_finds_proportional_letters_or_gives_up():
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(_font().path, 40)
    img = Image.new("RGB", (260, 70), (30, 90, 30))  # light text on a dark box
    ImageDraw.Draw(img).text((20, 10), "Wild", font=font, fill=(240, 240, 240))
    rgb = np.asarray(img)
    ys, xs = np.nonzero(rgb[..., 0] > 120)
    quad = np.array([[xs.min() - 3, ys.min() - 3], [xs.max() + 3, ys.min() - 3],
                     [xs.max() + 3, ys.max() + 3], [xs.min() - 3, ys.max() + 3]], np.float32)
    chars = ink_split_word_quad(rgb, quad, 4)
    assert chars is not None and chars.shape == (4, 4, 2)
    widths = chars[:, 1, 0] - chars[:, 0, 0]
    assert widths[0] > 2.5 * widths[2]  # 'W' is much wider than 'l': not equal slices
    for box in chars:  # every box holds ink of its own letter
        x0, x1 = int(box[:, 0].min()), int(box[:, 0].max()) + 1
        assert (rgb[int(quad[0, 1]):int(quad[2, 1]), x0:x1, 0] > 120).any()
    assert ink_split_word_quad(rgb, quad, 5) is None  # ink and text disagree
    flat = np.full_like(rgb, 128)
    assert ink_split_word_quad(flat, quad, 4) is None


def test_line_split_puts_words_on_their_ink_across_a_wide_print_gap():
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(_font().path, 40)
    img = Image.new("RGB", (700, 70), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.text((10, 10), "TOTAL", font=font, fill=(0, 0, 0))
    draw.text((520, 10), "9.00", font=font, fill=(0, 0, 0))  # printed far apart
    rgb = np.asarray(img)
    ys, xs = np.nonzero(rgb[..., 0] < 128)
    quad = np.array([[xs.min() - 3, ys.min() - 3], [xs.max() + 3, ys.min() - 3],
                     [xs.max() + 3, ys.max() + 3], [xs.min() - 3, ys.max() + 3]], np.float32)
    words = ink_split_line_quad(rgb, quad, "TOTAL 9.00")
    assert words is not None and [len(w) for w in words] == [5, 4]
    assert words[1][:, :, 0].min() > 500  # "9.00" sits on its ink, past the gap
    equal = split_line_quad(quad, "TOTAL 9.00")
    assert equal[1][:, :, 0].min() < 400  # equal slices put it in the empty middle
    assert ink_split_line_quad(rgb, quad, "TOTAL") is None  # one word: nothing to place
    assert ink_split_line_quad(rgb, quad, "TO TAL 9.00") is None  # 3 words, 2 ink groups?
    assert ink_split_line_quad(np.full_like(rgb, 128), quad, "TOTAL 9.00") is None


# ----------------------------------------------------------------------------- text lines


def test_clean_render_has_one_glyph_per_box():
    font = _font()
    text = "HELLO WORLD 2024 ABC"  # one connected component per glyph in this font
    line = draw_line(font.path, 40, text)
    assert line.text == text
    boxes = np.concatenate(line.chars)
    assert len(boxes) == len(text.replace(" ", ""))
    n, _, stats, _ = cv2.connectedComponentsWithStats((line.mask > 127).astype(np.uint8))
    comps = stats[1:]
    assert len(comps) == len(boxes)
    for x, y, w, h, _ in comps:  # each blob lies inside exactly one character box
        hits = [q for q in boxes if _inside([[x, y], [x + w, y + h]], q)]
        assert len(hits) == 1


def test_warped_boxes_follow_the_ink():
    line = draw_line(_font().path, 32, "Tilted text")
    h, w = line.mask.shape
    warped = warp_line(line, rotation_matrix(35, w / 2, h / 2))
    ys, xs = np.nonzero(warped.mask > 127)
    ink = np.stack([xs + 0.5, ys + 0.5], axis=1)[::7]
    assert _inside(ink, warped.line_quad, tol=2.0)


def test_render_line_is_deterministic():
    a, ta = render_line(random.Random(3))
    b, tb = render_line(random.Random(3))
    assert ta == tb and a.dtype == np.uint8 and np.array_equal(a, b)


def test_receipt_lines_come_mostly_in_capitals_but_also_in_lower_and_title_case():
    """Receipt words in lower and title case too ("Thank you", "Subtotal"), so the model
    does not learn that a receipt word is always written in capitals."""
    from ocrtool.synth.text import RECEIPT_MIXED_CASE, RECEIPT_WORDS, receipt_line

    rng = random.Random(0)
    lines = [receipt_line(rng) for _ in range(2000)]
    letters = ["".join(c for c in line if c.isalpha()) for line in lines]
    capitals = sum(w.isupper() for w in letters if w)
    # (a few more lines than RECEIPT_MIXED_CASE hold a lower-case letter: "2 x 4.60")
    assert 1 - RECEIPT_MIXED_CASE - 0.1 < capitals / len(lines) < 1 - RECEIPT_MIXED_CASE
    receipt_words = {w.lower() for w in RECEIPT_WORDS}
    cased = [line for line in lines if any(c.islower() for c in line)
             and line.split()[0].lower() in receipt_words]
    assert any(line.split()[0].istitle() for line in cased)
    assert any(line.split()[0].islower() for line in cased)


def test_typeset_text_sets_apostrophes_quotes_and_ranges_as_print_does():
    """Running text with ’ (never '), quotes, en-dash ranges and references; the default
    charset holds every mark."""
    from ocrtool.languages import get_language
    from ocrtool.synth.text import TYPESET_MARKS, number_range, reference, typeset_text

    rng = random.Random(0)
    lines = [typeset_text(rng) for _ in range(500)]
    assert set(TYPESET_MARKS) <= set(get_language("en").chars)
    assert not any("'" in line for line in lines)
    assert sum(any(c in TYPESET_MARKS for c in line) for line in lines) > 0.6 * len(lines)
    for mark in TYPESET_MARKS:
        assert any(mark in line for line in lines), mark
    ranges = [number_range(rng) for _ in range(50)]
    assert all("–" in r and "-" not in r for r in ranges)
    pieces = [reference(rng) for _ in range(50)]
    assert any(p.endswith(".") and "–" in p for p in pieces)  # journal, volume, pages, year
    assert any(p.endswith(",") and ". " in p for p in pieces)  # initials and surnames


class _Always(random.Random):
    """A random source whose draws take the first branch every time (random() is 0)."""

    def random(self) -> float:
        return 0.0

    def uniform(self, a: float, b: float) -> float:
        return b


def test_vary_face_thickens_thins_and_widens_the_ink():
    from ocrtool.synth.lines import draw_text, vary_face

    mask, _ = draw_text(random.Random(0), "Hamburgefonts", discover_fonts()[0], 40)
    ink = float(mask.sum())
    bolder = vary_face(_Always(0), mask, 40)  # dilated (first branch), then 1.25x wider
    assert bolder.shape == (mask.shape[0], int(mask.shape[1] * 1.25))
    assert bolder.sum() > 1.25 * ink * 1.2  # wider and heavier strokes

    class Thinner(_Always):
        calls = 0

        def random(self) -> float:  # stroke change yes, dilate no (-> erode), width no
            self.calls += 1
            return [0.0, 0.9, 0.9, 0.9][self.calls - 1]

    lighter = vary_face(Thinner(0), mask, 40)
    assert lighter.shape == mask.shape and lighter.sum() < 0.9 * ink
    assert vary_face(Thinner(0), mask, 16).sum() == ink  # small text is never thinned


def test_small_caps_set_lower_case_as_smaller_capitals_on_the_baseline():
    from ocrtool.synth.lines import draw_text

    font = discover_fonts()[0]

    def glyph_rows(mask: np.ndarray) -> list[tuple[int, int]]:
        """(top, bottom) of the ink of each run of inked columns, left to right."""
        ink = mask > 0.5
        cols = ink.any(axis=0)
        edges = np.flatnonzero(np.diff(np.r_[0, cols.astype(int), 0]))
        runs = [ink[:, a:b] for a, b in zip(edges[::2], edges[1::2])]
        return [(int(np.flatnonzero(r.any(axis=1))[0]), int(np.flatnonzero(r.any(axis=1))[-1]))
                for r in runs]

    (a_top, a_bottom), (b_top, b_bottom) = glyph_rows(
        draw_text(random.Random(0), "Hb", font, 60, 0.5, small_caps=0.75)[0])
    capital = a_bottom - a_top
    assert abs(b_bottom - a_bottom) <= 1  # one baseline
    assert 0.65 * capital <= b_bottom - b_top <= 0.85 * capital  # a small capital B
    (_, _), (plain_top, plain_bottom) = glyph_rows(
        draw_text(random.Random(0), "HB", font, 60, 0.5)[0])
    assert plain_bottom - plain_top >= 0.95 * capital  # drawn plainly, B is full height


def test_training_lines_are_sometimes_set_in_small_caps_and_synth_sets_never(monkeypatch):
    """Small caps are drawn only with `vary_faces` (training), keeping the label's case;
    without it no extra draw is taken, so `ocrtool synth` sets stay the same for a seed."""
    import ocrtool.synth.lines as lines

    seen = []
    draw = lines.draw_text

    def recording(rng, text, font, size, spacing=0.0, small_caps=0.0):
        seen.append((text, small_caps))
        return draw(rng, text, font, size, spacing, small_caps)

    monkeypatch.setattr(lines, "draw_text", recording)
    for seed in range(300):
        render_line(random.Random(seed), "Jenkinson", vary_faces=True)
    scales = [sc for text, sc in seen if text == "Jenkinson" and sc]
    assert 2 <= len(scales) <= 30
    assert all(lines.SMALL_CAPS_SCALE[0] <= sc <= lines.SMALL_CAPS_SCALE[1] for sc in scales)
    seen.clear()
    for seed in range(300):
        assert render_line(random.Random(seed), "Jenkinson")[1] == "Jenkinson"
    assert not any(sc for _, sc in seen)


# ----------------------------------------------------------------------------- pages


@pytest.mark.parametrize("seed", range(5))
def test_page_boxes_nest_and_stay_in_image(seed):
    img, regions = render_page(random.Random(seed), size=(480, 400))
    h, w = img.shape[:2]
    assert img.dtype == np.uint8 and img.shape[:2] == (480, 400)
    assert regions, "a page without text"
    image_quad = [[0, 0], [w, 0], [w, h], [0, h]]
    for r in regions:
        assert r["text"] == " ".join(wd["text"] for wd in r["words"])
        assert _inside(r["points"], image_quad)
        for wd in r["words"]:
            assert len(wd["chars"]) == len(wd["text"]) > 0
            assert _inside(wd["points"], r["points"], tol=2.5)
            for c in wd["chars"]:
                assert _inside(c, wd["points"])


def test_page_is_deterministic():
    a, ra = render_page(random.Random(11), size=(400, 400))
    b, rb = render_page(random.Random(11), size=(400, 400))
    assert np.array_equal(a, b) and json.dumps(ra) == json.dumps(rb)


# ----------------------------------------------------------------------------- CLI


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_cli_writes_identical_output_for_a_seed(tmp_path):
    runner = CliRunner()
    a, b = tmp_path / "a", tmp_path / "b"
    res = runner.invoke(
        synth,
        [
            "lines",
            "--count",
            "6",
            "--out",
            str(a),
            "--seed",
            "5",
            "--preview",
            str(tmp_path / "lines.png"),
        ],
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        synth, ["lines", "--count", "6", "--out", str(b), "--seed", "5", "--workers", "2"]
    )
    assert res.exit_code == 0, res.output
    assert _files(a) == _files(b)
    records = [json.loads(x) for x in (a / "gt.jsonl").read_text().splitlines()]
    assert len(records) == 6 and all((a / r["image"]).exists() and r["text"] for r in records)
    assert (tmp_path / "lines.png").stat().st_size > 0


def test_cli_pages(tmp_path):
    res = CliRunner().invoke(
        synth,
        [
            "pages",
            "-n",
            "2",
            "-o",
            str(tmp_path / "p"),
            "--seed",
            "1",
            "--preview",
            str(tmp_path / "p.png"),
        ],
    )
    assert res.exit_code == 0, res.output
    records = [json.loads(x) for x in (tmp_path / "p/gt.jsonl").read_text().splitlines()]
    assert len(records) == 2
    for r in records:
        img = cv2.imread(str(tmp_path / "p" / r["image"]))
        assert img.shape[:2] == (r["height"], r["width"])
        assert all("words" in reg and len(reg["points"]) == 4 for reg in r["regions"])
