"""ocrtool's Korean reader against Tesseract's Korean model on the Korean dev pages, in one run.

    python bench/korean/compare_tesseract.py [--data data/ko_pages_dev] [--precision fp32]
        [--engines ocrtool tesseract] [--threads 1] [--limit N] [--out REPORT.json]

Pages come from bench/korean/make_pages.py (NAME.png + NAME.txt + gt.jsonl). Each engine
reads every page in this one process, one after the other, warm (ocrtool's Reader is built
and run once on the first page before the clock starts; Tesseract is its command line,
`tesseract IMG - -l kor --psm N`, which loads its model on every call as users run it;
once with --psm 3, its automatic page layout, and once with --psm 6, one block of text,
which reads these mostly single-column pages far better: compare with the better one).
Both get the same number of CPU threads (--threads, OMP_THREAD_LIMIT for Tesseract).

Scores: CER of the page text against NAME.txt after NFC and with every whitespace run
(line breaks included) collapsed to one space, as the mean over pages and over all
characters; the same without any spaces (spacing errors left out), and the median seconds
per page with the ratio between the engines. ocrtool's own predictions are also scored by
`ocrtool eval`'s scorer against gt.jsonl (line level: detection precision, recall and
H-mean at IoU 0.5 — does the shared detector find Hangul lines?) and saved to
runs/ko_pages/REPORT.preds.jsonl, so `ocrtool eval --data DIR --pred PREDS.jsonl` gives the
same numbers again (`ocrtool eval --data DIR --lang ko` reads the pages anew and scores
them the same way). Speed is given both as wall seconds and as CPU seconds per page (user +
system of the engine's process), the latter steadier on a shared machine.

`--lang en` reads with the English recognizer instead: its CER means nothing on Korean,
but the detector is shared by every language, so the H-mean is nearly the same (only the
few line rules that look at the read text, such as dropping faint lines that do not read
as digits, can differ) — a way to measure detection before the Korean model exists; give
it `--rotate none`, since the orientation step asks the recognizer which way up a page
reads, and the English one turns many Korean pages over.
Writes bench/reports/ko_pages_tesseract.json by default.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINES = ("ocrtool", "tesseract")
Output = tuple[str, float, float]  # page text, wall seconds, CPU seconds


class BenchError(Exception):
    """A one-line reason the comparison cannot run."""


def normalize(text: str) -> str:
    """NFC, every whitespace run one space: layout whitespace is not scored."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def load_pages(data: Path, limit: int | None) -> list[dict]:
    """gt.jsonl rows, each with its image path and expected page text (NAME.txt)."""
    gt = data / "gt.jsonl"
    if not gt.is_file():
        raise BenchError(f"{gt} not found: make the pages first "
                         f"(python bench/korean/make_pages.py --out {data})")
    lines = gt.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    for row in rows:
        image = data / row["image"]
        txt = image.with_suffix(".txt")
        if not image.is_file() or not txt.is_file():
            raise BenchError(f"{image.name}: image or its .txt is missing in {data}")
        row["path"], row["expected"] = image, txt.read_text(encoding="utf-8")
    return rows[:limit] if limit else rows


def check_ocrtool(lang: str, backend: str, weights: Path | None) -> None:
    """Fail with one line when the language's recognizer file is not there."""
    from ocrtool.languages import get_language
    from ocrtool.runtime.base import weights_dir

    try:
        language = get_language(lang)
    except ValueError as e:
        raise BenchError(str(e)) from None
    root = Path(weights or weights_dir())
    want = [".pt"] if backend == "torch" else [".onnx"]
    if not any((root / f"{language.recognizer}{s}").exists() for s in want):
        hint = ("train and export the Korean recognizer first, pass --backend torch to use "
                f"{language.recognizer}.pt, or --engines tesseract")
        raise BenchError(f"{root / (language.recognizer + want[0])} is missing: {hint}")


def check_tesseract() -> str:
    """Tesseract's version line; fails when it or its Korean model is not installed."""
    if not shutil.which("tesseract"):
        raise BenchError("tesseract not found (apt-get install tesseract-ocr tesseract-ocr-kor)")
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout
    if "kor" not in langs.split():
        raise BenchError("Tesseract has no Korean model (apt-get install tesseract-ocr-kor)")
    out = subprocess.run(["tesseract", "--version"], capture_output=True, text=True)
    return (out.stdout or out.stderr).splitlines()[0].strip()


def children_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def run_tesseract(pages: list[dict], threads: int, psm: int) -> list[Output]:
    """Page texts, wall seconds and CPU seconds (the child process's user + system)."""
    env = {**os.environ, "OMP_THREAD_LIMIT": str(threads)}
    out = []
    for page in pages:
        cmd = ["tesseract", str(page["path"]), "-", "-l", "kor", "--psm", str(psm)]
        start, cpu = time.perf_counter(), children_cpu()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        seconds, cpu = time.perf_counter() - start, children_cpu() - cpu
        if proc.returncode != 0:
            why = proc.stderr.strip()[:200]
            raise BenchError(f"tesseract failed on {page['path'].name}: {why}")
        out.append((proc.stdout, seconds, cpu))
    return out


def run_ocrtool(pages: list[dict], args: argparse.Namespace) -> tuple[list[Output], list[dict]]:
    """Page texts with wall and CPU seconds (this process, all its threads), and the
    prediction rows `ocrtool eval --pred` scores."""
    from ocrtool import Reader

    reader = Reader(lang=args.lang, backend=args.backend, precision=args.precision,
                    threads=args.threads, weights=args.weights, rotate=args.rotate)
    reader.read(str(pages[0]["path"]))  # warm-up, not timed
    texts, preds = [], []
    for page in pages:
        start, cpu = time.perf_counter(), time.process_time()
        result = reader.read(str(page["path"]))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        if result.error:
            raise BenchError(f"ocrtool failed on {page['path'].name}: {result.error}")
        texts.append((result.text, seconds, cpu))
        preds.append({**result.to_dict(), "image": page["image"], "seconds": seconds})
    return texts, preds


def score(pages: list[dict], outputs: list[Output]) -> dict:
    from ocrtool.evaluation.metrics import edit_distance

    per_page, errs, chars, errs_ns, chars_ns = [], 0, 0, 0, 0
    for page, (text, seconds, cpu) in zip(pages, outputs):
        ref, hyp = normalize(page["expected"]), normalize(text)
        e = edit_distance(ref, hyp)
        ref_ns, hyp_ns = ref.replace(" ", ""), hyp.replace(" ", "")
        e_ns = edit_distance(ref_ns, hyp_ns)
        errs, chars = errs + e, chars + len(ref)
        errs_ns, chars_ns = errs_ns + e_ns, chars_ns + len(ref_ns)
        per_page.append({"image": page["image"], "kind": page.get("kind"), "chars": len(ref),
                         "cer": e / max(len(ref), 1), "cer_no_space": e_ns / max(len(ref_ns), 1),
                         "seconds": seconds, "cpu_seconds": cpu, "text": hyp})
    return {
        "pages": len(per_page),
        "cer_mean": statistics.fmean(p["cer"] for p in per_page),
        "cer_total": errs / max(chars, 1),
        "cer_no_space_mean": statistics.fmean(p["cer_no_space"] for p in per_page),
        "cer_no_space_total": errs_ns / max(chars_ns, 1),
        "median_seconds": statistics.median(p["seconds"] for p in per_page),
        "median_cpu_seconds": statistics.median(p["cpu_seconds"] for p in per_page),
        "total_seconds": sum(p["seconds"] for p in per_page),
        "per_page": per_page,
    }


def detection(pages: list[dict], preds: list[dict]) -> dict:
    """`ocrtool eval`'s page scorer on ocrtool's predictions (line level)."""
    from ocrtool.evaluation import evaluate

    gt_rows = [{k: v for k, v in p.items() if k not in ("path", "expected")} for p in pages]
    report = evaluate(gt_rows, preds, crops=False, level="line")
    return {k: report[k] for k in ("cer", "cer_ci", "word_f1", "det_precision", "det_recall",
                                   "det_hmean")}


def table(results: dict[str, dict], det: dict | None) -> str:
    head = (f"{'engine':<46}{'CER mean':>9}{'CER all':>9}{'no-space':>9}{'s/page':>8}"
            f"{'ratio':>7}{'cpu s':>7}{'ratio':>7}")
    rows = [head, "-" * len(head)]
    o = results.get("ocrtool")
    for r in results.values():
        wall = f"{r['median_seconds'] / o['median_seconds']:.2f}" if o else "–"
        cpu = f"{r['median_cpu_seconds'] / o['median_cpu_seconds']:.2f}" if o else "–"
        rows.append(f"{r['label']:<46}{r['cer_mean']:>9.2%}{r['cer_total']:>9.2%}"
                    f"{r['cer_no_space_total']:>9.2%}{r['median_seconds']:>8.2f}{wall:>7}"
                    f"{r['median_cpu_seconds']:>7.2f}{cpu:>7}")
    rows.append("CER mean: over pages; CER all: over all characters; no-space: CER all with "
                "spaces removed; s/page, cpu s: medians; ratios against ocrtool")
    for name, t in results.items():
        if o and name.startswith("tesseract"):
            rows.append(f"ocrtool CER / {t['label']} CER (all chars): "
                        f"{o['cer_total'] / max(t['cer_total'], 1e-9):.2f}")
    if det:
        rows.append(f"ocrtool line detection at IoU 0.5: precision {det['det_precision']:.3f}, "
                    f"recall {det['det_recall']:.3f}, H-mean {det['det_hmean']:.3f}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "ko_pages_dev")
    ap.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    ap.add_argument("--lang", default="ko", help="ocrtool's recognizer language (default ko)")
    ap.add_argument("--backend", choices=("auto", "onnx", "torch"), default="auto")
    ap.add_argument("--precision", choices=("auto", "fp32", "int8"), default="auto")
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--rotate", choices=("auto", "none"), default="auto",
                    help="ocrtool's page orientation step (default: auto, as ocrtool read); "
                         "none with --lang en, whose recognizer cannot judge Korean pages")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads for every engine")
    ap.add_argument("--psm", type=int, nargs="+", default=[3, 6],
                    help="Tesseract page segmentation modes, one row each (default: 3, the "
                         "automatic layout, and 6, one block of text: better on these pages)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N pages")
    ap.add_argument("--out", type=Path,
                    default=ROOT / "bench" / "reports" / "ko_pages_tesseract.json")
    args = ap.parse_args(argv)
    if args.threads < 1 or (args.limit is not None and args.limit < 1):
        ap.error("--threads and --limit must be at least 1")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    try:
        pages = load_pages(args.data, args.limit)
        versions = {}
        if "ocrtool" in args.engines:
            check_ocrtool(args.lang, args.backend, args.weights)
            import ocrtool

            versions["ocrtool"] = f"ocrtool {ocrtool.__version__}"
        if "tesseract" in args.engines:
            versions["tesseract"] = check_tesseract()
        results: dict[str, dict] = {}
        det = None
        for engine in args.engines:
            print(f"reading {len(pages)} pages with {engine} ...", file=sys.stderr, flush=True)
            if engine == "ocrtool":
                outputs, preds = run_ocrtool(pages, args)
                det = detection(pages, preds)
                label = (f"ocrtool --lang {args.lang} ({args.backend}, {args.precision}"
                         f"{', rotate none' if args.rotate == 'none' else ''})")
                results[engine] = {"label": label, "version": versions[engine],
                                   **score(pages, outputs)}
                continue
            for psm in args.psm:
                outputs = run_tesseract(pages, args.threads, psm)
                results[f"tesseract-psm{psm}"] = {
                    "label": f"tesseract -l kor --psm {psm}", "version": versions[engine],
                    **score(pages, outputs)}
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(table(results, det))
    report = {
        "command": " ".join(["python bench/korean/compare_tesseract.py",
                             *(argv if argv is not None else sys.argv[1:])]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.python_version()}",
        "data": str(args.data), "threads": args.threads, "lang": args.lang,
        "kinds": sorted({p.get("kind") for p in pages if p.get("kind")}),
        "detection": det, "engines": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if "ocrtool" in args.engines:
        pred_path = ROOT / "runs" / "ko_pages" / f"{args.out.stem}.preds.jsonl"
        pred_path.parent.mkdir(parents=True, exist_ok=True)
        pred_path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in preds),
                             encoding="utf-8")
        print(f"predictions: {pred_path} (ocrtool eval --data {args.data} --pred {pred_path})")
    print(f"report written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
