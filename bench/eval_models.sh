#!/usr/bin/env bash
# Accuracy of the shipped models on the dev sets, every number in README.md and
# weights/MODEL_CARD.md comes from here. Usage: bash bench/eval_models.sh [DATA_ROOT] [BACKEND]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data}
BACKEND=${2:-onnx}
OUT=runs/eval  # full reports (per-image details hold dev-set labels: not committed)
mkdir -p "$OUT"
for set in sroie_dev born_digital_dev; do
  # recognizer alone, on crops cut from the ground-truth boxes
  ocrtool eval --data "$DATA/$set" --gt-boxes --backend "$BACKEND" \
    --out "$OUT/${set}_crops_greedy.json"
  ocrtool eval --data "$DATA/$set" --gt-boxes --backend "$BACKEND" --decoder beam \
    --out "$OUT/${set}_crops_beam.json"
  ocrtool eval --data "$DATA/$set" --gt-boxes --backend "$BACKEND" --decoder beam \
    --lm-weight 0.3 --out "$OUT/${set}_crops_beam_lm.json"
  # end to end: detection + recognition
  ocrtool eval --data "$DATA/$set" --backend "$BACKEND" --out "$OUT/${set}_e2e.json" \
    --save-pred "$OUT/${set}_e2e_pred.jsonl"
done
# the committed summary: top-level scores only, no dev-set text
python - "$OUT" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
summary = {p.stem: {k: v for k, v in json.loads(p.read_text()).items()
                    if k not in ("per_image", "worst")} for p in sorted(out.glob("*.json"))}
pathlib.Path("bench/reports").mkdir(exist_ok=True)
pathlib.Path("bench/reports/summary.json").write_text(json.dumps(summary, indent=1) + "\n")
PY
