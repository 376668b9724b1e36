"""CTC decoding pinned on hand-made logits: greedy, prefix beam search, masks, LM fusion."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ocrtool.recognition.charset import Charset
from ocrtool.recognition.decoding import (
    BLANK,
    beam_decode,
    char_mask,
    decode_batch,
    greedy_decode,
)
from ocrtool.recognition.lm import CharNgramLM

CS = Charset()
C = CS.num_classes


def frames_from(spec: list[dict[str, float]]) -> np.ndarray:
    """(T, C) log-probabilities from per-frame {char: prob}; "-" is the blank.

    Whatever probability a frame leaves over is spread evenly over the other classes.
    """
    out = np.zeros((len(spec), C))
    for t, probs in enumerate(spec):
        idx = {BLANK if ch == "-" else CS.indices_of(ch)[0]: p for ch, p in probs.items()}
        rest = (1.0 - sum(idx.values())) / (C - len(idx))
        out[t] = rest
        for k, p in idx.items():
            out[t, k] = p
    return np.log(out)


def peaked(path: str, p: float = 0.97) -> np.ndarray:
    """One frame per symbol of `path` ("-" blank), each holding probability p."""
    return frames_from([{ch: p} for ch in path])


def text(decoded) -> str:
    return CS.decode(decoded.indices)


@pytest.mark.parametrize(
    "path, expected",
    [
        ("hh-aa-pp-p-yy", "happy"),
        ("h-a-p-p-y", "happy"),
        ("1-1-00-0", "1100"),
        ("bb-oo-o-kk", "book"),
        ("--b-o--o-k--", "book"),
        ("aaa", "a"),
        ("a-a", "aa"),
    ],
)
def test_greedy_and_beam_keep_doubled_letters(path, expected):
    lp = peaked(path)
    assert text(greedy_decode(lp)) == expected
    assert text(beam_decode(lp, beam_width=8)) == expected
    assert text(beam_decode(lp, beam_width=1)) == expected


def test_greedy_char_probs_and_frames():
    lp = frames_from([{"a": 0.6}, {"a": 0.9}, {"-": 0.99}, {"b": 0.8}])
    d = greedy_decode(lp)
    assert text(d) == "ab"
    assert d.char_probs == pytest.approx([0.9, 0.8])
    assert d.frames == [1, 3]
    assert d.confidence == pytest.approx(0.8)


def test_merged_cases_read_a_doubtful_case_as_one_sure_letter():
    from ocrtool.recognition.decoding import merge_cases

    lp = frames_from([{"T": 0.9}, {"-": 0.9}, {"h": 0.5, "H": 0.45}, {"-": 0.9},
                      {"1": 0.6, "l": 0.3}])
    assert text(greedy_decode(lp)) == "Th1"
    merged = merge_cases(lp, *CS.case_pairs())
    d = greedy_decode(merged)
    assert text(d) == "TH1"  # case-free letters come out as capitals; digits untouched
    assert d.char_probs[1] == pytest.approx(0.95, abs=1e-5)  # 0.5 + 0.45
    assert d.char_probs[2] == pytest.approx(0.6, abs=1e-5)  # "l" is no case of "1"
    assert np.exp(merged).sum(axis=1) == pytest.approx(np.ones(len(lp)), abs=1e-5)


def test_beam_differs_from_greedy_where_paths_add_up():
    # Two frames, each: blank 0.6, "a" 0.4 (the rest ~0). Greedy takes "--" -> "".
    # Beam sums paths: P("") = 0.6 * 0.6 = 0.36;
    # P("a") = aa + a- + -a = 0.16 + 0.24 + 0.24 = 0.64, so beam says "a".
    lp = frames_from([{"-": 0.6, "a": 0.4 - 1e-9}] * 2)
    assert text(greedy_decode(lp)) == ""
    assert text(beam_decode(lp, beam_width=4)) == "a"


def test_beam_prefers_summed_doubled_reading():
    # Three frames. Greedy path "a-a" reads "aa" with probability 0.5 * 0.4 * 0.5 = 0.10.
    # "a" collects every other path made of a's and blanks:
    #   aaa .5*.35*.5 + aa- .5*.35*.5 + a-- .5*.4*.5 + -aa .5*.35*.5
    #   + --a .5*.4*.5 + -a- .5*.35*.5 = 4 * .0875 + 2 * .1 = 0.55,
    # while "aa" only gets a-a (0.10); so the beam answer is "a".
    edge = {"a": 0.5, "-": 0.5 - 1e-9}  # "a" wins greedy's tie by a hair
    lp = frames_from([edge, {"-": 0.4, "a": 0.35}, edge])
    assert text(greedy_decode(lp)) == "aa"
    assert text(beam_decode(lp, beam_width=8)) == "a"


def test_blocklist_never_emits_even_the_top_logit():
    x = CS.indices_of("x")[0]
    logits = np.zeros((1, 12, C), np.float32)
    logits[0, :, x] = 20.0  # "x" wins every frame
    logits[0, ::2, CS.indices_of("y")[0]] = 5.0
    mask = char_mask(C, blocked=[x])
    for method in ("greedy", "beam"):
        (plain,) = decode_batch(logits, method=method)
        assert text(plain) == "x"
        (masked,) = decode_batch(logits, method=method, mask=mask)
        assert "x" not in text(masked)
        assert text(masked).strip("y") == ""


def test_allowlist_only_emits_allowed_characters():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (4, 30, C)).astype(np.float32)
    allowed = CS.indices_of("0123456789")
    mask = char_mask(C, allowed=allowed)
    for method in ("greedy", "beam"):
        for d in decode_batch(logits, method=method, mask=mask):
            assert d.indices, "random logits should still decode some digits"
            assert set(d.indices) <= set(allowed)
            assert set(text(d)) <= set("0123456789")


def test_char_mask_keeps_blank_and_none_when_unused():
    assert char_mask(C) is None
    mask = char_mask(C, allowed=CS.indices_of("ab"), blocked=CS.indices_of("b"))
    assert mask[BLANK] and mask[CS.indices_of("a")[0]]
    assert not mask[CS.indices_of("b")[0]] and mask.sum() == 2


class TableLM:
    """A hand-made LM: log P of the next character given the previous text."""

    def __init__(self, table: dict[tuple[str, str], float], default: float = math.log(0.01)):
        self.table = table
        self.default = default
        self.calls: list[tuple[str, str]] = []

    def log_prob(self, context, index):
        key = (CS.decode(context), CS.decode([index]))
        self.calls.append(key)
        return self.table.get(key, self.default)


def ambiguous_the() -> np.ndarray:
    # "t", "h", then a frame that slightly prefers "c" over "e"
    return frames_from([{"t": 0.97}, {"-": 0.97}, {"h": 0.97}, {"-": 0.97},
                        {"c": 0.46, "e": 0.44}, {"-": 0.97}])


def test_lm_resolves_ambiguous_frame():
    lp = ambiguous_the()
    assert text(greedy_decode(lp)) == "thc"
    assert text(beam_decode(lp, beam_width=8)) == "thc"
    lm = TableLM({("th", "e"): math.log(0.5), ("th", "c"): math.log(0.001)})
    assert text(beam_decode(lp, beam_width=8, lm=lm, lm_weight=0.5)) == "the"


def test_lm_is_applied_once_per_appended_character():
    lm = TableLM({})
    beam_decode(ambiguous_the(), beam_width=8, lm=lm, lm_weight=0.5)
    assert len(lm.calls) == len(set(lm.calls))


def test_trained_char_ngram_lm_resolves_ambiguous_frame():
    lm = CharNgramLM.train(["the then there the other them"] * 5, order=4, min_count=1)
    lp = ambiguous_the()
    assert text(beam_decode(lp, beam_width=8, lm=lm, lm_weight=0.5)) == "the"
    (d,) = decode_batch(lp[None], method="beam", lm=lm, lm_weight=0.5)
    assert text(d) == "the"


def test_beam_without_lm_matches_greedy_on_peaked_logits():
    rng = np.random.default_rng(0)
    for _ in range(20):
        labels = rng.integers(1, C, rng.integers(1, 15))
        path = []
        for k in labels:
            path += [int(k)] * int(rng.integers(1, 3)) + [BLANK] * int(rng.integers(1, 3))
        logits = rng.normal(0, 0.5, (len(path), C)).astype(np.float32)
        logits[np.arange(len(path)), path] += 9.0
        g, b = decode_batch(logits[None], "greedy")[0], decode_batch(logits[None], "beam")[0]
        assert b.indices == g.indices == [int(k) for k in labels]
        assert b.char_probs == pytest.approx(g.char_probs)
        assert b.frames == g.frames


def test_empty_and_blank_only_inputs():
    empty = np.zeros((0, C))
    blank = peaked("-----")
    for lp in (empty, blank):
        for d in (greedy_decode(lp), beam_decode(lp)):
            assert d.indices == [] and d.char_probs == [] and d.confidence == 1.0
    assert decode_batch(np.zeros((0, 5, C), np.float32)) == []


def test_decode_batch_respects_lengths_and_rejects_unknown_method():
    lp = np.stack([peaked("a-b-c"), peaked("x-y--")])
    out = decode_batch(lp, "beam", lengths=[5, 3])
    assert [text(d) for d in out] == ["abc", "xy"]
    assert [text(d) for d in decode_batch(lp, lengths=[0, 1])] == ["", "x"]
    with pytest.raises(ValueError):
        decode_batch(lp, method="viterbi")


# ------------------------------------------------------------------ character n-gram LM
LM_TEXTS = ["the cat sat on the mat", "the dog", "then there", "a cat", "the zoo"] * 3


@pytest.mark.parametrize("min_count", [1, 4])
def test_char_ngram_lm_is_normalised_with_and_without_pruning(min_count):
    lm = CharNgramLM.train(LM_TEXTS, order=4, min_count=min_count)
    for context in ["", "t", "th", "the ", "the c", "xyzq", "€€€"]:
        ctx = CS.encode(context)
        total = sum(math.exp(lm.log_prob(ctx, k)) for k in range(1, C))
        assert total == pytest.approx(1.0, abs=1e-9)


def test_char_ngram_lm_prefers_seen_text_and_knows_the_start():
    lm = CharNgramLM.train(LM_TEXTS, order=4, min_count=1)
    assert lm.score("the cat") > lm.score("tbe cat")
    t, h = CS.indices_of("th")
    # "h" after a "t" at the start of a line is near certain in this corpus
    assert lm.log_prob([t], h) > math.log(0.5)
    assert lm.log_prob([], t) > lm.log_prob([], h)


def test_char_ngram_lm_save_load_roundtrip(tmp_path):
    lm = CharNgramLM.train(LM_TEXTS, order=5, min_count=1, about="test")
    path = tmp_path / "lm.json.gz"
    lm.save(path)
    again = CharNgramLM.load(path)
    assert again.order == 5 and again.about == "test"
    for context in ["", "the ", "a c", "qq"]:
        ctx = CS.encode(context)
        for k in CS.indices_of("aet z"):
            assert again.log_prob(ctx, k) == pytest.approx(lm.log_prob(ctx, k), abs=1e-3)


def test_char_ngram_lm_maps_onto_a_different_charset(tmp_path):
    lm = CharNgramLM.train(LM_TEXTS, order=3, min_count=1)
    lm.save(tmp_path / "lm.json.gz")
    other = Charset("zyxwvutsrqponmlkjihgfedcba ")  # same letters, other indices
    moved = CharNgramLM.load(tmp_path / "lm.json.gz", charset=other)
    before = lm.log_prob(CS.encode("th"), CS.indices_of("e")[0])
    after = moved.log_prob(other.encode("th"), other.indices_of("e")[0])
    assert after == pytest.approx(before, abs=1e-3)


def test_case_blind_lm_scores_every_case_alike_and_keeps_that_when_saved(tmp_path):
    texts = ["RECEIPT NO 12", "THANK YOU", "receipt", "Thank you"] * 3
    cased = CharNgramLM.train(texts, order=4, min_count=1)
    blind = CharNgramLM.train(texts, order=4, min_count=1, fold_case=True)
    assert cased.score("ReCEIPT") < cased.score("RECEIPT") - 1.0
    assert blind.score("ReCEIPT") == pytest.approx(blind.score("receipt"), abs=1e-12)
    assert blind.score("Thank YOU") == pytest.approx(blind.score("thank you"), abs=1e-12)
    assert blind.score("thank you") > blind.score("thonk yuo")  # spelling still counts
    blind.save(tmp_path / "lm.json.gz")
    again = CharNgramLM.load(tmp_path / "lm.json.gz")
    assert again.fold_case and again.score("RECEIPT") == pytest.approx(blind.score("receipt"),
                                                                       abs=1e-2)


def test_shipped_lm_fixes_look_alikes_and_keeps_doubled_letters():
    from ocrtool.recognition.lm import DEFAULT_PATH, load_default_lm

    if not DEFAULT_PATH.exists():
        pytest.skip("shipped LM not built")
    lm = load_default_lm(CS)

    def line(word: str, ambiguous: dict[int, dict[str, float]]) -> np.ndarray:
        spec = []
        for i, ch in enumerate(word):
            spec += [ambiguous.get(i, {ch: 0.95}), {"-": 0.95}]
        return frames_from(spec)

    cases = [
        ("TOTAL", {1: {"0": 0.5, "O": 0.45}}, "T0TAL"),
        ("Invoice", {1: {"r": 0.5, "n": 0.45}}, "Irvoice"),
        ("happy", {}, "happy"),
        ("book", {}, "book"),
        ("1100", {}, "1100"),
        ("12.50", {}, "12.50"),
    ]
    for word, ambiguous, greedy_text in cases:
        lp = line(word, ambiguous)
        assert text(greedy_decode(lp)) == greedy_text
        assert text(beam_decode(lp, beam_width=8, lm=lm, lm_weight=0.3)) == word
    # case-blind: the case the recognizer prefers stays, each letter only 0.5 : 0.4 sure of
    # it (the cased LM of session 9, trained on all-capital receipts, wrote "RECEIPT")
    assert lm.fold_case
    for word in ("Receipt", "Total", "Thank you"):
        unsure = {i: {c: 0.5, c.swapcase(): 0.4} for i, c in enumerate(word) if i and c.isalpha()}
        assert text(beam_decode(line(word, unsure), beam_width=8, lm=lm, lm_weight=0.3)) == word


def test_lm_corpus_adds_typeset_lines_after_the_others(tmp_path: Path) -> None:
    """`build_lm --typeset N` adds N lines of typeset print (the marks the LM must not undo)
    and leaves every other line of the seed as it was: without it the corpus is the one
    the shipped LM was counted from."""
    from ocrtool.recognition.build_lm import corpus
    from ocrtool.synth.text import TYPESET_MARKS

    def texts(typeset: int) -> tuple[list[str], str]:
        return corpus(3, sentences=0, synthetic=20, data_dir=tmp_path, foreign=20,
                      typeset=typeset)

    plain, about = texts(0)
    marked, about_marked = texts(30)
    assert marked[: len(plain)] == plain and len(marked) == len(plain) + 30
    assert sum(any(c in TYPESET_MARKS for c in t) for t in marked[len(plain):]) >= 20
    assert "typeset" not in about and "typeset_text lines: 30" in about_marked


def test_lm_with_math_lines_knows_the_signs(tmp_path: Path) -> None:
    """`build_lm --math N`: math lines in the corpus and the signs in the LM's alphabet, so
    the beam's re-read keeps what a --math-share recognizer wrote; loaded with that
    recognizer's charset, it scores "x − 1" far above an LM that never saw the signs."""
    from ocrtool.recognition.build_lm import corpus, lm_charset
    from ocrtool.synth.text import MATH_SYMBOLS

    alphabet = lm_charset(math=True)
    assert set(MATH_SYMBOLS) <= set(alphabet.chars) and lm_charset().chars == Charset().chars
    plain, _ = corpus(4, sentences=0, synthetic=200, data_dir=tmp_path, foreign=200)
    with_math, about = corpus(4, sentences=0, synthetic=200, data_dir=tmp_path, foreign=200,
                              math=400)
    assert with_math[: len(plain)] == plain and "math_text lines: 400" in about
    signed = CharNgramLM.train(with_math, order=4, charset=alphabet, min_count=1)
    unsigned = CharNgramLM.train(plain, order=4, charset=Charset(), min_count=1)
    loaded = []
    for name, lm in (("signed", signed), ("unsigned", unsigned)):
        lm.save(tmp_path / f"{name}.json.gz")  # loaded as the stage loads it:
        loaded.append(CharNgramLM.load(tmp_path / f"{name}.json.gz", alphabet))  # its charset
    assert loaded[0].score("α − 1 ≤ β") > loaded[1].score("α − 1 ≤ β") + 5
