"""PDF pages in: render one page at a time with pypdfium2, or take a page's own text layer.

PDFs come through `imageio.iter_pages` like any multi-page image, so the Reader, the CLI
and folder runs treat a PDF as a document of pages (page/pages in the results, as for a
multi-page TIFF). pypdfium2 is the dependency because it ships wheels with PDFium inside
for every platform: no Poppler or Ghostscript to install. It is imported only when a PDF
is met, so the torch-free, PDF-free install still reads images.

Every failure (missing extra, encrypted, corrupt or empty file, a page too large to
render) is an `ImageError` with a one-line message, so a folder run reports the file and
carries on. Only one page is open and rendered at a time: a 500-page PDF needs the memory
of one page, not of the document.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np

from .pixels import ImageError, array_to_rgb
from .results import Line, Word

DEFAULT_DPI = 300
# A rendered page may have at most this many pixels (450 MB as RGB): A0 at 300 dpi is
# 139 Mpx. Tighter than image files' MAX_PIXELS because a PDF page's size is one number in
# the file (a 20000 x 20000-point page is 83333 x 83333 pixels at 300 dpi), and PDFium's
# bitmap and our RGB copy both need the memory before any check could run.
MAX_RENDER_PIXELS = 150_000_000
POINTS_PER_INCH = 72.0

PdfSource = Union[str, os.PathLike, bytes, bytearray, memoryview]
PageSpec = Union[str, Sequence[int], None]

_RANGE = re.compile(r"^\s*(\d+)\s*(?:(-)\s*(\d*)\s*)?$")


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _name(source: object) -> str:
    return str(source) if isinstance(source, (str, os.PathLike)) else f"<{type(source).__name__}>"


def is_pdf(source: object) -> bool:
    """A path ending in .pdf, or a file or bytes whose header says %PDF.

    The extension alone is enough for paths, so that a broken or empty "x.pdf" gets a PDF
    error ("corrupt PDF") rather than "not an image". PDF readers accept the header
    anywhere in the first 1024 bytes, and so do we.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return b"%PDF-" in bytes(source[:1024])
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.suffix.lower() == ".pdf":
            return True
        try:
            with open(path, "rb") as f:
                return b"%PDF-" in f.read(1024)
        except OSError:
            return False
    return False


def parse_pages(spec: PageSpec) -> list[tuple[int, int | None]]:
    """Turn "1-3,7,10-" into [(1, 3), (7, 7), (10, None)] (None: to the last page).

    A list of page numbers is taken as it is. Raises ValueError with a one-line message on
    anything else (page numbers count from 1).
    """
    if spec is None:
        return []
    if not isinstance(spec, str):
        numbers = [int(n) for n in spec]
        if any(n < 1 for n in numbers):
            raise ValueError(f"page numbers start at 1: {list(spec)}")
        return [(n, n) for n in numbers]
    ranges: list[tuple[int, int | None]] = []
    for part in spec.split(","):
        m = _RANGE.match(part)
        if not m:
            raise ValueError(f"bad page range {part.strip()!r} in {spec!r} "
                             "(use e.g. 1-3,7 or 5-)")
        first = int(m.group(1))
        last = first if not m.group(2) else (int(m.group(3)) if m.group(3) else None)
        if first < 1 or (last is not None and last < first):
            raise ValueError(f"bad page range {part.strip()!r} in {spec!r}")
        ranges.append((first, last))
    return ranges


def select_pages(spec: PageSpec, count: int, name: str = "") -> list[int]:
    """The page numbers (from 1, in document order, each once) of `spec` that exist.

    Pages past the end are skipped, so "--pages 1-3" over a folder also reads a 2-page
    file; a selection that leaves nothing raises ImageError.
    """
    ranges = parse_pages(spec)
    if not ranges:
        return list(range(1, count + 1))
    wanted = sorted({n for first, last in ranges
                     for n in range(first, min(count, last or count) + 1)})
    if not wanted:
        raise ImageError(f"none of pages {spec if isinstance(spec, str) else list(spec)} "
                         f"exist ({count} page(s)): {name}")
    return wanted


@dataclass(frozen=True)
class PageOptions:
    """Which pages of a document (PDF, multi-page TIFF) to read, and how.

    `pages`: "1-3,7" or page numbers (None: all); `dpi`: resolution PDF pages are
    rendered at; `use_text_layer`: take a PDF page's own text instead of OCRing it when
    it has any. Checked when made, so a bad value fails when the Reader is built.
    """

    pages: PageSpec = None
    dpi: float = DEFAULT_DPI
    use_text_layer: bool = False

    def __post_init__(self) -> None:
        parse_pages(self.pages)
        if isinstance(self.dpi, bool) or not isinstance(self.dpi, (int, float)) \
                or not 1 <= self.dpi <= 2400:
            raise ValueError(f"dpi must be a number from 1 to 2400, got {self.dpi!r}")


def _pdfium():
    try:
        import pypdfium2
    except ImportError:
        raise ImageError("PDF input needs pypdfium2: pip install 'ocrtool[pdf]'") from None
    return pypdfium2


def open_pdf(source: PdfSource):
    """Open a PDF with our checks and one-line messages; the caller closes it."""
    pdfium = _pdfium()
    name = _name(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"file not found: {name}" if not path.exists()
                             else f"not a regular file: {name}")
        if path.stat().st_size == 0:
            raise ImageError(f"empty file (0 bytes): {name}")
        data: object = str(path)
    else:
        data = bytes(source)
        if not data:
            raise ImageError("empty input (0 bytes)")
    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        raise ImageError(f"{_why_not(data)}: {name}") from None
    except PermissionError:
        raise ImageError(f"permission denied: {name}") from None
    if len(doc) == 0:
        doc.close()
        raise ImageError(f"PDF has no pages: {name}")
    return doc


_EMPTY_PAGE_TREE = re.compile(rb"/Count\s+0\b")


def _why_not(data: object) -> str:
    """Why PDFium could not open a document, from the file itself.

    PDFium's own error code is process-wide state that a successful load does not reset,
    so after one bad file it names the previous file's problem (and a document without
    pages sets none at all). The file is therefore looked at directly: an /Encrypt entry
    means a password is needed; a page tree counting 0 pages means an empty document.
    """
    needles = (b"/Encrypt", b"/Count")
    found_encrypt = found_empty = False
    tail = b""
    for chunk in _chunks(data):
        block = tail + chunk
        found_encrypt = found_encrypt or needles[0] in block
        found_empty = found_empty or _EMPTY_PAGE_TREE.search(block) is not None
        tail = block[-64:]
    if found_encrypt:
        return "encrypted PDF, a password is needed to open it"
    if found_empty:
        return "PDF has no pages"
    return "corrupt or unreadable PDF (PDFium cannot load it)"


def _chunks(data: object, size: int = 1 << 20) -> Iterator[bytes]:
    if isinstance(data, bytes):
        yield data
        return
    with open(str(data), "rb") as f:
        while chunk := f.read(size):
            yield chunk


def page_count(source: PdfSource) -> int:
    doc = open_pdf(source)
    try:
        return len(doc)
    finally:
        doc.close()


def render_size(width_pt: float, height_pt: float, dpi: float) -> tuple[int, int]:
    """Pixel size of a page of that many points rendered at `dpi` (what PDFium makes)."""
    scale = dpi / POINTS_PER_INCH
    return max(1, round(width_pt * scale)), max(1, round(height_pt * scale))


def iter_pdf_pages(source: PdfSource, pages: PageSpec = None,
                   dpi: float = DEFAULT_DPI) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield (page number from 1, page count, RGB uint8) for the selected pages, in order.

    A scanned page (one image covering it) gives the scan's own pixels; any other page is
    rendered at `dpi`. Each page is loaded, decoded and closed before the next, so memory
    is one page's.
    A page whose rendering would exceed `MAX_RENDER_PIXELS` is refused before anything is
    allocated, with the --dpi that would fit.
    """
    if not 1 <= dpi <= 2400:
        raise ImageError(f"dpi must be between 1 and 2400, not {dpi}")
    name = _name(source)
    doc = open_pdf(source)
    try:
        count = len(doc)
        for number in select_pages(pages, count, name):
            yield number, count, _render(doc, number, count, dpi, name)
    finally:
        doc.close()


def _render(doc, number: int, count: int, dpi: float, name: str) -> np.ndarray:
    where = f"page {number} of {count}"
    pdfium = _pdfium()
    try:
        page = doc[number - 1]
    except pdfium.PdfiumError as exc:
        raise ImageError(f"corrupt PDF, cannot load {where} ({_one_line(exc)}): {name}") from None
    try:
        scan = _scan_pixels(page)
        if scan is not None:
            return scan
        w_pt, h_pt = page.get_size()
        w, h = render_size(w_pt, h_pt, dpi)
        if w * h > MAX_RENDER_PIXELS:
            fit = int(dpi * (MAX_RENDER_PIXELS / (w * h)) ** 0.5)
            raise ImageError(f"{where} is too large: {w_pt:.0f}x{h_pt:.0f} points at {dpi:g} "
                             f"dpi would be {w}x{h} pixels, more than {MAX_RENDER_PIXELS} "
                             f"(use --dpi {max(fit, 1)} or less): {name}")
        try:
            bitmap = page.render(scale=dpi / POINTS_PER_INCH, rev_byteorder=True)
        except MemoryError:
            raise ImageError(f"{where}: out of memory rendering at {dpi:g} dpi: {name}") from None
        except pdfium.PdfiumError as exc:
            raise ImageError(f"corrupt PDF, cannot render {where} ({_one_line(exc)}): "
                             f"{name}") from None
        try:
            pixels = bitmap.to_numpy()
            rgb = np.ascontiguousarray(pixels[:, :, :3]) if pixels.ndim == 3 else \
                np.ascontiguousarray(np.repeat(pixels[:, :, None], 3, axis=2))
        finally:
            bitmap.close()
        return rgb
    finally:
        page.close()


def _scan_image(page):
    """The page's image when the page is a scan: one upright image covering the page and
    nothing else visible (an earlier OCR's invisible text is allowed). None otherwise.

    Such a page is read at the image's own pixels instead of being rendered: rendering
    resamples every pixel (PDFium's output differs from the scan even at 1:1), which costs
    recognition accuracy and time, and the scan's resolution is the right one anyway.
    """
    raw = _pdfium().raw
    if page.get_rotation() % 360:
        return None
    image = None
    for obj in page.get_objects():
        if obj.type == raw.FPDF_PAGEOBJ_IMAGE and image is None:
            image = obj
        elif not (obj.type == raw.FPDF_PAGEOBJ_TEXT and raw.FPDFTextObj_GetTextRenderMode(
                obj.raw) == raw.FPDF_TEXTRENDERMODE_INVISIBLE):
            return None
    if image is None:
        return None
    m = image.get_matrix()
    if abs(m.b) > 1e-6 or abs(m.c) > 1e-6 or m.a <= 0 or m.d <= 0:
        return None  # turned or mirrored: rendering puts it the right way round
    left, bottom, right, top = page.get_cropbox()
    x0, y0, x1, y1 = image.get_bounds()
    if max(abs(x0 - left), abs(y0 - bottom), abs(x1 - right), abs(y1 - top)) > 1.0:
        return None
    w, h = image.get_px_size()
    if w < 1 or h < 1 or w * h > MAX_RENDER_PIXELS:
        return None
    return image


def _scan_pixels(page) -> np.ndarray | None:
    """RGB of a scan page's image (see `_scan_image`), or None to render the page."""
    image = _scan_image(page)
    if image is None:
        return None

    try:
        picture = image.get_bitmap(render=False).to_pil()  # freed with its page
        return array_to_rgb(np.asarray(picture.convert("RGB")))
    except Exception:  # an image PDFium cannot hand over raw (masks, odd colour spaces)
        return None


def scan_pixels(source: PdfSource, number: int) -> np.ndarray | None:
    """RGB of page `number` (from 1) when it is a scan (one image covering it), else None.

    The OCRmyPDF plugin reads these instead of OCRmyPDF's re-rendered copy of the page, so
    both tools read the same pixels of a scanned PDF.
    """
    doc = open_pdf(source)
    try:
        if not 1 <= number <= len(doc):
            return None
        page = doc[number - 1]
        try:
            return _scan_pixels(page)
        finally:
            page.close()
    finally:
        doc.close()


def _scale(page, dpi: float) -> tuple[float, float]:
    """Pixels per point across and down, as `_render` makes the page's picture."""
    image = _scan_image(page)
    if image is None:
        return dpi / POINTS_PER_INCH, dpi / POINTS_PER_INCH
    left, bottom, right, top = page.get_cropbox()
    w, h = image.get_px_size()
    return w / (right - left), h / (top - bottom)


def page_sizes(source: PdfSource, pages: PageSpec = None) -> list[tuple[float, float]]:
    """(width, height) in points of the selected pages, in order: a searchable PDF written
    from a PDF gives each page its original size, whatever its pixels."""
    doc = open_pdf(source)
    try:
        sizes = []
        for number in select_pages(pages, len(doc), _name(source)):
            page = doc[number - 1]
            sizes.append(tuple(page.get_size()))
            page.close()
        return sizes
    finally:
        doc.close()


def text_layer(source: PdfSource, number: int, dpi: float = DEFAULT_DPI) -> list[Line]:
    """The words a PDF page already carries (born-digital text or an earlier OCR layer),
    as lines of words in pixel coordinates of the page rendered at `dpi`.

    Empty when the page has no text, so the caller OCRs it instead. A rotated page
    (/Rotate other than 0) also gives nothing, because its text boxes would need turning
    with the page: OCR is right there too. Lines follow PDFium's text order (the order of
    the content stream, which is the reading order of almost every producer); each line
    is its own block. Embedded text has no confidence: it is what the file says, 1.0.
    """
    doc = open_pdf(source)
    try:
        page = doc[number - 1]
        try:
            if page.get_rotation() % 360:
                return []
            left, _, _, top = page.get_cropbox()
            sx, sy = _scale(page, dpi)
            textpage = page.get_textpage()
            try:
                return _lines_of(textpage, sx, sy, left, top)
            finally:
                textpage.close()
        finally:
            page.close()
    finally:
        doc.close()


def _lines_of(textpage, sx: float, sy: float, left: float, top: float) -> list[Line]:
    n = textpage.count_chars()
    if n <= 0:
        return []
    text = textpage.get_text_range(0, n)
    if len(text) != n:  # characters outside the BMP: take them one by one
        text = "".join(textpage.get_text_range(i, 1)[:1] or " " for i in range(n))
    lines: list[Line] = []
    words: list[Word] = []
    chars: list[str] = []
    boxes: list[tuple[float, float, float, float]] = []

    def end_word() -> None:
        if chars:
            x0 = min(b[0] for b in boxes)
            x1 = max(b[2] for b in boxes)
            y0 = min(b[1] for b in boxes)
            y1 = max(b[3] for b in boxes)
            words.append(Word("".join(chars), 1.0, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]))
            chars.clear()
            boxes.clear()

    def end_line() -> None:
        end_word()
        if words:
            xs = [p[0] for w in words for p in w.points]
            ys = [p[1] for w in words for p in w.points]
            x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
            lines.append(Line(" ".join(w.text for w in words), 1.0,
                              [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], list(words),
                              block=len(lines)))
            words.clear()

    for i, ch in enumerate(text):
        if ch in "\r\n":
            end_line()
        elif ch.isspace() or ch == "\x00":
            end_word()
        else:
            cl, cb, cr, ct = textpage.get_charbox(i, loose=True)  # font box, not ink
            chars.append(ch)
            boxes.append(((cl - left) * sx, (top - ct) * sy, (cr - left) * sx, (top - cb) * sy))
    end_line()
    return lines
