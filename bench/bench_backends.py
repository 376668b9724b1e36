"""Forward-pass speed of the backends: PyTorch eager vs ONNX Runtime (and int8 if present).

    python bench/bench_backends.py [--weights DIR] [--repeats 7] [--threads N] [--json OUT]

Measures recognizer crops/s at batch 1 and 32 on 32 x 200 crops (a typical line), and
detector seconds per 1000 x 1400 page (padded to 1024 x 1408, as the Reader pads to 32).
Each backend runs in its own subprocess so its peak RSS (ru_maxrss) is its own, and the
ONNX worker never imports torch, as in a torch-free install. `--weights` needs
detector.pt and recognizer.pt; missing .onnx files are exported to a temporary folder.
Forward passes are timed alone (warm, medians over repeats); "det full" is the whole
detection step on the bundled receipt photo resized to 1000 x 1400: input preparation,
forward pass and box extraction (`maps_to_words`), as the Reader runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CROP_WIDTH = 200
PAGE = (1, 3, 1408, 1024)  # a 1000 x 1400 portrait page padded to multiples of 32
BATCHES = (1, 32)


def median_seconds(fn, repeats: int, warmup: int = 2) -> float:
    """Median wall time of `fn()`; warm-up runs first (ORT and torch allocate lazily)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def load(backend: str, weights: Path, threads: int):
    sys.path.insert(0, str(ROOT))
    if backend == "torch":
        from ocrtool.runtime.torch_backend import TorchBackend

        return TorchBackend(weights, device="cpu", threads=threads)
    from ocrtool.runtime.onnx_backend import OnnxBackend

    precision = "int8" if backend == "int8" else "fp32"
    return OnnxBackend(weights, device="cpu", threads=threads, precision=precision)


def detect_receipt(model, _cache: dict = {}) -> int:  # noqa: B006 - a memo, on purpose
    """Prepare + detect + extract word boxes on a 1000 x 1400 receipt photo."""
    import cv2

    from ocrtool.detection.postprocess import DetectParams, maps_to_words, prepare_image

    if "image" not in _cache:
        bgr = cv2.imread(str(ROOT / "samples" / "receipt.jpg"))
        _cache["image"] = cv2.cvtColor(cv2.resize(bgr, (1000, 1400)), cv2.COLOR_BGR2RGB)
    params = DetectParams()
    batch, scale = prepare_image(_cache["image"], params)
    maps = model.detect(batch)[0]
    return len(maps_to_words(maps[0], maps[1], params, scale)[0])


def worker(backend: str, weights: Path, threads: int, repeats: int) -> dict:
    """Run in a fresh process: time one backend and report its own peak RSS."""
    model = load(backend, weights, threads)
    rng = np.random.default_rng(0)
    result: dict = {"backend": backend, "torch_imported": "torch" in sys.modules}
    if backend == "int8":
        result["files"] = {k: Path(v).name for k, v in model.files.items()}
    for batch in BATCHES:
        crops = rng.uniform(-1, 1, (batch, 1, 32, CROP_WIDTH)).astype(np.float32)
        seconds = median_seconds(lambda crops=crops: model.recognize(crops), repeats)
        result[f"crops_per_s_b{batch}"] = batch / seconds
    page = rng.standard_normal(PAGE, dtype=np.float32)
    result["detector_s_per_page"] = median_seconds(lambda: model.detect(page),
                                                   max(3, repeats // 2), warmup=1)
    result["detect_full_s_per_page"] = median_seconds(lambda: detect_receipt(model),
                                                      max(3, repeats // 2), warmup=1)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def ensure_onnx(weights: Path) -> Path:
    """The folder that holds the .onnx files: `weights` itself, or a fresh export."""
    if (weights / "detector.onnx").exists() and (weights / "recognizer.onnx").exists():
        return weights
    sys.path.insert(0, str(ROOT))
    import shutil

    from ocrtool.export import export_all

    out = Path(tempfile.mkdtemp(prefix="ocrtool-bench-"))
    for kind in ("detector", "recognizer"):
        shutil.copy(weights / f"{kind}.pt", out / f"{kind}.pt")
    samples = sorted((ROOT / "samples").glob("*.[pj][np]g"))
    export_all(out, out, check=False, quantize="int8", samples=samples,
               log=lambda line: print(line, file=sys.stderr))
    return out


def run_worker(backend: str, weights: Path, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--worker", backend, "--weights", str(weights),
           "--threads", str(args.threads), "--repeats", str(args.repeats)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{backend} worker failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(rows: list[dict], args: argparse.Namespace) -> None:
    torch_row = next(r for r in rows if r["backend"] == "torch")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"threads={args.threads}, repeats={args.repeats}, load avg "
          f"{os.getloadavg()[0]:.1f} (other processes make absolute numbers noisy)")
    print(f"{'backend':8} {'crops/s b1':>11} {'crops/s b32':>12} {'det s/page':>11} "
          f"{'det full s':>11} {'peak RSS MB':>12}  ratios vs torch (b1 / b32 / det)")
    for r in rows:
        ratios = (r["crops_per_s_b1"] / torch_row["crops_per_s_b1"],
                  r["crops_per_s_b32"] / torch_row["crops_per_s_b32"],
                  torch_row["detector_s_per_page"] / r["detector_s_per_page"])
        print(f"{r['backend']:8} {r['crops_per_s_b1']:11.1f} {r['crops_per_s_b32']:12.1f} "
              f"{r['detector_s_per_page']:11.3f} {r['detect_full_s_per_page']:11.3f} "
              f"{r['peak_rss_mb']:12.0f}  "
              + " / ".join(f"{x:.2f}x" for x in ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=ROOT / "weights")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument("--worker", choices=["torch", "onnx", "int8"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.weights, args.threads, args.repeats)))
        return
    onnx_dir = ensure_onnx(args.weights)
    backends = ["torch", "onnx"]
    if (onnx_dir / "recognizer.int8.onnx").exists():
        backends.append("int8")
    rows = [run_worker("torch", args.weights, args)]
    rows += [run_worker(b, onnx_dir, args) for b in backends[1:]]
    report(rows, args)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
