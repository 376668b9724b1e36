"""Word F1 of ocrtool on dev sets turned by whole and small angles, and how often the page
orientation was found (issue 18).

Each labelled set is copied to a temporary folder with its images AND its labels turned
clockwise by each angle (quarter turns exactly, pixel for pixel; other angles with the
canvas grown so that nothing is cut off and the corners filled with the page's border
colour), then scored with the same functions as `ocrtool eval`. A page counts as found the
right way up when the reported "rotation" undoes the quarter turn (0 for small angles).

    OMP_NUM_THREADS=1 python bench/rotation_eval.py --data ../shared/data/sroie_dev \\
        --angles 0,90,180,270,-15,-10,-5,5,10,15
    OMP_NUM_THREADS=1 python bench/rotation_eval.py --data ../shared/data/sroie_dev --speed

`--speed` times the upright pages with orientation detection on and off, image by image in
one run (the order alternates, so background load falls on both alike).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ocrtool import evaluation as ev
from ocrtool.imageio import load_image
from ocrtool.orientation import tilt_image, turn_image, turn_points
from ocrtool.reader import Reader


def turn_any(rgb: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """The image turned clockwise by `angle` degrees and the 2x3 matrix taking its points
    there: quarter turns exactly, others on a canvas grown to hold the whole page."""
    if angle % 90 == 0:
        return turn_image(rgb, int(angle) % 360), None
    return tilt_image(rgb, angle)


def turn_label_points(points, angle: float, m, w: int, h: int) -> list[list[float]]:
    p = np.asarray(points, np.float32).reshape(-1, 2)
    if m is None:
        p = turn_points(p, int(angle) % 360, w, h)
    else:
        p = p @ m[:, :2].T + m[:, 2]
    return np.round(p, 2).tolist()


def turned_set(data: Path, rows: list[dict], angle: float, out: Path) -> list[dict]:
    """Write the images and gt.jsonl of `rows` turned by `angle` under `out`."""
    (out / "images").mkdir(parents=True)
    turned = []
    for row in rows:
        rgb = load_image(data / row["image"])
        h, w = rgb.shape[:2]
        name = f"images/{Path(row['image']).stem}.png"
        if angle == 0:  # the very same file: upright scores equal `ocrtool eval`'s
            name = f"images/{Path(row['image']).name}"
            shutil.copyfile(data / row["image"], out / name)
            image, m = rgb, None
        else:
            image, m = turn_any(rgb, angle)
            Image.fromarray(image).save(out / name)
        regions = [{**r, "points": turn_label_points(r["points"], angle, m, w, h)}
                   for r in row.get("regions", [])]
        turned.append({**row, "image": name, "width": image.shape[1],
                       "height": image.shape[0], "regions": regions})
    (out / "gt.jsonl").write_text("".join(json.dumps(r) + "\n" for r in turned))
    return turned


def expected_rotation(angle: float) -> int:
    """The clockwise turn that undoes `angle`: its quarter turns (0 for small skews)."""
    return (360 - int(angle)) % 360 if angle % 90 == 0 else 0


def run_angle(reader: Reader, data: Path, rows: list[dict], angle: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        turned = turned_set(data, rows, angle, Path(tmp))
        start = time.perf_counter()
        preds = ev.predict_with_reader(reader, tmp, turned)
        seconds = time.perf_counter() - start
    report = ev.evaluate(turned, preds)
    want = expected_rotation(angle)
    found = [p.get("rotation", 0) for p in preds]
    wrong = [f"{p['image']}:{r}" for p, r in zip(preds, found) if r != want]
    return {"data": data.name, "angle": angle, "images": len(rows),
            "word_f1": report["word_f1"], "word_f1_ci": report["word_f1_ci"],
            "cer_ci": report["cer_ci"], "det_hmean": report["det_hmean"],
            "right_rotation": sum(r == want for r in found) / max(len(found), 1),
            "wrong": wrong, "seconds_per_image": seconds / max(len(rows), 1)}


def speed(data: Path, rows: list[dict], threads: int) -> dict:
    """Seconds per upright page with orientation detection on (auto) and off (none)."""
    readers = {"none": Reader(threads=threads, rotate="none"),
               "auto": Reader(threads=threads, rotate="auto")}
    images = [load_image(data / r["image"]) for r in rows]
    for reader in readers.values():  # warm-up, untimed
        reader.read(images[0])
    times: dict[str, list[float]] = {"none": [], "auto": []}
    cpu: dict[str, list[float]] = {"none": [], "auto": []}
    for i, rgb in enumerate(images):
        for mode in (("none", "auto") if i % 2 == 0 else ("auto", "none")):
            start, start_cpu = time.perf_counter(), time.process_time()
            readers[mode].read(rgb)
            times[mode].append(time.perf_counter() - start)
            cpu[mode].append(time.process_time() - start_cpu)
    none, auto = sum(times["none"]), sum(times["auto"])
    ratios = [a / n for a, n in zip(times["auto"], times["none"])]
    cpu_ratios = [a / n for a, n in zip(cpu["auto"], cpu["none"])]
    # CPU seconds of this process: what a page costs, whatever else the machine runs
    return {"data": data.name, "images": len(rows),
            "none_s_per_image": none / len(rows), "auto_s_per_image": auto / len(rows),
            "auto_over_none": auto / none, "median_ratio": statistics.median(ratios),
            "none_cpu_s_per_image": sum(cpu["none"]) / len(rows),
            "auto_cpu_s_per_image": sum(cpu["auto"]) / len(rows),
            "cpu_auto_over_none": sum(cpu["auto"]) / sum(cpu["none"]),
            "cpu_median_ratio": statistics.median(cpu_ratios),
            "cpu_max_ratio": max(cpu_ratios)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", action="append", required=True, type=Path,
                    help="a labelled page set (repeat for several)")
    ap.add_argument("--angles", default="0,90,180,270",
                    help="clockwise degrees, comma-separated (default 0,90,180,270)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N images")
    ap.add_argument("--rotate", default="auto", help="the Reader's rotate option")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--speed", action="store_true",
                    help="time upright pages with orientation detection on and off")
    ap.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = ap.parse_args(argv)
    try:
        angles = [float(a) for a in args.angles.split(",")]
    except ValueError:
        ap.error(f"--angles {args.angles!r}: comma-separated numbers, please")
    results = []
    reader = None if args.speed else Reader(threads=args.threads, rotate=args.rotate)
    for data in args.data:
        try:
            rows = ev.load_ground_truth(data)[: args.limit]
        except ev.EvaluationError as e:
            print(f"rotation_eval: {e}", file=sys.stderr)
            return 1
        if args.speed:
            r = speed(data, rows, args.threads)
            print(f"{r['data']}: {r['images']} upright images, "
                  f"none {r['none_s_per_image']:.3f} s/img, auto {r['auto_s_per_image']:.3f}"
                  f" s/img, auto/none {r['auto_over_none']:.3f} "
                  f"(median per image {r['median_ratio']:.3f}); CPU s/img none "
                  f"{r['none_cpu_s_per_image']:.3f}, auto {r['auto_cpu_s_per_image']:.3f}, "
                  f"auto/none {r['cpu_auto_over_none']:.3f} (median per image "
                  f"{r['cpu_median_ratio']:.3f}, most {r['cpu_max_ratio']:.3f})", flush=True)
            results.append(r)
            continue
        for angle in angles:
            r = run_angle(reader, data, rows, angle)
            print(f"{r['data']} {angle:+g} deg: word F1 {r['word_f1']:.4f} "
                  f"(ci {r['word_f1_ci']:.4f}), CER ci {r['cer_ci']:.4f}, "
                  f"det H {r['det_hmean']:.4f}, right rotation {r['right_rotation']:.3f}, "
                  f"{r['seconds_per_image']:.2f} s/img"
                  + (f", wrong: {' '.join(r['wrong'])}" if r["wrong"] else ""), flush=True)
            results.append(r)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
