#!/usr/bin/env bash
# One call on a lent GPU machine (see bench/gpu_pack.py): unpack .gpu/, then train the
# recognizer for $MINUTES, or with TRAIN=detector the detector (its pages travel in a
# pack of their own: `gpu_pack.py pack-detector`; the two packs do not fit together).
# The best weights, the last validated recognizers (the device tool brings back 8
# files) and the logs land in $OUT.
#   device run (carry .gpu): MINUTES=8 bash bench/gpu_train.sh
#   detector (after pack-detector): TRAIN=detector MINUTES=8 DET_BATCH=32 DET_WORKERS=14 \
#     DET_ARGS="--eval-every 2000 --val-limit 15" bash bench/gpu_train.sh  (validation blocks
#     training: ~40 s per look at 15 pages a set on a CPU core; choose by its ic15 H-mean)
# VAL_PAGES (default 25, all gpu_pack.py packs) held-out pages per page set are also read
# end to end at each validation (--val-pages): choose the step by those, not by crops.
# The time budget alone ends the run (--steps is set out of reach: session 24's H200 ran
# 16 steps/s at batch 256, and the config's 6000 steps ended it after 6 of 8 minutes).
# DET_ARGS / REC_ARGS add options, e.g. DET_ARGS="--weak-supervision --relabel-every 500"
# (the detector splits real word boxes by its own region peaks: CRAFT's weak supervision),
# REC_ARGS="--ema 0.999" (validate and ship a moving average of the recognizer's weights).
# REC_ARGS="--distill weights/recognizer.pt" / DET_ARGS="--distill weights/detector.pt"
# keep what the shipped model does well while the run learns (the teacher's reading on
# print, its maps on receipts, photos and papers; README "Training"). DET_ARGS="--widen
# 1.5" trains a detector 1.5 times as wide that starts from the shipped one's maps.
# REC_PRUNE=32,48,96,144 REC_ARGS="--distill weights/recognizer.pt --distill-set all
# --ema 0.998" trains a slimmer, faster recognizer from the shipped one's strongest
# channels (`ocrtool train prune`), taught by the shipped one.
# A second call on a machine still warm resumes the first call's run where it stopped (its
# checkpoint is still in runs/gpu_recognizer; session 37's second call did, at the new
# REC_LR): FRESH=1 starts again from REC_INIT. REC_ARGS="--mix SET=W" works on the packed
# sets (their crop caches stand in for the pages since session 37).
# REC_INIT= (empty) trains a fresh recognizer: REC_INIT= REC_ARGS="--width 2 --hidden 192
# --distill weights/recognizer.pt --distill-set all --ema 0.999" starts a larger one (about
# 5 M parameters, 20 MB) taught by the shipped one; its forward pass is 3.3x the shipped
# one's on a CPU (torch, one thread, session 37): for finding what capacity buys, not to ship.
set -euo pipefail
MINUTES=${MINUTES:-8}
OUT=${OUT:-runs/gpu}
REC_INIT=${REC_INIT-weights/recognizer.pt}
DET_INIT=${DET_INIT:-weights/detector.pt}
[[ -n "${FRESH:-}" ]] && rm -rf runs/gpu_recognizer runs/gpu_detector
mkdir -p "$OUT" runs/gpu_detector
python3 -c "import rapidfuzz" 2>/dev/null || \
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .gpu/whl/*.whl
export PYTHONPATH=$PWD:$PWD/.gpu/site:/tmp/site PYTHONUNBUFFERED=1 OCRTOOL_CORPORA=$PWD/.gpu/corpora
python3 bench/gpu_pack.py unpack
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
if [[ -n "${REC_PRUNE:-}" ]]; then
  python3 -m ocrtool.cli train prune --weights "$REC_INIT" --channels "$REC_PRUNE" \
    --out runs/gpu_slim_init.pt
  REC_INIT=runs/gpu_slim_init.pt
fi
[[ " ${TRAIN:-recognizer} " == *" recognizer "* ]] && \
python3 -m ocrtool.cli train recognizer --data-root .gpu/data ${REC_INIT:+--init "$REC_INIT"} \
  --minutes "$MINUTES" --steps 1000000 --batch-size "${REC_BATCH:-256}" --lr "${REC_LR:-1e-3}" \
  --workers "${REC_WORKERS:-15}" --eval-every "${EVAL_EVERY:-1000}" \
  --val-pages "${VAL_PAGES:-25}" --out-dir runs/gpu_recognizer \
  --weights-out "$OUT/recognizer_best.pt" ${REC_ARGS:-} > "$OUT/recognizer.log" 2>&1 &
[[ " ${TRAIN:-recognizer} " == *" detector "* ]] && \
python3 -m ocrtool.cli train detector --data-root .gpu/data --init "$DET_INIT" \
  --minutes "$MINUTES" --batch-size "${DET_BATCH:-16}" --lr "${DET_LR:-1e-3}" --workers "${DET_WORKERS:-6}" \
  --out-dir runs/gpu_detector --weights-out "$OUT/detector_best.pt" ${DET_ARGS:-} \
  > "$OUT/detector.log" 2>&1 &
wait
# the last validated recognizers (their log lines say which step scored what)
ls -t runs/gpu_recognizer/validated/*.pt 2>/dev/null | head -n "${KEEP:-5}" | xargs -r cp -t "$OUT" \
  || true  # none when only the detector trained
tail -n 4 "$OUT"/*.log
