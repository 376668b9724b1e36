"""The Python API with the shipped weights: inputs of every kind, both backends agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocrtool import Reader
from ocrtool.evaluation import cer
from ocrtool.imageio import load_image

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
IMAGES = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".png", ".jpg"))


@pytest.fixture(scope="module")
def onnx_reader() -> Reader:
    return Reader(backend="onnx")


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


def test_recognize_only_reads_a_line(onnx_reader: Reader):
    path = SAMPLES / "line.png"
    page = onnx_reader.read(path, recognize_only=True)
    assert len(page.lines) == 1
    truth = path.with_suffix(".txt").read_text().strip()
    assert cer(truth.lower(), page.text.lower()) < 0.05


@pytest.mark.parametrize("image", IMAGES, ids=lambda p: p.name)
def test_torch_and_onnx_backends_read_the_same_text(onnx_reader, torch_reader, image):
    assert onnx_reader.read(image).text == torch_reader.read(image).text


def test_blank_image_gives_no_lines(onnx_reader: Reader):
    page = onnx_reader.read(np.full((300, 400, 3), 255, np.uint8))
    assert page.lines == [] and page.text == ""


def test_min_confidence_drops_lines():
    strict = Reader(backend="onnx", min_confidence=1.01 - 1e-9)
    assert strict.read(SAMPLES / "line.png").lines == []


def test_words_detail_gives_single_words():
    page = Reader(backend="onnx", detail="words").read(SAMPLES / "line.png")
    assert page.lines and all(" " not in ln.text for ln in page.lines)
