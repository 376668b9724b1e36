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


# Linux keeps a process's peak RSS across exec, and a child forked from this test runner
# starts with the runner's pages counted (hundreds of MB late in the suite). So every
# measured command is forked by a small launcher process, which reports its child's own
# peak (wait4) on its last stderr line.
LAUNCHER = textwrap.dedent("""
    import os, sys
    pid = os.fork()
    if pid == 0:
        os.execv(sys.argv[1], sys.argv[1:])
    _, status, usage = os.wait4(pid, 0)
    sys.stderr.write(f"\\nPEAK_KB {usage.ru_maxrss}\\n")
    sys.exit(os.waitstatus_to_exitcode(status))
""")


def launch(cmd: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    """(the finished command, its own peak RSS in MB)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", LAUNCHER, *cmd], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    peak_kb = int(out.stderr.strip().splitlines()[-1].split()[1])
    return out, peak_kb / 1024


def run_probe(code: str) -> dict:
    out, peak_mb = launch([sys.executable, "-c", code])
    assert out.returncode == 0, out.stderr
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "peak_mb": peak_mb}


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


def peak_of(cmd: list[str]) -> tuple[int, float]:
    """(exit code, peak RSS in MB) of a command, its own (see LAUNCHER)."""
    out, peak_mb = launch(cmd)
    return out.returncode, peak_mb


def _huge_file(tmp_path_factory, name: str, make: str) -> Path:
    """`bench/make_bad_inputs.py`'s `make()` written to a temporary file `name`."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_bad_inputs",
                                                  ROOT / "bench" / "make_bad_inputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp_path_factory.mktemp("huge") / name
    path.write_bytes(getattr(module, make)())
    return path


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory) -> Path:
    return _huge_file(tmp_path_factory, "huge_19000x19000_16bit.png", "huge_16bit_png")


def test_huge_16bit_png_reads_under_1_5_gb(huge_png: Path) -> None:
    """A 19000 x 19000 16-bit PNG (0.7 MB) loaded in 1.45 GB but `ocrtool read` peaked at
    4 GB: the page was kept whole as RGB and turned whole for the orientation step. Now it
    is decoded at a third of its size, band by band, and read in ~1 GB; its one dark bar's
    box is still given in the file's pixels."""
    code, peak = peak_of([sys.executable, "-m", "ocrtool.cli", "read", str(huge_png),
                          "--format", "json", "-o", str(huge_png.with_suffix(".jsonl")),
                          "--threads", "1", "-q"])
    assert code == 0
    row = json.loads(huge_png.with_suffix(".jsonl").read_text().splitlines()[0])
    assert (row["width"], row["height"]) == (19000, 19000)
    assert peak < 1500, f"peak RSS {peak:.0f} MB"


def test_a_page_decoded_smaller_reports_boxes_in_the_file_pixels(monkeypatch) -> None:
    """Above the working size a page is read at a whole fraction of its size; its result
    keeps the file's width and height, and the boxes land where the full-size read puts
    them (within the reduction's rounding)."""
    import numpy as np

    from ocrtool import Reader
    from ocrtool import reader as reader_module
    from ocrtool.imageio import load_image
    from ocrtool.pixels import ReducedImage

    path = ROOT / "samples" / "receipt.jpg"
    small = load_image(path, max_pixels=120_000)  # 500 x 770 -> 250 x 385
    assert isinstance(small, ReducedImage) and small.full_size == (500, 770)
    assert small.shape == (385, 250, 3)
    reader = Reader(threads=1, rotate="none", magnify=2.0)
    full = reader.read(path)
    monkeypatch.setattr(reader_module, "WORK_PIXELS", 120_000)
    half = reader.read(path)
    assert (half.width, half.height) == (full.width, full.height) == (500, 770)
    assert half.lines and len(half.lines) >= len(full.lines) // 2
    full_boxes = np.array([np.asarray(ln.points).mean(axis=0) for ln in full.lines])
    for line in half.lines:  # each line's centre is near a line of the full-size read
        centre = np.asarray(line.points).mean(axis=0)
        assert np.min(np.abs(full_boxes - centre).max(axis=1)) < 12, line.text


@pytest.fixture(scope="module")
def huge_rgb_png(tmp_path_factory) -> Path:
    return _huge_file(tmp_path_factory, "huge_19000x19000_rgb.png", "huge_rgb_png")


def test_huge_8bit_rgb_png_reads_under_1_5_gb(huge_rgb_png: Path) -> None:
    """A 19000 x 19000 8-bit RGB PNG (1 MB) peaked at 1.67 GB: Pillow decodes RGB at 4
    bytes a pixel (1.44 GB) before it can be reduced. It is now decoded by libpng straight
    to gray (0.36 GB) and shrunk: ~0.9 GB."""
    out = huge_rgb_png.with_suffix(".jsonl")
    code, peak = peak_of([sys.executable, "-m", "ocrtool.cli", "read", str(huge_rgb_png),
                          "--format", "json", "-o", str(out), "--threads", "1", "-q"])
    assert code == 0
    row = json.loads(out.read_text().splitlines()[0])
    assert (row["width"], row["height"]) == (19000, 19000) and "error" not in row
    assert peak < 1500, f"peak RSS {peak:.0f} MB"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("orientation", [1, 6, 3])
def test_decoded_smaller_matches_the_full_decode(tmp_path: Path, fmt: str,
                                                 orientation: int) -> None:
    """The reduced decoders (libjpeg's scaled decode, libpng straight to gray) give the
    page the full decode would give, shrunk: same turn, same file size, same picture."""
    import cv2
    import numpy as np
    from PIL import Image

    from ocrtool.imageio import load_image

    page = np.asarray(Image.open(ROOT / "samples" / "receipt.jpg").convert("RGB"))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"page.{fmt.lower()}"
    Image.fromarray(page).save(path, fmt, exif=exif.tobytes())
    full = load_image(path)
    small = load_image(path, max_pixels=full.shape[0] * full.shape[1] // 5)
    assert small.full_size == (full.shape[1], full.shape[0])
    assert small.shape[0] * small.shape[1] <= full.shape[0] * full.shape[1] // 5
    gray = cv2.cvtColor(full, cv2.COLOR_RGB2GRAY)
    expected = cv2.resize(gray, small.shape[1::-1], interpolation=cv2.INTER_AREA)
    got = cv2.cvtColor(np.asarray(small), cv2.COLOR_RGB2GRAY)
    assert np.abs(expected.astype(int) - got).mean() < 6
