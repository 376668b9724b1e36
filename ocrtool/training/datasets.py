"""Readers for the shared JSON-lines data sets (pages with regions, or crop sets).

One format for real and synthetic data: `{"image", "width", "height", "regions": [...]}`
per page, or `{"image", "width", "height", "text"}` per crop (see ../shared/data/README.md).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..geometry import crop_quad, expand_quad, order_clockwise
from ..recognition.preprocess import CROP_CONTEXT

# Case-insensitive sets: SROIE labels are upper case whatever the print; the old IIIT5K
# labels dropped case (iiit5k_train_cs, which replaces it, keeps case). Their CTC loss
# merges upper and lower case (see training/recognizer.py).
CASE_INSENSITIVE = ("sroie", "iiit5k_train")
VAL_EVERY = 10  # every 10th page (or crop) of a training set is held out for validation
CROP_MARGIN = 0.25  # margin kept around each cached crop, as a fraction of its height
CACHE_HEIGHT = 48  # cached crop height including margins (box height 32)
RUNS_SUFFIX = "+runs"  # name of a set's word-run crops (`word_runs`)


def read_jsonl(path: str | Path) -> list[dict]:
    """Rows of a shared-format gt.jsonl (the one reader evaluation uses as well)."""
    from ..evaluation.groundtruth import read_jsonl_rows

    return read_jsonl_rows(path)


def is_case_insensitive(name: str) -> bool:
    return name.startswith("sroie") or name == "iiit5k_train"


def load_gray(path: str | Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ValueError(f"cannot read image {path}")
    return img


def load_rgb(path: str | Path) -> np.ndarray:
    """A page as RGB uint8, read as the detector trains on it (OpenCV decodes BGR)."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot read {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def iter_regions(dataset_dir: str | Path) -> Iterator[tuple[np.ndarray, list[dict]]]:
    """(grayscale image, regions) per page; crop sets yield one full-image region."""
    root = Path(dataset_dir)
    for row in read_jsonl(root / "gt.jsonl"):
        img = load_gray(root / row["image"])
        if "regions" in row:
            yield img, row["regions"]
        else:
            h, w = img.shape
            yield img, [{"points": [[0, 0], [w, 0], [w, h], [0, h]], "text": row["text"],
                         "full": True}]


@dataclass
class CropSet:
    """Cached line/word crops: uint8 images with a margin, labels, case-insensitive flag."""

    images: list[np.ndarray]
    texts: list[str]
    case_insensitive: bool
    name: str
    source: str = ""  # resolved folder the crops were cut from (empty in older caches)
    pages: list[int] = field(default_factory=list)  # page index of each crop
    # every crop is a whole image (a crop set): the Reader reads it as it is, with no
    # context beyond its own border, so validation keeps none of the cached margin
    whole_images: bool = False

    def subset(self, keep: list[int], name: str) -> CropSet:
        return CropSet([self.images[i] for i in keep], [self.texts[i] for i in keep],
                       self.case_insensitive, name, self.source,
                       [self.pages[i] for i in keep] if self.pages else [],
                       self.whole_images)


def held_out(page: int, every: int = VAL_EVERY) -> bool:
    """Is page `page` (its index in gt.jsonl) one of a training set's held-out pages? Every
    `every`-th is: recognizer and detector validation, thresholds and calibration read
    them, and no training step does."""
    return page % every == every - 1


def training_rows(rows: list[dict]) -> list[dict]:
    """The pages (gt.jsonl rows) of a training set that are trained on. Rows marked
    `not_packed` hold a page's place in a set packed for a GPU machine (bench/gpu_pack.py)
    without its image, and are skipped."""
    return [r for i, r in enumerate(rows) if not held_out(i) and not r.get("not_packed")]


def validation_rows(rows: list[dict]) -> list[dict]:
    """The held-out pages of a training set: for validation, thresholds and calibration
    (`not_packed` rows skipped, as in `training_rows`)."""
    return [r for i, r in enumerate(rows) if held_out(i) and not r.get("not_packed")]


def split_validation(cs: CropSet, every: int = VAL_EVERY) -> tuple[CropSet, CropSet]:
    """(train, validation): every `every`-th page held out whole, so no word of a
    validation page is trained on (crop sets: every `every`-th crop)."""
    pages = cs.pages or list(range(len(cs.images)))
    val = [i for i, p in enumerate(pages) if held_out(p, every)]
    held = set(val)
    train = [i for i in range(len(pages)) if i not in held]
    return cs.subset(train, cs.name), cs.subset(val, f"{cs.name}_val")


def cut_crop(img: np.ndarray, region: dict, margin: float = CROP_MARGIN) -> np.ndarray:
    """The region's crop with `margin` of context on every side, at CACHE_HEIGHT pixels."""
    quad = order_clockwise(np.array(region["points"], np.float32))
    if region.get("full"):
        crop = crop_quad(img, quad, height=int(CACHE_HEIGHT / (1 + 2 * margin)))
        pad = int(round(crop.shape[0] * margin))
        return cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    h = max(np.linalg.norm(quad[3] - quad[0]), 1.0)
    return crop_quad(img, expand_quad(quad, margin * h, margin * h), height=CACHE_HEIGHT)


# Word runs (`word_runs`): at most this many neighbouring words per crop; two words are
# neighbours when their boxes share at least RUN_OVERLAP of the lower one's height and the
# gap between them is under RUN_GAP of the taller one's height.
RUN_WORDS = 4
RUN_OVERLAP = 0.6
RUN_GAP = 1.5


def word_runs(regions: list[dict]) -> list[dict]:
    """Runs of 2 to RUN_WORDS neighbouring words of one line, each as a region (the box
    around them, their texts joined by spaces).

    Why: the word-boxed sets (web graphics, scene photos, papers) give the recognizer
    single words, so it never sees the space between two words in their type, while the
    Reader feeds it whole lines: on held-out web graphics, words read joined ("inthe",
    "CLICKHERE") are the commonest word-box error left."""
    boxes = []  # (x0, y0, x1, y1, text); text None for an ignored or unlabelled word
    for r in regions:
        if r.get("full"):
            continue
        text = r.get("text", "").strip()
        pts = np.asarray(r["points"], np.float32).reshape(-1, 2)
        boxes.append((*pts.min(axis=0), *pts.max(axis=0),
                      None if r.get("ignore") or not text else text))
    boxes.sort(key=lambda b: b[0])
    taken, runs = set(), []
    for i in range(len(boxes)):
        if i in taken or boxes[i][4] is None:
            continue
        run = [i]
        while len(run) < RUN_WORDS:
            nxt = _right_neighbour(boxes, run[-1], taken | set(run))
            if nxt is None or boxes[nxt][4] is None:  # a word we cannot label ends it
                break
            run.append(nxt)
        if len(run) > 1:
            taken.update(run)
            x0, y0 = min(boxes[k][0] for k in run), min(boxes[k][1] for k in run)
            x1, y1 = max(boxes[k][2] for k in run), max(boxes[k][3] for k in run)
            runs.append({"points": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
                         "text": " ".join(boxes[k][4] for k in run)})
    return runs


def _right_neighbour(boxes: list[tuple], i: int, used: set[int]) -> int | None:
    """The nearest unused box to the right of box i on its line, if close enough."""
    x0, y0, x1, y1, _ = boxes[i]
    best, best_gap = None, None
    for k, (a0, b0, _, b1, _) in enumerate(boxes):
        if k in used or a0 < x1 - 0.2 * (y1 - y0):
            continue
        overlap = min(y1, b1) - max(y0, b0)
        gap = a0 - x1
        if overlap < RUN_OVERLAP * min(y1 - y0, b1 - b0) or gap > RUN_GAP * max(y1 - y0, b1 - b0):
            continue
        if best_gap is None or gap < best_gap:
            best, best_gap = k, gap
    return best


def build_crop_set(dataset_dir: str | Path, margin: float = CROP_MARGIN,
                   runs: bool = False) -> CropSet:
    """Crops of every region of a data set; with `runs`, of its `word_runs` instead."""
    name = Path(dataset_dir).name + (RUNS_SUFFIX if runs else "")
    images, texts, pages, whole = [], [], [], True
    for page, (img, regions) in enumerate(iter_regions(dataset_dir)):
        for r in (word_runs(regions) if runs else regions):
            if r.get("ignore") or not r.get("text", "").strip():
                continue
            images.append(cut_crop(img, r, margin))
            texts.append(r["text"])
            pages.append(page)
            whole = whole and bool(r.get("full"))
    return CropSet(images, texts, is_case_insensitive(name), name, pages=pages,
                   whole_images=whole and bool(images))


def crop_cache_path(dataset_dir: str | Path, cache_dir: str | Path = "cache",
                    runs: bool = False) -> Path:
    """Where `cached_crop_set` keeps a set's crops (a GPU pack unpacks them there too)."""
    suffix = RUNS_SUFFIX if runs else ""
    return Path(cache_dir) / f"crops_{Path(dataset_dir).name}{suffix}.pkl"


def cached_crop_set(dataset_dir: str | Path, cache_dir: str | Path = "cache",
                    runs: bool = False) -> CropSet:
    """build_crop_set, memoised on disk: cutting 30k crops takes a minute."""
    cache = crop_cache_path(dataset_dir, cache_dir, runs)
    source = str(Path(dataset_dir).resolve())
    if cache.exists():
        with open(cache, "rb") as f:
            cs = pickle.load(f)
        # a same-named folder elsewhere, or a cache from before `whole_images`, is cut afresh
        if cs.source in ("", source) and "whole_images" in vars(cs):
            return cs
    cs = build_crop_set(dataset_dir, runs=runs)
    cs.source = source
    cache.parent.mkdir(parents=True, exist_ok=True)
    with open(cache, "wb") as f:
        pickle.dump(cs, f, protocol=pickle.HIGHEST_PROTOCOL)
    return cs


def strip_margin(crop: np.ndarray, margin: float = CROP_MARGIN,
                 keep: tuple[float, float] = CROP_CONTEXT) -> np.ndarray:
    """The box plus `keep` context from a cached crop: what the Reader cuts for that box."""
    h, w = crop.shape[:2]
    box_h = h / (1 + 2 * margin)
    px = int(round(box_h * (margin - keep[0])))
    py = int(round(box_h * (margin - keep[1])))
    return crop[py : h - py, px : w - px]
