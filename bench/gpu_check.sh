#!/usr/bin/env bash
# On a lent GPU machine: `--device cuda` reads like the CPU (tests/test_gpu.py, skipped
# where no GPU is). The machine lacks rapidfuzz: `python bench/gpu_pack.py pack` here puts
# its wheel in .gpu/whl; carry .gpu (or only .gpu/whl) with the device call.
#   device run: bash bench/gpu_check.sh
set -euo pipefail
python3 -c "import rapidfuzz" 2>/dev/null || \
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .gpu/whl/*.whl
export PYTHONPATH=$PWD:/tmp/site
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
python3 -m pytest -q -rs -p no:cacheprovider tests/test_gpu.py
