"""Ground truth in: the shared JSON-lines format (one reader for it, used by evaluation and
training alike) and ICDAR-style folders of `gt_*.txt` files."""

from __future__ import annotations

import json
import re
from pathlib import Path

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp")


class EvaluationError(ValueError):
    """Bad or missing evaluation input; the message is meant for the user as is."""


def read_jsonl_rows(path: str | Path) -> list[dict]:
    """JSON-lines rows with a line number in the error message for a broken line."""
    rows: list[dict] = []
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise EvaluationError(f"{path}:{number}: not valid JSON ({e.msg})") from e
                if not isinstance(row, dict) or "image" not in row:
                    raise EvaluationError(f"{path}:{number}: expected an object with 'image'")
                rows.append(row)
    except (OSError, UnicodeDecodeError) as e:
        raise EvaluationError(f"cannot read {path}: {e}") from e
    return rows


_NUM = r"\s*(-?\d+(?:\.\d+)?)\s*"


_QUAD_LINE = re.compile(r"^" + ",".join([_NUM] * 8) + r",(.*)$")


_BOX_LINE = re.compile(r"^" + r"[,\s]".join([_NUM] * 4) + r"[,\s](.*)$")


def parse_icdar_line(line: str) -> dict | None:
    """One `x1,y1,...,x4,y4,text` (ICDAR 2015) or `x1 y1 x2 y2 "text"` (ICDAR 2013) line.

    "###" marks an ignored region. Returns None for a blank line.
    """
    line = line.strip().lstrip("\ufeff")
    if not line:
        return None
    m = _QUAD_LINE.match(line)
    if m:
        v = [float(x) for x in m.groups()[:8]]
        points = [[v[0], v[1]], [v[2], v[3]], [v[4], v[5]], [v[6], v[7]]]
        text = m.group(9)
    else:
        m = _BOX_LINE.match(line)
        if not m:
            raise EvaluationError(f"not an ICDAR ground-truth line: {line[:60]!r}")
        x1, y1, x2, y2 = (float(x) for x in m.groups()[:4])
        points = [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]
        text = m.group(5)
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    region: dict = {"points": points, "text": text}
    if text == "###":
        region["ignore"] = True
    return region


def _find_image(root: Path, stem: str) -> str:
    for folder in (root, root / "images"):
        for ext in IMAGE_EXTENSIONS:
            for candidate in (folder / (stem + ext), folder / (stem + ext.upper())):
                if candidate.is_file():
                    return candidate.relative_to(root).as_posix()
    return stem  # no image found: predictions can still be matched by name


def read_icdar_folder(root: str | Path) -> list[dict]:
    """Rows in the shared format from `gt_<name>.txt` files; images looked up by name."""
    root = Path(root)
    rows = []
    for gt_file in sorted(root.glob("gt_*.txt")):
        try:
            lines = gt_file.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise EvaluationError(f"cannot read {gt_file}: {e}") from e
        try:
            regions = [r for r in (parse_icdar_line(s) for s in lines) if r is not None]
        except EvaluationError as e:
            raise EvaluationError(f"{gt_file}: {e}") from e
        stem = gt_file.stem[len("gt_"):]
        rows.append({"image": _find_image(root, stem), "regions": regions})
    return rows


def load_ground_truth(data_dir: str | Path) -> list[dict]:
    """Ground truth of a folder: `gt.jsonl` (shared format) or ICDAR `gt_*.txt` files."""
    root = Path(data_dir)
    if not root.is_dir():
        raise EvaluationError(f"no such directory: {root}")
    if (root / "gt.jsonl").is_file():
        rows = read_jsonl_rows(root / "gt.jsonl")
    elif any(root.glob("gt_*.txt")):
        rows = read_icdar_folder(root)
    else:
        raise EvaluationError(f"{root} holds neither gt.jsonl nor gt_*.txt files")
    if not rows:
        raise EvaluationError(f"{root}: the ground truth is empty")
    return rows


def is_crop_set(gt_rows: list[dict]) -> bool:
    """Crop sets carry a `text` per image and no `regions`."""
    return bool(gt_rows) and all("regions" not in row for row in gt_rows)


def gt_crop_rows(gt_rows: list[dict]) -> list[dict]:
    """One crop-set row per readable ground-truth region of a page set.

    Scoring the recognizer on exact ground-truth boxes separates its accuracy from the
    detector's: this is what `ocrtool eval --gt-boxes` measures.
    """
    rows = []
    for row in gt_rows:
        for k, region in enumerate(row.get("regions", [])):
            if region.get("ignore") or not str(region.get("text", "")).strip():
                continue
            rows.append({"image": f"{row['image']}#{k}", "text": region["text"],
                         "page": row["image"], "points": region["points"]})
    return rows
