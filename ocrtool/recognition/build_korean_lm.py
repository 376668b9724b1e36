"""Build the shipped Korean jamo language model.

    python -m ocrtool.recognition.build_korean_lm --out ocrtool/data/korean_jamo_lm.json.gz

The Korean recognizer writes conjoining jamo (hangul.py), so its language model is a
character n-gram over jamo (`lm.CharNgramLM` on the Korean charset): an order-8 model sees
about three syllables back, enough to know "오전" from "으전". What goes in, all from the
training part of the Korean text (`synth.korean`; the held-out passages and words that
write the dev lines and pages are never read):
- every training Wikipedia passage, cut into runs of 1 to 6 words (prose as lines hold it);
- words of the word list, frequent ones more often;
- prices, dates, phone numbers, addresses, URLs and mixed Korean/Latin phrases from the
  synthetic-text generators.
`bench/korean/tune_lm.py` chose the weight and the lines the greedy decoder hands to it.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..synth.korean import (
    amount,
    contact,
    date_time,
    frequent_word,
    korean_charset,
    mixed,
    passages,
)
from .lm import CharNgramLM

ORDER = 8
MIN_COUNT = 2


def passage_runs(rng: random.Random, texts: Sequence[Sequence[str]]) -> Iterator[str]:
    """Each passage cut into consecutive runs of 1 to 6 words."""
    for words_ in texts:
        i = 0
        while i < len(words_):
            n = rng.randint(1, 6)
            yield " ".join(words_[i : i + n])
            i += n


def korean_lm_texts(rng: random.Random, texts: Sequence[Sequence[str]],
                    n_words: int = 50000, n_generated: int = 20000) -> list[str]:
    """The LM's training lines from Wikipedia passages `texts` (word lists), the training
    word list and the generators, in the recognizer's canonical (jamo) form."""
    lines = list(passage_runs(rng, texts))
    lines += [frequent_word(rng) for _ in range(n_words)]
    lines += [gen(rng) for gen in (date_time, contact) for _ in range(n_generated)]
    lines += [gen(rng) for gen in (amount, mixed) for _ in range(n_generated)]
    charset = korean_charset()
    return [charset.canonical(t) for t in lines]


def train_korean_lm(texts: Sequence[Sequence[str]], seed: int = 0, order: int = ORDER,
                    min_count: int = MIN_COUNT, about: str = "") -> CharNgramLM:
    lines = korean_lm_texts(random.Random(seed), texts)
    return CharNgramLM.train(lines, order=order, charset=korean_charset(),
                             min_count=min_count, about=about)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="ocrtool/data/korean_jamo_lm.json.gz")
    parser.add_argument("--order", type=int, default=ORDER)
    parser.add_argument("--min-count", type=int, default=MIN_COUNT)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    texts = passages(held_out=False)
    if not texts:
        raise SystemExit("kowiki.txt not found: see ../shared/data/text_corpora")
    about = (f"training part of kowiki.txt ({len(texts)} passages) in runs of 1-6 words, "
             f"kor.wordlist (training part), synth.korean generators; order {args.order}, "
             f"min_count {args.min_count}, seed {args.seed}")
    lm = train_korean_lm(texts, args.seed, args.order, args.min_count, about)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    lm.save(args.out)
    size = Path(args.out).stat().st_size
    print(f"{about}\n{len(lm.log_probs)} n-grams -> {args.out} ({size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
