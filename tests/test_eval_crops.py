"""`ocrtool eval --gt-boxes --crop-margin`: ground-truth boxes cut with a chosen margin."""

from __future__ import annotations

import json

from click.testing import CliRunner
from PIL import Image, ImageDraw, ImageFont

from ocrtool.cli import main

WORDS = ["Harbour", "TIDE", "1952"]


def _page_set(tmp_path):
    """A page with three words and their tight ground-truth boxes (from the ink)."""
    (tmp_path / "images").mkdir()
    img = Image.new("L", (700, 160), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype("DejaVuSans.ttf", 44)
    regions, x = [], 30
    for text in WORDS:
        x0, y0, x1, y1 = draw.textbbox((x, 50), text, font=font)
        draw.text((x, 50), text, font=font, fill=20)
        regions.append({"points": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], "text": text})
        x = x1 + 60
    img.save(tmp_path / "images" / "page.png")
    row = {"image": "images/page.png", "width": 700, "height": 160, "regions": regions}
    (tmp_path / "gt.jsonl").write_text(json.dumps(row) + "\n")
    return tmp_path


def test_tight_and_default_crops_read_the_words(tmp_path):
    data = _page_set(tmp_path)
    for margin in (["--crop-margin", "0"], []):
        out = tmp_path / f"report{len(margin)}.json"
        result = CliRunner().invoke(main, ["eval", "--data", str(data), "--gt-boxes",
                                           "--backend", "onnx", "--out", str(out), *margin])
        assert result.exit_code == 0, result.output
        report = json.loads(out.read_text())
        assert report["word_accuracy"] == 1.0, report


def test_a_negative_margin_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["eval", "--data", str(_page_set(tmp_path)),
                                       "--gt-boxes", "--crop-margin", "-0.1"])
    assert result.exit_code == 2
    assert "--crop-margin" in result.output
