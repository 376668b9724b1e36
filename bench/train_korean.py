"""The run that made weights/recognizer_ko.pt (Korean v0.1, see weights/MODEL_CARD.md).

    python bench/train_korean.py [MINUTES]   (default 125; resumes from runs/recognizer_ko)

`ocrtool train recognizer --lang ko` with validation every 250 steps on 400 lines (the CLI
takes the config's 500 / 300); needs data/ko_lines_val from
`ocrtool synth lines --lang ko --seed 1 --count 400 --out data/ko_lines_val`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtool.training.recognizer import RecognizerConfig, train_recognizer  # noqa: E402

cfg = RecognizerConfig(lang="ko", init="weights/recognizer.pt", val_sets=["data/ko_lines_val"],
                       minutes=float(sys.argv[1]) if len(sys.argv) > 1 else 125,
                       out_dir="runs/recognizer_ko", weights_out="weights/recognizer_ko.pt",
                       synth_fraction=1.0, eval_every=250, checkpoint_minutes=4, val_limit=400,
                       lr=1.5e-3, log_every=25)
print(train_recognizer(cfg, log=lambda m: print(m, flush=True)))
