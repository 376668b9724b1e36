"""Build a language's shipped word list, which `lexicon.LexiconRepair` uses to put
near-miss words right.

    python -m ocrtool.recognition.build_lexicon --lang en   # ocrtool/data/latin_words.txt.gz
    python -m ocrtool.recognition.build_lexicon --lang ko   # ocrtool/data/korean_words.txt.gz

en: PyPI's `wordfreq` (CC BY-SA 4.0 data): the most frequent English words and fewer of
each other language the default model reads, Malay included (receipts from Malaysia are one
of our main domains). Only words of letters, lower-cased. No data set's labels go in: the
dev and test sets must not be written into the model.
ko: the Korean training text of the synthetic lines (`synth.korean`: the training nine
tenths of the Wikipedia passages, as written with their particles, and of the word list in
../shared/data/text_corpora); the held-out tenth that writes the dev lines and pages never
goes in. Hangul-only words. Its margin is chosen by bench/korean/tune_lexicon.py on lines
from passages this list is built without.
"""

from __future__ import annotations

import argparse
import gzip
from collections.abc import Iterable
from pathlib import Path

from ..languages import get_language
from .hangul import is_syllable
from .lexicon import DATA_DIR, EDGE_PUNCT

ENGLISH_WORDS = 50000
OTHER_WORDS = 10000
OTHER_LANGS = ("fr", "de", "es", "pt", "it", "nl", "pl", "ms")


def lexicon_words(english: int = ENGLISH_WORDS, other: int = OTHER_WORDS,
                  langs: tuple[str, ...] = OTHER_LANGS) -> list[str]:
    """Sorted, unique, lower-case words of letters only."""
    from wordfreq import top_n_list

    words = set(top_n_list("en", english))
    for lang in langs:
        words.update(top_n_list(lang, other))
    return sorted({w.lower() for w in words if w.isalpha()})


def korean_words(passages: Iterable[list[str]] | None = None,
                 listed: Iterable[str] | None = None) -> list[str]:
    """Sorted, unique Hangul words of Korean text: by default the training part of the
    synthetic lines' passages and word list (`synth.korean`, never the held-out part)."""
    from ..synth import korean

    passages = korean.passages(held_out=False) if passages is None else passages
    listed = korean.words(held_out=False) if listed is None else listed
    words = {w.strip(EDGE_PUNCT) for p in passages for w in p} | set(listed)
    return sorted(w for w in words if w and all(is_syllable(c) for c in w))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lang", choices=("en", "ko"), default="en")
    ap.add_argument("--out", type=Path, help="default: the language's file in ocrtool/data")
    ap.add_argument("--english", type=int, default=ENGLISH_WORDS)
    ap.add_argument("--other", type=int, default=OTHER_WORDS)
    ap.add_argument("--langs", default=",".join(OTHER_LANGS))
    args = ap.parse_args()
    out = args.out or DATA_DIR / get_language(args.lang).lexicon
    words = (korean_words() if args.lang == "ko" else
             lexicon_words(args.english, args.other, tuple(filter(None, args.langs.split(",")))))
    write_lexicon(words, out)
    print(f"{len(words)} words -> {out}")


def write_lexicon(words: Iterable[str], out: Path) -> None:
    """One word per line, gzip'd reproducibly (the same bytes every build)."""
    with gzip.GzipFile(out, "wb", mtime=0) as f:
        f.write(("\n".join(words) + "\n").encode("utf-8"))


if __name__ == "__main__":
    main()
