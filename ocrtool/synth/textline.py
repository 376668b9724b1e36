"""One text line drawn glyph by glyph, with a box for every character, then warped.

Glyphs are drawn one at a time at positions computed from the font's advances, so each
character's box comes from the same numbers that placed it: labels cannot drift from the
pixels (no hidden kerning or shaping). Curves, rotations and perspective are applied to
the mask and to the boxes together.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont


@lru_cache(maxsize=1024)
def basic_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """A font object with Pillow's basic layout: fast, and one glyph per character."""
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=65536)
def glyph_metrics(path: str, size: int, ch: str) -> tuple[float, tuple[int, int, int, int]]:
    """(advance, tight ink box (left, top, right, bottom) relative to the pen on the baseline).

    Pillow's getbbox spans the advance cell horizontally, not the ink, so the box is
    measured on the rendered glyph; an empty box (right <= left) means no ink.
    """
    return _glyph(path, size, ch)[0]


@lru_cache(maxsize=65536)
def _glyph(
    path: str, size: int, ch: str
) -> tuple[tuple[float, tuple[int, int, int, int]], np.ndarray]:
    font = basic_font(path, size)
    advance = font.getlength(ch)
    left, top, right, bottom = font.getbbox(ch, anchor="ls")
    pad = max(2, size // 4)  # room for ink outside Pillow's box (italic overhangs)
    img = Image.new("L", (max(right - left, 1) + 2 * pad, max(bottom - top, 1) + 2 * pad), 0)
    ImageDraw.Draw(img).text((pad - left, pad - top), ch, font=font, fill=255, anchor="ls")
    arr = np.asarray(img)
    ys, xs = np.nonzero(arr)
    if len(xs) == 0:
        return (advance, (0, 0, 0, 0)), np.zeros((0, 0), np.uint8)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    ox = left - pad
    oy = top - pad
    box = (int(x0 + ox), int(y0 + oy), int(x1 + ox), int(y1 + oy))
    return (advance, box), arr[y0:y1, x0:x1]


def glyph_mask(path: str, size: int, ch: str) -> np.ndarray:
    """The ink of one glyph cropped to its box from `glyph_metrics` (cached).

    Pasting cached glyphs with numpy is ~10x faster than a Pillow draw call per glyph,
    and pages reuse the same font and size for many characters.
    """
    return _glyph(path, size, ch)[1]


def transform_points(q: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a perspective matrix to points of any shape (..., 2)."""
    flat = q.reshape(1, -1, 2).astype(np.float64)
    return cv2.perspectiveTransform(flat, matrix)[0].reshape(q.shape).astype(np.float32)


@dataclass
class TextLine:
    """A rendered line: an ink mask and quads (clockwise from the text's top-left).

    `chars[i]` holds the (n, 4, 2) character quads of `words[i]`; everything is in the
    mask's pixel coordinates until the line is stamped onto a page.
    """

    mask: np.ndarray
    words: list[str]
    chars: list[np.ndarray]
    word_quads: list[np.ndarray]
    line_quad: np.ndarray
    curved: bool = False
    extra: dict = field(default_factory=dict)

    def transformed(self, matrix: np.ndarray, mask: np.ndarray | None = None) -> TextLine:
        """The same line with every quad moved by a 3x3 perspective matrix."""
        return TextLine(
            self.mask if mask is None else mask,
            self.words,
            [transform_points(c, matrix) for c in self.chars],
            [transform_points(q, matrix) for q in self.word_quads],
            transform_points(self.line_quad, matrix),
            self.curved,
            self.extra,
        )

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def points(self) -> list[np.ndarray]:
        return [self.line_quad, *self.word_quads, *self.chars]

    def shift(self, dx: float, dy: float) -> TextLine:
        d = np.array([dx, dy], np.float32)
        return TextLine(
            self.mask,
            self.words,
            [c + d for c in self.chars],
            [q + d for q in self.word_quads],
            self.line_quad + d,
            self.curved,
            self.extra,
        )


def _rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def _union_rect(rects: np.ndarray) -> np.ndarray:
    return _rect(
        rects[:, :, 0].min(), rects[:, :, 1].min(), rects[:, :, 0].max(), rects[:, :, 1].max()
    )


def clean_text(text: str, chars: frozenset[str]) -> str:
    """Drop characters the font lacks (never draw tofu) and collapse whitespace."""
    return " ".join("".join(c for c in text if c in chars or c == " ").split())


def draw_line(
    font_path: str,
    size: int,
    text: str,
    spacing: float = 0.0,
    space_scale: float = 1.0,
    min_box: float = 0.0,
) -> TextLine | None:
    """Draw `text` (single spaces) on a tight mask; None when nothing visible remains.

    spacing: extra space between letters as a fraction of the size (tracking);
    space_scale: width of a word gap relative to the font's space (justified text);
    min_box: smallest side of a character box as a fraction of the size, so a '.' still
    gets a box the detector can see.
    """
    ascent, descent = basic_font(font_path, size).getmetrics()
    space = glyph_metrics(font_path, size, " ")[0] * space_scale
    track = spacing * size
    mb = min_box * size
    x = 0.0
    # pass 1: pen positions and ink boxes (x0, y0, x1, y1) with the baseline at y = 0
    chars: list[str] = []
    ink_boxes: list[tuple[int, int, int, int]] = []
    word_ends: list[int] = []
    for wi, word in enumerate(text.split(" ")):
        if wi:
            x += space + track
        for ch in word:
            adv, (gl, gt, gr, gb) = glyph_metrics(font_path, size, ch)
            if gr > gl and gb > gt:  # a glyph without ink is skipped rather than mislabelled
                gx = int(round(x))  # whole pixels: the cached glyph lands exactly on its box
                chars.append(ch)
                ink_boxes.append((gx + gl, gt, gx + gr, gb))
            x += adv + track
        if not word_ends or word_ends[-1] != len(chars):
            word_ends.append(len(chars))
    if not chars:
        return None
    ink = np.array(ink_boxes, np.float32)
    cx, cy = (ink[:, 0] + ink[:, 2]) / 2, (ink[:, 1] + ink[:, 3]) / 2
    hw = np.maximum(ink[:, 2] - ink[:, 0], mb) / 2
    hh = np.maximum(ink[:, 3] - ink[:, 1], mb) / 2
    boxes = np.stack([cx - hw, cy - hh, cx + hw, cy + hh], axis=1)
    # pass 2: a mask holding the ink, the boxes and the font's ascent and descent
    pad = max(2, size // 8)
    left = math.floor(min(ink[:, 0].min(), boxes[:, 0].min())) - pad
    top = math.floor(min(-ascent, ink[:, 1].min(), boxes[:, 1].min())) - pad
    right = math.ceil(max(ink[:, 2].max(), boxes[:, 2].max())) + pad
    bottom = math.ceil(max(descent, ink[:, 3].max(), boxes[:, 3].max())) + pad
    img = np.zeros((bottom - top, right - left), np.uint8)
    for ch, (x0, y0, _, _) in zip(chars, ink_boxes):
        g = glyph_mask(font_path, size, ch)
        view = img[y0 - top : y0 - top + g.shape[0], x0 - left : x0 - left + g.shape[1]]
        np.maximum(view, g[: view.shape[0], : view.shape[1]], out=view)
    boxes -= np.array([left, top, left, top], np.float32)
    quads = boxes[:, [0, 1, 2, 1, 2, 3, 0, 3]].reshape(-1, 4, 2)
    words_out, chars_out, word_quads = [], [], []
    start = 0
    for end in word_ends:
        words_out.append("".join(chars[start:end]))
        chars_out.append(quads[start:end])
        word_quads.append(_union_rect(quads[start:end]))
        start = end
    line_quad = _union_rect(quads)
    return TextLine(img, words_out, chars_out, word_quads, line_quad)


def curve_line(line: TextLine, amplitude: float, periods: float, phase: float) -> TextLine:
    """Bend a line along a sine wave: column x moves down by f(x); boxes follow."""
    h, w = line.mask.shape
    off = int(math.ceil(abs(amplitude))) + 1

    def f(x: np.ndarray) -> np.ndarray:
        return amplitude * np.sin(2 * math.pi * periods * x / max(w, 1) + phase)

    out_h = h + 2 * off
    u = np.arange(w, dtype=np.float32)
    v = np.arange(out_h, dtype=np.float32)
    map_x = np.broadcast_to(u[None, :], (out_h, w)).astype(np.float32)
    map_y = (v[:, None] - off - f(u)[None, :]).astype(np.float32)
    mask = cv2.remap(line.mask, map_x, map_y, cv2.INTER_LINEAR, borderValue=0)

    def move(q: np.ndarray) -> np.ndarray:
        q = q.copy()
        q[..., 1] += f(q[..., 0]) + off
        return q

    chars = [move(c) for c in line.chars]
    word_quads = [_oriented_box(c) for c in chars]
    # from the word boxes, not the characters: each word box is turned its own way and
    # the line box must still hold all of them
    line_quad = _oriented_box(np.stack(word_quads), along=np.concatenate(chars))
    return TextLine(mask, line.words, chars, word_quads, line_quad, True, line.extra)


def _oriented_box(quads: np.ndarray, along: np.ndarray | None = None) -> np.ndarray:
    """Smallest box along the reading direction holding all corners of `quads`.

    The direction runs from the first to the last quad of `along` (default: `quads`).
    Used where the exact outline is curved: a quad in the text's own frame keeps the
    clockwise-from-top-left convention that minAreaRect would lose.
    """
    pts = quads.reshape(-1, 2).astype(np.float64)
    chars = quads if along is None else along
    centres = chars.mean(axis=1)
    d = centres[-1] - centres[0]
    if np.linalg.norm(d) < 1e-3:
        d = (chars[0, 1] - chars[0, 0]).astype(np.float64)
    a = d / max(np.linalg.norm(d), 1e-6)
    n = np.array([-a[1], a[0]])  # points "down" in image coordinates for a left-right line
    pu, pn = pts @ a, pts @ n
    u0, u1, n0, n1 = pu.min(), pu.max(), pn.min(), pn.max()
    corners = [u0 * a + n0 * n, u1 * a + n0 * n, u1 * a + n1 * n, u0 * a + n1 * n]
    return np.array(corners, np.float32)


def warp_line(line: TextLine, matrix: np.ndarray) -> TextLine:
    """Apply a 3x3 projective transform (about the mask's origin) to mask and boxes.

    The output is translated so it starts at (0, 0) and is just large enough.
    """
    h, w = line.mask.shape
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    moved = cv2.perspectiveTransform(corners[None], matrix.astype(np.float64))[0]
    x0, y0 = np.floor(moved.min(axis=0))
    x1, y1 = np.ceil(moved.max(axis=0))
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64)
    m = shift @ matrix
    size = (int(x1 - x0) + 1, int(y1 - y0) + 1)
    mask = cv2.warpPerspective(line.mask, m, size, flags=cv2.INTER_LINEAR, borderValue=0)

    return line.transformed(m, mask)


def rotation_matrix(angle_deg: float, cx: float, cy: float) -> np.ndarray:
    m = np.eye(3)
    m[:2] = cv2.getRotationMatrix2D((cx, cy), angle_deg, 1.0)
    return m


def perspective_matrix(rng: random.Random, w: int, h: int, strength: float) -> np.ndarray:
    """A line seen at an angle: one end taller than the other, plus a little jitter."""
    r = 1 + rng.uniform(-strength, strength)
    squeeze = 1 - abs(rng.uniform(0, strength * 0.4))
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dh = h * (r - 1) / 2
    dst = np.array([[0, 0], [w * squeeze, -dh], [w * squeeze, h + dh], [0, h]], np.float32)
    dst += np.array([[rng.uniform(-0.1, 0.1) * h for _ in range(2)] for _ in range(4)], np.float32)
    return cv2.getPerspectiveTransform(src, dst).astype(np.float64)
