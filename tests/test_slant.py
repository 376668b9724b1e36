"""Word crops whose text runs at a slant (a tilted word's upright bounding rectangle, as
scene word crops come): found by `slant.slanted_text_quad` and read along the text's own
box by `ocrtool read --no-detect` (`assemble.read_whole_crops`) and by the recognizer's
training validation."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from fonts import dejavu_sans
from PIL import Image, ImageDraw

from ocrtool import Reader
from ocrtool.cli import main
from ocrtool.recognition.assemble import TALL_CROP, read_lines, whole_quad
from ocrtool.recognition.preprocess import to_gray
from ocrtool.recognition.slant import MIN_SLANT, slanted_text_quad
from ocrtool.training.datasets import CROP_MARGIN, CropSet
from ocrtool.training.recognizer import score_stage

PAPER, INK = (240, 230, 200), (30, 40, 90)


def word_crop(word: str, degrees: float) -> np.ndarray:
    """`word` printed at 40 px, turned counter-clockwise by `degrees`, in its upright
    bounding rectangle (RGB)."""
    font = dejavu_sans(40)
    x0, y0, x1, y1 = ImageDraw.Draw(Image.new("RGB", (8, 8))).textbbox((0, 0), word, font=font)
    img = Image.new("RGB", (x1 - x0 + 24, y1 - y0 + 16), PAPER)
    ImageDraw.Draw(img).text((12 - x0, 8 - y0), word, font=font, fill=INK)
    return np.asarray(img.rotate(degrees, expand=True, fillcolor=PAPER,
                                 resample=Image.BICUBIC))


@pytest.fixture(scope="module")
def reader():
    return Reader(backend="onnx", precision="fp32")


def top_edge_degrees(quad) -> float:
    q = np.asarray(quad, np.float32)
    return math.degrees(math.atan2(q[1][1] - q[0][1], q[1][0] - q[0][0]))


@pytest.mark.parametrize("degrees", [15, 28, -24])
def test_the_slant_of_a_tilted_word_is_found(degrees):
    quad = slanted_text_quad(to_gray(word_crop("NOVEMBER", degrees)))
    assert quad is not None
    # image rows run down: a word turned counter-clockwise climbs to the right
    assert abs(top_edge_degrees(quad) + degrees) <= 2.0
    assert quad[0][0] < quad[1][0]  # the first corner is at the text's start


@pytest.mark.parametrize("degrees", [0, MIN_SLANT - 4])
def test_a_level_word_has_no_slant(degrees):
    assert slanted_text_quad(to_gray(word_crop("NOVEMBER", degrees))) is None


def test_a_blank_tiny_or_sliver_crop_has_no_slant():
    assert slanted_text_quad(np.full((60, 200), 200, np.uint8)) is None
    assert slanted_text_quad(np.full((3, 2), 200, np.uint8)) is None
    noise = np.random.default_rng(0).integers(0, 255, (9, 9000)).astype(np.uint8)
    # shrunk to the work size, a sliver would have no rows at all
    assert slanted_text_quad(noise) is None and slanted_text_quad(noise.T.copy()) is None


def test_no_detect_reads_a_sliver_crop_without_error(reader):
    page = reader.read(np.full((9, 9000, 3), 200, np.uint8), recognize_only=True)
    assert page.width == 9000 and page.height == 9


@pytest.mark.parametrize("word", ["NOVEMBER", "Harbour", "THROUGH"])
def test_no_detect_reads_a_tilted_word_along_its_slant(reader, word):
    crop = word_crop(word, 28)
    w = crop.shape[1]
    rect = whole_quad(crop)
    # read along the crop's width, as before: garbled
    plain = read_lines(reader.recognition, crop, [rect], [[rect]], [0], context=(0.0, 0.0))
    assert plain[0].text != word
    page = reader.read(crop, recognize_only=True)
    assert page.text.strip() == word
    # the line's box is the text's own, tilted like it, inside the crop
    line = page.lines[0]
    assert abs(top_edge_degrees(line.points) + 28) <= 2.0
    assert np.all(np.asarray(line.points) > -5) and np.all(np.asarray(line.points)[:, 0] < w + 5)


def test_a_level_crop_is_read_as_before(reader):
    crop = word_crop("Harbour", 0)
    h, w = crop.shape[:2]
    page = reader.read(crop, recognize_only=True)
    assert page.text.strip() == "Harbour"
    assert np.allclose(page.lines[0].points, [[0, 0], [w, 0], [w, h], [0, h]])


def test_cli_no_detect_reads_a_tilted_word(tmp_path):
    path = tmp_path / "tilted.png"
    Image.fromarray(word_crop("THROUGH", -24)).save(path)
    result = CliRunner().invoke(main, ["read", "--no-detect", "--backend", "onnx", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "THROUGH"


def test_training_validation_reads_whole_crops_the_same_way(reader):
    # a crop set's cached crop: the image with CROP_MARGIN of its border on every side
    def cached(img):
        gray = to_gray(img)
        pad = int(round(gray.shape[0] * CROP_MARGIN))
        return cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)

    words = ["NOVEMBER", "THROUGH"]
    crops = CropSet([cached(word_crop(w, 28)) for w in words], words, False, "tilted",
                    whole_images=True)
    metrics = score_stage(reader.recognition, [crops])
    assert metrics["tilted/word_acc"] == 1.0, metrics


@pytest.mark.parametrize("turn, start", [(1, "bottom-left"), (-1, "top-right")])
def test_no_detect_reads_a_word_running_up_or_down(reader, turn, start):
    # a word running up a sign (turned a quarter counter-clockwise) or down it
    crop = np.ascontiguousarray(np.rot90(word_crop("NOVEMBER", 0), turn))
    h, w = crop.shape[:2]
    assert h >= TALL_CROP * w
    rect = whole_quad(crop)
    plain = read_lines(reader.recognition, crop, [rect], [[rect]], [0], context=(0.0, 0.0))
    assert plain[0].text != "NOVEMBER"
    page = reader.read(crop, recognize_only=True)
    assert page.text.strip() == "NOVEMBER"
    first = {"bottom-left": [0, h], "top-right": [w, 0]}[start]
    assert page.lines[0].points[0] == first  # the box starts where the text does
