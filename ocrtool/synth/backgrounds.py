"""Page backgrounds and non-text clutter for synthetic detector pages.

A detector must learn that paper grain, photos, rules, logos and barcodes are not text,
so every page carries some of them. Everything is cheap numpy/OpenCV (a few ms per page).
"""

from __future__ import annotations

import random

import cv2
import numpy as np

Color = tuple[int, int, int]


def np_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.getrandbits(64))


def smooth_noise(rng: random.Random, h: int, w: int, cells: int, channels: int = 1) -> np.ndarray:
    """Low-frequency noise in [-1, 1]: a small random grid blown up with cubic resize."""
    gh = max(2, int(cells * h / max(h, w)) + 1)
    gw = max(2, int(cells * w / max(h, w)) + 1)
    grid = np_rng(rng).uniform(-1, 1, (gh, gw, channels)).astype(np.float32)
    out = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    return out.reshape(h, w, channels)


def paper(rng: random.Random, h: int, w: int) -> np.ndarray:
    """Off-white paper: a tint, uneven lighting and a faint grain."""
    base = np.array([rng.randint(215, 255) for _ in range(3)], np.float32)
    if rng.random() < 0.6:
        base[:] = base.mean()
    shade = smooth_noise(rng, h, w, rng.randint(2, 6)) * rng.uniform(0, 18)
    if rng.random() < 0.5:
        shade += smooth_noise(rng, h, w, rng.randint(40, 120)) * rng.uniform(2, 8)
    # one saturating float->uint8 pass per channel instead of a 3-channel float image
    return cv2.merge([cv2.convertScaleAbs(shade, beta=float(b)) for b in base])


def flat(rng: random.Random, h: int, w: int, color: Color | None = None) -> np.ndarray:
    c = color or random_color(rng)
    img = np.empty((h, w, 3), np.uint8)
    img[:] = c
    return img


def photo(rng: random.Random, h: int, w: int) -> np.ndarray:
    """Photo-like clutter: coloured multi-scale blobs, shapes and a blur (half resolution,
    then upscaled: it is blurry anyway and costs a quarter)."""
    full_h, full_w = h, w
    h, w = max(h // 2, 2), max(w // 2, 2)
    img = 127 + smooth_noise(rng, h, w, rng.randint(2, 5), 3) * rng.uniform(40, 110)
    img += smooth_noise(rng, h, w, rng.randint(8, 30), 3) * rng.uniform(5, 40)
    img = np.clip(img, 0, 255).astype(np.uint8)
    shapes(rng, img, rng.randint(3, 25))
    k = rng.choice([0, 3, 5])
    if k:
        img = cv2.GaussianBlur(img, (k, k), 0)
    return cv2.resize(img, (full_w, full_h), interpolation=cv2.INTER_LINEAR)


def texture(rng: random.Random, h: int, w: int) -> np.ndarray:
    """Repeating or fibrous surfaces: stripes, wood-like grain, checks, dots (made at half
    resolution and upscaled, for speed)."""
    full_h, full_w = h, w
    h, w = max(h // 2, 2), max(w // 2, 2)
    c1, c2 = np.array(random_color(rng), np.float32), np.array(random_color(rng), np.float32)
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]
    kind = rng.randrange(4)
    period = rng.uniform(3, 30)
    if kind == 0:  # stripes at an angle
        a = rng.uniform(0, np.pi)
        t = 0.5 + 0.5 * np.sin((xx * np.cos(a) + yy * np.sin(a)) * (2 * np.pi / period))
    elif kind == 1:  # wood / fibre grain
        n = smooth_noise(rng, h, w, rng.randint(3, 8))[:, :, 0] * rng.uniform(10, 40)
        t = 0.5 + 0.5 * np.sin((yy + n * period / 4) * 2 * np.pi / period)
    elif kind == 2:  # checks
        t = ((xx // period + yy // period) % 2).astype(np.float32)
        t = np.broadcast_to(t, (h, w))
    else:  # dots
        t = np.sin(xx * 2 * np.pi / period) * np.sin(yy * 2 * np.pi / period) > 0.6
        t = t.astype(np.float32)
    t = t[:, :, None] * rng.uniform(0.15, 1.0)
    img = c1 * (1 - t) + c2 * t
    img += smooth_noise(rng, h, w, rng.randint(2, 6)) * rng.uniform(0, 30)
    img = np.clip(img, 0, 255).astype(np.uint8)
    return cv2.resize(img, (full_w, full_h), interpolation=cv2.INTER_LINEAR)


def random_color(rng: random.Random) -> Color:
    return (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))


def luminance(c: np.ndarray | Color) -> float:
    c = np.asarray(c, np.float32)
    return float(0.299 * c[..., 0] + 0.587 * c[..., 1] + 0.114 * c[..., 2])


def contrasting_color(rng: random.Random, background: np.ndarray, min_diff: float = 90) -> Color:
    """An ink colour whose luminance differs from the background's mean by at least min_diff."""
    bg = luminance(background.reshape(-1, 3).mean(axis=0))
    for _ in range(8):
        if rng.random() < 0.55:
            v = rng.randint(0, 60) if bg > 127 else rng.randint(200, 255)
            c = (v, v, v)
        else:
            c = random_color(rng)
        if abs(luminance(c) - bg) >= min_diff:
            return c
    return (0, 0, 0) if bg > 127 else (255, 255, 255)


def shapes(rng: random.Random, img: np.ndarray, n: int) -> None:
    """Filled and outlined rectangles, circles, polygons and lines (in place)."""
    h, w = img.shape[:2]
    for _ in range(n):
        c = random_color(rng)
        kind = rng.randrange(4)
        th = rng.choice([-1, -1, 1, 2, 4])
        if kind == 0:
            x, y = rng.randrange(w), rng.randrange(h)
            cv2.rectangle(
                img, (x, y), (x + rng.randint(5, w // 2), y + rng.randint(5, h // 2)), c, th
            )
        elif kind == 1:
            cv2.circle(
                img,
                (rng.randrange(w), rng.randrange(h)),
                rng.randint(3, max(4, min(h, w) // 4)),
                c,
                th,
                cv2.LINE_AA,
            )
        elif kind == 2:
            pts = np.array(
                [[rng.randrange(w), rng.randrange(h)] for _ in range(rng.randint(3, 6))], np.int32
            )
            cv2.fillPoly(img, [pts], c, cv2.LINE_AA)
        else:
            cv2.line(
                img,
                (rng.randrange(w), rng.randrange(h)),
                (rng.randrange(w), rng.randrange(h)),
                c,
                rng.randint(1, 6),
                cv2.LINE_AA,
            )


def barcode(rng: random.Random, img: np.ndarray, x: int, y: int, bw: int, bh: int) -> None:
    """Vertical bars: a classic false positive for text detectors."""
    xx = x
    dark = rng.random() < 0.9
    while xx < x + bw:
        wbar = rng.randint(1, 4)
        if dark:
            cv2.rectangle(img, (xx, y), (xx + wbar - 1, y + bh), (20, 20, 20), -1)
        dark = not dark
        xx += wbar


def logo(rng: random.Random, img: np.ndarray, x: int, y: int, size: int) -> None:
    """A small coloured emblem: concentric shapes."""
    c = random_color(rng)
    r = size // 2
    if rng.random() < 0.5:
        cv2.circle(img, (x + r, y + r), r, c, -1, cv2.LINE_AA)
        cv2.circle(
            img, (x + r, y + r), max(r // 2, 1), random_color(rng), rng.choice([-1, 3]), cv2.LINE_AA
        )
    else:
        pts = np.array([[x + r, y], [x + size, y + r], [x + r, y + size], [x, y + r]], np.int32)
        cv2.fillPoly(img, [pts], c, cv2.LINE_AA)
