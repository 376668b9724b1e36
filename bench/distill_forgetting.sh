#!/bin/bash
# What --distill keeps: a user-style fine-tune of the shipped recognizer on one narrow set
# (scene words: ic15_words_train, validated on svt_words_train), with and without
# `--distill weights/recognizer.pt`, then every training set's held-out crops read by the
# shipped model and both fine-tunes (bench/validate_recognizer.py). ic15 crops (words and
# pages) are not held out from this fine-tune: judge by the other sets. ~35 min on 2 cores.
# usage: bash bench/distill_forgetting.sh [OUT_DIR=runs/distill_forgetting]
set -e
OUT=${1:-runs/distill_forgetting}
D=${DATA_ROOT:-../shared/data}
for mode in plain distill; do
  extra=""; [ "$mode" = distill ] && extra="--distill weights/recognizer.pt"
  ocrtool train recognizer --init weights/recognizer.pt --train-set "$D/ic15_words_train" \
    --val-set "$D/svt_words_train" --minutes 15 --lr 3e-4 --synth-fraction 0.3 --seed 3 \
    --out-dir "$OUT/$mode" --weights-out "$OUT/$mode.pt" $extra
done
python bench/validate_recognizer.py weights/recognizer.pt "$OUT/plain.pt" "$OUT/distill.pt"
