"""Words -> lines: which word boxes form one text line, and each line's box.

Neighbouring words on a row are joined by the link model of `line_links.py` (or by a gap
rule); every joined pair goes into one union-find, and each resulting group is a line,
its words sorted along the line's direction. Box measurements come from
`ocrtool.geometry`.
"""

from __future__ import annotations

import math

import numpy as np

from ..geometry import (
    HORIZONTAL,
    BoxFrame,
    box_frame,
    box_frames,
    expand_quad,
    oriented_box,
    page_direction,
    quad_size,
    text_height,
)
from .line_links import link_features, link_probability
from .union_find import UnionFind

LINK_CANDIDATE_GAP = 3.0  # a word's right neighbour is looked for this far (text heights)
LINK_THRESHOLD = 0.5  # the link model's P(same line) needed to join two neighbours
# only pages with this many words give the link model the context it learned from (a
# receipt has 70 or more); on sparser ones it may only veto the gap rule's joins
DENSE_PAGE_WORDS = 40
MAX_HEIGHT_RATIO = 3.0  # words of one line differ in height by at most this factor
# a box under SHORT_WORD of its own heights, or under GLYPH_LENGTH of the page's text
# heights, long may be one narrow glyph ("1", ":") rather than vertical text (is_glyph)
SHORT_WORD = 2.5
GLYPH_LENGTH = 2.0


def is_glyph(g: BoxFrame, page_height: float) -> bool:
    """Too short to be a word of vertical text, whatever its own long side says."""
    return g.length < SHORT_WORD * g.height or g.length < GLYPH_LENGTH * page_height


def word_geometries(quads: list[np.ndarray], page_u: np.ndarray | None = None) -> list[BoxFrame]:
    """Geometry of each word box for line grouping. A short box whose own long side
    crosses the page's text direction is almost always one narrow glyph ("1", ":") of a
    horizontal row, not vertical text: it takes the page's direction (lone quantity "1"s
    on receipts were split off their rows)."""
    page_u = page_direction(quads, max_skew=90.0) if page_u is None else page_u
    height = text_height(quads)
    geoms = []
    for q, g in zip(quads, box_frames(quads)):
        crosses = abs(float(g.u @ page_u)) < math.cos(math.radians(20))
        if crosses and is_glyph(g, height):
            g = box_frame(q, page_u)
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
    sets = UnionFind(len(quads))
    if learned and len(quads) > 1:
        dense = len(quads) >= DENSE_PAGE_WORDS
        links = candidate_links(quads, page_boxes(quads, page_u), geoms,
                                max_gap=link_gap if dense else gap_ratio)
        if links:
            probs = link_probability(np.array([f for _, _, f in links]))
            for (a, b, _), p in zip(links, probs):
                if p > LINK_THRESHOLD:
                    sets.union(a, b)
    else:
        for i, j in _row_pairs(geoms, gap_ratio):
            sets.union(i, j)
    lines = []
    for members in sets.groups():
        u = line_direction([quads[i] for i in members])
        lines.append(sorted(members, key=lambda i: float(geoms[i].center @ u)))
    return lines


def _row_pairs(geoms: list[BoxFrame], gap_ratio: float) -> list[tuple[int, int]]:
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
                    geoms: list[BoxFrame] | None = None,
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
    longest word. A line of one glyph-sized box (`is_glyph`, with the page's text height)
    takes `fallback`, the page's direction: a lone "1" is taller than wide, and read along
    its long side it became a "-" (a third of sroie_dev's missed quantity "1"s)."""
    geoms = [box_frame(q) for q in quads]
    best = max(geoms, key=lambda g: g.length / max(g.height, 1e-6))
    if len(quads) > 1:
        first, last = geoms[0].center, geoms[-1].center
        span = last - first
        if np.linalg.norm(span) > best.height:
            u = span / np.linalg.norm(span)
            return u if u[0] > -1e-6 else -u
    if is_glyph(best, page_height):
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


def band_box(line_quad: np.ndarray, word_quad: np.ndarray) -> np.ndarray:
    """The part of a line's box that a word's box spans along the line: the word's
    length, the line's full height (top edge first, as the line's corners run)."""
    q = np.asarray(line_quad, np.float64)
    u, v = q[1] - q[0], q[3] - q[0]
    try:  # each corner as (along, across) fractions of the line box
        fg = np.linalg.solve(np.stack([u, v], 1), (np.asarray(word_quad, np.float64) - q[0]).T)
    except np.linalg.LinAlgError:  # a degenerate line box: keep the word's own
        return np.asarray(word_quad, np.float32)
    f0, f1 = np.clip([fg[0].min(), fg[0].max()], 0.0, 1.0)
    return np.array([q[0] + f0 * u, q[0] + f1 * u, q[0] + f1 * u + v, q[0] + f0 * u + v],
                    np.float32)
