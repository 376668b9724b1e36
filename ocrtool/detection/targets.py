"""CRAFT training targets: character-region and affinity heat maps from character quads.

A detector trained on these maps learns "where is the centre of a character" (region) and
"where do two neighbouring characters of one word meet" (affinity); post-processing then
joins characters into words. Real data often has only word or line boxes, so
`split_word_quad` / `split_line_quad` make pseudo character boxes from them.

All quads are (4, 2) float arrays, clockwise from the text's top-left corner, in input
image pixel coordinates (continuous: pixel (i, j) covers [j, j+1) x [i, i+1)).
"""

from __future__ import annotations

import cv2
import numpy as np

PATCH_SIZE = 64
# sigma as a fraction of the patch side: 0.5 * side = 2 sigma, so the edge midpoints of a
# character box get exp(-2) ~ 0.14 and its corners ~ 0.02; neighbouring peaks stay apart.
SIGMA_FRACTION = 0.25


def _gaussian_patch(size: int = PATCH_SIZE, sigma_fraction: float = SIGMA_FRACTION) -> np.ndarray:
    """Isotropic 2-D Gaussian on a size x size grid, peak 1 at the centre."""
    c = (size - 1) / 2.0
    r = np.arange(size, dtype=np.float32) - c
    g = np.exp(-(r**2) / (2.0 * (sigma_fraction * size) ** 2))
    return np.outer(g, g).astype(np.float32)


_PATCH = _gaussian_patch()
# patch corners in the patch's pixel-index coordinates (pixel centres at integers)
_PATCH_CORNERS = np.array(
    [
        [-0.5, -0.5],
        [PATCH_SIZE - 0.5, -0.5],
        [PATCH_SIZE - 0.5, PATCH_SIZE - 0.5],
        [-0.5, PATCH_SIZE - 0.5],
    ],
    dtype=np.float64,
)


def _homographies(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Batched getPerspectiveTransform: (N, 3, 3) mapping src[i] (4, 2) onto dst (N, 4, 2).

    One batched 8x8 solve instead of N OpenCV calls keeps 1000+ characters cheap.
    """
    n = dst.shape[0]
    a = np.zeros((n, 8, 8), np.float64)
    b = np.zeros((n, 8), np.float64)
    u, v = src[:, 0], src[:, 1]
    x, y = dst[:, :, 0], dst[:, :, 1]
    a[:, 0:4, 0] = u
    a[:, 0:4, 1] = v
    a[:, 0:4, 2] = 1
    a[:, 0:4, 6] = -u * x
    a[:, 0:4, 7] = -v * x
    a[:, 4:8, 3] = u
    a[:, 4:8, 4] = v
    a[:, 4:8, 5] = 1
    a[:, 4:8, 6] = -u * y
    a[:, 4:8, 7] = -v * y
    b[:, 0:4] = x
    b[:, 4:8] = y
    h = np.linalg.solve(a, b[:, :, None])[:, :, 0]
    return np.concatenate([h, np.ones((n, 1))], axis=1).reshape(n, 3, 3)


def _quad_areas(quads: np.ndarray) -> np.ndarray:
    x, y = quads[:, :, 0], quads[:, :, 1]
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1))


def _draw_gaussians(out: np.ndarray, quads: np.ndarray) -> None:
    """Warp the Gaussian patch into every quad (map pixel coords), combined with max.

    Each warp only covers the quad's bounding box, so cost grows with the ink area, not
    with the image size times the number of characters.
    """
    if len(quads) == 0:
        return
    h, w = out.shape
    quads = quads.astype(np.float64)
    keep = _quad_areas(quads) > 1e-3
    quads = quads[keep]
    if len(quads) == 0:
        return
    # pixel-index coordinates: the centre of map pixel j is at continuous j + 0.5
    idx = quads - 0.5
    x0 = np.clip(np.floor(idx[:, :, 0].min(axis=1)).astype(np.int64), 0, w)
    y0 = np.clip(np.floor(idx[:, :, 1].min(axis=1)).astype(np.int64), 0, h)
    x1 = np.clip(np.ceil(idx[:, :, 0].max(axis=1)).astype(np.int64) + 1, 0, w)
    y1 = np.clip(np.ceil(idx[:, :, 1].max(axis=1)).astype(np.int64) + 1, 0, h)
    local = idx - np.stack([x0, y0], axis=1)[:, None, :].astype(np.float64)
    try:
        mats = _homographies(_PATCH_CORNERS, local)
    except np.linalg.LinAlgError:  # a degenerate quad in the batch: fall back one by one
        mats = np.stack([_safe_homography(q) for q in local])
    for m, ax, ay, bx, by in zip(mats, x0, y0, x1, y1):
        bw, bh = int(bx - ax), int(by - ay)
        if bw <= 0 or bh <= 0 or not np.isfinite(m).all():
            continue
        warped = cv2.warpPerspective(
            _PATCH,
            m,
            (bw, bh),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        view = out[ay:by, ax:bx]
        np.maximum(view, warped, out=view)
    # tiny characters can fall between pixel centres: make sure each centre pixel is lit
    centres = quads.mean(axis=1)
    cx = np.clip(np.floor(centres[:, 0]).astype(np.int64), 0, w - 1)
    cy = np.clip(np.floor(centres[:, 1]).astype(np.int64), 0, h - 1)
    inside = (centres[:, 0] >= 0) & (centres[:, 0] < w) & (centres[:, 1] >= 0) & (centres[:, 1] < h)
    out[cy[inside], cx[inside]] = np.maximum(out[cy[inside], cx[inside]], 0.8)


def _safe_homography(dst: np.ndarray) -> np.ndarray:
    try:
        return _homographies(_PATCH_CORNERS, dst[None])[0]
    except np.linalg.LinAlgError:
        return np.full((3, 3), np.nan)


def affinity_quads(chars: np.ndarray) -> np.ndarray:
    """CRAFT affinity boxes between neighbouring characters of one word: (n-1, 4, 2).

    Each character quad is split into a top and a bottom triangle by its centre; the
    affinity box joins the centroids of the top and bottom triangles of two neighbours.
    """
    chars = np.asarray(chars, np.float64).reshape(-1, 4, 2)
    if len(chars) < 2:
        return np.zeros((0, 4, 2), np.float64)
    centre = chars.mean(axis=1)
    top = (chars[:, 0] + chars[:, 1] + centre) / 3.0
    bottom = (chars[:, 3] + chars[:, 2] + centre) / 3.0
    return np.stack([top[:-1], top[1:], bottom[1:], bottom[:-1]], axis=1)


def region_and_affinity_maps(
    shape_hw: tuple[int, int],
    words: list[np.ndarray],
    scale: float = 0.5,
    weights: list[float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Region and affinity maps (float32, values in [0, 1]) at `scale` times the input size.

    `words`: one (n_chars, 4, 2) array of character quads per word, in input pixels.
    `weights` (per-word confidence of pseudo boxes) is accepted for API symmetry with the
    trainer, which applies it to the loss; it does not change the maps.
    """
    del weights
    out_h, out_w = int(round(shape_hw[0] * scale)), int(round(shape_hw[1] * scale))
    region = np.zeros((out_h, out_w), np.float32)
    affinity = np.zeros((out_h, out_w), np.float32)
    char_list = [np.asarray(w, np.float64).reshape(-1, 4, 2) for w in words if len(w)]
    if not char_list:
        return region, affinity
    chars = np.concatenate(char_list) * scale
    aff = [affinity_quads(w) for w in char_list if len(w) > 1]
    _draw_gaussians(region, chars)
    if aff:
        _draw_gaussians(affinity, np.concatenate(aff) * scale)
    return region, affinity


def _reading_frame(quad: np.ndarray, n_units: int) -> np.ndarray:
    """Reorder a clockwise quad so that its first edge runs along the reading direction.

    A box whose top edge is much shorter than its side (a 90-degree rotated word whose
    points were ordered by position) is re-started one corner later, so splitting still
    cuts along the text and not across it.
    """
    q = np.asarray(quad, np.float64).reshape(4, 2)
    top = (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2
    side = (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
    if n_units >= 2 and side > top and top / n_units < 0.15 * side:
        q = np.roll(q, -1, axis=0)  # reading direction: old top-right -> old bottom-right
    return q


def _split(q: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Sub-quads of q between fractions start[i] and stop[i] along its first edge."""
    s, e = start[:, None], stop[:, None]
    top_a = q[0] + (q[1] - q[0]) * s
    top_b = q[0] + (q[1] - q[0]) * e
    bot_a = q[3] + (q[2] - q[3]) * s
    bot_b = q[3] + (q[2] - q[3]) * e
    return np.stack([top_a, top_b, bot_b, bot_a], axis=1).astype(np.float32)


def split_word_quad(quad: np.ndarray, n_chars: int) -> np.ndarray:
    """Pseudo character boxes (n_chars, 4, 2): the word box cut into equal slices.

    Real word boxes carry no character positions; equal slices along the reading axis are
    the usual first guess (CRAFT refines them with the model's own maps later).
    """
    n = max(int(n_chars), 1)
    q = _reading_frame(quad, n)
    f = np.arange(n + 1, dtype=np.float64) / n
    return _split(q, f[:-1], f[1:])


def ink_split_word_quad(image: np.ndarray, quad: np.ndarray,
                        n_chars: int) -> np.ndarray | None:
    """Character boxes from the ink of a word, or None when the ink disagrees with the text.

    Equal slices put boxes between the letters of proportional fonts ('Wild' has a wide W
    and a thin l), which teaches the region map blobs instead of characters. When the
    word's binarised ink splits into exactly as many column runs as the text has
    characters, those runs are the characters (CRAFT's interim supervision checks the
    same count, with its own maps instead of the ink).
    """
    q = _reading_frame(quad, n_chars)
    cols = _ink_columns(image, q)
    if cols is None or len(cols) < 2 * n_chars:
        return None
    edges = np.flatnonzero(np.diff(np.concatenate([[0], cols.astype(np.int8), [0]])))
    starts, stops = edges[::2], edges[1::2]
    if len(starts) != n_chars:
        return None
    w = float(len(cols))
    pad = 0.5
    return _split(q, np.clip((starts - pad) / w, 0, 1), np.clip((stops + pad) / w, 0, 1))


def _ink_columns(image: np.ndarray, q: np.ndarray) -> np.ndarray | None:
    """Which columns of the upright 32-px crop of `q` hold ink (None: too faint to tell)."""
    from ..geometry import crop_quad

    crop = crop_quad(image, q.astype(np.float32), height=32)
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    if int(gray.max()) - int(gray.min()) < 40:
        return None
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    border = np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])
    if border.mean() > 0.5:  # the background is the majority along the box edge
        ink = 1 - ink
    return ink.sum(axis=0) > 0


def ink_split_line_quad(image: np.ndarray, quad: np.ndarray,
                        text: str) -> list[np.ndarray] | None:
    """Per-word character boxes of a line placed where its words' ink is, or None.

    Receipts print fields apart with runs of spaces ("TOTAL      9.00") that the label
    writes as one: equal slices over the whole line then put the characters of "9.00" in
    the empty middle. When the widest gaps between ink runs split the line into exactly
    as many groups as the text has words, and those gaps are clearly wider than any gap
    inside a group, each word gets its own group, cut into equal slices.
    """
    words = text.split()
    if len(words) < 2:
        return None
    q = _reading_frame(quad, len(text))
    cols = _ink_columns(image, q)
    if cols is None:
        return None
    edges = np.flatnonzero(np.diff(np.concatenate([[0], cols.astype(np.int8), [0]])))
    starts, stops = edges[::2], edges[1::2]
    if len(starts) < len(words):
        return None
    gaps = starts[1:] - stops[:-1]
    cut = np.sort(np.argsort(gaps)[::-1][: len(words) - 1])
    kept = np.delete(gaps, cut)
    if gaps[cut].min() < 6 or (len(kept) and gaps[cut].min() < 1.5 * kept.max()):
        return None  # word gaps no wider than letter gaps: the ink cannot tell
    first = np.concatenate([[0], cut + 1])
    last = np.concatenate([cut, [len(starts) - 1]])
    w = float(len(cols))
    out = []
    for word, a, b in zip(words, first, last):
        lo, hi = starts[a] / w, stops[b] / w
        f = lo + (hi - lo) * np.arange(len(word) + 1, dtype=np.float64) / len(word)
        out.append(_split(q, f[:-1], f[1:]))
    return out


def split_line_quad(quad: np.ndarray, text: str) -> list[np.ndarray]:
    """Per-word pseudo character boxes for a line box: one (n_chars, 4, 2) array per word.

    Every character, space included, gets an equal share of the line's length; spaces
    only separate words and get no box.
    """
    n = len(text)
    if n == 0 or not text.strip():
        return []
    q = _reading_frame(quad, n)
    f = np.arange(n + 1, dtype=np.float64) / n
    slots = _split(q, f[:-1], f[1:])
    words: list[np.ndarray] = []
    current: list[int] = []
    for i, ch in enumerate(text):
        if ch.isspace():
            if current:
                words.append(slots[current])
                current = []
        else:
            current.append(i)
    if current:
        words.append(slots[current])
    return words
