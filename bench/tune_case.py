"""Choose `CASE_REPAIR_COST` or `LEXICON_MARGIN` (ocrtool/recognition/stage.py) on the
recognizer's validation crops: the held-out tenth of every training set, cut and read as
`ocrtool train recognizer` validates (the Reader's recognition stage, greedy with the LM
re-reading lines in doubt). The network runs once per crop; only the one knob changes.

    python bench/tune_case.py [--weights weights/recognizer.pt] [--costs 0,1,2,4]
    python bench/tune_case.py --knob lexicon --costs 0,1,2,3,4
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tune_detector import cached  # noqa: E402

from ocrtool.recognition.charset import Charset  # noqa: E402
from ocrtool.recognition.stage import RecognitionStage  # noqa: E402
from ocrtool.runtime.torch_backend import load_recognizer  # noqa: E402
from ocrtool.training.recognizer import (  # noqa: E402
    RecognizerConfig,
    load_crop_sets,
    recognizer_meta,
    score_stage,
    total_cer,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--weights", default="weights/recognizer.pt")
    ap.add_argument("--data-root", default="../shared/data")
    ap.add_argument("--limit", type=int, default=RecognizerConfig().val_limit)
    ap.add_argument("--knob", choices=("case", "lexicon"), default="case",
                    help="case: the case repair's cost limit; lexicon: the word list's margin")
    ap.add_argument("--costs", default="0,0.5,1,1.5,2,3,4,6,8")
    args = ap.parse_args()
    torch.set_num_threads(1)
    _, _, val_sets = load_crop_sets(RecognizerConfig(data_root=args.data_root))
    model, meta = load_recognizer(args.weights)
    charset = Charset.from_dict(meta["charset"])
    stage = RecognitionStage.from_module(model, recognizer_meta(charset, lang=meta.get(
        "lang", "en")), batch_size=64)
    stage.forward = cached(stage.forward)
    for cost in (float(c) for c in args.costs.split(",")):
        if args.knob == "case":
            stage.case_repair.max_cost = cost
        else:
            stage.lexicon_repair.margin = cost
        metrics = score_stage(stage, val_sets, args.limit)
        per_set = {k.split("/")[0]: round(v, 4) for k, v in metrics.items()
                   if k.endswith("/cer_select")}
        words = {k.split("/")[0]: round(v, 3) for k, v in metrics.items()
                 if k.endswith("/word_acc")}
        cased = sum(v for k, v in metrics.items() if k.endswith("/cer"))
        caseless = sum(v for k, v in metrics.items() if k.endswith("/cer_ci"))
        print(f"{args.knob} {cost}: summed CER {total_cer(metrics):.4f} (case-sensitive "
              f"{cased:.4f}, case-only {cased - caseless:.4f}) {per_set} word acc {words}",
              flush=True)


if __name__ == "__main__":
    main()
