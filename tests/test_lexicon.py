"""The word list's repair pinned on hand-made log-probabilities: a word one letter off a
listed word is put right when the model nearly read the listed one, and kept when the model
is sure of what it read; codes, mixed case, listed and short words are never touched. The
CTC likelihood it compares by matches PyTorch's CTC loss."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from ocrtool.cli import main
from ocrtool.config import ReaderConfig
from ocrtool.languages import get_language
from ocrtool.recognition import hangul
from ocrtool.recognition.charset import Charset
from ocrtool.recognition.decoding import greedy_decode
from ocrtool.recognition.lexicon import (
    Lexicon,
    LexiconRepair,
    casing_like,
    ctc_log_likelihood,
    load_lexicon,
    read_word_file,
)

CS = Charset()
C = CS.num_classes
WORDS = Lexicon(["human", "contact", "investor", "process", "the", "phone", "on"])


def frames_of(spec: list[dict[str, float] | str], cs: Charset = CS) -> np.ndarray:
    """(T, C) log-probabilities: a frame per item, a blank frame after each; a string item
    is that character (label) at 0.97, a dict gives its characters' probabilities."""
    C = cs.num_classes
    rows = []
    for item in spec:
        probs = {item: 0.97} if isinstance(item, str) else item
        for frame in (probs, {}):
            row = np.zeros(C)
            idx = {cs.indices_of(ch)[0]: p for ch, p in frame.items()}
            rest = 1.0 - sum(idx.values())
            row[:] = rest * (0.02 if idx else 0.0) / (C - 1 - len(idx))
            row[0] = rest * (0.98 if idx else 1.0) - (0 if idx else 0.01)
            if not idx:
                row[1:] = 0.01 / (C - 1)
            for k, p in idx.items():
                row[k] = p
            rows.append(row)
    return np.log(rows)


def repaired(spec, margin: float = 2.0) -> str:
    lp = frames_of(spec)
    return CS.decode(LexiconRepair(WORDS, CS, margin).repair(greedy_decode(lp), lp).indices)


def test_ctc_log_likelihood_matches_torch():
    rng = np.random.default_rng(0)
    for frames, labels in [(10, [3, 4, 4, 2]), (6, [1, 2, 3]), (5, [2, 2, 2]), (3, [1, 1])]:
        lp = torch.log_softmax(torch.tensor(rng.normal(size=(frames, 7)) * 2), -1)
        loss = torch.nn.functional.ctc_loss(lp[:, None], torch.tensor([labels]),
                                            torch.tensor([frames]), torch.tensor([len(labels)]),
                                            reduction="sum")
        assert ctc_log_likelihood(lp.numpy(), labels) == pytest.approx(-loss.item(), abs=1e-9)
    assert ctc_log_likelihood(np.log(np.full((1, 7), 1 / 7)), [1, 2]) == -np.inf


def test_near_finds_listed_words_by_edit_distance():
    assert WORDS.near("HUMAR", 1) == ["human"]
    assert sorted(WORDS.near("contacts", 1)) == ["contact"]
    assert WORDS.near("irwestor", 1) == [] and WORDS.near("irwestor", 2) == ["investor"]
    assert "Human" in WORDS and "humar" not in WORDS


@pytest.mark.parametrize("word, model, expected", [
    ("human", "HUMAR", "HUMAN"), ("human", "Humar", "Human"), ("human", "humar", "human"),
    ("phone", "iPhome", None)])
def test_casing_like_copies_the_three_word_casings(word, model, expected):
    assert casing_like(word, model) == expected


def test_a_near_miss_the_model_doubted_is_put_right():
    doubtful_n = {"R": 0.5, "N": 0.45}
    assert repaired(["H", "U", "M", "A", doubtful_n]) == "HUMAN"
    assert repaired(['"', "C", "o", {"m": 0.5, "n": 0.4}, "t", "a", "c", "t", ".", '"']) \
        == '"Contact."'


def test_a_word_the_model_is_sure_of_is_kept():
    assert repaired(["H", "U", "M", "A", {"R": 0.97, "N": 0.001}]) == "HUMAR"
    assert repaired(["H", "U", "M", "A", {"R": 0.5, "N": 0.45}], margin=0) == "HUMAR"


@pytest.mark.parametrize("spec", [
    ["H", "U", "M", "A", {"R": 0.5, "N": 0.45}, "2"],  # beside a digit: a code
    ["i", "P", "h", "o", {"m": 0.5, "n": 0.45}, "e"],  # deliberate mixed case
    ["t", "h", "e"],  # listed
    ["o", {"m": 0.5, "n": 0.45}],  # too short
])
def test_codes_mixed_case_listed_and_short_words_are_never_touched(spec):
    lp = frames_of(spec)
    before = greedy_decode(lp)
    assert LexiconRepair(WORDS, CS, 2.0).repair(before, lp).indices == before.indices


def split(spec, margin: float = 4.0):
    lp = frames_of(spec)
    before = greedy_decode(lp)
    return before, LexiconRepair(WORDS, CS, margin, split=True).repair(before, lp)


def test_two_listed_words_read_as_one_are_split_where_the_model_saw_a_gap():
    gap = {" ": 0.05}  # the model put a little weight on a space between the words
    before, after = split(["T", "H", "E", gap, "P", "H", "O", "N", "E"])
    assert CS.decode(before.indices) == "THEPHONE" and CS.decode(after.indices) == "THE PHONE"
    # the letters keep the probabilities and frames they were read with
    letters = [k for k, i in enumerate(after.indices) if CS.chars[i - 1] != " "]
    assert [after.char_probs[k] for k in letters] == before.char_probs
    assert [after.frames[k] for k in letters] == before.frames
    assert before.frames[2] < after.frames[3] < before.frames[3]
    assert CS.decode(split(["o", "n", {" ": 0.05}, "t", "h", "e"])[1].indices) == "on the"


def test_words_run_together_without_a_gap_or_without_splitting_stay_whole():
    _, after = split(["T", "H", "E", {" ": 0.0001}, "P", "H", "O", "N", "E"])
    assert CS.decode(after.indices) == "THEPHONE"  # no room for a space: a compound
    lp = frames_of(["T", "H", "E", {" ": 0.05}, "P", "H", "O", "N", "E"])
    kept = LexiconRepair(WORDS, CS, 4.0).repair(greedy_decode(lp), lp)  # split off
    assert CS.decode(kept.indices) == "THEPHONE"
    assert get_language("en").lexicon_splits and not get_language("ko").lexicon_splits


def test_the_shipped_word_list_holds_common_words_of_the_default_languages():
    words = load_lexicon()
    assert words is not None and len(words) > 50000
    for w in ("the", "investor", "stationery", "français", "straße", "jalan"):
        assert w in words, w


def test_a_korean_word_one_jamo_off_is_put_right():
    ko = Charset(get_language("ko").chars, "jamo")
    words = Lexicon(["창원시", "경상남도"])
    # 창웝시: the last jamo of the middle syllable read as ㅂ where ㄴ was nearly as likely
    final_b, final_n = hangul.decompose("웝")[-1], hangul.decompose("원")[-1]
    spec = list(hangul.decompose("창원"))[:-1] + [{final_b: 0.5, final_n: 0.45}] + \
        list(hangul.decompose("시"))
    lp = frames_of(spec, ko)
    greedy = greedy_decode(lp)
    assert ko.decode(greedy.indices) == "창웝시"
    fixed = LexiconRepair(words, ko, 3.0, min_length=2).repair(greedy, lp)
    assert ko.decode(fixed.indices) == "창원시"
    sure = frames_of(spec[:-3] + [{final_b: 0.97, final_n: 0.001}] + spec[-2:], ko)
    assert ko.decode(LexiconRepair(words, ko, 3.0, min_length=2).repair(
        greedy_decode(sure), sure).indices) == "창웝시"


def test_user_words_are_kept_and_added_to_the_shipped_list():
    lp = frames_of(["H", "U", "M", "A", {"R": 0.5, "N": 0.45}])
    shipped = LexiconRepair.for_language("en", CS)
    assert CS.decode(shipped.repair(greedy_decode(lp), lp).indices) == "HUMAN"
    mine = LexiconRepair.for_language("en", CS, ["Humar"])
    assert CS.decode(mine.repair(greedy_decode(lp), lp).indices) == "HUMAR"
    assert "humar" not in load_lexicon("en")  # the shared list is not changed


def test_user_word_files_are_checked(tmp_path):
    good, bad = tmp_path / "words.txt", tmp_path / "bad.txt"
    good.write_text("Humar\n\n  Quux \n", encoding="utf-8")
    bad.write_bytes(b"\xff\xfe\x00bad")
    assert read_word_file(good) == ["Humar", "Quux"]
    with pytest.raises(ValueError, match="cannot be read as UTF-8"):
        read_word_file(bad)
    with pytest.raises(ValueError, match="is not a file"):
        ReaderConfig(user_words=tmp_path / "missing.txt")
    sample = str(Path(__file__).resolve().parents[1] / "samples" / "line.png")
    result = CliRunner().invoke(main, ["read", sample, "--user-words", str(bad)])
    assert result.exit_code == 2 and "cannot be read as UTF-8" in result.output
    assert "Traceback" not in result.output
