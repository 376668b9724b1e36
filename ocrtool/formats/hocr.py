"""hOCR 1.2: XHTML that hocr-tools, OCRmyPDF-style PDF makers and viewers understand.

Structure: ocr_page > ocr_carea (one per block) > ocr_par > ocr_line > ocrx_word, each with
an axis-aligned `bbox` (hOCR has no polygons) and words with `x_wconf` (0-100).
Each page of a multi-page TIFF is an ocr_page of its own with the file as `image`; as in
Tesseract's hOCR, `ppageno` counts the pages of the document from 0 (in one file's own
document, the page of the TIFF less one).
"""

from __future__ import annotations

from html import escape

from .. import __version__
from ..geometry import pixel_box
from ..results import Line, PageResult, line_blocks

EXTENSION = ".hocr"

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
 <head>
  <title>{title}</title>
  <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
  <meta name="ocr-system" content="ocrtool {version}" />
  <meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word \
ocrp_wconf" />
 </head>
 <body>
"""
_FOOT = " </body>\n</html>\n"


def header(title: str = "") -> str:
    """Document start; a multi-image stream writes it once, then pages, then footer()."""
    return _HEAD.format(title=escape(title), version=__version__)


def footer() -> str:
    return _FOOT


def _bbox(points: list, width: int, height: int) -> str:
    """Integer box that encloses the polygon, clipped to the page when its size is known."""
    return "bbox {} {} {} {}".format(*pixel_box(points, width, height))


def _union(lines: list[Line]) -> list:
    return [p for line in lines for p in line.points]


def _wconf(confidence: float) -> int:
    return max(0, min(100, round(float(confidence) * 100)))


def _quote(value: str) -> str:
    """A string value inside a title attribute: hOCR quotes it with double quotes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _line_xml(line: Line, ids: str, w: int, h: int) -> str:
    title = f"{_bbox(line.points, w, h)}; x_wconf {_wconf(line.confidence)}"
    if not line.words:  # line-level detail: the text sits in the line itself
        return (f'     <span class="ocr_line" id="line_{ids}" title="{title}">'
                f"{escape(line.text)}</span>\n")
    words = []
    for k, word in enumerate(line.words, 1):
        wtitle = f"{_bbox(word.points, w, h)}; x_wconf {_wconf(word.confidence)}"
        words.append(f'      <span class="ocrx_word" id="word_{ids}_{k}" title="{wtitle}">'
                     f"{escape(word.text)}</span>\n")
    return (f'     <span class="ocr_line" id="line_{ids}" title="{title}">\n'
            + "".join(words) + "     </span>\n")


def page_xml(page: PageResult, index: int = 0) -> str:
    """One ocr_page div; `index` (0-based) keeps ids unique across a multi-image document."""
    n = index + 1
    w, h = int(page.width), int(page.height)
    title = f"image {_quote(page.image)}; bbox 0 0 {w} {h}; ppageno {index}"
    if page.error is not None:
        message = " ".join(page.error.split()).replace("--", "- -")
        return (f'  <div class="ocr_page" id="page_{n}" title="{escape(title)}">\n'
                f"   <!-- error: {escape(message)} -->\n  </div>\n")
    parts = [f'  <div class="ocr_page" id="page_{n}" title="{escape(title)}">\n']
    line_no = 0
    for b, lines in enumerate(line_blocks(page), 1):
        bbox = _bbox(_union(lines), w, h)
        parts.append(f'   <div class="ocr_carea" id="block_{n}_{b}" title="{bbox}">\n'
                     f'    <p class="ocr_par" id="par_{n}_{b}" title="{bbox}">\n')
        for line in lines:
            line_no += 1
            parts.append(_line_xml(line, f"{n}_{line_no}", w, h))
        parts.append("    </p>\n   </div>\n")
    parts.append("  </div>\n")
    return "".join(parts)


def render(page: PageResult) -> str:
    """A complete hOCR document for one page."""
    return header(page.image) + page_xml(page, 0) + footer()
