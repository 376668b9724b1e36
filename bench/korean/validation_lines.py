"""Validation lines for tuning the Korean reading on text a model was built without.

Every ninth training passage (never the held-out passages of the dev sets) is kept out of
whatever is being tuned (the jamo LM, the word list); lines are written from those passages
in the training fonts, as the training lines are drawn.
"""

from __future__ import annotations

import random

import numpy as np

from ocrtool.recognition.build_korean_lm import passage_runs
from ocrtool.synth.fonts import hangul_fonts
from ocrtool.synth.korean import korean_charset, passages
from ocrtool.synth.lines import render_line

HOLD_OUT = 9  # every ninth training passage is kept out for validation


def split_passages() -> tuple[list[list[str]], list[list[str]]]:
    """(passages to build from, passages to validate on): the training part, split."""
    texts = passages(held_out=False)
    return ([p for i, p in enumerate(texts) if i % HOLD_OUT != HOLD_OUT - 1],
            [p for i, p in enumerate(texts) if i % HOLD_OUT == HOLD_OUT - 1])


def validation_lines(held: list[list[str]], count: int,
                     tag: str) -> list[tuple[np.ndarray, str]]:
    """`count` rendered lines (image, text) of 1-6 consecutive words of `held`; `tag`
    seeds each line's drawing."""
    rng = random.Random(1)
    runs = list(passage_runs(rng, held))
    rng.shuffle(runs)
    charset, fonts = korean_charset(), hangul_fonts()
    return [render_line(random.Random(f"{tag}/{i}"), charset.canonical(t)[:24], fonts)
            for i, t in enumerate(runs[:count])]
