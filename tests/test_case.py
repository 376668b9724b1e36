"""Mixed-case print reads in its own case (the models-v1 issue: "GUARdIAN", capitals for
lower-case print). samples/article.png is a book page drawn by Chromium in a serif font,
not by our renderer."""

from __future__ import annotations

from pathlib import Path

from ocrtool import Reader
from ocrtool.evaluation import edit_distance
from ocrtool.synth.text import TYPESET_MARKS

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_mixed_case_page_reads_with_the_right_case():
    truth = _flat((SAMPLES / "article.txt").read_text(encoding="utf-8"))
    text = _flat(Reader(backend="onnx").read(SAMPLES / "article.png").text)
    assert edit_distance(text, truth) / len(truth) <= 0.01  # case-sensitive CER
    assert "The Harbour at Low Tide" in text and "THE HARBOUR" not in text


def test_accented_letters_are_in_the_charset_and_come_out_composed():
    charset = Reader(backend="onnx").charset  # read from the shipped model's metadata
    for c in "éèàçüöäßñøåœłąęśźżčřšžğışőűășț«»¿¡ÉÀÇÜÖÄÑØÅŒŁŠŽ":
        assert c in charset.chars, c
    assert charset.normalize("Cafe\u0301 de\u0301ja\u0300") == "Café déjà"  # NFC


def test_a_short_mixed_case_line_reads_in_its_case():
    # the recognizer alone reads "due" here as "dUE"; the word case repair
    # (recognition/casing.py) writes the doubted word in one case
    truth = _flat((SAMPLES / "line.txt").read_text(encoding="utf-8"))
    text = _flat(Reader(backend="onnx").read(SAMPLES / "line.png").text)
    assert edit_distance(text, truth) / len(truth) <= 0.01, text


def _ascii_marks(text: str) -> str:
    return text.translate(str.maketrans(TYPESET_MARKS, "''\"\"--"))


def test_book_print_with_typeset_marks_reads_its_words():
    """samples/typeset.png (Chromium): quotations, apostrophes set as ’, en-dash ranges and
    em dashes inside the lines. The shipped recognizer writes most marks as their ASCII
    look-alikes (model card, session 28), so marks are compared folded to ASCII; the words,
    numbers and case around them must read."""
    truth = _flat((SAMPLES / "typeset.txt").read_text(encoding="utf-8"))
    text = _flat(Reader(backend="onnx").read(SAMPLES / "typeset.png").text)
    assert edit_distance(_ascii_marks(text), _ascii_marks(truth)) / len(truth) <= 0.03, text
    assert "112" in text and "1994." in text and "Chapter 7." in text
