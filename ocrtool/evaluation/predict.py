"""ocrtool's predictions on a labelled folder: the Reader over every image (or over the
ground-truth boxes), timed, one prediction row per image."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def predict_with_reader(reader, data_dir: str | Path, gt_rows: list[dict],
                        recognize_only: bool = False,
                        progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Run a Reader over the ground truth's images; one prediction row per image.

    The first image is read once untimed so that lazy start-up (model load, first-call
    allocation) is not charged to it: timings are warm. An image that fails gives an
    `{"image", "error"}` row, scored as an empty page, and the run goes on.
    """
    root = Path(data_dir)
    if gt_rows:
        try:
            _read(reader, root / gt_rows[0]["image"], recognize_only)
        except Exception:  # the timed pass below records the error
            pass
    rows: list[dict] = []
    for i, row in enumerate(gt_rows):
        start = time.perf_counter()
        try:
            pred = _read(reader, root / row["image"], recognize_only).to_dict()
        except Exception as e:  # one bad image must not end the run
            pred = {"error": f"{type(e).__name__}: {e}"}
        pred["image"] = row["image"]
        pred["seconds"] = time.perf_counter() - start
        rows.append(pred)
        if progress is not None:
            progress(i + 1, len(gt_rows))
    return rows


def _read(reader, path: Path, recognize_only: bool):
    if recognize_only:
        return reader.read(str(path), recognize_only=True)
    return reader.read(str(path))


def predict_gt_crops(reader, data_dir: str | Path, crop_rows: list[dict],
                     margin: float | None = None) -> list[dict]:
    """Recognize every ground-truth box (cut from its page) with the Reader.

    `margin` (a fraction of the box height on every side) replaces the Reader's own
    context: 0 cuts exactly on the box, as users and benchmarks hand over word crops.
    """
    from ..geometry import order_clockwise
    from ..imageio import load_image
    from ..recognition.preprocess import crop_line

    root = Path(data_dir)
    by_page: dict[str, list[dict]] = {}
    for row in crop_rows:
        by_page.setdefault(row["page"], []).append(row)
    preds: list[dict] = []
    for page, rows in by_page.items():
        start = time.perf_counter()
        image = load_image(root / page)
        context = {} if margin is None else {"context": (margin, margin)}
        crops = [crop_line(image, order_clockwise(np.array(r["points"], np.float32)),
                           **context) for r in rows]
        texts = reader.recognize_text(crops, tight_ends=margin == 0)
        seconds = (time.perf_counter() - start) / max(len(rows), 1)
        preds += [{"image": r["image"], "text": t, "confidence": c, "seconds": seconds}
                  for r, (t, c) in zip(rows, texts)]
    return preds
