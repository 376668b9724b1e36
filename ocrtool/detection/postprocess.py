"""Detector pre- and post-processing (numpy + OpenCV only, shared by both backends).

Maps -> words: threshold the region and affinity maps, label connected components once for
the whole map, and fit one rotated rectangle per component from that component's own
bounding-box window. CRAFT's original code allocates a full-image mask per component,
which is quadratic on busy pages; here the cost is linear in the image area.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..enhance import stretch_lut
from ..geometry import point_frames

STRIDE = 32  # detector input sides must be multiples of this
MEAN = (0.485, 0.456, 0.406)  # RGB normalisation, stored with the weights too
STD = (0.229, 0.224, 0.225)
MAX_SIDE = 6000  # larger inputs are downscaled first, whatever the canvas asks for
NARROW_GLYPH = 0.6  # a faint glyph is at most this wide for its height (_faint_glyphs)
SATELLITE_WIDTH = 0.45  # widest mark (in word heights) that joins a word as a satellite
# a stacked component is cut at a row of its own where it is at most this fraction as wide
# as the narrower of the two lines it joins (_split_stacked)
STACK_NECK = 0.45


@dataclass
class DetectParams:
    canvas: int = 1600  # longest side fed to the detector
    magnify: float = 1.0  # extra scale factor (e.g. 2 for tiny text on a large scan)
    min_side: int = 800  # small images are enlarged until their long side reaches this
    # thresholds first chosen on the dev sets, re-checked on the training sets' held-out
    # pages with bench/tune_detector.py: low_text 0.3 finds more scene words (ic15 H-mean
    # +0.06) but splits receipt lines (sroie -0.013), so 0.35 stays, and sparse pages
    # take 0.3 (`sparse_low_text`; see the model card)
    text_threshold: float = 0.6  # a component's peak region score must reach this
    low_text: float = 0.35  # region score that counts as text
    link_threshold: float = 0.35  # affinity score that joins characters into words
    # low_text and link_threshold on sparse pages (DetectionStage.detect_at); 0: off
    sparse_low_text: float = 0.3
    min_area: int = 6  # components smaller than this (map pixels) are noise
    expand: float = 0.25  # grow each word box by this fraction of its short side per side
    # a component at least this many times longer than high is boxed along its midline,
    # not its smallest rectangle, which leans toward a descender (_along_midline); 0: off
    midline: float = 4.0
    # a weaker component (peak at least `satellite_threshold`) right beside a word, on its
    # row, joins that word instead of being dropped: a spaced colon ("TOTAL :") or a
    # trailing period scores under `text_threshold` alone; 1.0 turns this off
    satellite_threshold: float = 0.45
    # a faint component (peak at least `faint_glyph`) as tall as the page's words and
    # narrow, beside no word, is a word of its own: a lone quantity "1" on a receipt
    # scores ~0.5-0.6 (the Reader keeps it only if it reads as a digit or a colon)
    faint_glyph: float = 0.5
    satellite_gap: float = 2.0  # its centre at most this many word heights past the word's end
    # a component at least this many times as high as the page's median word is two lines
    # joined by a thin bridge (a comma touching the line below on a tightly printed
    # receipt) when its width profile has a neck (STACK_NECK): it is cut there; 0: off
    stacked_lines: float = 1.7
    # pages whose median word box is shorter than `small_text` pixels at the detector's
    # input are detected again, scaled so that it becomes `text_target` (the size most
    # training text had): small receipt print and UI text are found far more reliably
    # (born_digital_dev word H-mean 0.806 -> 0.819); 0 turns the second pass off
    small_text: float = 14.0
    text_target: float = 22.0
    # ... and that second look may grow a sparse page (a photo, a web graphic) to this
    # long side, a dense one only to its own size (`stage.small_text_canvas`). Capped at
    # `canvas`, a 1280-pixel photo grew at most 1.25x. Held-out pages, word F1 (ci) /
    # H-mean: born_digital 0.865 / 0.860 -> 0.875 / 0.879, ic15 0.457 / 0.536 -> 0.460 /
    # 0.584, docbank 0.913 / 0.909 -> 0.918 / 0.921, sroie 0.902 / 0.929 -> 0.902 /
    # 0.932, ic03 the same (2000 and 3200 each lost word F1 on some set; model card)
    small_text_canvas: int = 2600
    # reported line boxes grow by this fraction of their height above and below, as
    # annotated line boxes do (sroie_dev line H-mean +0.02); recognition crops ignore it
    line_pad: float = 0.1
    # sparse pages (a photo, a sign) darker than this mean grey level (0-255) are detected
    # twice, as they are and with their local contrast equalised
    # (enhance.equalize_locally), and the detector keeps the higher score of the two at
    # each pixel; recognition reads the page as it is. 0: off
    dark_page: float = 110.0
    # a sparse page the detector does not enlarge (long side at least `min_side`: a camera
    # photo, a large graphic) is also seen at this fraction of each look's scale, and the
    # maps keep the higher score of the two at each pixel: a photo's words come in every
    # size, and the detector finds each only within a band of sizes. Word F1 (ci) /
    # H-mean on all 253 ic15_pages_train photos 0.401 / 0.511 -> 0.429 / 0.537 (0.7 and
    # 1.5 both: 0.434 / 0.566 at 2.5 times the cost, losing on web graphics; model
    # card). 0: off
    zoom_out: float = 0.7


def prepare_image(image: np.ndarray, params: DetectParams,
                  mean: Sequence[float] = MEAN, std: Sequence[float] = STD,
                  stride: int = STRIDE) -> tuple[np.ndarray, float]:
    """RGB uint8 -> normalised (1, 3, H, W) with H, W multiples of `stride`, and the scale.

    `mean`, `std` and `stride` are the model's (its metadata; see detection/stage.py).

    Contrast stretch and mean/std normalisation are one float lookup table per channel
    applied after resizing, each plane written straight into the padded planar array: a
    few passes over the small image instead of six over the large one. (One three-channel
    float table in a single `cv2.LUT` call took three times as long.)
    """
    h, w = image.shape[:2]
    scale = detector_scale(h, w, params)
    nh, nw = max(int(round(h * scale)), 1), max(int(round(w * scale)), 1)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (nw, nh), interpolation=interp) if scale != 1 else image
    stretched = stretch_lut(image) / 255.0
    ph, pw = math.ceil(nh / stride) * stride, math.ceil(nw / stride) * stride
    x = np.zeros((1, 3, ph, pw), np.float32)
    for c, plane in enumerate(cv2.split(resized)):
        table = ((stretched - mean[c]) / std[c]).astype(np.float32)
        x[0, c, :nh, :nw] = cv2.LUT(plane, table).reshape(nh, nw)
    return x, scale


def detector_scale(h: int, w: int, params: DetectParams) -> float:
    """The scale an h x w page is fed to the detector at: the base scale times `magnify`,
    its long side at most `canvas` (and MAX_SIDE)."""
    scale = base_scale(h, w, params.canvas, params.min_side) * params.magnify
    return min(scale, params.canvas / max(h, w), MAX_SIDE / max(h, w))


def base_scale(h: int, w: int, canvas: int, min_side: int) -> float:
    """Scale at which a page meets the detector: big scans shrink to the canvas, small
    web graphics grow (up to 2x) so their 10-pixel text is still found."""
    long_side = max(h, w, 1)
    if long_side > canvas:
        return canvas / long_side
    return min(max(min_side / long_side, 1.0), 2.0)


def training_scale(h: int, w: int) -> float:
    """The inference scale with default parameters: training crops are sampled around it."""
    return detector_scale(h, w, DetectParams())


def _component_box(points: np.ndarray, grow: float, midline: float) -> np.ndarray:
    rect = cv2.minAreaRect(points)
    (cx, cy), (w, h), angle = _along_midline(points, rect, midline) if midline else rect
    pad = grow * max(min(w, h), 1.0)
    return cv2.boxPoints(((cx, cy), (w + 2 * pad, h + 2 * pad), angle))


def _along_midline(points: np.ndarray, rect, min_elongation: float) -> tuple:
    """The rectangle around a word's points turned to the direction of its midline.

    The smallest rectangle leans toward a descender or an ascender at one end ("exampl"
    tilts 1.4 degrees on level text), and a line cut along it is cut askew. A word's
    direction is that of its midline: the middle of each column across it, fitted by least
    squares, then again without the columns furthest off the first fit (those an
    ascender or a descender moves most). Short components (a glyph or two) keep the
    smallest rectangle. (A descender under a quarter of a word still turns it a little;
    a median of slopes, or the straighter of the top and bottom edges, did worse on the
    validation pages: bench/tune_detector.py, weights/MODEL_CARD.md.)"""
    (_, _), (w, h), angle = rect
    u = np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))])
    if w < h:
        u = np.array([-u[1], u[0]])
    if max(w, h) < min_elongation * max(min(w, h), 1.0):
        return rect
    v = np.array([-u[1], u[0]])
    turn = math.atan(_midline_slope(points @ u, points @ v))
    u2 = math.cos(turn) * u + math.sin(turn) * v
    v2 = np.array([-u2[1], u2[0]])
    s2, t2 = points @ u2, points @ v2
    c = u2 * (s2.min() + s2.max()) / 2 + v2 * (t2.min() + t2.max()) / 2
    return ((float(c[0]), float(c[1])), (float(np.ptp(s2)), float(np.ptp(t2))),
            math.degrees(math.atan2(u2[1], u2[0])))


def _midline_slope(s: np.ndarray, t: np.ndarray) -> float:
    """Slope (dt/ds) of the middle of the columns of points (s along, t across)."""
    cols = np.floor(s - s.min()).astype(np.int64)
    top = np.full(cols.max() + 1, np.inf)
    bottom = np.full(cols.max() + 1, -np.inf)
    np.minimum.at(top, cols, t)
    np.maximum.at(bottom, cols, t)
    filled = np.isfinite(top)
    xs = np.nonzero(filled)[0].astype(np.float64)
    mid = (top[filled] + bottom[filled]) / 2
    if len(xs) < 3:
        return 0.0
    slope, icept = _fit_line(xs, mid)
    resid = np.abs(mid - (slope * xs + icept))
    keep = resid <= max(np.median(resid) * 3, 0.5)
    if keep.sum() >= 3:
        slope, _ = _fit_line(xs[keep], mid[keep])
    return float(slope)


def _fit_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept of y on x (distinct x): np.polyfit(x, y, 1)'s
    line, in closed form, at a tenth of its cost (every word box of every page fits two)."""
    mx, my = float(x.mean()), float(y.mean())
    dx = x - mx
    slope = float(dx @ (y - my)) / float(dx @ dx)
    return slope, my - slope * mx


def maps_to_words(
    region: np.ndarray, affinity: np.ndarray, params: DetectParams, scale: float,
    map_stride: float = 2.0,
) -> tuple[list[np.ndarray], list[float]]:
    """Word quads (4x2, original image pixels) and their peak region scores.

    `map_stride` is how many input pixels one map pixel covers (the model's
    `output_stride`)."""
    text = region > params.low_text
    comb = (text | (affinity > params.link_threshold)).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(comb, connectivity=4)
    to_image = map_stride / scale
    words, scores, weak = [], [], []
    for k in range(1, n):
        x, y, w, h, area = stats[k]
        if area < params.min_area:
            continue
        window = labels[y : y + h, x : x + w] == k
        peak = float(region[y : y + h, x : x + w][window].max())
        if peak < min(params.text_threshold, params.satellite_threshold):
            continue
        ys, xs = np.nonzero(window)
        pts = np.stack([xs + x, ys + y], axis=1).astype(np.float32) + 0.5
        if peak < params.text_threshold:
            weak.append((pts, peak))
            continue
        words.append(pts)
        scores.append(peak)
    frames = None  # point_frames(words), worked out once for the next two steps
    if params.stacked_lines:
        words, scores, frames = _split_stacked(words, scores, params.stacked_lines)
    words, loose = _attach_satellites(words, [p for p, _ in weak], params.satellite_gap,
                                      frames)
    glyphs = _faint_glyphs(words, [weak[i] for i in loose], params.faint_glyph)
    words += [p for p, _ in glyphs]
    scores += [s for _, s in glyphs]
    quads = [_component_box(pts, params.expand, params.midline) * to_image for pts in words]
    return quads, scores


def _split_stacked(words: list[np.ndarray], scores: list[float], ratio: float,
                   ) -> tuple[list[np.ndarray], list[float], tuple | None]:
    """Components `ratio` times the median word height or more across the page's lines,
    cut where their width has a neck between two lines (`_neck`); each piece keeps the
    component's peak. The cut runs along the page's own direction (the median of its
    elongated components), never along a component's: a stack of short lines may be
    taller than wide, and cut along its own long side it would be cut between letters.
    Also the words' `point_frames` when nothing was cut (None otherwise), for the next
    step to reuse."""
    if len(words) < 3:
        return words, scores, None
    frames = point_frames(words)
    _, u, length, height = frames
    typical = float(np.median(height))
    along = u[length >= 1.5 * height]
    if not len(along):
        return words, scores, frames
    along = np.where(along[:, :1] < 0, -along, along)  # all pointing right
    angle = float(np.median(np.arctan2(along[:, 1], along[:, 0])))
    across = np.array([-math.sin(angle), math.cos(angle)])
    out, out_scores = [], []
    for pts, score in zip(words, scores):
        pieces = [pts]
        if np.ptp(pts @ across) >= ratio * typical:
            pieces = _cut_at_necks(pts, across, typical)
        out += pieces
        out_scores += [score] * len(pieces)
    return out, out_scores, frames if len(out) == len(words) else None


def _cut_at_necks(pts: np.ndarray, across: np.ndarray, typical: float) -> list[np.ndarray]:
    """A component's points cut across at every neck, pieces at least half a word high."""
    t = pts @ across
    rows = np.floor(t - t.min()).astype(np.int64)
    width = np.bincount(rows).astype(np.float64)
    cut = _neck(width, max(int(typical / 2), 1))
    if cut is None:
        return [pts]
    return [*_cut_at_necks(pts[rows < cut], across, typical),
            *_cut_at_necks(pts[rows >= cut], across, typical)]


def _neck(width: np.ndarray, least: int) -> int | None:
    """The row of a width profile to cut at: the narrowest row with at least `least` rows on
    each side whose width is at most STACK_NECK of the widest row on either side; None when
    no row is one."""
    best, best_ratio = None, STACK_NECK
    for row in range(least, len(width) - least + 1):  # least >= 1: both sides have rows
        ratio = width[row] / min(width[:row].max(), width[row:].max())
        if ratio <= best_ratio:
            best, best_ratio = row, ratio
    return best


def _faint_glyphs(words: list[np.ndarray], weak: list[tuple[np.ndarray, float]],
                  threshold: float) -> list[tuple[np.ndarray, float]]:
    """Weak components of a word's height that reach `threshold`: a lone quantity "1"."""
    if not words or not weak:
        return []
    typical = float(np.median(point_frames(words)[3]))
    out = []
    for pts, peak in weak:
        if peak < threshold:
            continue
        wide, tall = sorted(cv2.minAreaRect(pts)[1])
        if 0.6 * typical <= tall <= 1.6 * typical and wide <= NARROW_GLYPH * tall:
            out.append((pts, peak))
    return out


def _attach_satellites(words: list[np.ndarray], weak: list[np.ndarray], max_gap: float,
                       frames: tuple | None = None) -> tuple[list[np.ndarray], list[int]]:
    """Add each weak component to the word it sits beside (same row, its centre under
    `max_gap` word heights past either end); also the indices of the weak components
    beside no word."""
    if not weak or not words:
        return words, list(range(len(weak)))
    centre, u, length, height = frames if frames is not None else point_frames(words)
    v = np.stack([-u[:, 1], u[:, 0]], axis=1)
    extra: list[list[np.ndarray]] = [[] for _ in words]
    loose = []
    for k, pts in enumerate(weak):
        d = pts.mean(axis=0) - centre
        along, across = np.abs(np.sum(d * u, axis=1)), np.abs(np.sum(d * v, axis=1))
        gap = (along - length / 2) / height
        # narrow marks only (a colon, a period): a faint short word or digit beside a
        # word ("of", "7") is wider and must not be glued to it
        width = np.ptp(pts @ u.T, axis=0) + 1.0
        ok = (width <= SATELLITE_WIDTH * height) & (across < 0.5 * height)
        ok &= (gap > -0.5) & (gap < max_gap)
        if ok.any():
            best = int(np.argmin(np.where(ok, gap, np.inf)))
            extra[best].append(pts)
        else:
            loose.append(k)
    return [np.concatenate([w, *e]) if e else w for w, e in zip(words, extra)], loose


# Line grouping, line boxes and reading order moved to ocrtool.layout (and box frames to
# ocrtool.geometry); these names stay importable from here for code written before.
from ..geometry import HORIZONTAL, oriented_box, page_direction, reading_direction  # noqa: E402,F401,I001
from ..geometry import text_height  # noqa: E402,F401
from ..layout.lines import (  # noqa: E402,F401
    DENSE_PAGE_WORDS,
    candidate_links,
    group_lines,
    line_box,
    line_boxes,
    line_direction,
    padded_line_box,
    page_boxes,
    word_geometries,
)
from ..layout.order import reading_order  # noqa: E402,F401
