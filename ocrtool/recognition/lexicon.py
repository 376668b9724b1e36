"""Words the recognizer nearly read, put right with a word list.

A CTC recognizer reads each letter on its own frames, so a stylised or blurred word comes
out one or two letters off a real word ("CORPORHTE", "Pracess", "COMTACT"). Tesseract
leans on dictionaries for this; here a word list only proposes, and the model's own
output decides: a decoded word that is not in the list is compared with the listed words
one or two edits away, each scored by its CTC likelihood over the frames the word was read
from (every alignment summed, the way the model was trained). The best of them replaces
the word when it is at most `margin` (log-probability) less likely than what was decoded.
Names, brands and codes the model reads confidently cost more than that and are kept.

Only plain words are looked at: a run of letters between spaces (punctuation around it
kept), at least the language's `lexicon_min_length` long (shorter words have too many
neighbours one edit away), written in lower case, capitalised or in capitals (deliberate
mixed case such as "iPhone" is kept; Hangul has no case); words beside digits are codes.
Each language has its own list and margin (languages.py).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from .charset import Charset
from .decoding import BLANK, Decoded

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
LONG_WORD = 6  # from this many letters on, words two edits away are candidates too
EDGE_PUNCT = "\"'()[]{}.,:;!?«»“”‘’„‚¿¡*-–—"


class Lexicon:
    """A set of case-folded words (wordfreq's form: "straße" is "strasse"), searchable by
    edit distance (bucketed by length)."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = {w.casefold() for w in words if w}
        self.by_length: dict[int, list[str]] = {}
        for w in sorted(self.words):
            self.by_length.setdefault(len(w), []).append(w)

    def __contains__(self, word: str) -> bool:
        return word.casefold() in self.words

    def __len__(self) -> int:
        return len(self.words)

    def near(self, word: str, max_edits: int) -> list[str]:
        """Listed words within `max_edits` edits of `word` (case-folded), itself excluded."""
        word = word.casefold()
        out = []
        for n in range(len(word) - max_edits, len(word) + max_edits + 1):
            out += [m for m, _, _ in process.extract(
                word, self.by_length.get(n, []), scorer=Levenshtein.distance,
                score_cutoff=max_edits, limit=None) if m != word]
        return out

    @classmethod
    def load(cls, path: str | Path) -> Lexicon:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return cls(line.strip() for line in f)

    def extended(self, words: Iterable[str]) -> Lexicon:
        """A new list with `words` added (this one is shared and stays as it is)."""
        return Lexicon(self.words | {w.casefold() for w in words if w})


def read_word_file(path: str | Path) -> list[str]:
    """The words of a user's word file: one per line (blank lines and surrounding space
    ignored). A ValueError with a one-line reason when it cannot be read as UTF-8 text."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"user words {path}: cannot be read as UTF-8 text "
                         f"({type(e).__name__})") from None
    return [w for w in (line.strip() for line in text.splitlines()) if w]


@lru_cache(maxsize=4)
def load_lexicon(lang: str = "en") -> Lexicon | None:
    """The shipped word list of language `lang` (loaded once per process), or None where
    it is missing."""
    from ..languages import get_language

    path = DATA_DIR / get_language(lang).lexicon
    return Lexicon.load(path) if path.exists() else None


def ctc_log_likelihood(log_probs: np.ndarray, labels: Sequence[int]) -> float:
    """log P(labels | frames) under CTC: every alignment summed (the forward algorithm).

    `log_probs` is (T, C) log-softmax; -inf when the frames are too few for the labels.
    """
    n_frames, n = log_probs.shape[0], len(labels)
    if n_frames == 0:
        return -np.inf if n else 0.0
    if n == 0:
        return float(log_probs[:, BLANK].sum())
    ext = np.full(2 * n + 1, BLANK, dtype=np.int64)
    ext[1::2] = labels
    # a state may skip the blank before it unless it repeats the label two states back
    skip = np.zeros(len(ext), bool)
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    alpha = np.full(len(ext), -np.inf)
    alpha[0] = log_probs[0, BLANK]
    alpha[1] = log_probs[0, ext[1]]
    for t in range(1, n_frames):
        prev = alpha.copy()
        stay_or_step = np.logaddexp(prev, np.concatenate([[-np.inf], prev[:-1]]))
        skipped = np.where(skip, np.concatenate([[-np.inf, -np.inf], prev[:-2]]), -np.inf)
        alpha = np.logaddexp(stay_or_step, skipped) + log_probs[t, ext]
    return float(np.logaddexp(alpha[-1], alpha[-2]))


def casing_like(word: str, model: str) -> str | None:
    """`word` written in `model`'s casing (lower, capitalised or capitals), or None when
    `model` is in none of them; as it is where `model` has no cased letter (Hangul)."""
    if model.lower() == model.upper():
        return word
    if model.islower():
        return word.lower()
    if model.isupper():
        return word.upper()
    if model[:1].isupper() and model[1:].islower():
        return word[:1].upper() + word[1:].lower()
    return None


class LexiconRepair:
    """Puts near-miss words right (see the module docstring) in decoded Latin-script lines."""

    def __init__(self, lexicon: Lexicon, charset: Charset, margin: float,
                 min_length: int = 3) -> None:
        self.lexicon, self.charset = lexicon, charset
        self.margin, self.min_length = margin, min_length

    def repair(self, d: Decoded, log_probs: np.ndarray) -> Decoded:
        """`d` with each near-miss word replaced where the model allows it; `log_probs` is
        the line's (T, C) masked log-softmax that `d` was decoded from."""
        if self.margin <= 0 or not d.frames:
            return d
        out = d
        for start, end in reversed(self._words(d)):  # right to left: positions stay valid
            out = self._repair_word(out, start, end, log_probs)
        return out

    def _words(self, d: Decoded) -> list[tuple[int, int]]:
        """[start, end) label positions of each plain word not in the list."""
        text = [self.charset.chars[i - 1] for i in d.indices]  # labels (jamo in Hangul)
        spans, k = [], 0
        while k < len(text):
            if text[k].isspace():
                k += 1
                continue
            j = k
            while j < len(text) and not text[j].isspace():
                j += 1
            a, b = k, j
            while a < b and text[a] in EDGE_PUNCT:
                a += 1
            while b > a and text[b - 1] in EDGE_PUNCT:
                b -= 1
            word = self.charset.decode(d.indices[a:b])
            if (len(word) >= self.min_length and word.isalpha()
                    and casing_like(word, word) is not None and word not in self.lexicon):
                spans.append((a, b))
            k = j
        return spans

    def _repair_word(self, d: Decoded, start: int, end: int,
                     log_probs: np.ndarray) -> Decoded:
        word = self.charset.decode(d.indices[start:end])
        lo = d.frames[start - 1] + 1 if start > 0 else 0
        hi = d.frames[end] if end < len(d.indices) else log_probs.shape[0]
        frames = log_probs[lo:hi]
        best, best_ll = None, ctc_log_likelihood(frames, d.indices[start:end]) - self.margin
        max_edits = 2 if len(word) >= LONG_WORD else 1
        for cand in self.lexicon.near(word, max_edits):
            cased = casing_like(cand, word)
            labels = self.charset.encode(cased) if cased is not None else []
            if not labels or self.charset.decode(labels) != cased:  # a character it lacks
                continue
            ll = ctc_log_likelihood(frames, labels)
            if ll > best_ll:
                best, best_ll = labels, ll
        if best is None:
            return d
        return _replaced(d, start, end, best, float(np.exp(best_ll / len(best))))

    @classmethod
    def for_language(cls, lang: str, charset: Charset,
                     user_words: Sequence[str] = ()) -> LexiconRepair | None:
        """The repair with language `lang`'s shipped word list (plus `user_words`) and
        settings, or None where it has no list or its margin is 0 (off)."""
        from ..languages import get_language

        language = get_language(lang)
        lexicon = load_lexicon(lang) if language.lexicon_margin > 0 else None
        if lexicon is None:
            return None
        if user_words:
            lexicon = lexicon.extended(user_words)
        return cls(lexicon, charset, language.lexicon_margin, language.lexicon_min_length)


def _replaced(d: Decoded, start: int, end: int, labels: list[int], prob: float) -> Decoded:
    """`d` with labels [start, end) replaced: an unchanged label keeps its probability
    and frame; new ones get `prob` and frames spread over the old word's."""
    old = d.indices[start:end]
    same_length = len(labels) == len(old)
    probs = [d.char_probs[start + k] if same_length and labels[k] == old[k] else prob
             for k in range(len(labels))]
    if same_length:
        frames = d.frames[start:end]
    else:
        frames = np.linspace(d.frames[start], d.frames[end - 1], len(labels)).round()
        frames = [int(f) for f in frames]
    return Decoded(d.indices[:start] + labels + d.indices[end:],
                   d.char_probs[:start] + probs + d.char_probs[end:],
                   d.frames[:start] + frames + d.frames[end:])
