"""Side-by-side benchmark: every engine on every dev set, scored by `ocrtool eval`.

    python bench/compare.py [--engines rapidocr tesseract easyocr ocrtool-torch ocrtool-onnx]
        [--datasets sroie_dev born_digital_dev] [--limit N]

Normally started by `bash bench/run_all.sh`, which installs the reference engines first.
Each engine runs in its own process (`bench/run_reference.py`: warm, default threads,
per-image seconds, peak RSS); the reference engines in bench/.venv-ref, ocrtool in its own
environment (`--ocrtool-python`), so neither's dependencies change the other's numbers.
Every prediction file is then scored by the same `ocrtool eval --pred`. An engine whose
run or scoring fails is kept in the table as "skipped" with the reason, and the rest go on.

Writes bench/results.md (one table per dev set, the command and the machine) and
docs/speed_accuracy.png; raw predictions, sidecars and eval reports go to runs/compare/.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
REFERENCE_ENGINES = ("rapidocr", "tesseract", "easyocr")
OCRTOOL_ENGINES = ("ocrtool-torch", "ocrtool-onnx")
BASELINE = "ocrtool-onnx"  # speed and memory ratios are relative to this engine
DEFAULT_DATASETS = ("sroie_dev", "born_digital_dev")


@dataclass
class Outcome:
    """What one engine did on one data set: scores and timings, or why it was skipped."""

    engine: str
    version: str = ""
    report: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    skipped: str | None = None
    # set for an engine re-scored from an earlier run (--reuse): that run's ocrtool-onnx
    # median s/page and peak RSS, so its ratios compare figures measured side by side
    earlier_base: tuple[float | None, float | None] | None = None

    @property
    def median(self) -> float | None:
        return percentile(self.seconds, 50)

    @property
    def pages_per_second(self) -> float | None:
        total = sum(self.seconds)
        return len(self.seconds) / total if total > 0 else None


# ---------------------------------------------------------------------------- numbers


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile; None for no values (a skipped engine)."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "n/a"
    return f"{value / base:.2f}×"


# ---------------------------------------------------------------------------- running


def tail(path: Path, lines: int = 1) -> str:
    """Last lines of a log, on one line: enough of a reason to put in the table."""
    if not path.exists():
        return "no log"
    text = [s.strip() for s in path.read_text(errors="replace").splitlines() if s.strip()]
    return " / ".join(text[-lines:])[-300:] or "no output"


def run_logged(cmd: list[str], log: Path) -> int:
    """Run a command from the repository root, its stdout and stderr into `log`."""
    with log.open("w") as stream:
        stream.write("$ " + shlex.join(cmd) + "\n")
        stream.flush()
        return subprocess.run(cmd, cwd=ROOT, stdout=stream, stderr=subprocess.STDOUT).returncode


def read_seconds(preds: Path) -> list[float]:
    rows = [json.loads(s) for s in preds.read_text().splitlines() if s.strip()]
    return [float(r["seconds"]) for r in rows if r.get("seconds") is not None]


def run_engine(engine: str, data: Path, work: Path, python: str, scorer: str,
               limit: int | None, weights: Path | None) -> Outcome:
    """Predict with one engine in its own process, then score with `ocrtool eval --pred`."""
    preds, meta_path = predict(engine, data, work, python, limit, weights)
    if not meta_path.exists():
        return Outcome(engine, skipped="run failed: " + tail(work / f"{engine}.run.log"))
    meta = json.loads(meta_path.read_text())
    return score(engine, data, preds, meta, work / f"{engine}.report.json", scorer, limit,
                 work)


def predict(engine: str, data: Path, work: Path, python: str, limit: int | None,
            weights: Path | None, round_: int = 1) -> tuple[Path, Path]:
    """One run of `bench/run_reference.py`: (predictions, sidecar); the sidecar is missing
    when the run failed. Rounds after the first write `<engine>.round<N>.*`."""
    stem = engine if round_ == 1 else f"{engine}.round{round_}"
    preds, meta_path = work / f"{stem}.jsonl", work / f"{stem}.meta.json"
    for stale in (preds, meta_path, work / f"{stem}.report.json"):
        stale.unlink(missing_ok=True)
    cmd = [python, "bench/run_reference.py", "--engine", engine, "--data", str(data),
           "--out", str(preds), "--meta", str(meta_path)]
    cmd += ["--limit", str(limit)] if limit else []
    cmd += ["--weights", str(weights)] if weights and engine in OCRTOOL_ENGINES else []
    print(f"[{data.name}] {engine}: running" + (f" (round {round_})" if round_ > 1 else ""),
          flush=True)
    if run_logged(cmd, work / f"{stem}.run.log") != 0:
        meta_path.unlink(missing_ok=True)
    return preds, meta_path


def per_image_median(rounds: list[list[float]]) -> list[float]:
    """Each image's median time over the rounds that timed every image."""
    full = [r for r in rounds if len(r) == len(rounds[0])]
    return [percentile(list(times), 50) for times in zip(*full)]


def score(engine: str, data: Path, preds: Path, meta: dict, report_path: Path, scorer: str,
          limit: int | None, work: Path) -> Outcome:
    """Score with ocrtool's own evaluator, run by the ocrtool environment's Python."""
    cmd = [scorer, "-m", "ocrtool.cli", "eval", "--data", str(data), "--pred",
           str(preds), "--out", str(report_path)]
    cmd += ["--limit", str(limit)] if limit else []
    print(f"[{data.name}] {engine}: scoring", flush=True)
    if run_logged(cmd, work / f"{engine}.eval.log") != 0 or not report_path.exists():
        return Outcome(engine, meta=meta,
                       skipped="scoring failed: " + tail(work / f"{engine}.eval.log"))
    return Outcome(engine, version=meta.get("version", ""), meta=meta,
                   report=json.loads(report_path.read_text()), seconds=read_seconds(preds))


def reuse_engine(engine: str, data: Path, earlier: Path, scorer: str,
                 limit: int | None) -> Outcome:
    """Re-score an engine's predictions from an earlier compare run (its work folder)."""
    preds, meta_path = earlier / f"{engine}.jsonl", earlier / f"{engine}.meta.json"
    if not preds.exists() or not meta_path.exists():
        return Outcome(engine, skipped=f"no earlier predictions in {earlier}")
    outcome = score(engine, data, preds, json.loads(meta_path.read_text()),
                    earlier / f"{engine}.report.json", scorer, limit, earlier)
    base_preds, base_meta = earlier / f"{BASELINE}.jsonl", earlier / f"{BASELINE}.meta.json"
    if base_preds.exists() and base_meta.exists():
        outcome.earlier_base = (percentile(read_seconds(base_preds), 50),
                                json.loads(base_meta.read_text()).get("peak_rss_mb"))
    else:
        outcome.earlier_base = (None, None)
    return outcome


# ---------------------------------------------------------------------------- reporting


def machine() -> dict:
    """What the numbers were measured on; timings mean nothing without it."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for row in cpuinfo.read_text().splitlines():
            if row.startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    ram = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        ram = f"{kib / 1024 / 1024:.1f} GiB"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram": ram,
            "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "load_average_at_start": load}


def table(dataset: str, outcomes: list[Outcome]) -> list[str]:
    """One Markdown table for one dev set; ratios relative to ocrtool-onnx in this run.

    Page sets show word F1 and detection H-mean; crop sets (no detection) show word
    accuracy in their place, and "crop" for "page".
    """
    base = next((o for o in outcomes if o.engine == BASELINE and not o.skipped), None)
    base_s = base.median if base else None
    base_rss = base.meta.get("peak_rss_mb") if base else None
    crops = any(o.report.get("kind") == "crops" for o in outcomes)
    unit, third, fourth = ("crop", "word acc.", "") if crops else ("page", "word F1 (ci)",
                                                                   "det H-mean")
    out = [f"### {dataset}", "",
           f"| engine | CER | CER (ci) | {third} | {fourth} | s/{unit} median (p10–p90) "
           f"| {unit}s/s | peak RSS MB | s/{unit} vs ocrtool-onnx | RSS vs ocrtool-onnx |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for o in outcomes:
        if o.skipped:
            reason = o.skipped.replace("|", "\\|")
            out.append(f"| {o.engine} | skipped: {reason} | | | | | | | | |")
            continue
        r, rss = o.report, o.meta.get("peak_rss_mb")
        engine_s, engine_rss = base_s, base_rss
        if o.earlier_base is not None:
            engine_s, engine_rss = o.earlier_base
        words = r.get("word_accuracy") if crops else r.get("word_f1_ci")
        det = "" if crops else fmt(r.get("det_hmean"))
        spread = f"{fmt(o.median)} ({fmt(percentile(o.seconds, 10))}–" \
                 f"{fmt(percentile(o.seconds, 90))})"
        name = o.engine + (" †" if o.earlier_base is not None else "")
        out.append(
            f"| {name} | {fmt(r.get('cer'))} | {fmt(r.get('cer_ci'))} | {fmt(words)} "
            f"| {det} | {spread} | {fmt(o.pages_per_second, 2)} | {fmt(rss, 0)} "
            f"| {ratio(o.median, engine_s)} | {ratio(rss, engine_rss)} |")
    images = {o.meta.get("images") for o in outcomes if not o.skipped}
    out += ["", f"Images: {', '.join(str(i) for i in sorted(images)) or '–'}."
            + ("" if base else " ocrtool-onnx did not run, so there are no ratios."), ""]
    if any(o.earlier_base is not None for o in outcomes):
        out += ["† Predicted in an earlier, separate run (`--reuse`) and re-scored here; its "
                "speed and memory were measured under that run's conditions (see below), "
                "and its ratios are against ocrtool-onnx measured "
                "side by side with it in that run.", ""]
    return out


def write_markdown(path: Path, results: dict[str, list[Outcome]], command: str,
                   box: dict, plot_path: Path, note: str = "") -> None:
    versions = sorted({o.version for res in results.values() for o in res if o.version})
    lines = ["# OCR engines side by side", "",
             "Made by `bash bench/run_all.sh` (see bench/README.md); this table by:", "",
             f"    {command}", "",
             f"Date: {datetime.date.today().isoformat()}. Machine: {box['nproc']} CPUs "
             f"(`nproc`), {box['cpu']}, {box['ram']} RAM, {box['os']}, Python "
             f"{box['python']}; load average when the run started: "
             f"{box['load_average_at_start']}.", "",
             "Engines: " + "; ".join(versions) + ".", "",
             "Each engine: one process, default threads, models loaded once, one untimed "
             "warm-up image, then every image timed from file path to boxes and text. "
             "CER is corpus-level over page texts in reading order; (ci) = case-insensitive "
             "(SROIE's labels are all upper case). Word F1 is an order-free bag of words. "
             "Det H-mean at IoU 0.5 against the ground-truth granularity (lines on SROIE, "
             "words on born-digital; engines without word boxes are matched with their "
             "lines). Peak RSS is ru_maxrss of the engine's process (Tesseract: of its "
             "per-page subprocess, which also reloads its model each page). Ratios: this "
             "engine's median s/page (or peak RSS) over ocrtool-onnx's in the same run; "
             "above 1 means slower (or larger). With `--rounds N` the engines ran N times "
             "taking turns, and each image's time is its median over the rounds.", ""]
    for dataset, outcomes in results.items():
        lines += table(dataset, outcomes)
    lines += [note, ""] if note else []
    lines += [f"![speed vs accuracy]({os.path.relpath(plot_path, path.parent)})", ""]
    path.write_text("\n".join(lines))


README_BEGIN, README_END = "<!-- bench:begin -->", "<!-- bench:end -->"


def update_readme(readme: Path, results: dict[str, list[Outcome]], command: str,
                  plot_path: Path, note: str = "") -> bool:
    """Replace the tables between the README's bench markers; False if it has none."""
    text = readme.read_text() if readme.exists() else ""
    if README_BEGIN not in text or README_END not in text:
        return False
    body = [README_BEGIN, "", f"Made by `{command}` (full table with the machine: "
            "[bench/results.md](bench/results.md)).", ""]
    for dataset, outcomes in results.items():
        rows = table(dataset, outcomes)
        body += [f"**{dataset}**"] + rows[1:]
    body += [note, ""] if note else []
    body += [f"![speed vs accuracy]({os.path.relpath(plot_path, readme.parent)})", "",
             README_END]
    head, rest = text.split(README_BEGIN, 1)
    readme.write_text(head + "\n".join(body) + rest.split(README_END, 1)[1])
    return True


def plot(path: Path, results: dict[str, list[Outcome]]) -> None:
    """Median s/page (log scale, p10–p90 bars) against case-insensitive CER, per dev set."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.5), squeeze=False)
    for ax, (dataset, outcomes) in zip(axes[0], results.items()):
        for o in outcomes:
            if o.skipped or o.median is None or o.report.get("cer_ci") is None:
                continue
            lo, hi = percentile(o.seconds, 10), percentile(o.seconds, 90)
            cer_ci = o.report["cer_ci"]
            ax.errorbar([o.median], [cer_ci], xerr=[[o.median - lo], [hi - o.median]],
                        fmt="o", capsize=3, color="C0" if o.engine.startswith("ocrtool")
                        else "C1")
            label = o.engine + (" † (separate run)" if o.earlier_base is not None else "")
            ax.annotate(label, (o.median, cer_ci), textcoords="offset points",
                        xytext=(6, 6 if o.engine != BASELINE else -12), fontsize=9)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_ylim(bottom=0)
        ax.set_xlabel("seconds per page, median (p10–p90), log scale")
        ax.set_ylabel("CER, case-insensitive (lower is better)")
        ax.set_title(dataset)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("Speed vs accuracy (lower left is better)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summary_row(o: Outcome) -> dict:
    """The table's figures for one engine, machine-readable (the reports keep the rest)."""
    scores = {k: v for k, v in o.report.items() if isinstance(v, (int, float))}
    return {"engine": o.engine, "version": o.version, "skipped": o.skipped, **scores,
            "seconds_median": o.median, "seconds_p10": percentile(o.seconds, 10),
            "seconds_p90": percentile(o.seconds, 90), "pages_per_second": o.pages_per_second,
            "peak_rss_mb": o.meta.get("peak_rss_mb")}


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", nargs="+", default=list(REFERENCE_ENGINES + OCRTOOL_ENGINES),
                        choices=REFERENCE_ENGINES + OCRTOOL_ENGINES)
    parser.add_argument("--datasets", nargs="+", default=list(DEFAULT_DATASETS))
    parser.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--limit", type=int, help="only the first N images of each set")
    parser.add_argument("--ref-python", default=str(BENCH / ".venv-ref" / "bin" / "python"),
                        help="Python of the reference engines' virtualenv")
    parser.add_argument("--ocrtool-python", default=os.environ.get("OCRTOOL_PYTHON", "python3"),
                        help="Python that runs ocrtool (and scores every engine)")
    parser.add_argument("--weights", type=Path, help="ocrtool weights folder (default: shipped)")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "compare")
    parser.add_argument("--reuse", nargs=2, action="append", default=[],
                        metavar=("ENGINE", "WORK_DIR"),
                        help="add ENGINE's predictions from an earlier run's --work folder "
                             "(re-scored, not re-run; e.g. EasyOCR, which takes hours here)")
    parser.add_argument("--results", type=Path, default=BENCH / "results.md")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "speed_accuracy.png")
    parser.add_argument("--note", default="", help="a paragraph printed under the tables "
                        "(e.g. the conditions of a --reuse run)")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md",
                        help="README whose bench:begin/end section gets the new tables")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the engines this many times, taking turns, and time each "
                             "image by its median over the rounds: on a shared machine "
                             "whose speed drifts, every engine then meets the same drift "
                             "(accuracy is scored on the first round)")
    args = parser.parse_args(argv)

    def python_of(engine: str) -> str:
        return args.ocrtool_python if engine in OCRTOOL_ENGINES else args.ref_python
    try:  # fail before hours of engine runs, not after them at the plot
        import matplotlib  # noqa: F401
    except ImportError:
        parser.error("matplotlib is missing: run this with bench/.venv-ref/bin/python "
                     "(bench/run_all.sh does)")

    results: dict[str, list[Outcome]] = {}
    for dataset in args.datasets:
        data = (args.data_root / dataset).resolve()
        work = args.work / dataset
        work.mkdir(parents=True, exist_ok=True)
        outcomes = []
        for engine in args.engines:
            outcome = run_engine(engine, data, work, python_of(engine), args.ocrtool_python,
                                 args.limit, args.weights)
            print(f"[{dataset}] {engine}: {outcome.skipped or 'done'}", flush=True)
            outcomes.append(outcome)
        timed = [o for o in outcomes if not o.skipped]
        rounds = {o.engine: [o.seconds] for o in timed}
        for round_ in range(2, args.rounds + 1):  # the engines take turns again
            for o in timed:
                preds, meta_path = predict(o.engine, data, work, python_of(o.engine),
                                           args.limit, args.weights, round_)
                if meta_path.exists():
                    rounds[o.engine].append(read_seconds(preds))
        for o in timed:
            o.seconds = per_image_median(rounds[o.engine])
        for engine, earlier in args.reuse:
            outcome = reuse_engine(engine, data, Path(earlier) / dataset, args.ocrtool_python,
                                   args.limit)
            print(f"[{dataset}] {engine} (earlier run): {outcome.skipped or 'done'}",
                  flush=True)
            outcomes.insert(len([o for o in outcomes if o.engine in REFERENCE_ENGINES]),
                            outcome)
        results[dataset] = outcomes
    command = shlex.join(["python", "bench/compare.py", *(argv if argv is not None
                                                         else sys.argv[1:])])
    write_markdown(args.results, results, command, machine(), args.plot, args.note)
    if update_readme(args.readme, results, command, args.plot, args.note):
        print(f"updated the tables in {args.readme}")
    plot(args.plot, results)
    summary = {d: [summary_row(o) for o in res] for d, res in results.items()}
    (args.work / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.results} and {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
