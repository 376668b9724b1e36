#!/usr/bin/env bash
# Accuracy of the shipped models on the dev sets, every number in README.md and
# weights/MODEL_CARD.md comes from here. Usage: bash bench/eval_models.sh [DATA_ROOT] [BACKEND]
# PARTS=crops or PARTS=e2e runs one half (default: both); PRECISION=fp32 scores the float
# ONNX graphs instead of the shipped default (int8 on CPU), into files named *_fp32.json.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data}
BACKEND=${2:-onnx}
PARTS=${PARTS:-all}
PRECISION=${PRECISION:-auto}
SUFFIX=$([ "$PRECISION" = auto ] && echo "" || echo "_$PRECISION")
EVAL=(ocrtool eval --backend "$BACKEND" --precision "$PRECISION")
OUT=runs/eval  # full reports (per-image details hold dev-set labels: not committed)
mkdir -p "$OUT"
for set in sroie_dev born_digital_dev; do
  if [ "$PARTS" != e2e ]; then
    # recognizer alone, on crops cut from the ground-truth boxes
    "${EVAL[@]}" --data "$DATA/$set" --gt-boxes --out "$OUT/${set}_crops_greedy$SUFFIX.json"
    "${EVAL[@]}" --data "$DATA/$set" --gt-boxes --decoder beam \
      --out "$OUT/${set}_crops_beam$SUFFIX.json"
    "${EVAL[@]}" --data "$DATA/$set" --gt-boxes --decoder beam --lm-weight 0.3 \
      --out "$OUT/${set}_crops_beam_lm$SUFFIX.json"
  fi
  if [ "$PARTS" != crops ]; then
    # end to end: detection + recognition
    "${EVAL[@]}" --data "$DATA/$set" --out "$OUT/${set}_e2e$SUFFIX.json" \
      --save-pred "$OUT/${set}_e2e_pred$SUFFIX.jsonl"
    "${EVAL[@]}" --data "$DATA/$set" --decoder beam --lm-weight 0.3 \
      --out "$OUT/${set}_e2e_beam_lm$SUFFIX.json"
  fi
done
# the committed summary: top-level scores only, no dev-set text
python bench/summarize_reports.py "$OUT" bench/reports/summary.json
