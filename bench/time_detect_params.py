"""Time the Reader on a folder of images under detection settings taken in turns.

    python bench/time_detect_params.py --data ../shared/data/ic15_pages_dev \
        --set zoom_out=0 --set zoom_out=0.7 [--rounds 2] [--threads N]

Each `--set` is a comma-separated list of `DetectParams` fields (`-` for the defaults).
The images are decoded once, one untimed read warms up, then every setting reads every
image in each round, the settings taking turns so that a drift in the machine's speed
falls on all of them alike. Prints the median and mean seconds per image of each setting
and their ratios to the first: what a detection option costs, measured in one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

from ocrtool.detection.postprocess import DetectParams
from ocrtool.evaluation.groundtruth import load_ground_truth
from ocrtool.imageio import load_image
from ocrtool.reader import Reader


def parse_setting(spec: str) -> dict:
    """'zoom_out=0.7,canvas=1280' -> {'zoom_out': 0.7, 'canvas': 1280}; '-' -> {}."""
    if spec == "-":
        return {}
    defaults = DetectParams()
    out = {}
    for item in spec.split(","):
        key, value = item.split("=")
        out[key] = type(getattr(defaults, key))(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a data folder (gt.jsonl + images)")
    parser.add_argument("--set", dest="settings", action="append", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()

    rows = load_ground_truth(args.data)[: args.limit]
    images = [load_image(Path(args.data) / row["image"]) for row in rows]
    reader = Reader(backend="onnx", threads=args.threads)
    base = reader.detection.params
    settings = [(spec, replace(base, **parse_setting(spec))) for spec in args.settings]
    reader.read_rgb(images[0])
    times: dict[str, list[float]] = {spec: [] for spec, _ in settings}
    for _ in range(args.rounds):
        for spec, params in settings:
            reader.detection.params = params
            for image in images:
                start = time.perf_counter()
                reader.read_rgb(image)
                times[spec].append(time.perf_counter() - start)
    first = args.settings[0]
    summary = {}
    for spec, values in times.items():
        median, mean = statistics.median(values), statistics.mean(values)
        summary[spec] = {"median_s": round(median, 4), "mean_s": round(mean, 4),
                         "median_ratio": round(median / statistics.median(times[first]), 3),
                         "mean_ratio": round(mean / statistics.mean(times[first]), 3)}
    print(json.dumps({"data": args.data, "images": len(images), "rounds": args.rounds,
                      "settings": summary}, indent=1))


if __name__ == "__main__":
    main()
