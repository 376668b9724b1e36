#!/usr/bin/env bash
# Every dev set of the models-v1 issue, end to end with the default reading settings, plus
# tight ground-truth crops (cut exactly on the boxes). Usage:
#   bash bench/eval_dev.sh [DATA_ROOT] [WEIGHTS_DIR]      (PRECISION=fp32 for the float graphs;
#   OUT=DIR and SUMMARY=FILE to keep a second run apart from the committed summary)
# Prints one summary block per set and writes runs/eval_dev/<set>[_tight].json (full reports
# hold dev-set labels: not committed) and bench/reports/dev_summary.json (scores only).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data}
WEIGHTS=${2:-}
PRECISION=${PRECISION:-auto}
OUT=${OUT:-runs/eval_dev}
mkdir -p "$OUT"
EVAL=(ocrtool eval --backend onnx --precision "$PRECISION" --threads "${THREADS:-1}")
[ -n "$WEIGHTS" ] && EVAL+=(--weights "$WEIGHTS")
for set in sroie_dev born_digital_dev ic15_pages_dev docbank_pages_dev uw3_lines_dev \
           fr_typewritten_lines_dev; do
  echo "== $set"
  "${EVAL[@]}" --data "$DATA/$set" --out "$OUT/$set.json"
done
for set in born_digital_dev ic15_pages_dev; do
  echo "== $set, ground-truth boxes cut with no margin"
  "${EVAL[@]}" --data "$DATA/$set" --gt-boxes --crop-margin 0 --out "$OUT/${set}_tight.json"
done
python bench/summarize_reports.py "$OUT" "${SUMMARY:-bench/reports/dev_summary.json}"
