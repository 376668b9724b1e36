"""Ray actors against local worker processes on the same folder, in one run.

    python bench/bench_ray.py --images 200 --rounds 1

Makes a folder of small generated text images, then reads it with the local folder path
(`batch.read_files`, what `ocrtool read --workers N` runs) and with
`ocrtool.distributed.read_many` on a local Ray started once beforehand (as a cluster
would be). Runs alternate (local, Ray, local, Ray...) so a background job slows both
alike. For each setup it prints the wall time (start of the readers to the last file,
models loaded inside) and the steady rate (first file to last file), and then the ratio
of 2 Ray actors to `--workers 2`, the issue's acceptance figure (at least 0.90).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WORDS = ("invoice total amount paid cash change receipt number date store card tax "
         "subtotal discount item price quantity").split()


def make_folder(folder: Path, count: int) -> list[Path]:
    """Images of three short text lines (about a receipt's line count per item)."""
    folder.mkdir(parents=True, exist_ok=True)
    font = ImageFont.load_default(size=26)
    rng = random.Random(0)
    paths = []
    for i in range(count):
        image = Image.new("RGB", (480, 150), "white")
        draw = ImageDraw.Draw(image)
        for row in range(3):
            price = f"{rng.randint(1, 999)}.{rng.randint(0, 99):02d}"
            text = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {price}"
            draw.text((14, 10 + 45 * row), text, fill="black", font=font)
        paths.append(folder / f"img{i:04d}.png")
        image.save(paths[-1])
    return paths


def run_local(files: list[Path], workers: int) -> tuple[float, float]:
    """(wall seconds, steady images/s) of the local folder path."""
    from ocrtool.batch import read_files

    start = time.perf_counter()
    stamps = [time.perf_counter() for _ in read_files(files, {"backend": "onnx",
                                                              "threads": 1}, workers)]
    return stamps[-1] - start, (len(stamps) - 1) / (stamps[-1] - stamps[0])


def run_ray(folder: Path, out: Path, actors: int) -> tuple[float, float]:
    from ocrtool.distributed import read_many

    stamps: list[float] = []
    start = time.perf_counter()
    summary = read_many([folder], out, {"backend": "onnx"}, actors=actors,
                        on_file=lambda pages: stamps.append(time.perf_counter()))
    assert summary.errors == 0 and summary.files == len(stamps)
    return stamps[-1] - start, (len(stamps) - 1) / (stamps[-1] - stamps[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--skip-one", action="store_true", help="Only the 2-process setups.")
    args = parser.parse_args()

    import ray

    tmp = Path(tempfile.mkdtemp(prefix="bench_ray_"))
    files = make_folder(tmp / "in", args.images)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    setups = [("local --workers 2", lambda: run_local(files, 2)),
              ("Ray, 2 actors", lambda: run_ray(tmp / "in", tmp / "out", 2))]
    if not args.skip_one:
        setups += [("local --workers 1", lambda: run_local(files, 1)),
                   ("Ray, 1 actor", lambda: run_ray(tmp / "in", tmp / "out", 1))]
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in setups}
    for _ in range(args.rounds):
        for name, run in setups:
            results[name].append(run())
            print(f"  {name}: {results[name][-1][0]:.1f} s", file=sys.stderr)
    ray.shutdown()

    print(f"{args.images} images of 480x150 (3 text lines), ONNX, 1 thread per process, "
          f"median of {args.rounds} round(s)")
    print("| setup | wall s | images/s (wall) | images/s (steady) |")
    print("|---|---:|---:|---:|")
    medians = {}
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        steady = statistics.median(r[1] for r in runs)
        medians[name] = (args.images / wall, steady)
        print(f"| {name} | {wall:.1f} | {args.images / wall:.2f} | {steady:.2f} |")
    ray2, local2 = medians["Ray, 2 actors"], medians["local --workers 2"]
    print(f"ratio Ray 2 actors / local --workers 2: wall {ray2[0] / local2[0]:.2f}, "
          f"steady {ray2[1] / local2[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
