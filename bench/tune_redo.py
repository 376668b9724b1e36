"""Choose how greedy lines in doubt are read again with the language's LM (Latin script).

    python bench/tune_redo.py [--weights 0.2,0.3,0.5] [--limit 300]

Scored on the recognizer training's validation crops (the held-out tenth of every training
set, cut and prepared as `ocrtool train recognizer` validates them, which is how the
Reader reads them), with the shipped recognizer and the shipped Latin LM (built from the
training pages only). Printed per setting: summed CER over the sets (the training's model
selection score) and each set's CER: greedy alone; the LM beam on every line at each
weight; and greedy with only the lines whose weakest character is under a confidence
read again by that beam (`RecognitionStage._read_doubtful_again`), with the share of lines.
"""

from __future__ import annotations

import argparse

import numpy as np

from ocrtool import Reader
from ocrtool.evaluation.metrics import edit_distance
from ocrtool.recognition.lm import load_default_lm
from ocrtool.recognition.stage import REDO_CONFIDENCE
from ocrtool.training.recognizer import RecognizerConfig, load_crop_sets, validation_lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default="0.2,0.3,0.5")
    ap.add_argument("--limit", type=int, default=RecognizerConfig().val_limit)
    args = ap.parse_args()
    _, _, val_sets = load_crop_sets(RecognizerConfig())
    stage = Reader(backend="onnx", device="cpu").recognition
    lm = load_default_lm(stage.charset)
    sets = [(cs, lines, truths)
            for _, cs, lines, truths in validation_lines(stage, val_sets, args.limit)]

    def report(name: str, texts: list[list[str]]) -> None:
        per_set = {}
        for (cs, _, truths), preds in zip(sets, texts):
            fold = str.upper if cs.case_insensitive else str
            errors = sum(edit_distance(fold(p), fold(t)) for p, t in zip(preds, truths))
            per_set[cs.name.removesuffix("_val")] = round(errors / sum(map(len, truths)), 4)
        print(f"{name}: summed CER {sum(per_set.values()):.4f} {per_set}", flush=True)

    stage.redo_lm = None  # plain greedy
    greedy = [stage.recognize_prepared(lines) for _, lines, _ in sets]
    report("greedy alone", [[stage.text(d) for d in g] for g in greedy])
    conf = np.array([d.confidence for g in greedy for d in g])
    stage.decoder, stage.lm = "beam", lm
    for w in [float(x) for x in args.weights.split(",")]:
        stage.lm_weight = w
        beam = [stage.recognize_prepared(lines) for _, lines, _ in sets]
        report(f"LM beam on every line, weight {w}", [[stage.text(d) for d in b] for b in beam])
        for c in (0.5, 0.7, 0.9):
            report(f"  greedy, lines under {c} ({(conf < c).mean():.0%}) by that beam",
                   [[stage.text(b if g.confidence < c else g) for g, b in zip(gs, bs)]
                    for gs, bs in zip(greedy, beam)])
    shipped = Reader(backend="onnx", device="cpu").recognition
    report(f"as shipped (greedy, lines under {REDO_CONFIDENCE} read again)",
           [[shipped.text(d) for d in shipped.recognize_prepared(lines)]
            for _, lines, _ in sets])


if __name__ == "__main__":
    main()
