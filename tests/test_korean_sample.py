"""The Korean sample (samples/korean.png, a Chromium-rendered shop notice) reads within a CER
bound with the shipped Korean recognizer, default settings, end to end (detection included).

Skipped only when weights/recognizer_ko.onnx is not there (the Korean model not yet trained
and exported); a missing sample image or expected text is a failure.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from ocrtool import Reader
from ocrtool.evaluation.metrics import edit_distance
from ocrtool.runtime.base import weights_dir

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
KOREAN_MODEL = weights_dir() / "recognizer_ko.onnx"
# Upper bound on the page CER (whitespace runs collapsed, NFC): the shipped Korean model
# (2026-12-02) reads it at 1.6%, int8 and fp32 alike.
MAX_CER = 0.03

pytestmark = pytest.mark.skipif(not KOREAN_MODEL.exists(),
                                reason=f"{KOREAN_MODEL} not built yet (Korean recognizer)")


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


@pytest.fixture(scope="module")
def page_text() -> str:
    return Reader(lang="ko").read(str(SAMPLES / "korean.png")).text


def test_korean_sample_reads_within_the_cer_bound(page_text: str):
    expected = _norm((SAMPLES / "korean.txt").read_text(encoding="utf-8"))
    got = _norm(page_text)
    cer = edit_distance(expected, got) / len(expected)
    assert cer <= MAX_CER, f"CER {cer:.3f} > {MAX_CER}: read {got!r}"


@pytest.mark.parametrize("piece", ["3,800원", "042-555-0147",
                                   "www.example.co.kr/bakery", "2025년 4월 12일", "3.5km"])
def test_korean_sample_numbers_prices_and_urls_read_exactly(page_text: str, piece: str):
    assert piece in _norm(page_text)
