"""Synthetic pages for detector training: document layouts and scene-like text, all boxed.

Each page is one of several layouts (paragraphs, receipt, form, table, screenshot, scene)
so the detector sees dense small print as well as big rotated, curved and perspective
text on photo-like backgrounds, plus non-text clutter (rules, logos, barcodes) it must
ignore. Every line, word and character carries its quadrilateral; the whole page can then
be skewed or photographed in perspective, with the boxes moved by the same transform.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

from . import backgrounds as bgs
from .fonts import Font
from .lines import pick_font
from .text import RECEIPT_WORDS, code, date_time, number, price, random_text, sentence
from .textline import (
    TextLine,
    clean_text,
    curve_line,
    draw_line,
    glyph_metrics,
    perspective_matrix,
    rotation_matrix,
    warp_line,
)

MIN_BOX = 0.15  # smallest character box side, as a fraction of the font size
OCC_CELL = 4  # occupancy grid cell in pixels (keeps free-space checks cheap)


def log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def text_width(font: Font, size: int, text: str) -> float:
    return sum(glyph_metrics(font.path, size, c)[0] for c in text)


def text_height(line: TextLine) -> float:
    """Median character height (along the text's own vertical) of a line."""
    q = np.concatenate(line.chars)
    return float(np.median(np.linalg.norm(q[:, 3] - q[:, 0], axis=1)))


def make_line(font: Font, size: int, text: str, **kw) -> TextLine | None:
    text = clean_text(text, font.chars)
    if not text:
        return None
    return draw_line(font.path, size, text, min_box=MIN_BOX, **kw)


class Page:
    """A page being built: the image, the lines stamped so far and an occupancy grid."""

    def __init__(self, rng: random.Random, image: np.ndarray) -> None:
        self.rng = rng
        self.image = image
        self.h, self.w = image.shape[:2]
        self.lines: list[TextLine] = []
        self.occ = np.zeros((self.h // OCC_CELL + 1, self.w // OCC_CELL + 1), np.uint8)

    def _occ_poly(self, line: TextLine, x: float, y: float, grow: float) -> np.ndarray:
        q = line.line_quad + np.array([x, y], np.float32)
        c = q.mean(axis=0)
        q = c + (q - c) * grow
        return np.round(q / OCC_CELL).astype(np.int32)

    def is_free(self, line: TextLine, x: float, y: float, grow: float = 1.15) -> bool:
        probe = np.zeros_like(self.occ)
        cv2.fillConvexPoly(probe, self._occ_poly(line, x, y, grow), 1)
        return not np.any(probe & self.occ)

    def fits(self, line: TextLine, x: float, y: float) -> bool:
        mh, mw = line.mask.shape
        return x >= 0 and y >= 0 and x + mw <= self.w and y + mh <= self.h

    def stamp(
        self,
        line: TextLine | None,
        x: float,
        y: float,
        color: bgs.Color | None = None,
        opacity: float = 1.0,
        shadow: bool = False,
    ) -> bool:
        """Blend a line's mask onto the page at (x, y) (its mask's top-left); False if off-page."""
        if line is None:
            return False
        x, y = int(round(x)), int(round(y))
        if not self.fits(line, x, y):
            return False
        mh, mw = line.mask.shape
        win = self.image[y : y + mh, x : x + mw]
        # contrast with what lies under the ink, not the whole window: a label must be
        # readable, or the detector learns to find text where there is none to see
        under = win[line.mask > 127]
        under = under if len(under) else win.reshape(-1, 3)
        if color is None or abs(bgs.luminance(color) - bgs.luminance(under.mean(axis=0))) < 60:
            color = bgs.contrasting_color(self.rng, under)
        blended = win.astype(np.float32)
        if shadow:  # a drop shadow a few percent of the text height away
            off = max(1, int(round(0.05 * text_height(line))))
            a = np.zeros((mh, mw), np.float32)
            a[off:, off:] = line.mask[: mh - off, : mw - off] / 255.0 * 0.6
            blended = blended * (1 - a[:, :, None])
        a = (line.mask.astype(np.float32) * (opacity / 255.0))[:, :, None]
        blended = blended * (1 - a) + np.asarray(color, np.float32) * a
        self.image[y : y + mh, x : x + mw] = np.clip(blended, 0, 255).astype(np.uint8)
        cv2.fillConvexPoly(self.occ, self._occ_poly(line, x, y, 1.0), 1)
        self.lines.append(line.shift(x, y))
        return True

    def place_anywhere(
        self,
        line: TextLine | None,
        tries: int = 12,
        color: bgs.Color | None = None,
        shadow: bool = False,
    ) -> bool:
        """Stamp a line at a random free spot (scene text, stamps, margin notes)."""
        if line is None:
            return False
        mh, mw = line.mask.shape
        if mw >= self.w or mh >= self.h:
            return False
        for _ in range(tries):
            x, y = self.rng.randint(0, self.w - mw), self.rng.randint(0, self.h - mh)
            if self.is_free(line, x, y):
                return self.stamp(line, x, y, color=color, shadow=shadow)
        return False


# ----------------------------------------------------------------------------- text helpers


def fill_width(
    rng: random.Random,
    font: Font,
    size: int,
    width: float,
    source: Callable[[random.Random], str] = sentence,
) -> str:
    """Words from `source` until the line would be wider than `width` (at least one word)."""
    out: list[str] = []
    used = 0.0
    space = glyph_metrics(font.path, size, " ")[0]
    while True:
        for word in clean_text(source(rng), font.chars).split():
            wlen = text_width(font, size, word)
            if out and used + space + wlen > width:
                return " ".join(out)
            if not out and wlen > width:
                return word[: max(1, int(len(word) * width / max(wlen, 1)))]
            used += (space if out else 0) + wlen
            out.append(word)


def fit_text(font: Font, size: int, text: str, width: float) -> str:
    """Drop words (then characters) from the end until the text fits in `width`."""
    text = clean_text(text, font.chars)
    while text and text_width(font, size, text) > width:
        cut = text.rsplit(" ", 1)[0] if " " in text else text[:-1]
        text = cut
    return text


def doc_ink(rng: random.Random) -> bgs.Color:
    r = rng.random()
    if r < 0.75:
        v = rng.randint(0, 70)
        return (v, v, v)
    if r < 0.88:
        return (rng.randint(0, 40), rng.randint(0, 60), rng.randint(90, 180))  # blue pen
    return (rng.randint(120, 200), rng.randint(0, 40), rng.randint(0, 40))  # red print


def doc_font(rng: random.Random, mono_bias: float = 0.15) -> Font:
    return pick_font(rng, mono_bias)


def rule(page: Page, x0: int, y: int, x1: int, color: bgs.Color, dashed: bool = False) -> None:
    th = page.rng.choice([1, 1, 2])
    if not dashed:
        cv2.line(page.image, (x0, y), (x1, y), color, th)
        return
    step = page.rng.randint(4, 10)
    for x in range(x0, x1, step * 2):
        cv2.line(page.image, (x, y), (min(x + step, x1), y), color, th)


# ----------------------------------------------------------------------------- layouts


def layout_paragraphs(page: Page) -> None:
    """Body text in one or two columns, a heading, ragged or justified lines."""
    rng = page.rng
    font = doc_font(rng)
    size = int(log_uniform(rng, 11, 36))
    lead = size * rng.uniform(1.15, 1.7)
    ink = doc_ink(rng)
    mx, my = int(page.w * rng.uniform(0.03, 0.1)), int(page.h * rng.uniform(0.03, 0.08))
    ncols = 2 if page.w > 600 and rng.random() < 0.35 else 1
    gutter = int(page.w * 0.04)
    colw = (page.w - 2 * mx - (ncols - 1) * gutter) / ncols
    justify = rng.random() < 0.4
    y0 = my
    if rng.random() < 0.6:
        hfont = doc_font(rng, 0.05)
        hsize = int(min(size * rng.uniform(1.4, 2.8), 110))
        text = fit_text(hfont, hsize, sentence(rng).title(), page.w - 2 * mx)
        line = make_line(hfont, hsize, text)
        if line is not None and page.stamp(line, mx, y0, ink):
            y0 += line.mask.shape[0] + lead * 0.5
    for col in range(ncols):
        x = mx + col * (colw + gutter)
        y = y0
        while y + lead < page.h - my:
            if rng.random() < 0.07:
                y += lead * rng.uniform(0.5, 1.5)
                continue
            last = rng.random() < 0.12
            width = colw * (rng.uniform(0.2, 0.9) if last else 1.0)
            src = sentence if rng.random() < 0.85 else random_text
            text = fill_width(rng, font, size, width, src)
            scale = 1.0
            n_gaps = text.count(" ")
            if justify and not last and n_gaps:
                slack = colw - text_width(font, size, text)
                scale = min(1 + slack / (n_gaps * glyph_metrics(font.path, size, " ")[0]), 3.0)
            line = make_line(font, size, text, space_scale=max(scale, 1.0))
            if line is not None:
                page.stamp(line, x, y, ink)
            y += lead
        if rng.random() < 0.3:
            break  # a column left short, as on the last page of a document


def layout_receipt(page: Page) -> None:
    """A narrow till receipt on a table: centred header, item/price rows, totals, rules."""
    rng = page.rng
    sw = int(min(page.w * rng.uniform(0.45, 0.8), max(260, page.w * 0.5)))
    sx = rng.randint(0, page.w - sw)
    sy0 = rng.randint(0, page.h // 10)
    sy1 = page.h - rng.randint(0, page.h // 10)
    r = rng.random()  # the table or hand the receipt lies on
    if r < 0.35:
        page.image[:] = bgs.photo(rng, page.h, page.w)
    elif r < 0.6:
        page.image[:] = bgs.texture(rng, page.h, page.w)
    elif r < 0.8:
        page.image[:] = tuple(rng.randint(20, 140) for _ in range(3))
    page.image[sy0:sy1, sx : sx + sw] = bgs.paper(rng, sy1 - sy0, sw)
    font = doc_font(rng, 0.75)
    size = int(log_uniform(rng, 11, 26))
    lead = size * rng.uniform(1.15, 1.5)
    ink = doc_ink(rng) if rng.random() < 0.3 else (rng.randint(0, 80),) * 3
    pad = int(sw * 0.06)
    x0, x1 = sx + pad, sx + sw - pad
    y = sy0 + pad

    def centred(text: str, f: Font, s: int) -> float:
        line = make_line(f, s, fit_text(f, s, text, x1 - x0))
        if line is None:
            return 0
        page.stamp(line, sx + (sw - line.mask.shape[1]) / 2, y, ink)
        return line.mask.shape[0]

    y += (
        centred(
            " ".join(rng.choice(RECEIPT_WORDS) for _ in range(2))
            if rng.random() < 0.3
            else sentence(rng).upper(),
            font,
            int(size * rng.uniform(1.0, 1.8)),
        )
        + lead * 0.3
    )
    for _ in range(rng.randint(1, 3)):
        centred(random_text(rng, 40), font, size)  # address, phone, shop number
        y += lead
    rule(page, x0, int(y + lead * 0.3), x1, ink, dashed=True)
    y += lead
    while y < sy1 - lead * 5:
        left = " ".join(rng.choice(RECEIPT_WORDS + ["ITEM"]) for _ in range(rng.randint(1, 2)))
        if rng.random() < 0.6:
            left = sentence(rng).upper()
        pr = make_line(font, size, price(rng) if rng.random() < 0.7 else number(rng))
        pw = pr.mask.shape[1] if pr is not None else 0
        lt = make_line(font, size, fit_text(font, size, left, x1 - x0 - pw - size * 2))
        page.stamp(lt, x0, y, ink)
        if pr is not None and rng.random() < 0.9:
            page.stamp(pr, x1 - pw, y, ink)
        y += lead
        if rng.random() < 0.1:
            rule(page, x0, int(y + lead * 0.2), x1, ink, dashed=rng.random() < 0.7)
            y += lead * 0.6
    for word in ("TOTAL", "CASH", "CHANGE", date_time(rng), "THANK YOU"):
        if y > sy1 - lead * 1.5:
            break
        page.stamp(make_line(font, size, word), x0, y, ink)
        if word in ("TOTAL", "CASH", "CHANGE"):
            pr = make_line(font, size, price(rng))
            if pr is not None:
                page.stamp(pr, x1 - pr.mask.shape[1], y, ink)
        y += lead
    if rng.random() < 0.4 and y < sy1 - 50:
        bgs.barcode(rng, page.image, x0, int(y), min(x1 - x0, 200), 40)


def layout_form(page: Page) -> None:
    """Label: value fields, boxed or underlined, checkboxes and a title."""
    rng = page.rng
    font = doc_font(rng)
    size = int(log_uniform(rng, 11, 28))
    ink = doc_ink(rng)
    vfont = pick_font(rng, 0.3) if rng.random() < 0.5 else font
    mx = int(page.w * rng.uniform(0.04, 0.1))
    y = int(page.h * rng.uniform(0.03, 0.08))
    title = make_line(
        doc_font(rng, 0.05),
        int(size * rng.uniform(1.5, 2.5)),
        fit_text(font, int(size * 2.5), sentence(rng).upper(), page.w - 2 * mx),
    )
    if title is not None and page.stamp(title, mx, y, ink):
        y += title.mask.shape[0] + size
    ncols = 2 if page.w > 700 and rng.random() < 0.5 else 1
    colw = (page.w - 2 * mx) / ncols
    row_h = int(size * rng.uniform(2.0, 3.0))
    box_style = rng.choice(["box", "underline", "none"])
    while y + row_h < page.h - size:
        for c in range(ncols):
            x = mx + c * colw
            if rng.random() < 0.12:  # checkbox
                s = int(size * 0.9)
                cv2.rectangle(page.image, (int(x), int(y)), (int(x) + s, int(y) + s), ink, 1)
                if rng.random() < 0.5:
                    cv2.line(
                        page.image,
                        (int(x) + 2, int(y) + s // 2),
                        (int(x) + s // 2, int(y) + s - 2),
                        ink,
                        2,
                    )
                lab = make_line(font, size, fit_text(font, size, sentence(rng), colw - s * 3))
                page.stamp(lab, x + s * 1.5, y - size * 0.15, ink)
                continue
            label = fit_text(font, size, sentence(rng).title() + ":", colw * 0.4)
            lab = make_line(font, size, label)
            lw = lab.mask.shape[1] if lab is not None else 0
            page.stamp(lab, x, y, ink)
            vx0, vx1 = int(x + lw + size * 0.5), int(x + colw - size)
            if vx1 - vx0 < size * 2:
                continue
            lh = lab.mask.shape[0] if lab is not None else size
            if box_style == "box":
                cv2.rectangle(
                    page.image, (vx0, int(y - size * 0.2)), (vx1, int(y + lh + size * 0.2)), ink, 1
                )
            elif box_style == "underline":
                rule(page, vx0, int(y + lh), vx1, ink, dashed=rng.random() < 0.3)
            if rng.random() < 0.8:
                val = make_line(
                    vfont, size, fit_text(vfont, size, random_text(rng, 40), vx1 - vx0 - size)
                )
                page.stamp(val, vx0 + size * 0.3, y, doc_ink(rng))
        y += row_h


def layout_table(page: Page) -> None:
    """A grid of cells: header row, numbers right-aligned, rules or zebra stripes."""
    rng = page.rng
    font = doc_font(rng, 0.3)
    size = int(log_uniform(rng, 10, 26))
    ink = doc_ink(rng)
    mx = int(page.w * rng.uniform(0.02, 0.08))
    y = int(page.h * rng.uniform(0.02, 0.1))
    ncols = rng.randint(2, max(2, min(7, int((page.w - 2 * mx) / (size * 5)))))
    weights = [rng.uniform(1, 3) for _ in range(ncols)]
    total = page.w - 2 * mx
    widths = [total * wt / sum(weights) for wt in weights]
    kinds = [rng.choice([sentence, number, price, date_time, code, sentence]) for _ in range(ncols)]
    row_h = int(size * rng.uniform(1.5, 2.4))
    style = rng.choice(["grid", "rows", "zebra", "none"])
    zebra = tuple(max(0, int(v) - rng.randint(10, 30)) for v in page.image[y, mx])
    nrows = int((page.h - y - size) // row_h)
    xs = [mx + sum(widths[:i]) for i in range(ncols + 1)]
    header_fill = rng.random() < 0.4
    for r in range(nrows):
        top = y + r * row_h
        if r == 0 and header_fill:
            cv2.rectangle(
                page.image, (mx, top), (mx + int(total), top + row_h), bgs.random_color(rng), -1
            )
        elif style == "zebra" and r % 2:
            cv2.rectangle(page.image, (mx, top), (mx + int(total), top + row_h), zebra, -1)
        for c in range(ncols):
            if r and rng.random() < 0.08:
                continue  # empty cell
            text = kinds[c](rng) if r else sentence(rng).title()
            cw = widths[c] - size * 0.6
            line = make_line(font, size, fit_text(font, size, text, cw))
            if line is None:
                continue
            lw, lh = line.mask.shape[1], line.mask.shape[0]
            right = kinds[c] in (number, price) and r > 0
            lx = xs[c + 1] - size * 0.3 - lw if right else xs[c] + size * 0.3
            page.stamp(line, lx, top + (row_h - lh) / 2, None if r == 0 and header_fill else ink)
        if style in ("grid", "rows"):
            rule(page, mx, top, mx + int(total), ink)
    bottom = y + nrows * row_h
    if style in ("grid", "rows"):
        rule(page, mx, bottom, mx + int(total), ink)
    if style == "grid":
        for x in xs:
            cv2.line(page.image, (int(x), y), (int(x), bottom), ink, 1)


def layout_screenshot(page: Page) -> None:
    """An app window: title bar, side menu, buttons, inputs; light or dark theme."""
    rng = page.rng
    dark = rng.random() < 0.35
    bg = (
        tuple(rng.randint(20, 50) for _ in range(3))
        if dark
        else tuple(rng.randint(235, 255) for _ in range(3))
    )
    page.image[:] = bg
    font = doc_font(rng, 0.1)
    size = int(log_uniform(rng, 11, 22))
    fg = (230, 230, 230) if dark else (30, 30, 30)
    bar_h = int(size * rng.uniform(2.2, 3.5))
    accent = bgs.random_color(rng)
    cv2.rectangle(page.image, (0, 0), (page.w, bar_h), accent, -1)
    page.stamp(
        make_line(
            font,
            int(size * 1.2),
            fit_text(font, int(size * 1.2), sentence(rng).title(), page.w * 0.6),
        ),
        size,
        bar_h * 0.2,
    )
    side = int(page.w * rng.uniform(0.18, 0.3)) if rng.random() < 0.6 else 0
    y = bar_h + size
    if side:
        panel = tuple(max(0, v - 15) if not dark else min(255, v + 15) for v in bg)
        cv2.rectangle(page.image, (0, bar_h), (side, page.h), panel, -1)
        while y < page.h - size * 2:
            page.stamp(
                make_line(font, size, fit_text(font, size, sentence(rng).title(), side - size * 2)),
                size,
                y,
                fg,
            )
            y += size * rng.uniform(1.8, 2.6)
    x0 = side + size
    y = bar_h + size
    while y < page.h - size * 3:
        r = rng.random()
        if r < 0.2:  # button
            text = fit_text(font, size, sentence(rng).title(), (page.w - x0) * 0.4)
            line = make_line(font, size, text)
            if line is None:
                break
            lh, lw = line.mask.shape
            col = bgs.random_color(rng)
            cv2.rectangle(
                page.image, (x0, int(y)), (x0 + lw + size * 2, int(y + lh + size)), col, -1
            )
            page.stamp(line, x0 + size, y + size / 2)
            y += lh + size * 2
        elif r < 0.35:  # input box with placeholder
            bw = int((page.w - x0) * rng.uniform(0.4, 0.9))
            cv2.rectangle(page.image, (x0, int(y)), (x0 + bw, int(y + size * 2)), fg, 1)
            line = make_line(font, size, fit_text(font, size, random_text(rng, 30), bw - size))
            gray = tuple(int(v * 0.5 + c * 0.5) for v, c in zip(fg, bg))
            if line is not None:
                page.stamp(line, x0 + size * 0.5, y + (size * 2 - line.mask.shape[0]) / 2, gray)
            y += size * 3
        elif r < 0.45:  # icon + heading
            bgs.logo(rng, page.image, x0, int(y), size * 2)
            hs = int(size * rng.uniform(1.2, 2.0))
            line = make_line(
                font, hs, fit_text(font, hs, sentence(rng).title(), page.w - x0 - size * 4)
            )
            page.stamp(line, x0 + size * 3, y, fg)
            y += max(size * 2, hs * 1.4) + size
        else:  # text line
            line = make_line(
                font,
                size,
                fill_width(
                    rng, font, size, page.w - x0 - size, rng.choice([sentence, random_text])
                ),
            )
            page.stamp(line, x0, y, fg)
            y += size * rng.uniform(1.4, 2.0)


def random_transform(rng: random.Random, line: TextLine, max_angle: float) -> TextLine:
    """Curve, tilt into perspective and/or rotate a line (scene text, stamps)."""
    if rng.random() < 0.2 and len(line.text) >= 4:
        h = line.mask.shape[0]
        line = curve_line(
            line,
            rng.uniform(0.15, 0.8) * h * rng.choice([-1, 1]),
            rng.uniform(0.3, 1.0),
            rng.uniform(0, 2 * math.pi),
        )
    h, w = line.mask.shape
    m = np.eye(3)
    if rng.random() < 0.25:
        m = perspective_matrix(rng, w, h, 0.4)
    r = rng.random()
    if r < 0.5:
        angle = rng.uniform(-8, 8)
    elif r < 0.85:
        angle = rng.uniform(-max_angle / 2, max_angle / 2)
    else:
        angle = rng.choice([-1, 1]) * rng.uniform(max_angle * 0.8, max_angle)
    if abs(angle) > 0.5:
        m = rotation_matrix(angle, w / 2, h / 2) @ m
    if np.allclose(m, np.eye(3)):
        return line
    return warp_line(line, m)


def layout_scene(page: Page) -> None:
    """Big, coloured, rotated, curved and tilted words on a photo or texture."""
    rng = page.rng
    page.image[:] = (
        bgs.photo(rng, page.h, page.w) if rng.random() < 0.6 else bgs.texture(rng, page.h, page.w)
    )
    for _ in range(rng.randint(3, 14)):
        scene_line(page, 14, 130)


def scene_line(page: Page, lo: float, hi: float, max_angle: float = 90.0) -> bool:
    rng = page.rng
    font = pick_font(rng, 0.1)
    size = int(log_uniform(rng, lo, min(hi, page.h * 0.25)))
    text = random_text(rng, rng.choice([8, 15, 25, 40]))
    if rng.random() < 0.3:
        text = text.upper()
    spacing = rng.uniform(-0.02, 0.3) if rng.random() < 0.15 else 0.0
    width = text_width(font, size, text)
    if width > page.w * 0.9:
        text = fit_text(font, size, text, page.w * 0.9)
    line = make_line(font, size, text, spacing=spacing)
    if line is None:
        return False
    line = random_transform(rng, line, max_angle)
    color = None if rng.random() < 0.7 else bgs.random_color(rng)
    return page.place_anywhere(line, color=color, shadow=rng.random() < 0.15)


LAYOUTS: list[tuple[Callable[[Page], None], float]] = [
    (layout_paragraphs, 0.22),
    (layout_receipt, 0.14),
    (layout_form, 0.13),
    (layout_table, 0.15),
    (layout_screenshot, 0.12),
    (layout_scene, 0.24),
]


# ----------------------------------------------------------------------------- page effects


def _transform_lines(lines: list[TextLine], m: np.ndarray) -> list[TextLine]:
    return [ln.transformed(m) for ln in lines]


def _page_transform(rng: random.Random, h: int, w: int) -> np.ndarray | None:
    """A scan skew or a photo-in-perspective homography that keeps the page in frame."""
    r = rng.random()
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    if r < 0.2:  # photographed: corners pulled inwards by different amounts
        dst = src + np.array(
            [
                [rng.uniform(0, 0.12) * w * sx, rng.uniform(0, 0.12) * h * sy]
                for sx, sy in ((1, 1), (-1, 1), (-1, -1), (1, -1))
            ],
            np.float32,
        )
        return cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    if r < 0.45:  # scanned slightly crooked, shrunk so the corners stay in frame
        a = rng.uniform(-4, 4)
        s = 1 / (
            abs(math.cos(math.radians(a))) + abs(math.sin(math.radians(a))) * max(h / w, w / h)
        )
        m = np.eye(3)
        m[:2] = cv2.getRotationMatrix2D((w / 2, h / 2), a, s)
        return m
    return None


def _apply_page_transform(
    rng: random.Random, img: np.ndarray, lines: list[TextLine]
) -> tuple[np.ndarray, list[TextLine]]:
    h, w = img.shape[:2]
    m = _page_transform(rng, h, w)
    if m is None:
        return img, lines
    out = bgs.photo(rng, h, w) if rng.random() < 0.5 else bgs.texture(rng, h, w)
    # transparent border: the page is drawn over the table/background it lies on
    cv2.warpPerspective(
        img, m, (w, h), dst=out, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT
    )
    return out, _transform_lines(lines, m)


def _degrade(rng: random.Random, img: np.ndarray) -> np.ndarray:
    """Lighting, blur, noise, low resolution and JPEG, each with some probability."""
    h, w = img.shape[:2]
    if rng.random() < 0.3:  # uneven lighting / shadow
        shade = 1 + bgs.smooth_noise(rng, h, w, rng.randint(1, 3)) * rng.uniform(0.1, 0.35)
        img = np.clip(img * shade, 0, 255).astype(np.uint8)
    if rng.random() < 0.15:
        f = rng.uniform(0.5, 0.8)
        small = cv2.resize(
            img, (max(int(w * f), 1), max(int(h * f), 1)), interpolation=cv2.INTER_AREA
        )
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.25:
        img = cv2.GaussianBlur(img, (3, 3), rng.uniform(0.4, 1.0))
    if rng.random() < 0.3:
        noise = bgs.np_rng(rng).standard_normal((h, w, 1), dtype=np.float32) * rng.uniform(2, 10)
        img = np.clip(img + noise, 0, 255).astype(np.uint8)
    if rng.random() < 0.15:
        gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        img = cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
    if rng.random() < 0.3:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=rng.randint(30, 90))
        img = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")).copy()
    return img


def _page_background(rng: random.Random, h: int, w: int) -> np.ndarray:
    r = rng.random()
    if r < 0.75:
        return bgs.paper(rng, h, w)
    if r < 0.9:
        return bgs.flat(rng, h, w, tuple(rng.randint(170, 255) for _ in range(3)))
    return bgs.texture(rng, h, w) if rng.random() < 0.3 else bgs.paper(rng, h, w)


def _clutter(page: Page) -> None:
    """Logos, barcodes and stray marks that are not text."""
    rng = page.rng
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        s = rng.randint(16, max(17, min(page.h, page.w) // 6))
        x, y = rng.randint(0, page.w - s - 1), rng.randint(0, page.h - s - 1)
        if rng.random() < 0.5:
            bgs.logo(rng, page.image, x, y, s)
        elif rng.random() < 0.5:
            bgs.barcode(rng, page.image, x, y, s * 2, s // 2)
        else:
            bgs.shapes(rng, page.image, 1)


def random_size(rng: random.Random) -> tuple[int, int]:
    """A page size between ~480 and ~1280 px a side, portrait more often than landscape."""
    long_side = rng.randint(640, 1280)
    short_side = int(long_side * rng.uniform(0.55, 1.0))
    return (long_side, short_side) if rng.random() < 0.65 else (short_side, long_side)


def build_page(
    rng: random.Random, size: tuple[int, int] | None = None
) -> tuple[np.ndarray, list[TextLine]]:
    """The page image (RGB uint8) and its lines with quads in image pixels."""
    h, w = size or random_size(rng)
    page = Page(rng, _page_background(rng, h, w))
    layouts, weights = zip(*LAYOUTS)
    layout = rng.choices(layouts, weights=weights)[0]
    if layout is not layout_scene:
        _clutter(page)
    layout(page)
    if layout is not layout_scene:
        for _ in range(rng.choice([0, 0, 0, 1, 2])):  # stamps, margin notes, rotated labels
            scene_line(page, 12, 60)
    img, lines = _apply_page_transform(rng, page.image, page.lines)
    return _degrade(rng, img), lines


def _pts(q: np.ndarray) -> list:
    """Points as nested lists rounded to 0.1 px (short JSON, same numbers every run)."""
    return np.round(np.asarray(q, np.float64), 1).tolist()


def line_regions(lines: list[TextLine], size: tuple[int, int] | None = None) -> list[dict]:
    """Lines in the shared JSON format, with words and character quads attached; with the
    page's (height, width), every point is kept on the page (a big headline's padded box
    can start a few pixels left of it)."""
    regions = []
    for ln in lines:
        # round everything of a line at once: one numpy call instead of one per quad
        n = len(ln.words)
        quads = np.concatenate([ln.line_quad[None], np.stack(ln.word_quads), *ln.chars])
        if size is not None:
            quads = np.clip(quads, 0, [size[1], size[0]])
        flat = _pts(quads)
        words, k = [], 1 + n
        for i, (t, cs) in enumerate(zip(ln.words, ln.chars)):
            words.append({"points": flat[1 + i], "text": t, "chars": flat[k : k + len(cs)]})
            k += len(cs)
        region = {"points": flat[0], "text": ln.text, "words": words}
        if ln.curved:  # the quad only bounds the text: trust words and chars instead
            region["curved"] = True
        regions.append(region)
    return regions


def render_page(
    rng: random.Random, size: tuple[int, int] | None = None
) -> tuple[np.ndarray, list[dict]]:
    """One synthetic page: RGB uint8 image and its regions (lines with words and chars)."""
    img, lines = build_page(rng, size)
    return img, line_regions(lines, img.shape[:2])


def word_char_quads(regions: list[dict]) -> list[np.ndarray]:
    """Per-word (n_chars, 4, 2) arrays from page regions: the input of
    `detection.targets.region_and_affinity_maps`, for training on the fly."""
    return [
        np.asarray(w["chars"], np.float32).reshape(-1, 4, 2)
        for r in regions
        if not r.get("ignore")
        for w in r.get("words", [])
        if w.get("chars")
    ]
