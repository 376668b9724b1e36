"""Lines read in doubt are read again at other widths and the readings vote
(`ocrtool/recognition/widths.py`, `RecognitionStage._read_unsure_again`)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw, ImageFont

from ocrtool.cli import main
from ocrtool.reader import Reader
from ocrtool.recognition.decoding import Decoded
from ocrtool.recognition.widths import (
    REREAD_GATE,
    REREAD_WIDTHS,
    frames_at_width,
    majority,
    widened,
)

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def test_the_majority_reading_wins_and_the_first_keeps_ties():
    assert majority(["a", "b", "b", "c", "d"]) == 1
    assert majority(["a", "a", "b", "b", "c"]) == 0  # the first is as common: kept
    assert majority(["a", "b", "c", "b", "c"]) == 1  # first of the tied others
    assert majority(["a", "b", "c", "d", "e"]) == 0  # no two agree
    assert majority(["a"]) == 0


def test_frames_of_a_widened_reading_map_back_onto_the_line():
    d = Decoded([5, 6, 7], [0.9, 0.8, 0.7], [0, 23, 45])
    back = frames_at_width(d, 1.15, frames=40)
    assert back.indices == [5, 6, 7] and back.char_probs == [0.9, 0.8, 0.7]
    assert back.frames == [0, 20, 39]  # 45 / 1.15 = 39.1; never past the line's last frame


def test_widened_lines_keep_their_height():
    line = np.full((32, 100), 255, np.uint8)
    assert widened(line, 1.3).shape == (32, 130) and widened(line, 0.77).shape == (32, 77)
    assert widened(line[:, :10], 0.5).shape == (32, 16)  # padded to the narrowest input


def line_image(text: str, size: int) -> np.ndarray:
    font = ImageFont.truetype(FONT, size)
    w = int(font.getlength(text)) + size
    img = Image.new("RGB", (w, int(size * 1.6)), "white")
    ImageDraw.Draw(img).text((size // 2, size // 4), text, font=font, fill=(90, 90, 90))
    return np.array(img)


@pytest.fixture(scope="module")
def stage():
    return Reader(threads=1, reread_below=REREAD_GATE).recognition


def test_it_is_an_option_off_by_default(stage):
    assert Reader(threads=1).recognition.reread_below == 0
    assert stage.reread_below == REREAD_GATE
    with pytest.raises(ValueError, match="reread_below"):
        Reader(threads=1, reread_below=1.5)


def test_the_cli_option_reads_a_crop(tmp_path):
    path = tmp_path / "word.png"
    Image.fromarray(line_image("Quartz glyphs", 24)).save(path)
    runner = CliRunner()
    on = runner.invoke(main, ["read", str(path), "--no-detect", "--reread-below", "0.95",
                              "--threads", "1"])
    assert on.exit_code == 0 and on.output.strip() == "Quartz glyphs"
    bad = runner.invoke(main, ["read", str(path), "--reread-below", "2"])
    assert bad.exit_code == 2 and "reread-below" in bad.output


def test_each_doubtful_line_takes_the_majority_of_its_five_readings(stage):
    # small grey text blurred: several lines are read unsurely
    rng = np.random.default_rng(3)
    words = ["Quartz", "glyphs", "vex", "jumbo", "fjord", "wizards", "Blowzy", "nymph"]
    crops = []
    for k in range(24):
        img = line_image(" ".join(rng.choice(words, 2)), 11 + k % 4)
        crops.append(np.clip(img + rng.normal(0, 40, img.shape), 0, 255).astype(np.uint8))
    lines = [stage.prepare(c) for c in crops]
    first = stage._read_prepared(lines)
    unsure = [i for i, d in enumerate(first) if stage.char_confidence(d) < stage.reread_below]
    assert 0 < len(unsure) < len(lines)
    voted = stage.recognize_prepared(lines)
    for i, (a, b) in enumerate(zip(first, voted)):
        if i not in unsure:
            assert b == a  # sure lines keep their one reading
            continue
        texts = [stage.text(a)] + [stage.text(d) for d in stage._read_prepared(
            [widened(lines[i], f) for f in REREAD_WIDTHS])]
        assert stage.text(b) == texts[majority(texts)]
    assert all(f < lines[i].shape[1] // stage.frame_stride
               for i, d in enumerate(voted) for f in d.frames)
    stage.reread_below = 0.0  # off: the first readings
    try:
        assert [stage.text(d) for d in stage.recognize_prepared(lines)] == \
            [stage.text(d) for d in first]
    finally:
        stage.reread_below = REREAD_GATE
