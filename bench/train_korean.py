"""The runs that made weights/recognizer_ko.pt (see weights/MODEL_CARD.md).

    python bench/train_korean.py [MINUTES] [--init PT] [--lr LR] [--out-dir DIR] [--weights-out PT]

v0.1: `python bench/train_korean.py 125` (from the English recognizer, lr 1.5e-3).
v0.2: `python bench/train_korean.py 120 --init weights/recognizer_ko.pt --lr 6e-4
--out-dir runs/recognizer_ko2 --weights-out runs/recognizer_ko2_best.pt` (continued).
Resumes from OUT_DIR/last.ckpt when it exists. This is `ocrtool train recognizer --lang ko`
with validation every 250 steps on 400 lines (the CLI takes the config's 500 / 300); it needs
data/ko_lines_val from `ocrtool synth lines --lang ko --seed 1 --count 400 --out data/ko_lines_val`.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtool.training.recognizer import RecognizerConfig, train_recognizer  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("minutes", nargs="?", type=float, default=125)
parser.add_argument("--init", default="weights/recognizer.pt")
parser.add_argument("--lr", type=float, default=1.5e-3)
parser.add_argument("--out-dir", default="runs/recognizer_ko")
parser.add_argument("--weights-out", default="weights/recognizer_ko.pt")
args = parser.parse_args()
cfg = RecognizerConfig(lang="ko", init=args.init, val_sets=["data/ko_lines_val"],
                       minutes=args.minutes, out_dir=args.out_dir, weights_out=args.weights_out,
                       synth_fraction=1.0, eval_every=250, checkpoint_minutes=4, val_limit=400,
                       lr=args.lr, log_every=25)
print(train_recognizer(cfg, log=lambda m: print(m, flush=True)))
