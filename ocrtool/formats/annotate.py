"""A picture of the result for a person to check: boxes and recognised text drawn on the image.

Words are filled and outlined by confidence (green >= 0.8, orange >= 0.5, red below), lines
are outlined in blue, and each line's text is written on a white label just above it
(inside the box's top when there is no room above). Sizes scale with the image, so the
drawing stays legible from a 200 px crop to a 600 dpi scan.
"""

from __future__ import annotations

import io
import math
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..io_utils import write_atomic
from ..results import PageResult

_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")
# Wide-coverage sans fonts first; any other installed font is better than the bitmap default.
_PREFERRED_FONTS = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "NotoSans-Regular.ttf",
                    "FreeSans.ttf", "Hack-Regular.ttf", "Lato-Regular.ttf")

_LINE_COLOR = (30, 90, 255, 255)
_LABEL_BG = (255, 255, 255, 190)  # see-through enough to show what lies under it
_LABEL_FG = (0, 0, 0, 255)


@lru_cache(maxsize=1)
def find_font_file() -> str | None:
    """Path of a TrueType/OpenType font under /usr/share/fonts, or None if there is none."""
    candidates: list[Path] = []
    for root in _FONT_DIRS:
        if os.path.isdir(root):
            candidates += [p for p in Path(root).rglob("*") if p.suffix.lower() in (".ttf", ".otf")]
    by_name = {p.name: p for p in sorted(candidates)}
    for name in _PREFERRED_FONTS:
        if name in by_name:
            return str(by_name[name])
    return str(sorted(candidates)[0]) if candidates else None


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    path = find_font_file()
    if path is not None:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 scales its default font
    except TypeError:
        return ImageFont.load_default()


def _confidence_color(confidence: float, alpha: int) -> tuple[int, int, int, int]:
    if confidence >= 0.8:
        return (0, 170, 0, alpha)
    if confidence >= 0.5:
        return (255, 140, 0, alpha)
    return (220, 0, 0, alpha)


def _xy(points: list) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in points]


def _quad_height(points: list) -> float:
    """Mean length of the left and right sides: the text height, even when rotated."""
    p = _xy(points)
    return (math.dist(p[0], p[3]) + math.dist(p[1], p[2])) / 2


def _label_size(points: list, long_side: int) -> int:
    """Font size near the text's own height, but never unreadably small or absurdly big."""
    lo = max(10, long_side // 120)
    hi = max(lo, long_side // 20)
    return int(min(hi, max(lo, round(0.6 * _quad_height(points)))))


def _draw_label(draw: ImageDraw.ImageDraw, text: str, points: list, size: tuple[int, int],
                gap: int) -> None:
    width, height = size
    text = "".join(ch if ch.isprintable() else " " for ch in text)  # tabs would draw as boxes
    font = _font(_label_size(points, max(width, height)))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    tw, th = right - left + 2 * gap, bottom - top + 2 * gap
    xs, ys = [p[0] for p in _xy(points)], [p[1] for p in _xy(points)]
    x = min(max(0.0, min(xs)), max(0.0, width - tw))  # keep the label inside the picture
    y = min(ys) - th - gap
    if y < 0:  # no room above: put it inside the box's top (below would hit the next line)
        y = max(0.0, min(ys))
    draw.rectangle([x, y, x + tw, y + th], fill=_LABEL_BG)
    draw.text((x + gap - left, y + gap - top), text, font=font, fill=_LABEL_FG)


def draw_annotations(image_rgb: np.ndarray, page: PageResult) -> np.ndarray:
    """Return a copy of `image_rgb` (uint8 RGB, H x W x 3) with `page`'s boxes and text drawn."""
    base = Image.fromarray(np.ascontiguousarray(image_rgb, dtype=np.uint8), "RGB")
    if page.error is not None or not page.lines:
        return np.asarray(base).copy()
    width, height = base.size
    stroke = max(1, round(max(width, height) / 600))
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for line in page.lines:
        fill = None if line.words else _confidence_color(line.confidence, 60)
        draw.polygon(_xy(line.points), fill=fill, outline=_LINE_COLOR, width=stroke)
        for word in line.words:
            draw.polygon(_xy(word.points), fill=_confidence_color(word.confidence, 60),
                         outline=_confidence_color(word.confidence, 255), width=stroke)
    if page.rotation:  # labels run the way the page's text runs
        overlay = Image.alpha_composite(overlay, _turned_labels(page, base.size, stroke + 1))
    for line in page.lines if not page.rotation else []:  # labels last, over the boxes
        if line.text:
            _draw_label(draw, line.text, line.points, (width, height), gap=stroke + 1)
    out = Image.alpha_composite(base.convert("RGBA"), overlay).convert("RGB")
    return np.asarray(out).copy()


def _turned_labels(page: PageResult, size: tuple[int, int], gap: int) -> Image.Image:
    """The labels of a page read turned (`page.rotation`): drawn on the upright page, as
    for any page, then turned back onto the image, so each sits above its line as read."""
    from ..orientation import turn_image, turn_points

    width, height = size
    turn = page.rotation
    upright = (height, width) if turn % 180 else (width, height)
    layer = Image.new("RGBA", upright, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for line in page.lines:
        if line.text:
            points = turn_points(np.asarray(line.points), turn, width, height).tolist()
            _draw_label(draw, line.text, points, upright, gap)
    return Image.fromarray(turn_image(np.asarray(layer), (360 - turn) % 360), "RGBA")


def write_annotated(path: str | os.PathLike, image_rgb: np.ndarray, page: PageResult) -> None:
    """Draw `page` on the image and save it atomically; the format follows the extension."""
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower(), "PNG")
    buf = io.BytesIO()
    Image.fromarray(draw_annotations(image_rgb, page)).save(buf, format=fmt)
    write_atomic(path, buf.getvalue())


ANNOTATED_SUFFIX = ".annotated.png"  # a folder run skips these: --annotate may write inside it


def annotated_path(image: str | os.PathLike, root: str | os.PathLike,
                   out_dir: str | os.PathLike, page: int = 1, pages: int = 1) -> Path:
    """Where --annotate draws page `page` of `image`: its place under `root` mirrored in
    `out_dir`, as name.annotated.png, or name.p1.annotated.png... for a file of pages."""
    image, root = Path(image), Path(root)
    try:
        rel = image.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        rel = Path(image.name)
    marker = f".p{page}" if pages > 1 else ""
    return Path(out_dir) / rel.with_suffix(f"{marker}{ANNOTATED_SUFFIX}")
