"""A small character n-gram language model for shallow fusion in the CTC beam.

Why characters and not words: crops hold prices, codes and names that no word list has,
and a character model still knows that "tbe" is less likely than "the" without forbidding
anything. Smoothing is interpolated Witten-Bell: simple and needs no discount tuning;
rare long n-grams are pruned and the backoff weights renormalised, so the model stays a
proper distribution.

The model is stored in backoff form (as ARPA files are): for every kept n-gram its full
interpolated log-probability, and for every context the log of its backoff weight, so a
lookup is at most `order` dictionary probes. Keys are strings of characters, not label
indices, so a saved model keeps working when the recognizer's charset grows; the label
indices of the charset given at load time are mapped onto those characters.

Numpy-free on purpose: only the standard library, so the ONNX path stays torch-free.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from .charset import Charset

BOS = 0  # context-start symbol: the blank's index, which never occurs inside text
BOS_CHAR = "\x02"  # how BOS is written inside n-gram keys
FORMAT = "ocrtool-char-ngram"
_CACHE_LIMIT = 500_000  # bounded cache: long runs must not grow memory without end


class CharNgramLM:
    """Interpolated Witten-Bell character n-gram model over a Charset's label indices."""

    def __init__(
        self,
        order: int,
        log_probs: dict[str, float],
        log_backoffs: dict[str, float],
        charset: Charset | None = None,
        about: str = "",
        fold_case: bool = False,
    ) -> None:
        self.order = order
        self.log_probs = log_probs
        self.log_backoffs = log_backoffs
        self.charset = charset or Charset()
        self.about = about
        self.fold_case = fold_case
        # label index -> key character; BOS (0) -> BOS_CHAR
        self._char_of = [BOS_CHAR] + [self._key(c) for c in self.charset.chars]
        self._floor = -math.log(len(self.charset))  # uniform, for characters never seen
        self._cache: dict[tuple[tuple[int, ...], int], float] = {}

    # ---------------------------------------------------------------- training
    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        order: int = 6,
        charset: Charset | None = None,
        min_count: int = 2,
        about: str = "",
        fold_case: bool = False,
    ) -> CharNgramLM:
        """Count n-grams of normalised texts (one context start each) and smooth them,
        lower-cased first when `fold_case`.

        n-grams of length 3 and more seen fewer than `min_count` times are dropped after
        smoothing; that is what keeps the shipped file small.
        """
        charset = charset or Charset()
        fold = (lambda t: "".join(map(_lower, t))) if fold_case else (lambda t: t)
        # one string, each text behind a context start; n-grams that straddle two texts
        # are the ones holding BOS anywhere but first, and are dropped below
        joined = "".join(BOS_CHAR + fold(charset.normalize(t)) for t in texts)
        counts: list[Counter[str]] = [Counter()]
        for n in range(1, order + 1):
            grams = Counter(joined[i : i + n] for i in range(len(joined) - n + 1))
            counts.append(Counter({g: k for g, k in grams.items() if BOS_CHAR not in g[1:]}))
        del counts[1][BOS_CHAR]  # BOS is never predicted
        log_probs, log_backoffs = _witten_bell(counts, len(charset), min_count)
        return cls(order, log_probs, log_backoffs, charset, about, fold_case)

    def _key(self, char: str) -> str:
        return _lower(char) if self.fold_case else char

    # ---------------------------------------------------------------- scoring
    def log_prob(self, context: Sequence[int], index: int) -> float:
        """Natural-log P(index | context); context is label indices, BOS is implied first."""
        ctx = tuple(context[-(self.order - 1) :]) if self.order > 1 else ()
        key = (ctx, index)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        value = self._lookup(ctx, index, len(context) < self.order - 1)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = value
        return value

    def _lookup(self, ctx: tuple[int, ...], index: int, at_start: bool) -> float:
        if index <= 0 or index >= len(self._char_of):
            return self._floor
        char_of = self._char_of
        history = "".join(char_of[i] for i in ctx)
        if at_start:
            history = BOS_CHAR + history
        target = char_of[index]
        backoff = 0.0
        for start in range(len(history) + 1):
            h = history[start:]
            lp = self.log_probs.get(h + target)
            if lp is not None:
                return backoff + lp
            backoff += self.log_backoffs.get(h, 0.0)
        return backoff + self._floor

    def score(self, text: str) -> float:
        """Total natural-log probability of a text (for tests and perplexity)."""
        indices = self.charset.encode(text)
        return sum(self.log_prob(indices[:i], k) for i, k in enumerate(indices))

    def perplexity(self, texts: Iterable[str]) -> float:
        """Per-character perplexity over texts; lower is better."""
        total, n = 0.0, 0
        for text in texts:
            total += self.score(text)
            n += len(self.charset.encode(text))
        return math.exp(-total / max(n, 1))

    # ---------------------------------------------------------------- storage
    def to_dict(self) -> dict:
        """Each table as two strings (newline-joined keys, space-joined values): parsing
        two long strings is several times faster than a JSON object of 400k entries."""
        return {
            "format": FORMAT,
            "version": 2,
            "order": self.order,
            "chars": self.charset.chars,
            "about": self.about,
            "fold_case": self.fold_case,
            "log_probs": _pack(self.log_probs),
            "log_backoffs": _pack(self.log_backoffs),
        }

    def save(self, path: str | Path) -> None:
        """Gzip JSON: readable with any tool, and small (sorted keys share prefixes)."""
        data = json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as f:
            f.write(data)

    @classmethod
    def load(cls, path: str | Path, charset: Charset | None = None) -> CharNgramLM:
        """Load a saved model; `charset` is the recognizer's (defaults to the stored one)."""
        with gzip.open(path, "rt", encoding="utf-8") as f:
            d = json.load(f)
        if d.get("format") != FORMAT:
            raise ValueError(f"{path} is not an {FORMAT} file")
        charset = charset or Charset(d["chars"])
        return cls(d["order"], _unpack(d["log_probs"]), _unpack(d["log_backoffs"]), charset,
                   d.get("about", ""), d.get("fold_case", False))


def _lower(char: str) -> str:
    """One character's lower case, itself where lower-casing makes two ("İ")."""
    low = char.lower()
    return low if len(low) == 1 else char


def _pack(table: dict[str, float]) -> dict[str, str]:
    keys = sorted(table)  # sorted keys share prefixes: gzip compresses them well
    return {"keys": "\n".join(keys), "values": " ".join(f"{table[k]:.3f}" for k in keys)}


def _unpack(packed: dict[str, str]) -> dict[str, float]:
    if not packed["keys"]:
        return {}
    keys = packed["keys"].split("\n")
    return dict(zip(keys, map(float, packed["values"].split(" "))))


def _witten_bell(
    counts: list[Counter[str]], vocab_size: int, min_count: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Interpolated Witten-Bell, pruned, in normalised backoff form.

    P(w|h) = (c(hw) + T(h) P(w|h')) / (c(h) + T(h)), T(h) = distinct followers of h, and
    the unigram interpolates with the uniform 1/V. Probabilities come from the full
    counts; n-grams of length >= 3 seen fewer than `min_count` times are then dropped
    and each context's backoff weight is recomputed so that its distribution still sums
    to one (as SRILM does when it prunes): bow(h) = (1 - sum of kept P(w|h)) /
    (1 - sum of P(w|h') over the same w). Without pruning bow(h) is exactly T(h) / (c(h)
    + T(h)), the interpolation weight.
    """
    probs: dict[str, float] = {}  # linear probabilities while building
    log_backoffs: dict[str, float] = {}
    for n in range(1, len(counts)):
        totals: Counter[str] = Counter()
        types: Counter[str] = Counter()
        for gram, c in counts[n].items():
            totals[gram[:-1]] += c
            types[gram[:-1]] += 1
        kept_mass: Counter[str] = Counter()
        lower_mass: Counter[str] = Counter()
        for gram, c in counts[n].items():
            if n > 2 and c < min_count:
                continue
            h = gram[:-1]
            lower = _backed_off(probs, log_backoffs, gram[1:], vocab_size)
            p = (c + types[h] * lower) / (totals[h] + types[h])
            probs[gram] = p
            kept_mass[h] += p
            lower_mass[h] += lower
        for h in kept_mass:
            left, lower_left = 1.0 - kept_mass[h], 1.0 - lower_mass[h]
            if left > 1e-12 and lower_left > 1e-12:
                log_backoffs[h] = math.log(left / lower_left)
            else:  # the kept followers cover (nearly) everything
                log_backoffs[h] = math.log(1e-12)
    return {g: math.log(p) for g, p in probs.items()}, log_backoffs


def _backed_off(probs: dict, log_backoffs: dict, gram: str, vocab_size: int) -> float:
    """Linear P of an n-gram in the (pruned) model built so far, through the backoffs."""
    backoff = 0.0
    for start in range(len(gram)):
        g = gram[start:]
        if g in probs:
            return math.exp(backoff) * probs[g]
        backoff += log_backoffs.get(g[:-1], 0.0)
    return math.exp(backoff) / vocab_size


DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_PATH = DATA_DIR / "latin_char_lm.json.gz"


def load_default_lm(charset: Charset | None = None) -> CharNgramLM:
    """The shipped Latin-script model (ocrtool/data/latin_char_lm.json.gz): English and
    the European languages the default recognizer reads."""
    return CharNgramLM.load(DEFAULT_PATH, charset)


def load_language_lm(code: str, charset: Charset | None = None) -> CharNgramLM:
    """The shipped LM of language `code` (languages.py names its file), read once per
    process and charset: every recognition stage built for the language shares it."""
    return _language_lm(code, charset.chars if charset else None,
                        charset.form if charset else None)


@lru_cache(maxsize=4)
def _language_lm(code: str, chars: str | None, form: str | None) -> CharNgramLM:
    from ..languages import get_language

    charset = Charset(chars, form) if chars is not None else None
    return CharNgramLM.load(DATA_DIR / get_language(code).lm, charset)
