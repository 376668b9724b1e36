"""Choose the Korean jamo LM's weight and the greedy lines handed to it, on validation.

    python bench/korean/tune_lm.py [--lines 300]

The LM is built as ocrtool/recognition/build_korean_lm.py builds the shipped one, but
without every ninth training passage; validation lines are written from those passages
(never the held-out passages of the dev sets) in the training fonts, drawn as the
training lines are. Printed: the CER of the default reading (greedy, lines with a stray
jamo decoded again with the grammar alone), of the syllable-aware beam with the LM at
several weights on every line, and of greedy with only the lines under a confidence
decoded again by that beam (what `RecognitionStage._read_doubtful_again` does), with the share
of lines that pay for the beam.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from validation_lines import split_passages, validation_lines

from ocrtool import Reader
from ocrtool.evaluation.metrics import edit_distance
from ocrtool.recognition.build_korean_lm import train_korean_lm
from ocrtool.recognition.hangul import JamoGrammar
from ocrtool.recognition.stage import JAMO_LM_WEIGHT, JAMO_PENALTY, REDO_CONFIDENCE
from ocrtool.synth.korean import korean_charset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=300)
    ap.add_argument("--weights", default="0,0.2,0.4,0.7,1.0")
    args = ap.parse_args()
    kept, held = split_passages()
    lm = train_korean_lm(kept)
    lines = validation_lines(held, args.lines, "tune_lm")
    charset = korean_charset()
    truths = [t for _, t in lines]

    def cer(preds: list[str]) -> float:
        return sum(edit_distance(p, t) for p, t in zip(preds, truths)) / sum(map(len, truths))

    stage = Reader(lang="ko", backend="onnx", device="cpu").recognition
    prepared = [stage.prepare(img) for img, _ in lines]
    stage.redo_lm = None  # plain greedy, no line decoded again
    greedy = stage.recognize_prepared(prepared)
    conf = np.array([d.confidence for d in greedy])
    print(f"greedy alone: CER {cer([stage.text(d) for d in greedy]):.4f}")
    stage.decoder, stage.lm_weight = "beam", 1.0
    for w in [float(x) for x in args.weights.split(",")]:
        stage.lm = JamoGrammar(charset.chars, JAMO_PENALTY, lm, w)
        t0 = time.perf_counter()
        beam = [stage.text(d) for d in stage.recognize_prepared(prepared)]
        ms = (time.perf_counter() - t0) / len(lines) * 1000
        print(f"beam on every line, LM weight {w}: CER {cer(beam):.4f} ({ms:.1f} ms/line)")
        for c in (0.5, 0.7, 0.9):
            mixed = [b if cf < c else stage.text(g) for g, b, cf in zip(greedy, beam, conf)]
            print(f"  greedy, lines under confidence {c} by this beam: CER {cer(mixed):.4f}, "
                  f"{(conf < c).mean():.0%} of lines")
    # the default path as shipped (JAMO_LM_WEIGHT, REDO_CONFIDENCE), with this LM
    stage.decoder = "greedy"
    stage.redo_lm = JamoGrammar(charset.chars, JAMO_PENALTY, lm, JAMO_LM_WEIGHT)
    t0 = time.perf_counter()
    default = [stage.text(d) for d in stage.recognize_prepared(prepared)]
    ms = (time.perf_counter() - t0) / len(lines) * 1000
    print(f"default reading (greedy; stray-jamo lines and lines under confidence "
          f"{REDO_CONFIDENCE} by the beam at weight {JAMO_LM_WEIGHT}): CER "
          f"{cer(default):.4f} ({ms:.1f} ms/line)")

if __name__ == "__main__":
    main()
