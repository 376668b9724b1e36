"""Words the recognizer nearly read, put right with a word list.

A CTC recognizer reads each letter on its own frames, so a stylised or blurred word comes
out one or two letters off a real word ("CORPORHTE", "Pracess", "COMTACT"). Tesseract
leans on dictionaries for this; here a word list only proposes, and the model's own
output decides: a decoded word that is not in the list is compared with the listed words
one or two edits away, each scored by its CTC likelihood over the frames the word was read
from (every alignment summed, the way the model was trained). The best of them replaces
the word when it is at most `margin` (log-probability) less likely than what was decoded.
Names, brands and codes the model reads confidently cost more than that and are kept.
Two listed words read as one ("CLICKHERE": the gap between them was narrow) are
candidates too, with a space between them, under the same margin (where the language
splits words: `Language.lexicon_splits`).

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
from .lm import DATA_DIR

LONG_WORD = 6  # from this many letters on, words two edits away are candidates too
MIN_PART = 2  # the shortest word a word run together is split into
EDGE_PUNCT = "\"'()[]{}.,:;!?«»“”‘’„‚¿¡*-–—"


def listed_words(text: str, lexicon: Lexicon) -> int:
    """How many of a line's words (edge punctuation stripped) the word list holds: what a
    second reading of a line must raise to replace the first (`Reader._with_ends_on_ink`)."""
    return sum(w.strip(EDGE_PUNCT) in lexicon for w in text.split())


class Lexicon:
    """A set of case-folded words (wordfreq's form: "straße" is "strasse"), searchable by
    edit distance.

    Words are bucketed by length and by first and by last character: a word one edit from
    another shares its first or its last character with it (an edit cannot change both
    ends of a word of two or more characters), so only those two buckets are searched,
    a tenth of the words or less. Two edits that change both ends are not found.
    """

    def __init__(self, words: Iterable[str]) -> None:
        self.words = {w.casefold() for w in words if w}
        self.by_end: dict[tuple[int, int, str], list[str]] = {}
        for w in sorted(self.words):
            self.by_end.setdefault((len(w), 0, w[0]), []).append(w)
            self.by_end.setdefault((len(w), -1, w[-1]), []).append(w)

    def __contains__(self, word: str) -> bool:
        return word.casefold() in self.words

    def __len__(self) -> int:
        return len(self.words)

    def near(self, word: str, max_edits: int) -> list[str]:
        """Listed words within `max_edits` edits of `word` (case-folded), itself excluded."""
        word = word.casefold()
        out: set[str] = set()
        for n in range(len(word) - max_edits, len(word) + max_edits + 1):
            for end in (0, -1):
                out.update(m for m, _, _ in process.extract(
                    word, self.by_end.get((n, end, word[end]), []),
                    scorer=Levenshtein.distance, score_cutoff=max_edits, limit=None))
        out.discard(word)
        return sorted(out)

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
    return float(ctc_log_likelihoods(log_probs, [labels])[0])


def ctc_log_likelihoods(log_probs: np.ndarray, label_lists: Sequence[Sequence[int]]
                        ) -> np.ndarray:
    """`ctc_log_likelihood` of several label sequences over the same frames, computed
    together (one pass over the frames: a word has dozens of candidates)."""
    n_frames = log_probs.shape[0]
    lengths = np.array([len(labels) for labels in label_lists])
    if n_frames == 0:
        return np.where(lengths > 0, -np.inf, 0.0)
    states = 2 * lengths + 1
    ext = np.full((len(label_lists), int(states.max())), BLANK, dtype=np.int64)
    for i, labels in enumerate(label_lists):
        ext[i, 1 : 2 * len(labels) : 2] = labels
    # a state may skip the blank before it unless it repeats the label two states back
    skip = np.zeros(ext.shape, bool)
    skip[:, 3::2] = ext[:, 3::2] != ext[:, 1:-2:2]
    alpha = np.full(ext.shape, -np.inf)
    alpha[:, 0] = log_probs[0, BLANK]
    alpha[:, 1] = np.where(lengths > 0, log_probs[0, ext[:, 1]], -np.inf)
    never = np.full((len(label_lists), 2), -np.inf)
    for t in range(1, n_frames):
        step = np.logaddexp(alpha, np.concatenate([never[:, :1], alpha[:, :-1]], axis=1))
        skipped = np.where(skip, np.concatenate([never, alpha[:, :-2]], axis=1), -np.inf)
        alpha = np.logaddexp(step, skipped) + log_probs[t][ext]
    rows = np.arange(len(label_lists))
    last = alpha[rows, states - 1]
    before = np.where(lengths > 0, alpha[rows, np.maximum(states - 2, 0)], -np.inf)
    return np.logaddexp(last, before)


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
                 min_length: int = 3, split: bool = False) -> None:
        self.lexicon, self.charset = lexicon, charset
        self.margin, self.min_length = margin, min_length
        # label of the space put between words run together; None: no splitting
        self.space = charset.chars.index(" ") + 1 if split and " " in charset.chars else None

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
        near, cuts = self._candidates(word), self._cuts(d.indices[start:end])
        if not near and not cuts:
            return d
        spaced = [d.indices[start:start + k] + [self.space] + d.indices[start + k:end]
                  for k in cuts]
        scores = ctc_log_likelihoods(frames, [d.indices[start:end]] + near + spaced)
        best = int(np.argmax(scores[1:]))
        if scores[1 + best] < scores[0] - self.margin:
            return d
        if best >= len(near):  # a space put in: the letters keep what they were read at
            return _spaced(d, start + cuts[best - len(near)], self.space,
                           float(np.exp(min(scores[1 + best] - scores[0], 0.0))))
        labels = near[best]
        return _replaced(d, start, end, labels, float(np.exp(scores[1 + best] / len(labels))))

    def _cuts(self, labels: list[int]) -> list[int]:
        """Where a word not in the list falls into two listed words of MIN_PART letters or
        more ("CLICKHERE", "NOWON"): the positions a space could go. A recognizer reads a
        narrow gap between words as no space; the CTC score then says whether the frames
        allow one there, so a compound or a name read without a gap stays whole."""
        if self.space is None:
            return []
        decode = self.charset.decode
        return [k for k in range(MIN_PART, len(labels) - MIN_PART + 1)
                if decode(labels[:k]) in self.lexicon and decode(labels[k:]) in self.lexicon]

    def _candidates(self, word: str) -> list[list[int]]:
        """Labels of the listed words near `word`, written in its casing (words with a
        character the model lacks are left out)."""
        out = []
        for cand in self.lexicon.near(word, 2 if len(word) >= LONG_WORD else 1):
            cased = casing_like(cand, word)
            labels = self.charset.encode(cased) if cased is not None else []
            if labels and self.charset.decode(labels) == cased:
                out.append(labels)
        return out

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
        return cls(lexicon, charset, language.lexicon_margin, language.lexicon_min_length,
                   language.lexicon_splits)


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


def _spaced(d: Decoded, at: int, space: int, prob: float) -> Decoded:
    """`d` with a space put before label `at`, on the frame halfway between its
    neighbours', at probability `prob`; every other label keeps its probability and frame."""
    frame = (d.frames[at - 1] + d.frames[at]) // 2
    return Decoded(d.indices[:at] + [space] + d.indices[at:],
                   d.char_probs[:at] + [prob] + d.char_probs[at:],
                   d.frames[:at] + [frame] + d.frames[at:])
