"""Build the shipped Latin-script word list (`ocrtool/data/latin_words.txt.gz`), which
`lexicon.LexiconRepair` uses to put near-miss words right.

    python -m ocrtool.recognition.build_lexicon --out ocrtool/data/latin_words.txt.gz

The words are PyPI's `wordfreq` (CC BY-SA 4.0 data): the most frequent English words and
fewer of each other language the default model reads, Malay included (receipts from
Malaysia are one of our main domains). Only words of letters, lower-cased. No data set's
labels go in: the dev and test sets must not be written into the model.
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("ocrtool/data/latin_words.txt.gz"))
    ap.add_argument("--english", type=int, default=ENGLISH_WORDS)
    ap.add_argument("--other", type=int, default=OTHER_WORDS)
    ap.add_argument("--langs", default=",".join(OTHER_LANGS))
    args = ap.parse_args()
    words = lexicon_words(args.english, args.other, tuple(filter(None, args.langs.split(","))))
    with gzip.GzipFile(args.out, "wb", mtime=0) as f:  # mtime 0: the same bytes every build
        f.write(("\n".join(words) + "\n").encode("utf-8"))
    print(f"{len(words)} words -> {args.out}")


if __name__ == "__main__":
    main()
