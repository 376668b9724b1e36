"""Choose the Korean word list's margin (`lexicon_margin` of "ko" in ocrtool/languages.py)
on validation lines whose words the list may not know.

    python bench/korean/tune_lexicon.py [--lines 400] [--margins 0,1,2,3,4,6]

The word list is built as the shipped one (`build_lexicon.korean_words`) but without every
ninth training passage; validation lines are written from those passages (never the
held-out passages of the dev sets) in the training fonts, as bench/korean/tune_lm.py does.
About a third of their words are then missing from the list, as on held-out text. The
network runs once; only the margin changes. Printed: CER and how many words the list
changed, right and wrong.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from validation_lines import split_passages, validation_lines

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: tune_detector

from tune_detector import cached  # noqa: E402

from ocrtool import Reader  # noqa: E402
from ocrtool.evaluation.metrics import edit_distance  # noqa: E402
from ocrtool.languages import get_language  # noqa: E402
from ocrtool.recognition.build_lexicon import korean_words  # noqa: E402
from ocrtool.recognition.lexicon import Lexicon, LexiconRepair  # noqa: E402
from ocrtool.synth.korean import korean_charset  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=400)
    ap.add_argument("--margins", default="0,1,2,3,4,6,8")
    args = ap.parse_args()
    kept, held = split_passages()
    lexicon = Lexicon(korean_words(kept))
    lines = validation_lines(held, args.lines, "tune_lexicon")
    charset = korean_charset()
    truths = [t for _, t in lines]
    words = [w for t in truths for w in t.split()]
    print(f"{len(lines)} lines, {len(words)} words, "
          f"{sum(w in lexicon for w in words) / len(words):.0%} of them in the list")

    stage = Reader(lang="ko", backend="onnx", device="cpu", lexicon=False).recognition
    prepared = [stage.prepare(img) for img, _ in lines]
    stage.forward = cached(stage.forward)
    plain = [stage.text(d) for d in stage.recognize_prepared(prepared)]
    for margin in (float(m) for m in args.margins.split(",")):
        stage.lexicon_repair = LexiconRepair(lexicon, charset, margin,
                                             get_language("ko").lexicon_min_length)
        preds = [stage.text(d) for d in stage.recognize_prepared(prepared)]
        errors = sum(edit_distance(p, t) for p, t in zip(preds, truths))
        better = sum(edit_distance(p, t) < edit_distance(q, t)
                     for p, q, t in zip(preds, plain, truths))
        worse = sum(edit_distance(p, t) > edit_distance(q, t)
                    for p, q, t in zip(preds, plain, truths))
        print(f"margin {margin}: CER {errors / sum(map(len, truths)):.4f} "
              f"(lines better {better}, worse {worse})", flush=True)


if __name__ == "__main__":
    main()
