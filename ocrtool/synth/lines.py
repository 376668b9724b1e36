"""Synthetic text-line images for recognizer training.

Each sample is one line of text cut out the way a detector would cut it: sometimes too
tight, sometimes too loose, sometimes with a fragment of the neighbouring line. Paper,
ink, blur, noise, JPEG and low resolution are varied so real scans are not a surprise.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .fonts import Font, discover_fonts
from .text import random_text


@lru_cache(maxsize=512)
def load_font(path: str, size: int, index: int = 0) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


def pick_font(rng: random.Random, mono_bias: float = 0.25,
              fonts: Sequence[Font] | None = None) -> Font:
    """A random face (from `fonts`, else every Latin one), monospaced with `mono_bias`."""
    fonts = fonts or discover_fonts()
    if rng.random() < mono_bias:
        mono = [f for f in fonts if f.monospace]
        if mono:
            return rng.choice(mono)
    return rng.choice(fonts)


def _paper_and_ink(rng: random.Random) -> tuple[int, int]:
    if rng.random() < 0.12:  # light text on a dark background
        return rng.randint(0, 90), rng.randint(170, 255)
    if rng.random() < 0.1:  # coloured web graphics: little contrast once in grey
        paper = rng.randint(60, 255)
        ink = paper + rng.choice([-1, 1]) * rng.randint(35, 70)
        return paper, int(np.clip(ink, 0, 255))
    paper = rng.randint(150, 255)
    ink = rng.randint(0, max(paper - 70, 1))
    return paper, ink


def _decorate(rng: random.Random, mask: np.ndarray, paper: int, ink: int,
              bg: np.ndarray) -> np.ndarray:
    """Outlined or drop-shadowed text, as banners and buttons draw it."""
    r = rng.random()
    if r < 0.06:  # outline: a dilated halo in a third tone
        k = rng.choice([3, 3, 5])
        halo = cv2.dilate(mask, np.ones((k, k), np.uint8))
        tone = 255 - ink if abs((255 - ink) - ink) > 60 else paper
        return bg * (1 - halo) + tone * halo
    if r < 0.12:  # drop shadow, offset down-right
        d = max(1, int(round(mask.shape[0] * rng.uniform(0.01, 0.04))))
        shadow = np.zeros_like(mask)
        shadow[d:, d:] = mask[:-d, :-d]
        tone = int(np.clip(paper + (ink - paper) * rng.uniform(0.3, 0.7), 0, 255))
        return bg * (1 - shadow) + tone * shadow
    return bg


def _background(rng: random.Random, h: int, w: int, paper: int) -> np.ndarray:
    bg = np.full((h, w), paper, np.float32)
    r = rng.random()
    if r < 0.3:  # gradient
        ramp = np.linspace(0, rng.uniform(-60, 60), w if rng.random() < 0.5 else h)
        bg += ramp[None, :] if ramp.size == w else ramp[:, None]
    elif r < 0.5:  # blotchy texture, like paper or a photo
        small = np.random.default_rng(rng.getrandbits(32)).normal(
            0, rng.uniform(5, 30), (max(h // 8, 2), max(w // 8, 2))
        )
        bg += cv2.resize(small.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return bg


def draw_text(
    rng: random.Random, text: str, font: Font, size: int, spacing: float = 0.0,
    small_caps: float = 0.0,
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Render text as an ink-coverage mask in [0, 1] and return its tight bounding box.

    With `small_caps` (a scale, e.g. 0.75) lower-case letters are drawn as capitals that
    much smaller on the same baseline, as papers set authors' names in reference lists
    ("JENKINSON" with a small "ENKINSON" for "Jenkinson"): the label keeps its case."""
    pil_font = load_font(font.path, size, font.index)
    ascent, _ = pil_font.getmetrics()
    pad = size
    glyphs = _small_caps(text, pil_font, load_font(
        font.path, max(int(round(size * small_caps)), 1), font.index)) if small_caps else []
    ink_width = sum(f.getlength(g) for g, f in glyphs) if glyphs else pil_font.getlength(text)
    width = int(ink_width + len(text) * max(spacing, 0) * size) + 2 * pad
    img = Image.new("L", (max(width, 2 * pad + 1), size * 2 + 2 * pad), 0)
    draw = ImageDraw.Draw(img)
    if glyphs:  # each glyph on the full-size font's baseline
        x = float(pad)
        for glyph, glyph_font in glyphs:
            draw.text((x, pad + ascent), glyph, font=glyph_font, fill=255, anchor="ls")
            x += glyph_font.getlength(glyph) + spacing * size
    elif spacing == 0.0:
        draw.text((pad, pad), text, font=pil_font, fill=255)
    else:
        x = float(pad)
        for ch in text:
            draw.text((x, pad), ch, font=pil_font, fill=255)
            x += pil_font.getlength(ch) + spacing * size
    mask = np.asarray(img, np.float32) / 255.0
    ys, xs = np.nonzero(mask > 0.2)
    if len(xs) == 0:
        return mask, (pad, pad, pad + 1, pad + size)
    top = min(int(ys.min()), pad + max(ascent - size, 0))
    bottom = max(int(ys.max()) + 1, pad + ascent)
    return mask, (int(xs.min()), top, int(xs.max()) + 1, bottom)


def _small_caps(text: str, font: ImageFont.FreeTypeFont, small: ImageFont.FreeTypeFont
                ) -> list[tuple[str, ImageFont.FreeTypeFont]]:
    """Each character with the font it is drawn in for small caps: a lower-case letter
    with a single capital ("ß" has none) is that capital in the `small` font."""
    return [(c.upper(), small) if c.islower() and len(c.upper()) == 1 else (c, font)
            for c in text]


# How often a face is drawn bolder or lighter, or wider or narrower, than it ships: the
# faces users meet are not the ones we train on (held-out Korean faces read 2-5x worse).
STROKE_CHANGE = 0.2
WIDTH_CHANGE = 0.2
# Share of training lines set in small caps, and the small capitals' size against the
# full ones: held-out DocBank pages read 25 words in the wrong case on 8 pages, most of
# them authors' names set in small caps ("JENKINSON," for "Jenkinson,"; session 37).
SMALL_CAPS = 0.03
SMALL_CAPS_SCALE = (0.68, 0.8)


def vary_face(rng: random.Random, mask: np.ndarray, size: int) -> np.ndarray:
    """The ink mask with its strokes thickened or thinned and its width scaled, sometimes.

    Why: a recognizer trained on a few dozen faces learns their stroke weight and set
    width; dilating, eroding and stretching the rendered mask makes unseen faces (lighter,
    heavier, wider-set) look like seen ones without more font files.
    """
    if rng.random() < STROKE_CHANGE:
        k = 3 if size >= 34 and rng.random() < 0.5 else 2
        kernel = np.ones((k, k), np.uint8)
        if rng.random() < 0.5:
            mask = cv2.dilate(mask, kernel)
        elif size >= 24:  # thinning small text would erase its strokes
            mask = cv2.erode(mask, kernel)
    if rng.random() < WIDTH_CHANGE:
        h, w = mask.shape
        f = rng.uniform(0.8, 1.25)
        mask = cv2.resize(mask, (max(int(w * f), 1), h), interpolation=cv2.INTER_LINEAR)
    return mask


def _degrade(rng: random.Random, img: np.ndarray) -> np.ndarray:
    h, w = img.shape
    if rng.random() < 0.35:
        k = rng.choice([3, 3, 5])
        img = cv2.GaussianBlur(img, (k, k), rng.uniform(0.3, 1.2))
    if rng.random() < 0.35:  # low resolution (web graphics: text 8-15 px high)
        f = rng.uniform(0.25, 0.8)
        small = cv2.resize(
            img, (max(int(w * f), 1), max(int(h * f), 1)), interpolation=cv2.INTER_AREA
        )
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.4:
        noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 14), img.shape)
        img = img + noise.astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=rng.randint(20, 80))
        img = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
    return img


def render_line(rng: random.Random, text: str | None = None,
                fonts: Sequence[Font] | None = None,
                vary_faces: bool = False) -> tuple[np.ndarray, str]:
    """One synthetic line crop (uint8 grayscale) and its label, drawn with one of `fonts`
    (default: the Latin faces); `vary_faces` (training) also changes stroke weight and set
    width sometimes (`vary_face`). Without it the same seed draws the same line as before
    that option existed, so validation and dev sets made by `ocrtool synth` stay put."""
    font = pick_font(rng, fonts=fonts)
    text = text if text is not None else random_text(rng)
    text = "".join(c for c in text if c in font.chars or c == " ")
    text = " ".join(text.split()) or "0"
    size = rng.randint(20, 44)
    spacing = rng.choice([0.0] * 6 + [rng.uniform(-0.05, 0.35)])
    # small caps are drawn only in training (`vary_faces`): no draw from `rng` otherwise
    small_caps = rng.uniform(*SMALL_CAPS_SCALE) if vary_faces and rng.random() < SMALL_CAPS \
        else 0.0
    mask, (x0, y0, x1, y1) = draw_text(rng, text, font, size, spacing, small_caps)
    if vary_faces:
        stretched = vary_face(rng, mask, size)
        x0, x1 = (int(round(x * stretched.shape[1] / mask.shape[1])) for x in (x0, x1))
        mask = stretched
    th = y1 - y0

    if rng.random() < 0.15:  # underline or table rule
        y = min(y1 + rng.randint(0, max(th // 6, 1)), mask.shape[0] - 1)
        mask[
            y : y + rng.randint(1, 3), max(x0 - rng.randint(0, th), 0) : x1 + rng.randint(0, th)
        ] = 1
    if rng.random() < 0.08:  # vertical table rule at an edge
        x = max(x0 - rng.randint(2, max(th // 2, 3)), 0)
        mask[:, x : x + rng.randint(1, 2)] = 1

    paper, ink = _paper_and_ink(rng)
    h, w = mask.shape
    bg = _decorate(rng, mask, paper, ink, _background(rng, h, w, paper))
    img = bg * (1 - mask) + ink * mask

    if rng.random() < 0.15:  # neighbour-line fragments above or below
        frag_mask, _ = draw_text(rng, random_text(rng), font, size)
        fh, fw = frag_mask.shape
        off = rng.choice([-1, 1]) * int(th * rng.uniform(0.9, 1.3))
        fw = min(fw, w)
        shifted = np.zeros_like(mask)
        src = frag_mask[:, :fw]
        ys, ye = max(off, 0), min(h, fh + off)
        if ye > ys:
            shifted[ys:ye, :fw] = src[ys - off : ye - off]
            img = img * (1 - shifted) + ink * shifted

    # small rotation / shear around the text centre; the angle is capped so the ends of a
    # long line move at most ~th/2 (a detector's box follows the line), and the crop below
    # is taken around the moved text box so no glyph is cut off its label
    if rng.random() < 0.5:
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        max_angle = min(2.5, float(np.degrees(np.arctan(th / max(x1 - x0, 1)))))
        M = cv2.getRotationMatrix2D((cx, cy), rng.uniform(-max_angle, max_angle), 1.0)
        M[0, 1] += rng.uniform(-0.25, 0.25) if rng.random() < 0.4 else 0.0
        img = cv2.warpAffine(img, M, (w, h), borderMode=cv2.BORDER_REPLICATE)
        corners = np.array([[x0, y0, 1], [x1, y0, 1], [x1, y1, 1], [x0, y1, 1]], np.float64)
        moved = corners @ M.T
        x0, y0 = (int(np.floor(v)) for v in moved.min(axis=0))
        x1, y1 = (int(np.ceil(v)) for v in moved.max(axis=0))
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)

    # crop jitter, as a detector's box would be
    jt = lambda lo, hi: int(round(th * rng.uniform(lo, hi)))  # noqa: E731
    cx0 = max(x0 - jt(-0.05, 0.5), 0)
    cx1 = min(x1 + jt(-0.05, 0.5), w)
    cy0 = max(y0 - jt(-0.08, 0.35), 0)
    cy1 = min(y1 + jt(-0.08, 0.35), h)
    crop = img[cy0:cy1, cx0:cx1]
    if crop.size == 0 or crop.shape[0] < 4 or crop.shape[1] < 4:
        crop = img[y0:y1, x0:x1]
    return _degrade(rng, crop.astype(np.float32)), text
