"""The Python API with the shipped weights: inputs of every kind, both backends agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fonts import dejavu_sans
from PIL import Image, ImageDraw

from ocrtool import Reader
from ocrtool.detection.postprocess import DetectParams
from ocrtool.detection.stage import DetectionStage, small_text_canvas
from ocrtool.evaluation import cer
from ocrtool.imageio import load_image
from ocrtool.layout.lines import DENSE_PAGE_WORDS
from ocrtool.layout.receipts import GLYPH_CELL, attach_trailing_marks, padded, reads_as_glyph
from ocrtool.results import Line, Word

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
IMAGES = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".png", ".jpg"))


@pytest.fixture(scope="module")
def onnx_reader() -> Reader:
    return Reader(backend="onnx")


@pytest.fixture(scope="module")
def fp32_reader() -> Reader:
    return Reader(backend="onnx", precision="fp32")


@pytest.fixture(scope="module")
def torch_reader() -> Reader:
    pytest.importorskip("torch")
    return Reader(backend="torch", device="cpu")


def test_samples_exist():
    assert len(IMAGES) >= 4
    assert all(p.with_suffix(".txt").exists() for p in IMAGES)


def test_every_input_kind_gives_the_same_result(onnx_reader: Reader):
    path = SAMPLES / "line.png"
    rgb = load_image(path)
    texts = {
        onnx_reader.read(path).text,
        onnx_reader.read(str(path)).text,
        onnx_reader.read(path.read_bytes()).text,
        onnx_reader.read(Image.open(path)).text,
        onnx_reader.read(rgb).text,
    }
    assert len(texts) == 1 and texts.pop()


def test_result_geometry_is_in_original_pixels(onnx_reader: Reader):
    path = next(p for p in IMAGES if p.stem == "receipt")
    page = onnx_reader.read(path)
    h, w = load_image(path).shape[:2]
    assert (page.width, page.height) == (w, h)
    pts = np.array([p for ln in page.lines for p in ln.points])
    assert pts[:, 0].min() >= -5 and pts[:, 0].max() <= w + 5
    assert pts[:, 1].min() >= -5 and pts[:, 1].max() <= h + 5
    assert page.to_dict()["text"] == page.text


def test_read_pages_reads_every_page_of_a_tiff(onnx_reader: Reader, tmp_path: Path):
    images = [SAMPLES / "sign.jpg", SAMPLES / "line.png"]
    path = tmp_path / "doc.tiff"
    pages = [Image.open(p).convert("RGB") for p in images]
    pages[0].save(path, save_all=True, append_images=pages[1:])
    results = onnx_reader.read_pages(path)
    assert [(r.page, r.pages, r.image) for r in results] == [(1, 2, str(path)), (2, 2, str(path))]
    for image, result in zip(images, results):
        truth = " ".join(image.with_suffix(".txt").read_text().lower().split())
        assert cer(truth, " ".join(result.text.lower().split())) < 0.05
    assert [r.to_dict()["page"] for r in results] == [1, 2]
    first = onnx_reader.read(path)  # read() keeps its one-result contract: page 1
    assert first.text == results[0].text and "page" not in first.to_dict()
    (single,) = onnx_reader.read_pages(SAMPLES / "line.png")
    assert (single.page, single.pages) == (1, 1) and "pages" not in single.to_dict()


def test_recognize_only_reads_a_line(onnx_reader: Reader):
    path = SAMPLES / "line.png"
    page = onnx_reader.read(path, recognize_only=True)
    assert len(page.lines) == 1
    truth = path.with_suffix(".txt").read_text().strip()
    assert cer(truth.lower(), page.text.lower()) < 0.05


@pytest.mark.parametrize("image", IMAGES, ids=lambda p: p.name)
def test_torch_and_onnx_backends_read_the_same_text(fp32_reader, torch_reader, image):
    assert fp32_reader.read(image).text == torch_reader.read(image).text


def test_shipped_int8_models_are_the_default_and_as_accurate_as_fp32(onnx_reader,
                                                                     fp32_reader):
    if onnx_reader.backend.precision.precision != "int8":
        pytest.skip("this CPU has no int8 dot-product instructions: the default is fp32")
    assert {p.name for p in onnx_reader.backend.files.values()} == {
        "detector.onnx", "recognizer.int8.onnx"}
    flat = lambda text: " ".join(text.lower().split())  # noqa: E731
    truth = " | ".join(flat(p.with_suffix(".txt").read_text()) for p in IMAGES)
    fp32 = " | ".join(flat(fp32_reader.read(p).text) for p in IMAGES)
    int8 = " | ".join(flat(onnx_reader.read(p).text) for p in IMAGES)
    # borderline boxes may flip either way; over all samples int8 must not read worse
    assert cer(truth, int8) <= cer(truth, fp32) + 0.02


def test_reading_word_by_word_reads_the_same_line():
    reader = Reader(backend="onnx", read_by="words")
    page = reader.read(SAMPLES / "line.png")
    truth = (SAMPLES / "line.txt").read_text().strip()
    assert cer(truth.lower(), page.text.lower()) < 0.1
    assert all(len(ln.words) >= 1 for ln in page.lines)
    with pytest.raises(ValueError, match="read_by"):
        Reader(backend="onnx", read_by="pages")


class _BlobDetector:
    """Stands in for the detector network: one word-sized blob, recording input sizes."""

    def __init__(self, blob_height: int):
        self.blob_height, self.inputs = blob_height, []

    def detect(self, batch: np.ndarray) -> np.ndarray:
        self.inputs.append(batch.shape[2:])
        h, w = batch.shape[2] // 2, batch.shape[3] // 2
        maps = np.zeros((1, 2, h, w), np.float32)
        maps[0, 0, 10 : 10 + self.blob_height, 10:60] = 0.9
        return maps


@pytest.mark.parametrize("blob_height, passes", [(3, 2), (12, 1)])
def test_small_text_is_detected_again_at_a_larger_scale(blob_height, passes):
    fake = _BlobDetector(blob_height)
    params = DetectParams(zoom_out=0)  # the zoomed-out look is tested in test_stages.py
    words = DetectionStage(fake.detect, params=params)(np.full((800, 600, 3), 255, np.uint8)).words
    assert len(fake.inputs) == passes and len(words) == 1
    if passes == 2:
        assert fake.inputs[1][0] > 1.5 * fake.inputs[0][0]


@pytest.mark.parametrize("small_text_canvas, passes", [(1600, 1), (2600, 2)])
def test_small_text_on_a_page_larger_than_the_canvas(small_text_canvas, passes):
    """A 2200-pixel page meets the detector shrunk to the canvas (1600). Its small text
    is looked at again only if the page may grow past the canvas: at the same scale the
    second pass would find the same words."""
    fake = _BlobDetector(3)
    params = DetectParams(small_text_canvas=small_text_canvas, zoom_out=0)
    DetectionStage(fake.detect, params=params)(np.full((2200, 1700, 3), 255, np.uint8))
    assert len(fake.inputs) == passes
    assert max(fake.inputs[0]) <= 1600
    if passes == 2:
        assert 2200 < max(fake.inputs[1]) <= small_text_canvas + 32


@pytest.mark.parametrize("shape, words, expected", [
    ((720, 1280), 10, 2600),  # a photo's small words may be magnified 2x
    ((2200, 1700), 10, 2600),
    ((2200, 1700), DENSE_PAGE_WORDS, 2200),  # a dense scan: no larger than its pixels
    ((1527, 1080), DENSE_PAGE_WORDS, 1600),  # ... and never under the canvas
])
def test_how_far_the_small_text_look_may_grow_a_page(shape, words, expected):
    assert small_text_canvas(shape, words, DetectParams()) == expected


def test_word_and_line_points_run_clockwise_from_the_top_left(onnx_reader: Reader):
    page = onnx_reader.read(SAMPLES / "receipt.jpg")
    boxes = [ln.points for ln in page.lines] + [w.points for ln in page.lines for w in ln.words]
    assert len(boxes) > 50
    for pts in boxes:
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts
        # upright text: top-left, top-right, bottom-right, bottom-left
        assert x1 > x0 and x2 > x3 and y3 > y0 and y2 > y1, pts


def _line(text: str, x0: float, x1: float, y0: float = 10, y1: float = 30,
          confidence: float = 0.9) -> Line:
    points = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    return Line(text, confidence, points, [Word(text, confidence, points)])


def test_a_spaced_colon_joins_the_line_it_follows():
    lines = [_line("TOTAL", 10, 90), _line(":", 110, 116, confidence=0.5),
             _line("9.00", 300, 360), _line(":", 500, 506, 100, 120)]
    out = attach_trailing_marks(lines)
    assert [ln.text for ln in out] == ["TOTAL :", "9.00", ":"]  # the last one is alone
    assert [w.text for w in out[0].words] == ["TOTAL", ":"]
    assert out[0].points[1][0] == 116 and out[0].confidence == 0.9 * 0.5
    touching = attach_trailing_marks([_line("TOTAL", 10, 90), _line(":", 92, 98)])
    assert touching[0].text == "TOTAL:" and touching[0].words[0].text == "TOTAL:"


def test_a_one_character_line_is_reported_a_character_cell_wide():
    boxed = padded(_line("1", 100, 106), pad=0.0, width=1000, height=1000)
    xs = [p[0] for p in boxed.points]
    assert np.isclose(max(xs) - min(xs), GLYPH_CELL * 20) and np.isclose(np.mean(xs), 103)
    word = padded(_line("12345", 100, 180), pad=0.0, width=1000, height=1000)
    assert word.points[0][0] == 100 and word.points[1][0] == 180


def test_faint_lines_are_kept_only_as_digits_or_colons():
    assert reads_as_glyph(_line("1", 0, 5)) and reads_as_glyph(_line(":", 0, 5))
    assert not reads_as_glyph(_line("T", 0, 5)) and not reads_as_glyph(_line("1r", 0, 5))


@pytest.mark.parametrize("precision", ["auto", "fp32"])  # auto: int8 where the CPU has VNNI
def test_angle_brackets_are_read_as_brackets(precision: str):
    """A printed < and > read as themselves. A recognizer that learnt the mathematical
    signs on frozen features wrote "if x ≥ 5 then y ≤ 1" here once an LM that knows the
    signs re-read the line (session 31, model card); held-out pages hold too few brackets
    to show it (`bench/angle_brackets.py` counts them over every face)."""
    reader = Reader(threads=1, precision=precision)
    font = dejavu_sans(24)
    for text in ("if x > 5 then y < 1", "Next > Back"):
        page = Image.new("RGB", (int(font.getlength(text)) + 48, 48), "white")
        ImageDraw.Draw(page).text((24, 8), text, font=font, fill="black")
        assert reader.read(np.array(page)).text == text
