"""Detector pre- and post-processing (numpy + OpenCV only, shared by both backends).

Maps -> words: threshold the region and affinity maps, label connected components once for
the whole map, and fit one rotated rectangle per component from that component's own
bounding-box window. CRAFT's original code allocates a full-image mask per component,
which is quadratic on busy pages; here the cost is linear in the image area.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..enhance import stretch_lut
from ..geometry import expand_quad, quad_size
from .line_links import link_features, link_probability

STRIDE = 32  # detector input sides must be multiples of this
MEAN = (0.485, 0.456, 0.406)  # RGB normalisation, stored with the weights too
STD = (0.229, 0.224, 0.225)
MAX_SIDE = 6000  # larger inputs are downscaled first, whatever the canvas asks for
LINK_CANDIDATE_GAP = 3.0  # a word's right neighbour is looked for this far (text heights)
NARROW_GLYPH = 0.6  # a faint glyph is at most this wide for its height (_faint_glyphs)
SATELLITE_WIDTH = 0.45  # widest mark (in word heights) that joins a word as a satellite
LINK_THRESHOLD = 0.5  # the link model's P(same line) needed to join two neighbours
# only pages with this many words give the link model the context it learned from (a
# receipt has 70 or more); on sparser ones it may only veto the gap rule's joins
DENSE_PAGE_WORDS = 40
MAX_HEIGHT_RATIO = 3.0  # words of one line differ in height by at most this factor
# a box under SHORT_WORD of its own heights, or under GLYPH_LENGTH of the page's text
# heights, long may be one narrow glyph ("1", ":") rather than vertical text (_is_glyph)
SHORT_WORD = 2.5
GLYPH_LENGTH = 2.0


@dataclass
class DetectParams:
    canvas: int = 1600  # longest side fed to the detector
    magnify: float = 1.0  # extra scale factor (e.g. 2 for tiny text on a large scan)
    min_side: int = 800  # small images are enlarged until their long side reaches this
    # thresholds chosen on the dev sets with bench/tune_detector.py (see the model card)
    text_threshold: float = 0.6  # a component's peak region score must reach this
    low_text: float = 0.35  # region score that counts as text
    link_threshold: float = 0.35  # affinity score that joins characters into words
    min_area: int = 6  # components smaller than this (map pixels) are noise
    expand: float = 0.25  # grow each word box by this fraction of its short side per side
    # a weaker component (peak at least `satellite_threshold`) right beside a word, on its
    # row, joins that word instead of being dropped: a spaced colon ("TOTAL :") or a
    # trailing period scores under `text_threshold` alone; 1.0 turns this off
    satellite_threshold: float = 0.45
    # a faint component (peak at least `faint_glyph`) as tall as the page's words and
    # narrow, beside no word, is a word of its own: a lone quantity "1" on a receipt
    # scores ~0.5-0.6 (the Reader keeps it only if it reads as a digit or a colon)
    faint_glyph: float = 0.5
    satellite_gap: float = 2.0  # its centre at most this many word heights past the word's end
    # pages whose median word box is shorter than `small_text` pixels at the detector's
    # input are detected again, scaled so that it becomes `text_target` (the size most
    # training text had): small receipt print and UI text are found far more reliably
    # (born_digital_dev word H-mean 0.806 -> 0.819); 0 turns the second pass off
    small_text: float = 14.0
    text_target: float = 22.0
    # reported line boxes grow by this fraction of their height above and below, as
    # annotated line boxes do (sroie_dev line H-mean +0.02); recognition crops ignore it
    line_pad: float = 0.1


def prepare_image(image: np.ndarray, params: DetectParams) -> tuple[np.ndarray, float]:
    """RGB uint8 -> normalised (1, 3, H, W) with H, W multiples of 32, and the scale used.

    Contrast stretch and mean/std normalisation are one float lookup table applied after
    resizing, written straight into the padded planar array: a few passes over the small
    image instead of six over the large one.
    """
    h, w = image.shape[:2]
    scale = base_scale(h, w, params.canvas, params.min_side) * params.magnify
    scale = min(scale, params.canvas / max(h, w), MAX_SIDE / max(h, w))
    nh, nw = max(int(round(h * scale)), 1), max(int(round(w * scale)), 1)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (nw, nh), interpolation=interp) if scale != 1 else image
    stretched = stretch_lut(image) / 255.0
    lut = np.stack([(stretched - m) / s for m, s in zip(MEAN, STD)], axis=1)
    normalised = cv2.LUT(resized, lut.reshape(256, 1, 3).astype(np.float32))
    ph, pw = math.ceil(nh / STRIDE) * STRIDE, math.ceil(nw / STRIDE) * STRIDE
    x = np.zeros((1, 3, ph, pw), np.float32)
    for c in range(3):
        x[0, c, :nh, :nw] = normalised[..., c]
    return x, scale


def base_scale(h: int, w: int, canvas: int = 1600, min_side: int = 800) -> float:
    """Scale at which a page meets the detector: big scans shrink to the canvas, small
    web graphics grow (up to 2x) so their 10-pixel text is still found."""
    long_side = max(h, w, 1)
    if long_side > canvas:
        return canvas / long_side
    return min(max(min_side / long_side, 1.0), 2.0)


def training_scale(h: int, w: int) -> float:
    """The inference scale with default parameters: training crops are sampled around it."""
    return base_scale(h, w)


def _component_box(points: np.ndarray, grow: float) -> np.ndarray:
    (cx, cy), (w, h), angle = cv2.minAreaRect(points)
    short = min(w, h)
    pad = grow * max(short, 1.0)
    return cv2.boxPoints(((cx, cy), (w + 2 * pad, h + 2 * pad), angle))


def maps_to_words(
    region: np.ndarray, affinity: np.ndarray, params: DetectParams, scale: float
) -> tuple[list[np.ndarray], list[float]]:
    """Word quads (4x2, original image pixels) and their peak region scores."""
    text = region > params.low_text
    comb = (text | (affinity > params.link_threshold)).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(comb, connectivity=4)
    to_image = 2.0 / scale  # maps are at half the network input resolution
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
    words, loose = _attach_satellites(words, [p for p, _ in weak], params.satellite_gap)
    glyphs = _faint_glyphs(words, [weak[i] for i in loose], params.faint_glyph)
    words += [p for p, _ in glyphs]
    scores += [s for _, s in glyphs]
    quads = [_component_box(pts, params.expand) * to_image for pts in words]
    return quads, scores


def _faint_glyphs(words: list[np.ndarray], weak: list[tuple[np.ndarray, float]],
                  threshold: float) -> list[tuple[np.ndarray, float]]:
    """Weak components of a word's height that reach `threshold`: a lone quantity "1"."""
    if not words or not weak:
        return []
    typical = float(np.median(_word_frames(words)[3]))
    out = []
    for pts, peak in weak:
        if peak < threshold:
            continue
        wide, tall = sorted(cv2.minAreaRect(pts)[1])
        if 0.6 * typical <= tall <= 1.6 * typical and wide <= NARROW_GLYPH * tall:
            out.append((pts, peak))
    return out


def _attach_satellites(words: list[np.ndarray], weak: list[np.ndarray],
                       max_gap: float) -> tuple[list[np.ndarray], list[int]]:
    """Add each weak component to the word it sits beside (same row, its centre under
    `max_gap` word heights past either end); also the indices of the weak components
    beside no word."""
    if not weak or not words:
        return words, list(range(len(weak)))
    centre, u, length, height = _word_frames(words)
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


def _word_frames(words: list[np.ndarray]):
    """Per word point set: centre, unit direction along its longer side, length, height."""
    rects = [cv2.minAreaRect(p) for p in words]
    centre = np.array([r[0] for r in rects], np.float64)
    size = np.array([r[1] for r in rects], np.float64)
    angle = np.radians([r[2] for r in rects])
    u = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    tall = size[:, 0] < size[:, 1]  # the rectangle's first side is the short one
    u[tall] = np.stack([-u[tall, 1], u[tall, 0]], axis=1)
    length, height = size.max(axis=1), np.maximum(size.min(axis=1), 1.0)
    return centre, u, length, height


# ---------------------------------------------------------------- lines and reading order


def _norm(d: np.ndarray) -> float:
    return math.hypot(float(d[0]), float(d[1]))


def reading_direction(quad: np.ndarray) -> np.ndarray:
    """Unit vector along a box's long side, pointing right (or down for vertical text)."""
    q = np.asarray(quad, np.float32)
    a, b = q[1] - q[0], q[2] - q[1]
    u = a if _norm(a) >= _norm(b) else b
    u = u / max(_norm(u), 1e-6)
    if u[0] < -1e-6 or (abs(u[0]) <= 1e-6 and u[1] < 0):
        u = -u
    return u


def oriented_box(points: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The box around `points` aligned with direction u, clockwise from the text's top-left."""
    v = np.array([-u[1], u[0]], np.float32)  # 'down' for text running along u
    pu, pv = points @ u, points @ v
    corners = [(pu.min(), pv.min()), (pu.max(), pv.min()), (pu.max(), pv.max()),
               (pu.min(), pv.max())]
    return np.array([a * u + b * v for a, b in corners], np.float32)


@dataclass
class _Geom:
    center: np.ndarray
    u: np.ndarray
    length: float
    height: float


HORIZONTAL = np.array([1.0, 0.0], np.float32)


def _geometries(quads: list[np.ndarray]) -> list[_Geom]:
    """`_geometry` of many boxes at once (the same numbers, vectorised: a receipt has
    ~100 words and this runs several times per page)."""
    if not len(quads):
        return []
    q = np.asarray(quads, np.float32).reshape(-1, 4, 2)
    a, b = q[:, 1] - q[:, 0], q[:, 2] - q[:, 1]
    na, nb = np.hypot(a[:, 0], a[:, 1]), np.hypot(b[:, 0], b[:, 1])
    elongated = np.maximum(na, nb) >= 1.5 * np.maximum(np.minimum(na, nb), 1e-6)
    u = np.where((na >= nb)[:, None], a, b) / np.maximum(np.maximum(na, nb), 1e-6)[:, None]
    flip = (u[:, 0] < -1e-6) | ((np.abs(u[:, 0]) <= 1e-6) & (u[:, 1] < 0))
    u = np.where(flip[:, None], -u, u)
    u = np.where(elongated[:, None], u, HORIZONTAL).astype(np.float32)
    v = np.stack([-u[:, 1], u[:, 0]], axis=1)
    pu, pv = np.einsum("nkc,nc->nk", q, u), np.einsum("nkc,nc->nk", q, v)
    length, height = np.ptp(pu, axis=1), np.ptp(pv, axis=1)
    centre = q.mean(axis=1)
    return [_Geom(centre[i], u[i], float(length[i]), float(height[i])) for i in range(len(q))]


def _geometry(quad: np.ndarray, u: np.ndarray | None = None) -> _Geom:
    """Centre, direction, length and height of a box; a box that is not clearly longer
    than tall (a single character, often taller than wide) is taken as horizontal."""
    q = np.asarray(quad, np.float32)
    if u is None:
        a, b = _norm(q[1] - q[0]), _norm(q[2] - q[1])
        elongated = max(a, b) >= 1.5 * max(min(a, b), 1e-6)
        u = reading_direction(q) if elongated else HORIZONTAL
    v = np.array([-u[1], u[0]], np.float32)
    pu, pv = q @ u, q @ v
    return _Geom(q.mean(axis=0), u, float(pu.max() - pu.min()), float(pv.max() - pv.min()))


def text_height(quads: list[np.ndarray]) -> float:
    """Median short side of the word boxes (0 without words)."""
    return float(np.median([min(quad_size(q)) for q in quads])) if quads else 0.0


def _is_glyph(g: _Geom, page_height: float) -> bool:
    """Too short to be a word of vertical text, whatever its own long side says."""
    return g.length < SHORT_WORD * g.height or g.length < GLYPH_LENGTH * page_height


def word_geometries(quads: list[np.ndarray], page_u: np.ndarray | None = None) -> list[_Geom]:
    """Geometry of each word box for line grouping. A short box whose own long side
    crosses the page's text direction is almost always one narrow glyph ("1", ":") of a
    horizontal row, not vertical text: it takes the page's direction (lone quantity "1"s
    on receipts were split off their rows)."""
    page_u = page_direction(quads, max_skew=90.0) if page_u is None else page_u
    height = text_height(quads)
    geoms = []
    for q, g in zip(quads, _geometries(quads)):
        crosses = abs(float(g.u @ page_u)) < math.cos(math.radians(20))
        if crosses and _is_glyph(g, height):
            g = _geometry(q, page_u)
        geoms.append(g)
    return geoms


def group_lines(quads: list[np.ndarray], gap_ratio: float = 1.2, learned: bool = True,
                link_gap: float = LINK_CANDIDATE_GAP,
                alone: list[bool] | None = None) -> list[list[int]]:
    """Cluster word boxes into lines; each line's words sorted along its direction.

    Without `learned`, neighbouring words on a row join when their gap is under
    `gap_ratio` text heights. With it, the link model of `line_links.py` decides every
    neighbour pair up to `link_gap` heights apart: it keeps apart fields that sit close
    (a column gutter other rows repeat, edges that line up with the rows around) and
    joins a field's words that sit wider apart than the page's usual spacing. Pages with
    fewer than `DENSE_PAGE_WORDS` words lack the context it learned from, so there it
    only vetoes the rule's joins (wider joins lost born_digital_dev words: H 0.853 ->
    0.845). On sroie_dev's detector words it lifts line H-mean from 0.846 (rule) to
    0.894 (`bench/fit_line_links.py` prints both). Words marked in `alone` are lines of
    their own, and the others are grouped as if they were not there.
    """
    if alone is not None and any(alone):
        keep = [i for i, a in enumerate(alone) if not a]
        lines = group_lines([quads[i] for i in keep], gap_ratio, learned, link_gap)
        return [[keep[i] for i in g] for g in lines] + [[i] for i, a in enumerate(alone) if a]
    page_u = page_direction(quads, max_skew=90.0)
    geoms = word_geometries(quads, page_u)
    parent = list(range(len(quads)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if learned and len(quads) > 1:
        dense = len(quads) >= DENSE_PAGE_WORDS
        links = candidate_links(quads, page_boxes(quads, page_u), geoms,
                                max_gap=link_gap if dense else gap_ratio)
        if links:
            probs = link_probability(np.array([f for _, _, f in links]))
            for (a, b, _), p in zip(links, probs):
                if p > LINK_THRESHOLD:
                    parent[find(b)] = find(a)
    else:
        for i, j in _row_pairs(geoms, gap_ratio):
            parent[find(j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(quads)):
        groups.setdefault(find(i), []).append(i)
    lines = []
    for members in groups.values():
        u = line_direction([quads[i] for i in members])
        lines.append(sorted(members, key=lambda i: float(geoms[i].center @ u)))
    return lines


def _row_pairs(geoms: list[_Geom], gap_ratio: float) -> list[tuple[int, int]]:
    """Pairs of words the geometric rule puts on one line, ordered by the upper word's
    then the lower word's position top to bottom. Two words are on one line when their
    heights differ by less than `MAX_HEIGHT_RATIO`, they run parallel (or one is too
    short to have a direction), the lower one's centre is within half a text height of
    the upper one's row, and the gap between them is under `gap_ratio` text heights.
    Vectorised over all pairs: a receipt has ~100 words."""
    n = len(geoms)
    if n < 2:
        return []
    order = sorted(range(n), key=lambda i: geoms[i].center[1])
    c = np.array([geoms[i].center for i in order], np.float64)
    u = np.array([geoms[i].u for i in order], np.float64)
    length = np.array([geoms[i].length for i in order])
    height = np.array([geoms[i].height for i in order])
    h = np.maximum(height[:, None], height[None, :])
    ok = np.triu(np.ones((n, n), bool), 1)  # a is the upper word, b the lower
    ok &= (c[None, :, 1] - c[:, None, 1]) <= 2 * np.maximum(height, length)[:, None]
    ok &= np.minimum(height[:, None], height[None, :]) >= h / MAX_HEIGHT_RATIO
    # a near-square box (one character) has no reliable direction: borrow the other's
    own = (length >= 1.3 * height)[:, None] | (length < 1.3 * height)[None, :]
    uu = np.where(own[..., None], u[:, None, :], u[None, :, :])
    parallel = np.abs(u @ u.T) >= math.cos(math.radians(20))
    ok &= parallel | (np.minimum(length[:, None], length[None, :]) <= 1.3 * h)
    d = c[None, :, :] - c[:, None, :]
    across = np.abs(d[..., 0] * -uu[..., 1] + d[..., 1] * uu[..., 0])
    along = np.abs(d[..., 0] * uu[..., 0] + d[..., 1] * uu[..., 1])
    ok &= across <= 0.5 * h
    ok &= along - (length[:, None] + length[None, :]) / 2 < gap_ratio * h
    return [(order[a], order[b]) for a, b in zip(*np.nonzero(ok))]


def page_boxes(quads: list[np.ndarray], u: np.ndarray | None = None) -> np.ndarray:
    """(N, 4) x0, y0, x1, y1 of each word in the page's deskewed frame, along `u` or the
    page's direction (at any angle: text rotated by 40 degrees still has rows, which the
    link model needs)."""
    u = page_direction(quads, max_skew=90.0) if u is None else u
    rot = np.array([[u[0], u[1]], [-u[1], u[0]]], np.float32)
    pts = [np.asarray(q, np.float32) @ rot.T for q in quads]
    return np.array([np.concatenate([p.min(axis=0), p.max(axis=0)]) for p in pts])


def candidate_links(quads: list[np.ndarray], boxes: np.ndarray,
                    geoms: list[_Geom] | None = None,
                    max_gap: float = LINK_CANDIDATE_GAP) -> list[tuple[int, int, np.ndarray]]:
    """(left word, right word, features) for every pair the link model should judge:
    neighbours on one row (nothing between them, looked for within `LINK_CANDIDATE_GAP`
    text heights) whose gap is under `max_gap` heights. Only neighbours: a line is a
    chain of links, and judging far pairs would let one wrong link jump over a gap that
    was rightly left open."""
    geoms = geoms or word_geometries(quads)
    nearest: dict[int, tuple[float, int]] = {}  # left word -> (gap, its right neighbour)
    for i, j in _row_pairs(geoms, LINK_CANDIDATE_GAP):
        a, b = (i, j) if boxes[i, 0] + boxes[i, 2] <= boxes[j, 0] + boxes[j, 2] else (j, i)
        gap = boxes[b, 0] - boxes[a, 2]
        if a not in nearest or gap < nearest[a][0]:
            nearest[a] = (gap, b)
    claimed: dict[int, tuple[float, int]] = {}  # right word -> its nearest left word
    for a, (gap, b) in nearest.items():
        if b not in claimed or gap < claimed[b][0]:
            claimed[b] = (gap, a)
    height = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
    pairs = [(a, b) for b, (_, a) in sorted(claimed.items())
             if boxes[b, 0] - boxes[a, 2] < max_gap * max(height[a], height[b])]
    return [(a, b, f) for (a, b), f in zip(pairs, link_features(boxes, pairs))]


def line_direction(quads: list[np.ndarray], fallback: np.ndarray = HORIZONTAL,
                   page_height: float = 0.0) -> np.ndarray:
    """Direction of a line of words: from its first to its last word, else that of its
    longest word. A line of one glyph-sized box (`_is_glyph`, with the page's text height)
    takes `fallback`, the page's direction: a lone "1" is taller than wide, and read along
    its long side it became a "-" (a third of sroie_dev's missed quantity "1"s)."""
    geoms = [_geometry(q) for q in quads]
    best = max(geoms, key=lambda g: g.length / max(g.height, 1e-6))
    if len(quads) > 1:
        first, last = geoms[0].center, geoms[-1].center
        span = last - first
        if np.linalg.norm(span) > best.height:
            u = span / np.linalg.norm(span)
            return u if u[0] > -1e-6 else -u
    if _is_glyph(best, page_height):
        return np.asarray(fallback, np.float32)
    return best.u


def line_box(quads: list[np.ndarray], fallback: np.ndarray = HORIZONTAL,
             page_height: float = 0.0) -> np.ndarray:
    u = line_direction(quads, fallback, page_height)
    return oriented_box(np.concatenate([np.asarray(q, np.float32) for q in quads]), u)


def line_boxes(words: list[np.ndarray], groups: list[list[int]]) -> list[np.ndarray]:
    """One box per group of words (a line), along the line's direction."""
    page_u = page_direction(words, max_skew=90.0) if words else HORIZONTAL
    height = text_height(words)
    return [line_box([words[i] for i in g], page_u, height) for g in groups]


def padded_line_box(quad: np.ndarray, pad: float) -> np.ndarray:
    """A line box grown by `pad` of its height above and below (`DetectParams.line_pad`):
    the box the Reader reports, while recognition crops use the unpadded one."""
    q = np.asarray(quad, np.float32)
    return expand_quad(q, 0.0, pad * quad_size(q)[1])


def _intervals_gap(lo: np.ndarray, hi: np.ndarray, axis_order: np.ndarray):
    """Largest empty gap between consecutive intervals sorted by start: (gap, cut index)."""
    best_gap, best_cut, reach = -np.inf, -1, -np.inf
    for n, i in enumerate(axis_order):
        if n > 0 and lo[i] - reach > best_gap:
            best_gap, best_cut = lo[i] - reach, n
        reach = max(reach, hi[i])
    return best_gap, best_cut


def _rows(idx: list[int], cy: np.ndarray, med_h: float) -> list[list[int]]:
    """Group boxes whose centres lie within half a line height of a row's mean centre."""
    rows: list[list[int]] = []
    for i in sorted(idx, key=lambda i: cy[i]):
        if rows and abs(cy[i] - float(np.mean(cy[rows[-1]]))) <= 0.5 * med_h:
            rows[-1].append(i)
        else:
            rows.append([i])
    return rows


def page_direction(boxes: list[np.ndarray], max_skew: float = 30.0) -> np.ndarray:
    """Median reading direction of the elongated boxes (a slightly rotated photo's skew);
    horizontal when that is more than `max_skew` degrees off."""
    angles = []
    for g in _geometries(boxes):
        if g.length >= 1.5 * g.height:
            angles.append(math.atan2(float(g.u[1]), float(g.u[0])))
    if not angles:
        return HORIZONTAL
    a = float(np.median(angles))
    if abs(a) > math.radians(max_skew):  # vertical or strongly rotated: leave it alone
        return HORIZONTAL
    return np.array([math.cos(a), math.sin(a)], np.float32)


def _typical_row_gap(y0: np.ndarray, y1: np.ndarray, med_h: float) -> float:
    """Median empty space between consecutive rows of the page (its line spacing)."""
    rows = _rows(list(range(len(y0))), (y0 + y1) / 2, med_h)
    gaps = [min(y0[b]) - max(y1[a]) for a, b in zip(rows, rows[1:])]
    gaps = [g for g in gaps if g > 0]
    return float(np.median(gaps)) if gaps else med_h


def reading_order(boxes: list[np.ndarray]) -> tuple[list[int], list[int]]:
    """Line order and a block id per line, by recursive XY-cut on the line boxes.

    Boxes are first turned by the page's skew, so the rows of a slightly rotated photo stay
    rows. At each level the widest clean gap wins; a vertical cut (columns) is taken only
    when the two sides are not row-aligned, so a table or a receipt (item ... price) is read
    row by row while a two-column page is read column by column. A gap clearly wider than
    the page's own line spacing starts a new block.
    """
    if not boxes:
        return [], []
    u = page_direction(boxes)
    v = np.array([-u[1], u[0]], np.float32)
    pts = np.array([np.asarray(b, np.float32) for b in boxes])
    px, py = pts @ u, pts @ v
    x0, x1 = px.min(1), px.max(1)
    y0, y1 = py.min(1), py.max(1)
    med_h = float(np.median(y1 - y0)) or 1.0
    block_gap = max(med_h, 1.6 * _typical_row_gap(y0, y1, med_h))
    order: list[int] = []
    blocks: list[int] = [0] * len(boxes)
    block = [0]

    def has_row_partner(i: int, others: list[int]) -> bool:
        overlap = np.minimum(y1[others], y1[i]) - np.maximum(y0[others], y0[i])
        shorter = np.minimum(y1[others] - y0[others], y1[i] - y0[i])
        return bool(np.any(overlap >= 0.5 * shorter))

    def rows_aligned(left: list[int], right: list[int]) -> bool:
        hits = sum(has_row_partner(i, right) for i in left)
        return hits >= 0.5 * min(len(left), len(right))

    def cut(idx: list[int]) -> None:
        if len(idx) == 1:
            order.append(idx[0])
            blocks[idx[0]] = block[0]
            return
        a = np.array(idx)
        ys = a[np.argsort(y0[a], kind="stable")]
        xs = a[np.argsort(x0[a], kind="stable")]
        gy, cy = _intervals_gap(y0, y1, ys)
        gx, cx = _intervals_gap(x0, x1, xs)
        if gx > 0 and gx > gy * 0.8 and gx > 0.5 * med_h:
            left, right = list(xs[:cx]), list(xs[cx:])
            if not rows_aligned(left, right):
                cut(left)
                block[0] += 1
                cut(right)
                return
        if gy > 0:
            top, bottom = list(ys[:cy]), list(ys[cy:])
            cut(top)
            if gy > block_gap:
                block[0] += 1
            cut(bottom)
            return
        # no clean horizontal gap (touching or slanted rows, a table): row by row
        for row in _rows(idx, (y0 + y1) / 2, med_h):
            for i in sorted(row, key=lambda i: x0[i]):
                order.append(i)
                blocks[i] = block[0]

    cut(list(range(len(boxes))))
    return order, blocks
