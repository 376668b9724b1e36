"""Score recognizer weights on the recognizer training's validation crops (the held-out
tenth of every training set), exactly as `ocrtool train recognizer` scores its checkpoints:
the way to compare a new run's checkpoints with the shipped weights on the same crops.

    python bench/validate_recognizer.py weights/recognizer.pt [runs/..._best.pt ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtool.recognition.charset import Charset  # noqa: E402
from ocrtool.runtime.torch_backend import load_recognizer  # noqa: E402
from ocrtool.training.recognizer import (  # noqa: E402
    RecognizerConfig,
    load_crop_sets,
    total_cer,
    validate,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("weights", nargs="+")
    ap.add_argument("--data-root", default="../shared/data")
    ap.add_argument("--limit", type=int, default=RecognizerConfig().val_limit)
    args = ap.parse_args()
    torch.set_num_threads(1)
    _, _, val_sets = load_crop_sets(RecognizerConfig(data_root=args.data_root))
    for path in args.weights:
        model, meta = load_recognizer(path)
        charset = Charset.from_dict(meta["charset"])
        metrics = validate(model, charset, val_sets, "cpu", args.limit,
                           meta.get("lang", "en"))
        per_set = {k.split("/")[0]: round(v, 4) for k, v in metrics.items()
                   if k.endswith("/cer_select")}
        print(f"{path}: summed CER {total_cer(metrics):.4f} (crops cut as the Reader "
              f"cuts them: {total_cer(metrics, tight=False):.4f}) {per_set}", flush=True)


if __name__ == "__main__":
    main()
