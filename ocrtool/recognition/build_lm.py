"""Build the shipped Latin-script character language model (the `en` language's LM).

    python -m ocrtool.recognition.build_lm --out ocrtool/data/latin_char_lm.json.gz

What goes in (and why):
- pseudo-sentences of English words drawn from PyPI's `wordfreq` (top 50k, weighted by
  frequency ** 0.75 so common words dominate without drowning the rest), in lower,
  sentence, title and upper case (receipts and signs are often upper case);
- lines from ocrtool.synth.text.random_text: numbers, prices, dates, codes, e-mails and
  URLs, the things documents hold that no word list has;
- the text of sroie_train lines (receipts, our main domain) as written (all upper case)
  and lower-cased, and born_digital_train words, from ../shared/data when present (their
  training pages: the held-out tenth chooses the LM's weight);
- phrases from the French, German, Spanish, Portuguese, Italian and Polish word lists
  (`synth.text.foreign_text`, as the recognizer's synthetic lines): the default model
  reads those languages, and an English-only LM raised French CER on validation;
- with --typeset N, N lines of book and paper print (`synth.text.typeset_text`: ’ inside
  words, “ ” quotations, en-dash ranges, em dashes), without which the LM pulls a doubtful
  "don’t" back to "don't". Off by default: the shipped v2 file is built without them;
- with --math N, N lines of inline mathematics (`synth.text.math_text`) and the Greek
  letters and signs (`MATH_SYMBOLS`) in the LM's alphabet: for a recognizer trained with
  --math-share, whose lines in doubt the beam re-reads with this LM (an LM without them
  takes every sign out again). Off by default.
The dev sets (sroie_dev, born_digital_dev) are never read: they measure the model.
The model is case-blind (trained lower-cased, `CharNgramLM.fold_case`) unless --cased:
case is the recognizer's to read.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path

from ..training.datasets import training_rows
from .charset import DEFAULT_CHARS, Charset
from .lm import CharNgramLM

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
TRAIN_SETS = ("sroie_train", "born_digital_train")  # never the *_dev sets


def wordfreq_sentences(rng: random.Random, count: int, top: int = 50000) -> Iterator[str]:
    """Frequency-weighted English words joined into pseudo-sentences, in mixed case."""
    from wordfreq import top_n_list, word_frequency

    words = [w for w in top_n_list("en", top) if w.isprintable()]
    # cumulative weights once: rng.choices(weights=...) would re-sum 50k weights per call
    cum = list(accumulate(word_frequency(w, "en") ** 0.75 for w in words))
    for _ in range(count):
        text = " ".join(rng.choices(words, cum_weights=cum, k=rng.randint(1, 10)))
        if rng.random() < 0.3:
            text += rng.choice([".", ",", ":", "!", "?"])
        r = rng.random()
        if r < 0.15:
            text = text.upper()
        elif r < 0.25:
            text = text.title()
        elif r < 0.45:
            text = text[:1].upper() + text[1:]
        yield text


def synthetic_lines(rng: random.Random, count: int) -> Iterator[str]:
    """Document strings (prices, dates, codes...) from the synthetic-data generator."""
    from ..synth.text import random_text

    for _ in range(count):
        yield random_text(rng)


def dataset_lines(data_dir: Path, names: tuple[str, ...] = TRAIN_SETS) -> list[str]:
    """Region texts of the named training sets, SROIE also lower-cased."""
    lines = []
    for name in names:
        if name.endswith("_dev"):
            raise ValueError("dev sets are for measurement, not for training the LM")
        gt = data_dir / name / "gt.jsonl"
        if not gt.exists():
            continue
        rows = [json.loads(row) for row in gt.read_text(encoding="utf-8").splitlines()]
        for row in training_rows(rows):  # the held-out pages choose the LM's weight
            for region in row.get("regions", []):
                text = region.get("text", "").strip()
                if not text or region.get("ignore"):
                    continue
                lines.append(text)
                if name.startswith("sroie"):
                    lines.append(text.lower())
    return lines


def corpus(seed: int, sentences: int, synthetic: int, data_dir: Path,
           foreign: int = 0, typeset: int = 0, math: int = 0) -> tuple[list[str], str]:
    """All training lines plus a one-line description of what went in. The typeset and
    math lines are drawn last, so the other lines of a seed are the same without them."""
    from ..synth.text import foreign_text, math_text, typeset_text

    rng = random.Random(seed)
    words = list(wordfreq_sentences(rng, sentences))
    synth = list(synthetic_lines(rng, synthetic))
    real = dataset_lines(data_dir)
    other = [foreign_text(rng) for _ in range(foreign)]
    printed = [typeset_text(rng) for _ in range(typeset)]
    formulas = [math_text(rng) for _ in range(math)]
    about = (
        f"wordfreq en pseudo-sentences: {len(words)}; synth.random_text lines: {len(synth)}; "
        f"{'+'.join(TRAIN_SETS)} region texts (SROIE also lower-cased): {len(real)}; "
        f"synth.text.foreign_text phrases: {len(other)}; "
        + (f"synth.text.typeset_text lines: {len(printed)}; " if printed else "")
        + (f"synth.text.math_text lines: {len(formulas)}; " if formulas else "")
        + f"seed {seed}"
    )
    return words + synth + real + other + printed + formulas, about


def lm_charset(math: bool = False) -> Charset:
    """The LM's alphabet: the default charset, and with `math` the `MATH_SYMBOLS` it lacks
    (in the order `--math-share` training adds them)."""
    if not math:
        return Charset()
    from ..synth.text import math_symbols_missing

    return Charset(DEFAULT_CHARS + math_symbols_missing(DEFAULT_CHARS))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="ocrtool/data/latin_char_lm.json.gz")
    parser.add_argument("--order", type=int, default=6)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--sentences", type=int, default=100000)
    parser.add_argument("--synthetic", type=int, default=40000)
    parser.add_argument("--foreign", type=int, default=100000)
    parser.add_argument("--typeset", type=int, default=0,
                        help="lines of typeset print (’ “ ” – — inside them)")
    parser.add_argument("--math", type=int, default=0,
                        help="lines of inline mathematics; adds MATH_SYMBOLS to the alphabet")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--cased", action="store_true",
                        help="keep case (the shipped model is case-blind)")
    args = parser.parse_args(argv)

    texts, about = corpus(args.seed, args.sentences, args.synthetic, args.data, args.foreign,
                         args.typeset, args.math)
    about += (f"; order {args.order}, min_count {args.min_count}"
              f"{', cased' if args.cased else ', case-blind'}")
    print(about)
    lm = CharNgramLM.train(texts, order=args.order, charset=lm_charset(args.math > 0),
                           min_count=args.min_count,
                           about=about, fold_case=not args.cased)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    lm.save(args.out)
    size = Path(args.out).stat().st_size
    print(f"{len(lm.log_probs)} n-grams, {len(lm.log_backoffs)} contexts -> {args.out} "
          f"({size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
