"""Model-split character boxes for real word boxes: CRAFT's weak supervision.

Real sets box words, not characters. Equal slices (targets.split_word_quad) put character
centres between the letters of proportional fonts, and on scene photos the ink rule
(targets.ink_split_word_quad) rarely finds as many ink runs as letters. CRAFT (Baek et
al. 2019, section 3.2) lets the model being trained split each word itself: the word is
cut out upright, the detector's region map of that crop is split into characters, and
the split is trusted as far as its character count agrees with the text:

    s_conf = (l - min(l, |l - l_c|)) / l      (l: text length, l_c: characters found)

That confidence is the loss weight of the word's pixels; below 0.5 the word falls back to
equal slices at weight 0.5. Here the split is 1-D: along the reading axis, the column
profile of the region map is cut in the valleys between its peaks.

The labels of a whole training set are computed once (and again every few steps) and
pickled under the run folder, where the data-loader worker reads them.
"""

from __future__ import annotations

import math
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..detection.postprocess import STRIDE, DetectParams, prepare_image
from ..detection.targets import _reading_frame, _split, ink_split_word_quad, split_word_quad
from ..geometry import crop_quad, order_clockwise
from ..io_utils import write_atomic
from .datasets import load_rgb, read_jsonl, training_rows

# (B, 3, H, W) normalised detector input -> (B, 2, H/2, W/2) region and affinity maps,
# e.g. runtime.torch_backend.module_forward(CraftNet in eval mode)
Forward = Callable[[np.ndarray], np.ndarray]

FALLBACK_CONFIDENCE = 0.5  # CRAFT: below this the split is dropped for equal slices
# the word box height at the detector's input. The second detection pass aims detected
# boxes at DetectParams.text_target (22 px), but those are grown around the region blobs;
# on rendered words and on ic15_pages_train words, the shipped detector's count agreed
# with the text best around 32 px (16, 22, 26, 29, 36, 40, 44 tried: within a few points)
WORD_HEIGHT = 32
# blank border around the word, in word heights: the region blobs of the first and last
# characters spread past the box and must not be cut by the input's edge
MARGIN = 0.5
# the column profile is smoothed by this many map pixels (1/16 of the word height), so
# pixel noise on one stroke does not make two peaks of one character
PROFILE_SIGMA = 1.0
# a peak counts as a character where the region score reaches the detector's `low_text`
# (the score that counts as text when words are found)
MIN_PEAK = DetectParams().low_text
# two neighbouring peaks are two characters only if the profile dips at least this far
# below the lower one between them; shallower dips are one character's uneven blob
MIN_DIP = 0.03
BATCH = 16  # crops of one shape run together
LABELS_FILE = "pseudo_chars.pkl"  # under the run's out_dir

# region index in a gt.jsonl row -> (character quads (n, 4, 2) float32, confidence)
PageLabels = dict[int, tuple[np.ndarray, float]]
# set name -> page image path (as in gt.jsonl) -> that page's labels
Labels = dict[str, dict[str, PageLabels]]


@dataclass
class WordCrop:
    """One word cut out upright and padded: what the detector is run on."""

    pixels: np.ndarray  # RGB uint8 (H, W), sides multiples of STRIDE
    frame: np.ndarray  # the word quad, first edge along the reading direction (4, 2)
    x0: int  # the word's first column in `pixels` (even)
    width: int  # the word's width in `pixels` (even)
    y0: int  # the word's first row in `pixels` (even)
    height: int  # the word's height in `pixels`


def word_confidence(n_chars: int, n_found: int) -> float:
    """CRAFT's s_conf: 1 when the model finds as many characters as the text has, falling
    linearly with the miscount, 0 at a miscount of the text length or more."""
    if n_chars <= 0:
        return 0.0
    return (n_chars - min(n_chars, abs(n_chars - n_found))) / n_chars


def split_by_region_peaks(profile: np.ndarray, min_peak: float = MIN_PEAK,
                          min_dip: float = MIN_DIP) -> np.ndarray | None:
    """Character extents (n_found, 2) as [start, stop) fractions of the profile's length,
    or None when no character is found.

    `profile` is the region score along the word's reading axis (per column, the highest
    score across the word). Each peak that reaches `min_peak` and is parted from its
    neighbours by a clear valley is one character: inner cuts go at the lowest point
    between two peaks, and the first and last characters reach as far out from their peak
    as they reach in, so a loose box does not stretch them.
    """
    p = np.asarray(profile, np.float64).ravel()
    peaks = _separated_peaks(p, min_peak, min_dip)
    if not peaks:
        return None
    centres = np.array(peaks, np.float64) + 0.5  # continuous position of a column's centre
    cuts = [a + int(np.argmin(p[a:b + 1])) + 0.5 for a, b in zip(peaks[:-1], peaks[1:])]
    if cuts:
        first = centres[0] - (cuts[0] - centres[0])
        last = centres[-1] + (centres[-1] - cuts[-1])
    else:  # one character: as wide as its blob above half its peak
        first, last = _half_peak_extent(p, peaks[0])
    edges = np.clip(np.array([first, *cuts, last]) / len(p), 0.0, 1.0)
    return np.stack([edges[:-1], edges[1:]], axis=1)


def _separated_peaks(p: np.ndarray, min_peak: float, min_dip: float) -> list[int]:
    """Indices of the local maxima of `p` that reach `min_peak`; neighbours between which
    `p` does not dip `min_dip` below the lower of the two are merged into the higher."""
    if len(p) == 0:
        return []
    padded = np.concatenate([[-np.inf], p, [-np.inf]])
    rising = padded[1:-1] > padded[:-2]
    not_falling = padded[1:-1] >= padded[2:]
    candidates = np.flatnonzero(rising & not_falling & (p >= min_peak))
    kept: list[int] = []
    for c in candidates:
        c = int(c)
        if kept:
            a = kept[-1]
            if p[a:c + 1].min() > min(p[a], p[c]) - min_dip:
                if p[c] > p[a]:
                    kept[-1] = c
                continue
        kept.append(c)
    return kept


def _half_peak_extent(p: np.ndarray, peak: int) -> tuple[float, float]:
    """The columns around `peak` that stay above half its height, as [start, stop)."""
    above = p >= p[peak] / 2
    lo = peak
    while lo > 0 and above[lo - 1]:
        lo -= 1
    hi = peak + 1
    while hi < len(p) and above[hi]:
        hi += 1
    return float(lo), float(hi)


def cut_word(image: np.ndarray, quad: np.ndarray, n_chars: int,
             word_height: float = WORD_HEIGHT, margin: float = MARGIN) -> WordCrop:
    """The word rectified to `word_height` pixels, on a plain canvas of its border colour
    whose sides are multiples of the detector's stride."""
    frame = _reading_frame(quad, n_chars)
    height = max(int(round(word_height)), 1)
    word = crop_quad(image, frame.astype(np.float32), height=height)
    width = _even(word.shape[1])
    if width != word.shape[1]:
        word = cv2.resize(word, (width, height), interpolation=cv2.INTER_LINEAR)
    pad = _even(margin * height)
    canvas_h = _ceil_to(height + 2 * pad, STRIDE)
    canvas_w = _ceil_to(width + 2 * pad, STRIDE)
    canvas = np.empty((canvas_h, canvas_w, 3), np.uint8)
    canvas[:] = _border_colour(word)
    y0 = 2 * ((canvas_h - height) // 4)
    canvas[y0:y0 + height, pad:pad + width] = word
    return WordCrop(canvas, frame, pad, width, y0, height)


def _even(x: float) -> int:
    return max(2, 2 * int(math.ceil(x / 2)))


def _ceil_to(x: int, step: int) -> int:
    return int(math.ceil(x / step)) * step


def _border_colour(word: np.ndarray) -> np.ndarray:
    """The median colour along the crop's edge: the background around the word."""
    edge = np.concatenate([word[0], word[-1], word[:, 0], word[:, -1]])
    return np.median(edge, axis=0).astype(np.uint8)


def region_profile(region: np.ndarray, crop: WordCrop,
                   sigma: float = PROFILE_SIGMA) -> np.ndarray:
    """Per map column across the word, its highest region score within the word's rows,
    smoothed along the word (the margin columns smooth the ends). The map may be smaller
    than the crop by the model's output stride (2 for CraftNet)."""
    map_stride = crop.pixels.shape[0] // region.shape[0]
    y0, y1 = crop.y0 // map_stride, -(-(crop.y0 + crop.height) // map_stride)
    p = region[y0:y1].max(axis=0).astype(np.float64).reshape(1, -1)
    if sigma > 0:
        p = cv2.GaussianBlur(p, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)
    x0, x1 = crop.x0 // map_stride, (crop.x0 + crop.width) // map_stride
    return p.ravel()[x0:x1]


def chars_from_split(frame: np.ndarray, extents: np.ndarray | None,
                     n_chars: int) -> tuple[np.ndarray, float]:
    """Character quads (n, 4, 2) on the page and their confidence: the model's split when
    CRAFT's confidence reaches FALLBACK_CONFIDENCE, else equal slices at that weight."""
    n_found = 0 if extents is None else len(extents)
    conf = word_confidence(n_chars, n_found)
    if conf < FALLBACK_CONFIDENCE:
        return split_word_quad(frame, n_chars), FALLBACK_CONFIDENCE
    return _split(frame, extents[:, 0], extents[:, 1]), conf


def region_maps(forward: Forward, crops: list[WordCrop],
                batch: int = BATCH) -> list[np.ndarray]:
    """The region map of each crop; crops of one shape go through the detector together."""
    params = DetectParams(canvas=10**6, min_side=0)  # scale 1: the crop is already sized
    out: list[np.ndarray | None] = [None] * len(crops)
    by_shape: dict[tuple[int, int], list[int]] = {}
    for i, c in enumerate(crops):
        by_shape.setdefault(c.pixels.shape[:2], []).append(i)
    for idx in by_shape.values():
        for k in range(0, len(idx), batch):
            part = idx[k:k + batch]
            x = np.concatenate([prepare_image(crops[i].pixels, params)[0] for i in part])
            maps = forward(x)
            for i, m in zip(part, maps):
                out[i] = m[0]
    return out  # type: ignore[return-value]


def split_words_by_model(forward: Forward, image: np.ndarray,
                         words: list[tuple[np.ndarray, str]],
                         batch: int = BATCH) -> list[tuple[np.ndarray, float]]:
    """Model-split character quads (page pixels) and confidence for each (quad, text) of
    one page; see split_word_by_model."""
    crops = [cut_word(image, quad, len(text.strip())) for quad, text in words]
    maps = region_maps(forward, crops, batch)
    out = []
    for (_, text), crop, region in zip(words, crops, maps):
        extents = split_by_region_peaks(region_profile(region, crop))
        chars, conf = chars_from_split(crop.frame, extents, len(text.strip()))
        out.append((chars.astype(np.float32), float(conf)))
    return out


def split_word_by_model(forward: Forward, image: np.ndarray, quad: np.ndarray,
                        text: str) -> tuple[np.ndarray, float]:
    """Character quads (n, 4, 2, float32, page pixels) of one word and their confidence,
    found in the detector's own region map (equal slices at 0.5 when it disagrees with
    the text). `quad`: 4x2 clockwise from the text's top-left (geometry.order_clockwise);
    `image`: the RGB page."""
    return split_words_by_model(forward, image, [(quad, text)])[0]


def words_to_split(image: np.ndarray, row: dict) -> list[tuple[int, np.ndarray, str]]:
    """(region index, quad, text) of the page's words the model should split: one-word
    regions (lines keep their rule) that are not ignored and whose ink does not already
    split into as many runs as letters (those runs are the exact characters, where the
    model's split, even at full confidence, may put a peak on each half of a 'W')."""
    out = []
    for i, r in enumerate(row["regions"]):
        text = r.get("text", "").strip()
        if r.get("ignore") or not text or " " in text:
            continue
        quad = order_clockwise(np.array(r["points"], np.float32))
        if ink_split_word_quad(image, quad, len(text)) is None:
            out.append((i, quad, text))
    return out


def label_pages(forward: Forward, root: Path, rows: list[dict],
                batch: int = BATCH) -> dict[str, PageLabels]:
    """Model-split labels of the words of `rows` (pages of the set in `root`), by image."""
    out: dict[str, PageLabels] = {}
    for row in rows:
        image = load_rgb(root / row["image"])
        words = words_to_split(image, row)
        if not words:
            continue
        split = split_words_by_model(forward, image, [(q, t) for _, q, t in words], batch)
        out[row["image"]] = {i: s for (i, _, _), s in zip(words, split)}
    return out


def label_sets(forward: Forward, data_root: str | Path, sets: dict[str, int],
               log: Callable[[str], None] = print) -> Labels:
    """Labels of the training pages of each word-boxed set in `sets` (name -> at most that
    many pages, 0: all); held-out validation pages are never labelled."""
    labels: Labels = {}
    for name, limit in sets.items():
        root = Path(data_root) / name
        if not (root / "gt.jsonl").exists():
            continue
        rows = training_rows(read_jsonl(root / "gt.jsonl"))
        t0 = time.time()
        labels[name] = label_pages(forward, root, rows[:limit] if limit else rows)
        confs = [c for page in labels[name].values() for _, c in page.values()]
        exact = sum(c == 1.0 for c in confs)
        log(f"weak supervision: {name}: {len(confs)} words the ink does not split, "
            f"{exact} split by the model into as many characters as the text has, mean "
            f"confidence {np.mean(confs or [0]):.2f}, {time.time() - t0:.0f} s")
    return labels


def save_labels(labels: Labels, path: str | Path) -> None:
    """Pickle `labels` to `path` atomically: the loader worker may read it at any time."""
    write_atomic(path, pickle.dumps(labels, protocol=pickle.HIGHEST_PROTOCOL), fsync=False)


def load_labels(path: str | Path) -> Labels:
    with open(path, "rb") as f:
        return pickle.load(f)


class LabelFile:
    """The labels file as a worker process sees it: read again whenever it changes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.labels: Labels = {}
        self._stamp: tuple[int, int] | None = None

    def refresh(self) -> bool:
        """Re-read the file if it was rewritten since the last read; True if it was."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return False
        stamp = (st.st_mtime_ns, st.st_ino)  # a rewrite replaces the file (save_labels)
        if stamp == self._stamp:
            return False
        self.labels, self._stamp = load_labels(self.path), stamp
        return True

    def page(self, set_name: str, image: str) -> PageLabels:
        """The model-split words of one page (empty: none, or not labelled)."""
        return self.labels.get(set_name, {}).get(image, {})
