"""Memory of the default read path (issue 14): a long folder run must stay under 500 MB,
and the ONNX path must not import torch. Each check runs in a fresh process, so its peak
RSS (ru_maxrss) is that process's own, not the test runner's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ocrtool.runtime.loader import _gpu_driver_present

ROOT = Path(__file__).resolve().parents[1]

# One Reader reads the bundled receipt at five sizes (1000-1800 pixels high): five page
# shapes at the detector and many crop-batch shapes, as a folder of receipts gives.
READ_RECEIPTS = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    from PIL import Image
    from ocrtool import Reader

    reader = Reader(threads=1)
    page = Image.open("samples/receipt.jpg").convert("RGB")
    chars = 0
    for scale in (2.0, 2.2, 1.6, 2.3, 1.8):
        size = (int(page.width * scale), int(page.height * scale))
        chars += len(reader.read(np.asarray(page.resize(size, Image.BICUBIC))).text)
    print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "torch": "torch" in sys.modules, "backend": reader.backend.name,
                      "chars": chars}))
""")


def run_probe(code: str) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_receipts_read_in_bounded_memory() -> None:
    """Each ONNX session kept its own arena (the detector's largest page next to the
    recognizer's widest batch) and torch was imported to look for a GPU: 849 MB for this
    run before, ~375 MB after (one shared arena, no memory patterns, no torch)."""
    result = run_probe(READ_RECEIPTS)
    assert result["backend"] == "onnx"
    assert result["chars"] > 500  # the receipts were read, not skipped
    assert result["peak_mb"] < 500, result


@pytest.mark.skipif(_gpu_driver_present(), reason="a GPU driver is present: torch is asked")
def test_onnx_path_does_not_import_torch() -> None:
    """Importing torch only to learn that there is no GPU cost ~180 MB and ~2 s a process."""
    result = run_probe(READ_RECEIPTS.replace("(2.0, 2.2, 1.6, 2.3, 1.8)", "(1.0,)"))
    assert result["backend"] == "onnx" and not result["torch"], result
