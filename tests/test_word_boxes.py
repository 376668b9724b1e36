"""Word boxes on pages of running text span their line's height (layout.stage.finish);
on sparse pages they stay the detector's own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ocrtool import Reader
from ocrtool.geometry import quad_size
from ocrtool.layout.lines import band_box
from ocrtool.layout.stage import RUNNING_TEXT_LINES

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def test_band_box_takes_the_words_length_and_the_lines_height() -> None:
    line = np.array([[10, 20], [210, 20], [210, 60], [10, 60]], np.float32)
    word = np.array([[50, 35], [90, 35], [90, 55], [50, 55]], np.float32)  # an x-height word
    assert np.allclose(band_box(line, word), [[50, 20], [90, 20], [90, 60], [50, 60]])
    # a tilted line (its corners start where its text starts): the band follows the tilt
    turn = np.array([[np.cos(0.2), -np.sin(0.2)], [np.sin(0.2), np.cos(0.2)]], np.float32)
    box = band_box(line @ turn.T, word @ turn.T)
    assert np.allclose(box, np.array([[50, 20], [90, 20], [90, 60], [50, 60]]) @ turn.T,
                       atol=1e-3)


def _off_edge(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """The largest distance of `points` from the straight line through a and b."""
    d = (b - a) / np.linalg.norm(b - a)
    rel = points - a
    return float(np.abs(rel[:, 0] * d[1] - rel[:, 1] * d[0]).max())


def _shortest_word_to_line(result) -> float:
    return min(quad_size(np.array(w.points))[1] / quad_size(np.array(ln.points))[1]
               for ln in result.lines for w in ln.words if len(ln.words) > 1)


def test_words_of_a_page_of_running_text_have_their_lines_height() -> None:
    article = np.asarray(Image.open(SAMPLES / "article.png").convert("RGB"))
    reader = Reader(threads=1)
    few = reader.read(article)
    assert len(few.lines) < RUNNING_TEXT_LINES
    assert _shortest_word_to_line(few) < 0.8  # the detector's own boxes: x-height words
    page = reader.read(np.vstack([article] * 3))  # the same text, three times as long
    assert len(page.lines) >= RUNNING_TEXT_LINES
    assert _shortest_word_to_line(page) > 0.99
    for line in page.lines:
        q = np.array(line.points)
        for word in line.words:  # its top corners on the line's top edge, bottom on bottom
            w = np.array(word.points)
            assert _off_edge(w[:2], q[0], q[1]) < 0.5, word.text
            assert _off_edge(w[2:], q[3], q[2]) < 0.5, word.text
    # the same words, give or take one in a hundred (a word at a page break can differ)
    assert abs(len(page.text.split()) - 3 * len(few.text.split())) <= 0.01 * len(page.text.split())
