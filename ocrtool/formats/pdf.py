"""Searchable PDF: each page image with an invisible text layer, one word on each box.

Written with fpdf2 (see `bench/pdf_check.py` for the measurement behind the choice:
fpdf2 and reportlab both put the text where pdftotext finds it; fpdf2 is pure Python,
is what OCRmyPDF 17 itself renders text layers with, so the `pdf` extra pulls one PDF
writer, not two; pikepdf would mean hand-writing fonts and content streams).

The text layer uses a tiny TrueType font shipped in `ocrtool/data/glyphless.ttf`
(`make_glyphless_font` below builds it with fontTools, a dependency of fpdf2): every
character of the Basic Multilingual Plane maps to one box-shaped glyph, so any script the
recognizer outputs becomes searchable text (the PDF's ToUnicode map gives the characters
back; characters beyond the BMP, such as emoji, are left out with a warning: mapping them
too makes fpdf2 take ten seconds to load the font, for every file). The text is
written in render mode 3 (invisible), so nothing is ever drawn over the image. The words
of a line share its height and baseline, each word is stretched to its box's width, and
words are written in reading order, so selection highlights the right pixels and
`pdftotext -raw` gives the text line by line.

The page size is the image's size at `dpi` (a PDF page rendered at 300 dpi comes back at
its own size in points). Unlike the other formats this one is binary and needs the page
pictures as well as the results, so the CLI calls `SearchablePdf` directly.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..io_utils import write_atomic
from ..results import Line, PageResult, Points

EXTENSION = ".pdf"
FONT_PATH = Path(__file__).resolve().parent.parent / "data" / "glyphless.ttf"
_FONT = "glyphless"
_ASCENT, _DESCENT, _ADVANCE = 0.8, 0.2, 0.5  # of the em: the font's metrics below
JPEG_QUALITY = 90
# the least gap between two words of a line, in font sizes (the line's height): poppler
# breaks words at about 0.2, PDFium at 0.25 (measured with this module's font)
WORD_GAP = 0.3
_FONT_DATE = 3786825600  # 2024-01-01 in the font's clock (seconds since 1904): fixed bytes


def _fpdf():
    try:
        import fpdf
    except ImportError:
        raise RuntimeError("searchable PDF output needs fpdf2: pip install 'ocrtool[pdf]'") \
            from None
    return fpdf


def _box(points: Points) -> tuple[float, float, float, float]:
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return min(xs), min(ys), max(xs), max(ys)


class SearchablePdf:
    """Collect pages (image + result), then `save` one PDF. Pages keep their order.

    Images are stored compressed as they are added (JPEG for photos and rendered PDF
    pages, lossless Flate for the rest), so memory grows by one compressed page per page.
    """

    def __init__(self, dpi: float = 300, title: str = "") -> None:
        fpdf = _fpdf()
        self.dpi = float(dpi)
        self.pdf = fpdf.FPDF(unit="pt")
        self.pdf.set_auto_page_break(False)
        self.pdf.set_margins(0, 0, 0)
        self.pdf.add_font(_FONT, fname=str(FONT_PATH))
        self.pdf.set_creator("ocrtool")
        if title:
            self.pdf.set_title(title)
        self.pages = 0

    def add_page(self, rgb: np.ndarray, page: PageResult, jpeg: bool = False,
                 size: tuple[float, float] | None = None) -> None:
        """One page: `rgb` (H, W, 3) uint8 is the picture `page` was read from.

        `jpeg` stores the picture as JPEG (photos, scans); otherwise it is lossless.
        `size` (points) keeps a PDF page's own size; by default it is the picture at dpi.
        """
        from PIL import Image

        h, w = rgb.shape[:2]
        pw, ph = size or (w * 72.0 / self.dpi, h * 72.0 / self.dpi)
        self.pdf.add_page(format=(pw, ph))
        picture = Image.fromarray(np.ascontiguousarray(rgb[:, :, :3]), "RGB")
        if jpeg:
            buf = io.BytesIO()
            picture.save(buf, "JPEG", quality=JPEG_QUALITY)
            buf.seek(0)
            picture = buf
        self.pdf.image(picture, x=0, y=0, w=pw, h=ph)
        self._text_layer(page, pw / w, ph / h)

    def add_text_page(self, page: PageResult) -> None:
        """A page with the invisible text only, the size of the page's image (what
        OCRmyPDF's sandwich renderer grafts onto the original page)."""
        pt = 72.0 / self.dpi
        self.pdf.add_page(format=(max(page.width, 1) * pt, max(page.height, 1) * pt))
        self._text_layer(page, pt, pt)

    def _text_layer(self, page: PageResult, sx: float, sy: float) -> None:
        """Invisible words; sx, sy: points per pixel across and down."""
        from fpdf.enums import TextMode

        with self.pdf.local_context(text_mode=TextMode.INVISIBLE):
            for line in page.lines:
                self._line(line, sx, sy)
        self.pages += 1

    def _line(self, line: Line, sx: float, sy: float) -> None:
        """The words of a line share one font size and baseline (the line's box), so that
        text extraction sees one line; each word is stretched over its own box, so that
        selection covers its pixels and the gaps between boxes read as spaces."""
        _, top, _, bottom = _box(line.points)
        size = max((bottom - top) * sy, 1.0)
        baseline = bottom * sy - _DESCENT * size  # fpdf2's y grows downwards
        self.pdf.set_font(_FONT, size=size)
        words = [w for w in (line.words or [line]) if w.text.strip()]
        boxes = [_box(w.points) for w in words]
        for k, (word, (x0, _, x1, _)) in enumerate(zip(words, boxes)):
            left, right = x0 * sx, x1 * sx
            if k + 1 < len(words):
                # Extractors find word breaks by distance alone (a space character changes
                # nothing for poppler or PDFium): PDFium wants a gap of a quarter of the
                # font size. Words set tighter than WORD_GAP keep a gap that wide by ending
                # a little early (never losing more than half their width).
                right = min(right, max(boxes[k + 1][0] * sx - WORD_GAP * size,
                                       left + (right - left) / 2))
            self._run(" ".join(word.text.split()), left, baseline, max(right - left, 0.5),
                      size)

    def _run(self, text: str, x: float, baseline: float, width: float, size: float) -> None:
        """`text` stretched horizontally to exactly `width` points, starting at x."""
        self.pdf.set_stretching(100.0 * width / (_ADVANCE * size * len(text)))
        self.pdf.text(x, baseline, text)

    def to_bytes(self) -> bytes:
        if not self.pages:
            raise ValueError("no pages to write")
        return bytes(self.pdf.output())

    def save(self, path: str | os.PathLike) -> None:
        """Write the PDF atomically (a killed run never leaves half a file)."""
        write_atomic(Path(path), self.to_bytes())


def write_pdf(path: str | os.PathLike, pages: Iterable[tuple[np.ndarray, PageResult]],
              dpi: float = 300, jpeg: bool = False) -> int:
    """Write (picture, result) pairs as one searchable PDF; returns the page count."""
    doc = SearchablePdf(dpi, title=Path(path).stem)
    for rgb, page in pages:
        doc.add_page(rgb, page, jpeg=jpeg)
    doc.save(path)
    return doc.pages


JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")


def add_source_pages(doc: SearchablePdf, source: str | os.PathLike | bytes,
                     results: list[PageResult], pages: str | None = None,
                     dpi: float = 300) -> None:
    """Add a file's pages to `doc`, each picture decoded again (one at a time, at the pages
    and resolution they were read at) under its result's text layer.

    Pages of a PDF keep their size in points; JPEG sources and PDF pages are stored as
    JPEG, everything else losslessly. The CLI (-o / --output-dir) and the server share it.
    """
    from ..imageio import iter_pages
    from ..pdf import is_pdf, page_sizes

    from_pdf = is_pdf(source)
    jpeg = from_pdf or (isinstance(source, (str, os.PathLike))
                        and Path(source).suffix.lower() in JPEG_SUFFIXES)
    sizes = page_sizes(source, pages) if from_pdf else [None] * len(results)
    pictures = iter_pages(source, pages, dpi)
    for result, (_, _, rgb), size in zip(results, pictures, sizes):
        doc.add_page(rgb, result, jpeg=jpeg, size=size)


def make_glyphless_font(path: str | os.PathLike) -> None:
    """Build the text layer's font: one glyph (a box, never drawn) for every character.

    A cmap format 13 subtable maps every code point of the BMP to one glyph (formats 4
    and 12 would need a range per character). The em is 1000 units: ascent
    800, descent 200, advance 500 (the `_ASCENT`, `_DESCENT`, `_ADVANCE` above). Fixed
    dates make the file the same bytes on every run.
    """
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib.tables._c_m_a_p import CmapSubtable

    order = [".notdef", "space", "blank"]
    advance0, ascent0, descent0 = (round(v * 1000) for v in (_ADVANCE, _ASCENT, _DESCENT))
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap({0x20: "space", 0x41: "blank"})  # a small format 4 for old readers
    many = CmapSubtable.newSubtable(13)
    many.platformID, many.platEncID, many.language = 3, 10, 0
    many.cmap = {c: "blank" for c in range(0x21, 0x10000) if not 0xD800 <= c <= 0xDFFF}
    many.cmap[0x20] = "space"
    fb.font["cmap"].tables.append(many)
    empty = TTGlyphPen(None).glyph()
    pen = TTGlyphPen(None)  # an outline filling the cell: never drawn (text render mode 3),
    pen.moveTo((0, -descent0))  # but PDFium's text extraction drops one-character words
    pen.lineTo((0, ascent0))  # whose glyph has no outline at all
    pen.lineTo((advance0, ascent0))
    pen.lineTo((advance0, -descent0))
    pen.closePath()
    fb.setupGlyf({".notdef": empty, "space": empty, "blank": pen.glyph()})
    advance = round(_ADVANCE * 1000)
    fb.setupHorizontalMetrics({g: (advance, 0) for g in order})
    ascent, descent = round(_ASCENT * 1000), round(_DESCENT * 1000)
    fb.setupHorizontalHeader(ascent=ascent, descent=-descent)
    fb.setupNameTable({"familyName": "OcrtoolGlyphless", "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=ascent, sTypoDescender=-descent, usWinAscent=ascent,
                usWinDescent=descent)
    fb.setupPost()
    fb.font["head"].created = fb.font["head"].modified = _FONT_DATE
    fb.save(str(path))
