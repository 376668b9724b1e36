"""Lines read in doubt are read again at other widths, and the readings vote.

A CRNN's frames fall on a line at a fixed stride, so a glyph that straddles two frames,
or a gap that falls inside one, is read differently once the line is stretched or
squeezed a little; where the model is unsure, the reading that several widths agree on
is more often right than the first. On the recognizer's validation crops (the held-out
tenth of the training sets, 5119 crops of 15 sets, `bench/tune_reread.py`), lines read with a
character confidence under REREAD_GATE (17% of them) read again at the four widths below
and decided by a majority of the five readings: 4430 -> 4453 read right, and no set
fewer (ic15 word crops 306 -> 312 of 446, IIIT5K 187 -> 189 of 200; all lines: 4473,
but under 0.97 docbank's tight crops lose two; three readings instead of five: under
0.95 sroie loses four).
On whole pages it changes little: long lines seldom get two equal readings of five, and
the held-out pages' mean word F1 (ci) moved 0.8010 -> 0.8005 in int8 (0.7960 -> 0.7986
in fp32), so it is an option (`ReaderConfig.reread_below`, `--reread-below`), off by
default: for word crops read with `--no-detect`. Its price: the 1069 validation crops of
ic15 words, IIIT5K and SVT took 3.4x as long to read (median of three alternating rounds,
one process): scene words are often in doubt, and so read five times.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import cv2
import numpy as np

from .decoding import Decoded
from .preprocess import MIN_WIDTH, pad_to_width

# the widths a doubtful line is read again at, as factors of its own (fixed before
# measuring: two a little, two more, each way)
REREAD_WIDTHS = (1.15, 0.87, 1.3, 0.77)
# the gate the measures above chose: the highest at which no validation set read fewer
# crops right (what `--reread-below` is best set to)
REREAD_GATE = 0.95


def widened(line: np.ndarray, factor: float) -> np.ndarray:
    """A prepared (H, W) uint8 line stretched (factor > 1) or squeezed to `factor` of its
    width, height kept."""
    width = max(int(round(line.shape[1] * factor)), 1)
    return pad_to_width(cv2.resize(line, (width, line.shape[0]),
                                   interpolation=cv2.INTER_LINEAR), MIN_WIDTH)


def majority(texts: Sequence[str]) -> int:
    """Index of the reading to keep: the first with the text most readings share, if at
    least two share it and the first reading's text is not as common; else 0."""
    counts = Counter(texts)
    top = max(counts.values())
    if top < 2 or counts[texts[0]] == top:
        return 0
    return next(i for i, t in enumerate(texts) if counts[t] == top)


def frames_at_width(d: Decoded, factor: float, frames: int) -> Decoded:
    """A reading of the line at `factor` of its width, its characters' frames mapped back
    onto the line's own `frames` frames (word boxes come from them)."""
    return Decoded(d.indices, d.char_probs,
                   [min(max(int(round(f / factor)), 0), max(frames - 1, 0)) for f in d.frames])
