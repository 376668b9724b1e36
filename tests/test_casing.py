"""Word case repair pinned on hand-made log-probabilities: mixed-case words the model
doubts are recased, confident mixed case and consistent words are kept."""

from __future__ import annotations

import numpy as np
import pytest

from ocrtool.recognition.casing import CaseRepair, casing_of
from ocrtool.recognition.charset import Charset
from ocrtool.recognition.decoding import greedy_decode

CS = Charset()
C = CS.num_classes


def letters_with(spec: list[dict[str, float]]) -> np.ndarray:
    """(T, C) log-probabilities, one frame per {char: prob}, the rest spread evenly."""
    out = np.zeros((len(spec), C))
    for t, probs in enumerate(spec):
        idx = {CS.indices_of(ch)[0]: p for ch, p in probs.items()}
        out[t] = (1.0 - sum(idx.values())) / (C - len(idx))
        for k, p in idx.items():
            out[t, k] = p
    return np.log(out)


def repair(spec: list[dict[str, float]], max_cost: float = 2.0) -> str:
    lp = letters_with(spec)
    letters = set(CS.indices_of("".join(c for c in CS.chars if c.isalpha())))
    fixer = CaseRepair(*CS.case_pairs(), letters, max_cost)
    return CS.decode(fixer.repair(greedy_decode(lp), lp).indices)


@pytest.mark.parametrize("word, expected", [
    ("due", "lower"), ("Due", "capitalised"), ("DUE", "upper"), ("dUE", None),
    ("ThaNK", None), ("iPhone", None)])
def test_casing_of_names_the_three_word_casings(word, expected):
    assert casing_of([c.isupper() for c in word]) == expected


def test_doubted_capitals_in_a_lower_case_word_are_lowered():
    # "dUE": the U and E barely beat their small forms
    spec = [{"d": 0.9}, {"U": 0.5, "u": 0.45}, {"E": 0.5, "e": 0.45}]
    assert repair(spec) == "due"


def test_the_cheapest_consistent_casing_wins():
    # "ThaNK": T sure, N and K barely capital, h and a clearly small -> "Thank"
    spec = [{"T": 0.95}, {"h": 0.9, "H": 0.05}, {"a": 0.9, "A": 0.05},
            {"N": 0.5, "n": 0.45}, {"K": 0.5, "k": 0.45}]
    assert repair(spec) == "Thank"


def test_confident_mixed_case_is_kept():
    # "iPhone" read with a sure capital P: deliberate, not doubt
    spec = [{"i": 0.95}, {"P": 0.97, "p": 0.01}, {"h": 0.95}, {"o": 0.95}, {"n": 0.95},
            {"e": 0.95}]
    assert repair(spec) == "iPhone"


def test_each_run_of_letters_is_its_own_word():
    # digits, spaces and punctuation end a word: "Self-Service" is two capitalised words,
    # and "dUE" after a price is recased alone
    spec = [{"S": 0.95}, {"e": 0.95}, {"l": 0.95}, {"f": 0.95}, {"-": 0.95},
            {"S": 0.95}, {"e": 0.95}, {"r": 0.95}, {" ": 0.95}, {"9": 0.95},
            {" ": 0.95}, {"d": 0.9}, {"U": 0.5, "u": 0.45}, {"E": 0.5, "e": 0.45}]
    assert repair(spec) == "Self-Ser 9 due"


def test_zero_cost_limit_changes_nothing():
    spec = [{"d": 0.9}, {"U": 0.5, "u": 0.45}, {"E": 0.5, "e": 0.45}]
    assert repair(spec, max_cost=0.0) == "dUE"
