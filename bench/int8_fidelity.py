"""How faithfully an int8 recognizer reads like its float graph: the share of the
recognizer training's validation crops (the held-out tenth of every training set, page
sets also cut with no margin) whose int8 reading differs from the fp32 one, and the CER
between the two, and how many crops each reads right. What
`export.CALIBRATION_PERCENTILE` was chosen by.

    python bench/int8_fidelity.py WEIGHTS_DIR [WEIGHTS_DIR ...]

Each folder holds recognizer.onnx and recognizer.int8.onnx (`ocrtool export-onnx
--quantize int8`), plus the detector files a Reader loads.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from ocrtool import Reader
from ocrtool.evaluation.metrics import edit_distance
from ocrtool.training.recognizer import RecognizerConfig, load_crop_sets, validation_lines


def readings(weights: str, precision: str, val_sets, limit: int
             ) -> dict[str, tuple[list[str], list[str], bool]]:
    """Per validation set: (readings, truths, case-insensitive)."""
    stage = Reader(weights=weights, precision=precision).recognition
    return {name: ([stage.text(d) for d in stage.recognize_prepared(lines)], truths,
                   cs.case_insensitive)
            for name, cs, lines, truths in validation_lines(stage, val_sets, limit, tight=True)}


def right(read: dict[str, tuple[list[str], list[str], bool]]) -> int:
    """Crops read right (case-insensitively on the sets labelled without case)."""
    return sum((a.upper() == b.upper()) if caseless else (a == b)
               for texts, truths, caseless in read.values() for a, b in zip(texts, truths))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("weights", nargs="+")
    ap.add_argument("--limit", type=int, default=800,
                    help="crops per set, spread over it (800: every crop of most sets)")
    args = ap.parse_args()
    _, _, val_sets = load_crop_sets(RecognizerConfig())
    float_readings = {}  # by the float file's bytes: folders sharing it read it once
    for weights in args.weights:
        key = hashlib.sha256((Path(weights) / "recognizer.onnx").read_bytes()).hexdigest()
        if key not in float_readings:
            float_readings[key] = readings(weights, "fp32", val_sets, args.limit)
        fp32 = float_readings[key]
        int8 = readings(weights, "int8", val_sets, args.limit)
        pairs = [(a, b) for name in fp32 for a, b in zip(int8[name][0], fp32[name][0])]
        differ = sum(a != b for a, b in pairs)
        cer = sum(edit_distance(a, b) for a, b in pairs) / max(sum(len(b) for _, b in pairs), 1)
        per_set = {name: sum(a != b for a, b in zip(int8[name][0], fp32[name][0]))
                   for name in fp32}
        print(f"{weights}: {differ} of {len(pairs)} crops read differently "
              f"({differ / len(pairs):.2%}), CER against fp32 {cer:.4%}; right: int8 "
              f"{right(int8)}, fp32 {right(fp32)}; {per_set}", flush=True)


if __name__ == "__main__":
    main()
