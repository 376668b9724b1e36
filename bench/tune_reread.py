"""Choose `--reread-below` (recognition/widths.py): lines in doubt read again at other
widths, the readings voting.

    python bench/tune_reread.py [--weights DIR] [--gates 0.8,0.9,0.95,0.97,0.99]

With the training's own sample (`--limit 300`, 2915 crops) the gates from 0.95 up lose
one docbank crop cut on its box, 0.9 and 0.93 none: one crop either way.

Scored on the recognizer training's validation crops (the held-out tenth of every training
set, cut and prepared as `ocrtool train recognizer` validates them, the page sets' boxes
also cut with no margin), with the default precision. Every crop is read once at its own
width and once at each of REREAD_WIDTHS; then for each gate the vote is replayed on the
crops read under it, and each set's count of crops read right is printed against the
single reading, with the share of crops read again. The gate to use is the highest at
which no set reads fewer right.
"""

from __future__ import annotations

import argparse

from ocrtool import Reader
from ocrtool.recognition.widths import REREAD_WIDTHS, majority, widened
from ocrtool.training.recognizer import RecognizerConfig, load_crop_sets, validation_lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=None, help="model folder (default: shipped)")
    ap.add_argument("--gates", default="0.8,0.9,0.93,0.95,0.97,0.99,1.01")
    ap.add_argument("--limit", type=int, default=800,
                    help="crops per set, spread over it (800: every crop of most sets)")
    args = ap.parse_args()
    stage = Reader(weights=args.weights).recognition
    _, _, val_sets = load_crop_sets(RecognizerConfig())
    sets = []  # (name, case-insensitive, truths, confidences, readings per width)
    for name, cs, lines, truths in validation_lines(stage, val_sets, args.limit, tight=True):
        first = stage._read_prepared(lines)
        readings = [[stage.text(d) for d in first]] + [
            [stage.text(d) for d in stage._read_prepared([widened(ln, f) for ln in lines])]
            for f in REREAD_WIDTHS]
        sets.append((name, cs.case_insensitive, truths,
                     [stage.char_confidence(d) for d in first], readings))
    for gate in (float(g) for g in args.gates.split(",")):
        once = voted = again = total = 0
        fewer = []
        for name, caseless, truths, conf, readings in sets:
            fold = str.upper if caseless else str
            right_once = right = 0
            for k, truth in enumerate(truths):
                texts = [r[k] for r in readings]
                text = texts[majority(texts)] if conf[k] < gate else texts[0]
                right_once += fold(texts[0]) == fold(truth)
                right += fold(text) == fold(truth)
            again += sum(c < gate for c in conf)
            total += len(truths)
            once, voted = once + right_once, voted + right
            if right < right_once:
                fewer.append(f"{name} {right - right_once}")
        print(f"under {gate}: {once} -> {voted} of {total} right, {again / total:.0%} read "
              f"again; fewer right: {', '.join(fewer) or 'none'}", flush=True)


if __name__ == "__main__":
    main()
