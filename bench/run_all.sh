#!/usr/bin/env bash
# Rebuild the whole side-by-side comparison from scratch (issue 7):
#   1. install the reference engines (bench/install_references.sh; skipped if done),
#   2. make sure ocrtool itself imports in its own Python,
#   3. run every engine on every dev set and score them with `ocrtool eval`
#      (bench/compare.py), writing bench/results.md and docs/speed_accuracy.png.
#
#   bash bench/run_all.sh                  # the full comparison
#   bash bench/run_all.sh --limit 5        # extra arguments go to bench/compare.py
#
# Environment: OCRTOOL_PYTHON (default python3) is the Python that runs ocrtool and the
# scorer; NICE=10 runs everything at lower priority (default 0: a benchmark should have
# the machine to itself); SKIP_EASYOCR=1 installs and runs no EasyOCR (saves ~5.5 GB).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
OCRTOOL_PYTHON="${OCRTOOL_PYTHON:-python3}"
NICE_CMD=(nice -n "${NICE:-0}")
cd "$ROOT"

if [ ! -x "$HERE/.venv-ref/bin/python" ] || [ ! -f "$HERE/.venv-ref/installed.txt" ]; then
    bash "$HERE/install_references.sh"
fi

if ! "$OCRTOOL_PYTHON" -c "import ocrtool.reader, ocrtool.evaluation" 2>/dev/null; then
    # The CPU build of torch that lies on this disk first, so that '.[torch]' does not pull
    # a CUDA build; then ocrtool itself, editable, with what its torch backend needs.
    "$OCRTOOL_PYTHON" -m pip install "torch==2.13.0" || true
    "$OCRTOOL_PYTHON" -m pip install -e "$ROOT[torch]"
fi

engines=(rapidocr tesseract easyocr ocrtool-torch ocrtool-onnx)
if [ -n "${SKIP_EASYOCR:-}" ]; then
    engines=(rapidocr tesseract ocrtool-torch ocrtool-onnx)
fi

"${NICE_CMD[@]}" "$HERE/.venv-ref/bin/python" "$HERE/compare.py" \
    --engines "${engines[@]}" --ocrtool-python "$OCRTOOL_PYTHON" "$@"
