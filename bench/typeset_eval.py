"""Typeset print skill of recognizer weights: CER and how many of the marks (’ ‘ “ ” – —)
are written, on 300 synthetic typeset lines (`synth.text.typeset_text`, seed 12345) and on
300 plain lines (`random_text`, seed 54321) as a check that the rest holds; with --math,
also 300 lines of inline mathematics (`synth.text.math_text`, seed 777) and how many of
their Greek letters and signs (`MATH_SYMBOLS`) are written, scored against the text as
printed (a model whose charset lacks the signs is charged for them). Lines drawn here are
not training lines (the training draws from its own seeds).

    python bench/typeset_eval.py weights/recognizer.pt [runs/..._best.pt ...]
"""

from __future__ import annotations

import argparse
import random
import sys
import unicodedata
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtool.evaluation.metrics import edit_distance  # noqa: E402
from ocrtool.recognition.charset import Charset  # noqa: E402
from ocrtool.recognition.stage import RecognitionStage  # noqa: E402
from ocrtool.runtime.torch_backend import load_recognizer  # noqa: E402
from ocrtool.synth.fonts import discover_fonts  # noqa: E402
from ocrtool.synth.lines import render_line  # noqa: E402
from ocrtool.synth.text import (  # noqa: E402
    MATH_SYMBOLS,
    TYPESET_MARKS,
    math_text,
    random_text,
    typeset_text,
)

LINES = 300


def drawn_lines(seed: int, text) -> list:
    rng, fonts = random.Random(seed), discover_fonts()
    return [render_line(rng, text(rng), fonts) for _ in range(LINES)]


def score(stage: RecognitionStage, charset: Charset, lines: list,
          signs: str = TYPESET_MARKS, as_printed: bool = False) -> str:
    preds = [t for t, _ in stage.recognize_text([image for image, _ in lines])]
    truths = [" ".join(unicodedata.normalize("NFKC", t).split()) if as_printed
              else charset.canonical(t) for _, t in lines]
    cer = sum(edit_distance(p, t) for p, t in zip(preds, truths)) / sum(map(len, truths))
    marks = sum(c in signs for t in truths for c in t)
    # a mark counts as written up to as many times as the line's truth holds it
    written = sum(min(p.count(m), t.count(m)) for p, t in zip(preds, truths)
                  for m in set(signs))
    return f"CER {100 * cer:.2f}% marks {written}/{marks}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("weights", nargs="+")
    ap.add_argument("--math", action="store_true", help="also the inline-mathematics lines")
    args = ap.parse_args()
    torch.set_num_threads(1)
    sets = {"typeset": drawn_lines(12345, typeset_text), "plain": drawn_lines(54321, random_text)}
    math = drawn_lines(777, math_text) if args.math else []
    for path in args.weights:
        model, meta = load_recognizer(path)
        stage = RecognitionStage.from_module(model.eval(), meta, "cpu", batch_size=64)
        charset = Charset.from_dict(meta["charset"])
        scores = [f"{name} {score(stage, charset, lines)}" for name, lines in sets.items()]
        if args.math:
            scores.append(f"math {score(stage, charset, math, MATH_SYMBOLS, as_printed=True)}")
        print(path, " | ".join(scores), flush=True)


if __name__ == "__main__":
    main()
