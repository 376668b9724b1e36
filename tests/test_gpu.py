"""CPU and GPU agree: run where CUDA is present (skipped elsewhere; see bench/gpu_check.sh,
which runs this file on a lent GPU machine)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

from ocrtool import Reader  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
IMAGES = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".png", ".jpg"))


def test_cuda_reader_reads_like_the_cpu_reader():
    cpu, gpu = Reader(backend="torch", device="cpu"), Reader(backend="torch", device="cuda")
    assert gpu.backend.device == "cuda"
    for image in IMAGES:
        a, b = cpu.read(image), gpu.read(image)
        assert a.text == b.text, image.name
        for la, lb in zip(a.lines, b.lines):
            assert abs(la.confidence - lb.confidence) < 1e-3


def test_cli_device_cuda_runs_without_falling_back():
    out = subprocess.run([sys.executable, "-m", "ocrtool.cli", "read", "--device", "cuda",
                          "--backend", "torch", str(SAMPLES / "receipt.jpg")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "not available" not in out.stderr and "TOTAL" in out.stdout.upper()
