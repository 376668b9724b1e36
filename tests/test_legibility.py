"""Detected lines read illegibly are dropped as non-text (`ReaderConfig.min_char_confidence`).

The page: a printed line of text, and below it a row of small black squares, which the
detector takes for a word and the recognizer reads as letters it does not believe.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw, ImageFont

import ocrtool.reader
from ocrtool.cli import main
from ocrtool.languages import LANGUAGES, SHORT_LINE_CHARS
from ocrtool.reader import Reader, legible_lines, without_stripes
from ocrtool.recognition.decoding import Decoded
from ocrtool.results import Line, Word

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
TEXT = "Opening hours"


def page_with_squares() -> np.ndarray:
    img = Image.new("RGB", (900, 400), "white")
    ImageDraw.Draw(img).text((40, 40), TEXT, font=ImageFont.truetype(FONT, 36), fill="black")
    rgb = np.array(img)
    for x in range(420, 850, 18):
        rgb[265:280, x:x + 10] = 0
    return rgb


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return page_with_squares()


def test_a_row_of_squares_is_read_but_dropped_by_default(page):
    everything = Reader(threads=1, min_char_confidence=0.0).read(page)
    texts = [ln.text for ln in everything.lines]
    assert TEXT in texts and len(texts) == 2  # the squares were detected and read
    squares = next(ln for ln in everything.lines if ln.text != TEXT)
    assert squares.char_confidence < LANGUAGES["en"].min_char_confidence
    default = Reader(threads=1).read(page)
    assert [ln.text for ln in default.lines] == [TEXT]


def page_with(draw) -> np.ndarray:
    img = Image.new("RGB", (900, 400), "white")
    ImageDraw.Draw(img).text((40, 40), TEXT, font=ImageFont.truetype(FONT, 36), fill="black")
    draw(ImageDraw.Draw(img))
    return np.array(img)


def test_a_short_line_read_unsurely_is_dropped_a_sure_one_kept():
    # two black bars are read as two letters, with a mean probability between the
    # threshold of any line and the higher one of short lines; a printed digit is sure
    def bars(d):
        d.rectangle((500, 265, 519, 289), fill="black")
        d.rectangle((529, 265, 538, 289), fill="black")

    def digit(d):
        d.text((500, 260), "7", font=ImageFont.truetype(FONT, 30), fill="black")

    en = LANGUAGES["en"]
    everything = Reader(threads=1, min_char_confidence=0.0).read(page_with(bars))
    assert len(everything.lines) == 2
    short = next(ln for ln in everything.lines if ln.text != TEXT)
    assert len(short.text) <= SHORT_LINE_CHARS
    assert en.min_char_confidence <= short.char_confidence < en.min_short_line_confidence
    assert [ln.text for ln in Reader(threads=1).read(page_with(bars)).lines] == [TEXT]
    assert [ln.text for ln in Reader(threads=1).read(page_with(digit)).lines] == [TEXT, "7"]


def test_the_squares_read_as_a_given_crop_are_kept(page):
    crop = page[250:295, 400:870]
    result = Reader(threads=1).read(crop, recognize_only=True)
    assert result.text.strip()  # the caller said it is text: it is read, not dropped


def test_char_confidence_is_the_geometric_mean_without_spaces():
    reader = Reader(threads=1)
    stage = reader.recognition
    idx = stage.charset.indices_of("ab c")
    d = Decoded(list(idx), [0.9, 0.4, 0.01, 0.6], [0, 2, 4, 6])
    assert stage.char_confidence(d) == pytest.approx((0.9 * 0.4 * 0.6) ** (1 / 3))
    assert stage.char_confidence(Decoded([], [], [])) == 1.0


def test_words_read_one_by_one_pool_their_characters():
    # "ab" at 0.5 per character and "cde" at 0.8: the mean over the five characters
    stage = Reader(threads=1).recognition
    ab = Decoded(stage.charset.indices_of("ab"), [0.5, 0.5], [0, 2])
    cde = Decoded(stage.charset.indices_of("cde"), [0.8, 0.8, 0.8], [0, 2, 4])
    assert stage.char_confidence(ab, cde) == pytest.approx((0.5 ** 2 * 0.8 ** 3) ** (1 / 5))
    assert stage.char_confidence() == 1.0


def test_legible_lines_keeps_lines_at_the_threshold():
    pts = [[0, 0], [10, 0], [10, 5], [0, 5]]
    lines = [Line("a", 1.0, pts, char_confidence=c) for c in (0.2, 0.45, 0.9)]
    assert [ln.char_confidence for ln in legible_lines(lines, 0.45)] == [0.45, 0.9]


def test_short_lines_are_held_to_the_higher_threshold():
    pts = [[0, 0], [10, 0], [10, 5], [0, 5]]
    lines = [Line(text, 1.0, pts, char_confidence=0.9) for text in ("a b", "ab", "abc", "a")]
    kept = legible_lines(lines, 0.45, 0.95)
    assert [ln.text for ln in kept] == ["abc"]  # spaces do not count towards length
    assert len(legible_lines(lines, 0.45, 0.9)) == 4  # at the threshold is kept
    assert [ln.text for ln in legible_lines(lines, 0.95, 0.0)] == []  # never below the other


def test_each_language_has_its_own_threshold():
    assert Reader(threads=1).min_char_confidence == LANGUAGES["en"].min_char_confidence
    assert Reader(threads=1, lang="ko").min_char_confidence == LANGUAGES["ko"].min_char_confidence
    assert Reader(threads=1, lang="ko", min_char_confidence=0.3).min_char_confidence == 0.3
    assert Reader(threads=1).min_short_line_confidence == LANGUAGES["en"].min_short_line_confidence
    # one knob for a user: a given threshold holds for short lines too
    assert Reader(threads=1, min_char_confidence=0.3).min_short_line_confidence == 0.3


def test_the_cli_option_keeps_every_line(tmp_path, page):
    path = tmp_path / "squares.png"
    Image.fromarray(page).save(path)
    runner = CliRunner()
    default = runner.invoke(main, ["read", str(path), "--threads", "1"])
    everything = runner.invoke(main, ["read", str(path), "--threads", "1",
                                      "--min-char-confidence", "0"])
    assert default.exit_code == 0 and everything.exit_code == 0
    assert default.output.strip() == TEXT
    assert TEXT in everything.output and len(everything.output.strip().splitlines()) == 2
    bad = runner.invoke(main, ["read", str(path), "--min-char-confidence", "1.5"])
    assert bad.exit_code == 2 and "min-char-confidence" in bad.output


def page_with_a_row_of_bars() -> np.ndarray:
    """A capital I drawn 14 times, 16 px apart: a row of bars (a railing, a fence)."""
    def bars(d):
        for k in range(14):
            d.text((400 + 16 * k, 250), "I", font=ImageFont.truetype(FONT, 30), fill="black")
    return page_with(bars)


@pytest.mark.parametrize("precision", ["auto", "fp32"])
def test_a_row_of_bars_read_surely_as_letters_is_dropped(precision, monkeypatch):
    page = page_with_a_row_of_bars()
    reader = Reader(threads=1, precision=precision)
    # without the stripe rule the row is read as a run of letters over the threshold
    monkeypatch.setattr(ocrtool.reader, "without_stripes", lambda lines: lines)
    unfiltered = [ln for ln in reader.read(page).lines if ln.text != TEXT]
    assert len(unfiltered) == 1 and ocrtool.reader.STRIPE.search(unfiltered[0].text)
    assert unfiltered[0].char_confidence >= reader.min_char_confidence
    monkeypatch.undo()
    assert [ln.text for ln in reader.read(page).lines] == [TEXT]
    # 0 keeps every line, this one too
    everything = Reader(threads=1, precision=precision, min_char_confidence=0.0).read(page)
    assert len(everything.lines) == 2


def _line(*texts: str) -> Line:
    pts = [[0, 0], [10, 0], [10, 5], [0, 5]]
    return Line(" ".join(texts), 0.9, pts, [Word(t, 0.9, pts) for t in texts])


def test_words_read_as_stripes_are_dropped_and_the_line_text_rebuilt():
    lines = [_line("Gate", "iiiiiii", "12"), _line("IIIIIIIII"), _line("LEIIIIIIIIIIE"),
             _line("lllll", "LLLL"), _line("||||")]
    assert [ln.text for ln in without_stripes(lines)] == ["Gate 12"]
    assert [w.text for w in without_stripes(lines)[0].words] == ["Gate", "12"]


def test_words_with_short_runs_are_text():
    # the longest runs in the labelled data: Roman numerals, "BESIII", masked digits
    kept = [_line("III", "BESIII", "(iii)", "XXXX", "Illinois", "1111", "ILL", "www.x.com")]
    assert without_stripes(kept) == kept
    assert legible_lines(kept, 0.45) == kept
    stripes = [_line("iiii")]
    assert legible_lines(stripes, 0.45) == [] and legible_lines(stripes, 0.0) == stripes
