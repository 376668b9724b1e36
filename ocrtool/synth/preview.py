"""Contact sheets of synthetic samples with their labels and boxes drawn, for human review.

Synthetic data goes wrong silently (a box off by a line, tofu glyphs, unreadable ink); a
sheet a person looks at catches what no test thinks to check.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

LABEL_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def _label_font(size: int = 14) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype(LABEL_FONT, size)
    except OSError:
        return ImageFont.load_default()


def _to_rgb(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB) if img.ndim == 2 else img


def lines_sheet(
    samples: list[tuple[np.ndarray, str]], width: int = 1200, height: int = 40
) -> np.ndarray:
    """Line crops scaled to one height, each above its label, in a single column per row."""
    font = _label_font(14)
    col_w = width // 2
    rows = []
    for img, text in samples:
        rgb = _to_rgb(img)
        h, w = rgb.shape[:2]
        nw = max(1, min(int(w * height / h), col_w - 10))
        crop = cv2.resize(rgb, (nw, height), interpolation=cv2.INTER_AREA)
        tile = Image.new("RGB", (col_w, height + 22), (255, 255, 255))
        tile.paste(Image.fromarray(crop), (5, 2))
        ImageDraw.Draw(tile).text(
            (5, height + 4), repr(text)[1:-1][:80], fill=(200, 0, 0), font=font
        )
        rows.append(np.asarray(tile))
    if len(rows) % 2:
        rows.append(np.full_like(rows[0], 255))
    left, right = rows[0::2], rows[1::2]
    return np.concatenate([np.concatenate([a, b], axis=1) for a, b in zip(left, right)], axis=0)


def draw_regions(img: np.ndarray, regions: list[dict], chars: bool = True) -> np.ndarray:
    """Lines in green, words in blue, characters in thin red; first corner marked."""
    out = _to_rgb(img).copy()
    for r in regions:
        for w in r.get("words", []):
            if chars:
                for c in w.get("chars", []):
                    cv2.polylines(
                        out, [np.round(np.array(c)).astype(np.int32)], True, (255, 0, 0), 1
                    )
            cv2.polylines(
                out, [np.round(np.array(w["points"])).astype(np.int32)], True, (0, 0, 255), 1
            )
        pts = np.round(np.array(r["points"])).astype(np.int32)
        cv2.polylines(out, [pts], True, (0, 200, 0), 2)
        cv2.circle(out, tuple(int(v) for v in pts[0]), 4, (255, 0, 255), -1)
    return out


def pages_sheet(
    samples: list[tuple[np.ndarray, list[dict]]], cols: int = 3, tile: int = 600
) -> np.ndarray:
    """Pages with boxes drawn, each shrunk into a tile x tile cell, `cols` per row."""
    font = _label_font(13)
    cells = []
    for img, regions in samples:
        drawn = draw_regions(img, regions)
        h, w = drawn.shape[:2]
        s = tile / max(h, w)
        small = cv2.resize(drawn, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
        cell = Image.new("RGB", (tile, tile + 20), (90, 90, 90))
        cell.paste(Image.fromarray(small), (0, 0))
        first = regions[0]["text"][:60] if regions else "(no text)"
        ImageDraw.Draw(cell).text(
            (3, tile + 2), f"{len(regions)} lines: {first}", fill=(255, 255, 0), font=font
        )
        cells.append(np.asarray(cell))
    while len(cells) % cols:
        cells.append(np.full_like(cells[0], 90))
    rows = [np.concatenate(cells[i : i + cols], axis=1) for i in range(0, len(cells), cols)]
    return np.concatenate(rows, axis=0)


def save_sheet(sheet: np.ndarray, path: str, colors: int | None = None) -> None:
    """PNG; `colors` quantizes to a palette (photo-like pages otherwise weigh megabytes)."""
    img = Image.fromarray(sheet)
    if colors:
        img = img.quantize(colors, method=Image.Quantize.MEDIANCUT)
    img.save(path, optimize=True)
