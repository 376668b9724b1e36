"""`ocrtool eval`: score ocrtool, or another engine's predictions, on a labelled folder.

Thin on purpose: loading, matching and scoring live in ocrtool/evaluation.py. Errors are
one line on stderr: exit 2 for wrong arguments (a missing folder or file), 1 for inputs
that cannot be read or a reader that fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

import click

from .. import evaluation as ev
from ..config import ReaderConfig
from .options import reader_config, reader_options


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(code)


def _make_reader(config: ReaderConfig):
    """Import the Reader only when ocrtool itself is scored (not with --pred)."""
    try:
        from ..reader import Reader
    except ImportError as e:
        _fail(f"the ocrtool reader is not available ({e}); score predictions with --pred",
              1)
    try:
        return Reader(config)
    except Exception as e:  # one line for the user, not a traceback
        _fail(f"cannot start the reader: {type(e).__name__}: {e}", 1)


@click.command("eval")
@click.option("--data", "data_dir", required=True, metavar="DIR",
              help="Folder with gt.jsonl (shared format) or ICDAR gt_*.txt files.")
@click.option("--no-detect", is_flag=True,
              help="Crop set: recognize whole images only (implied by a crop-set gt.jsonl).")
@click.option("--pred", "pred_path", default=None, metavar="PREDS.jsonl",
              help="Score these predictions (layout of `ocrtool read --format json`) "
                   "instead of running ocrtool.")
@click.option("--out", "out_path", default=None, metavar="report.json",
              help="Write the full JSON report (per-image details, worst images) here.")
@click.option("--level", type=click.Choice(["auto", "line", "word"]), default="auto",
              show_default=True,
              help="Compare GT boxes with predicted lines or words; auto: words when the "
                   "GT regions are single words.")
@click.option("--gt-boxes", is_flag=True,
              help="Page set: recognize the ground-truth boxes as crops (recognizer only).")
@click.option("--crop-margin", type=click.FloatRange(min=0, max=2), default=None,
              help="With --gt-boxes: context cut around each box, as a fraction of its "
                   "height (0: exactly on the box) [default: the Reader's own].")
@click.option("--save-pred", default=None, metavar="PREDS.jsonl",
              help="Also write ocrtool's predictions here (to re-score without rerunning).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Score only the first N images.")
@click.option("--worst", type=click.IntRange(min=0), default=10, show_default=True,
              help="How many worst images (by case-insensitive CER) the report lists.")
@reader_options
def evaluate(data_dir: str, no_detect: bool, pred_path: str | None, out_path: str | None,
             level: str, gt_boxes: bool, crop_margin: float | None, save_pred: str | None,
             limit: int | None, worst: int, **reading: Any) -> None:
    """Score text and boxes against ground truth: CER, word F1, detection H-mean.

    Every reading option of `ocrtool read` applies, so any way of reading can be scored.
    """
    config = reader_config(reading)
    if not Path(data_dir).is_dir():
        _fail(f"--data {data_dir}: no such directory", 2)
    if pred_path is not None and not Path(pred_path).is_file():
        _fail(f"--pred {pred_path}: no such file", 2)
    try:
        gt_rows = ev.load_ground_truth(data_dir)
    except ev.EvaluationError as e:
        _fail(str(e), 1)
    if limit is not None:
        gt_rows = gt_rows[:limit]
    if gt_boxes:
        if ev.is_crop_set(gt_rows):
            _fail("--gt-boxes needs a page set with regions", 2)
        gt_rows = ev.gt_crop_rows(gt_rows)
    crops = no_detect or gt_boxes or ev.is_crop_set(gt_rows)
    if crops and not gt_boxes and not ev.is_crop_set(gt_rows):
        _fail(f"--no-detect needs a crop set, but {data_dir} holds pages with regions", 2)

    reader_failed = False
    if pred_path is not None:
        try:
            pred_rows = ev.read_jsonl_rows(pred_path)
        except ev.EvaluationError as e:
            _fail(str(e), 1)
    else:
        reader = _make_reader(config)
        if gt_boxes:
            pred_rows = ev.predict_gt_crops(reader, data_dir, gt_rows, crop_margin)
        else:
            pred_rows = ev.predict_with_reader(reader, data_dir, gt_rows, recognize_only=crops)
        reader_failed = any("error" in row for row in pred_rows)
        if save_pred:
            Path(save_pred).write_text("".join(
                json.dumps(r, ensure_ascii=False) + "\n" for r in pred_rows), encoding="utf-8")

    try:
        report = ev.evaluate(gt_rows, pred_rows, crops=crops, level=level, worst=worst)
    except ev.EvaluationError as e:
        _fail(str(e), 1)
    report["data"] = str(data_dir)
    report["predictions_from"] = pred_path if pred_path is not None else "ocrtool"

    for line in ev.summary_lines(report):
        click.echo(line)
    if out_path is not None:
        try:
            Path(out_path).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        except OSError as e:
            _fail(f"cannot write {out_path}: {e}", 1)
        click.echo(f"report written to {out_path}")
    if reader_failed:
        raise SystemExit(1)
