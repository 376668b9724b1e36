"""OCRmyPDF plugin: `ocrmypdf --plugin ocrtool.ocrmypdf in.pdf out.pdf` reads with ocrtool.

OCRmyPDF (>= 17) keeps doing what it is good at: rasterising pages, grafting the text
layer onto the original page, PDF/A through Ghostscript, optimisation. This plugin is
only its OCR engine: it reads each page image OCRmyPDF hands over with an ocrtool Reader
and returns words, lines and blocks in pixels (`generate_ocr`, the engine API OCRmyPDF's
own fpdf2 renderer consumes). hOCR (`--pdf-renderer hocr` paths of older pipelines) and
a text-only PDF (`--pdf-renderer sandwich`) are produced from the same result with
ocrtool's own writers.

Tesseract's built-in plugin is blocked, so OCRmyPDF does not ask for a `tesseract`
binary. Options (all passed through to the Reader):
    -l/--language           eng (the default recognizer) or kor (the Korean one)
    --ocrtool-decoder       greedy | beam
    --ocrtool-beam-width    beam width (beam decoder)
    --ocrtool-lm-weight     weight of the language's shipped character LM (beam decoder)
    --ocrtool-backend       auto | torch | onnx
    --ocrtool-weights       folder with other detector/recognizer files
    --ocrtool-threads       CPU threads per OCRmyPDF worker (default 1: OCRmyPDF already
                            reads pages in parallel, --jobs)
Needs the `ocrmypdf` extra (pip install "ocrtool[ocrmypdf]") and, for PDF/A output,
Ghostscript (Debian: apt-get install ghostscript).
"""

from __future__ import annotations

import threading
from pathlib import Path

from ocrmypdf import hookimpl
from ocrmypdf.exceptions import BadArgsError
from ocrmypdf.hocrtransform import BoundingBox, OcrClass, OcrElement
from ocrmypdf.pluginspec import OcrEngine, OrientationConfidence
from PIL import Image

from . import __version__
from .languages import DEFAULT_LANG, installed_languages
from .results import Line, PageResult, Points, Word

_readers: dict[tuple, object] = {}
_lock = threading.Lock()  # OCRmyPDF may run pages on threads (--use-threads)


def _settings(options) -> dict:
    """Reader keyword arguments from OCRmyPDF's options (missing ones: ocrtool defaults)."""
    weights = getattr(options, "ocrtool_weights", None)
    return {
        "decoder": getattr(options, "ocrtool_decoder", None) or "greedy",
        "beam_width": int(getattr(options, "ocrtool_beam_width", None) or 8),
        "lm_weight": float(getattr(options, "ocrtool_lm_weight", None) or 0.0),
        "backend": getattr(options, "ocrtool_backend", None) or "auto",
        "weights": str(weights) if weights else None,
        "threads": int(getattr(options, "ocrtool_threads", None) or 1),
        "lang": _language(options, weights),
    }


def _language(options, weights) -> str:
    """The recognizer for OCRmyPDF's -l: a non-default language named there (its models
    read English too), else the default."""
    wanted = getattr(options, "languages", None) or []
    for lang in installed_languages(weights):
        if lang.code != DEFAULT_LANG and lang.tesseract in wanted:
            return lang.code
    return DEFAULT_LANG


def _reader(options):
    """One Reader per worker process and settings: models load once, not once per page."""
    from .reader import Reader

    settings = _settings(options)
    key = tuple(sorted(settings.items()))
    with _lock:
        if key not in _readers:
            _readers[key] = Reader(**settings)
        return _readers[key]


# OCRmyPDF options that change the page image before OCR: with any of them the image it
# hands over is the one to read, not the scan inside the PDF
_IMAGE_CHANGING = ("deskew", "clean", "clean_final", "rotate_pages", "remove_background",
                   "oversample", "remove_vectors")


def _read(input_file: Path, options, page_number: int | None = None
          ) -> tuple[PageResult, float]:
    """ocrtool's result for one page image, and the image's resolution (dpi).

    For a scanned page of the input PDF the scan's own pixels are read (what `ocrtool
    read` reads; OCRmyPDF's image is a resampled rendering of them, and recognition is
    sensitive to resampling) and the boxes are scaled to OCRmyPDF's image.
    """
    with Image.open(input_file) as im:
        dpi = float((im.info.get("dpi") or (300, 300))[0]) or 300.0
        size = im.size
    pixels = _scan_of_input(options, page_number)
    reader = _reader(options)
    with _lock:  # one page at a time through the shared Reader of this process
        if pixels is None:
            return reader.read(input_file, name=str(input_file)), dpi
        page = reader.read(pixels, name=str(input_file))
    return _scaled(page, size[0] / page.width, size[1] / page.height), dpi


def _scan_of_input(options, page_number: int | None):
    if page_number is None or any(getattr(options, k, None) for k in _IMAGE_CHANGING):
        return None
    source = getattr(options, "input_file", None)
    if not isinstance(source, (str, Path)):
        return None
    from .imageio import ImageError
    from .pdf import is_pdf, scan_pixels

    try:
        return scan_pixels(source, page_number + 1) if is_pdf(source) else None
    except (ImageError, OSError):
        return None


def _scaled(page: PageResult, fx: float, fy: float) -> PageResult:
    """The result in pixels of an image fx, fy times the size of the one read."""
    def pts(points: Points) -> Points:
        return [[float(x) * fx, float(y) * fy] for x, y in points]

    lines = [Line(ln.text, ln.confidence, pts(ln.points),
                  [Word(w.text, w.confidence, pts(w.points)) for w in ln.words], ln.block)
             for ln in page.lines]
    return PageResult(page.image, round(page.width * fx), round(page.height * fy), lines)


def _bbox(points: Points, width: int, height: int) -> BoundingBox:
    xs = [min(max(float(p[0]), 0.0), width) for p in points]
    ys = [min(max(float(p[1]), 0.0), height) for p in points]
    return BoundingBox(left=min(xs), top=min(ys), right=max(xs), bottom=max(ys))


def to_ocr_element(page: PageResult, dpi: float, page_number: int = 0,
                   language: str | None = None) -> OcrElement:
    """ocrtool's page as OCRmyPDF's tree: page > paragraph (block) > line > word."""
    w, h = int(page.width), int(page.height)
    root = OcrElement(ocr_class=OcrClass.PAGE, bbox=BoundingBox(left=0, top=0, right=w,
                                                                 bottom=h),
                      dpi=float(dpi), page_number=page_number)
    paragraph = None
    previous_block = None
    for line in page.lines:
        if paragraph is None or line.block != previous_block:
            paragraph = OcrElement(ocr_class=OcrClass.PARAGRAPH, bbox=_bbox(line.points, w, h),
                                   language=language, direction="ltr")
            root.children.append(paragraph)
            previous_block = line.block
        paragraph.bbox = _union(paragraph.bbox, _bbox(line.points, w, h))
        paragraph.children.append(_line_element(line, w, h))
    return root


def _union(a: BoundingBox, b: BoundingBox) -> BoundingBox:
    return BoundingBox(left=min(a.left, b.left), top=min(a.top, b.top),
                       right=max(a.right, b.right), bottom=max(a.bottom, b.bottom))


def _line_element(line: Line, w: int, h: int) -> OcrElement:
    words = [
        OcrElement(ocr_class=OcrClass.WORD, bbox=_bbox(word.points, w, h), text=word.text,
                   confidence=max(0.0, min(1.0, float(word.confidence))))
        for word in (line.words or [line]) if word.text.strip()
    ]
    return OcrElement(ocr_class=OcrClass.LINE, bbox=_bbox(line.points, w, h),
                      children=words, direction="ltr")


class OcrtoolEngine(OcrEngine):
    """ocrtool as OCRmyPDF's OCR engine."""

    @staticmethod
    def version() -> str:
        return __version__

    @staticmethod
    def creator_tag(options) -> str:
        return f"ocrtool {__version__}"

    def __str__(self) -> str:
        return f"ocrtool {__version__}"

    @staticmethod
    def languages(options) -> set[str]:
        """The installed recognizers' languages (eng, kor); other weights read what their
        user says."""
        weights = getattr(options, "ocrtool_weights", None)
        shipped = {lang.tesseract for lang in installed_languages(weights)}
        if weights:
            return set(getattr(options, "languages", None) or []) | shipped
        return shipped

    @staticmethod
    def get_orientation(input_file: Path, options) -> OrientationConfidence:
        """No opinion: ocrtool turns pages upright itself while reading (and maps its
        boxes back), so the text layer fits the page as it is."""
        return OrientationConfidence(angle=0, confidence=0.0)

    @staticmethod
    def get_deskew(input_file: Path, options) -> float:
        return 0.0

    @staticmethod
    def supports_generate_ocr() -> bool:
        return True

    @staticmethod
    def generate_ocr(input_file: Path, options, page_number: int = 0
                     ) -> tuple[OcrElement, str]:
        page, dpi = _read(Path(input_file), options, page_number)
        language = (getattr(options, "languages", None) or ["eng"])[0]
        return to_ocr_element(page, dpi, page_number, language), page.text

    @staticmethod
    def generate_hocr(input_file: Path, output_hocr: Path, output_text: Path,
                      options) -> None:
        from .formats import hocr

        page, _ = _read(Path(input_file), options)
        Path(output_hocr).write_text(hocr.render(page), encoding="utf-8")
        Path(output_text).write_text(page.text, encoding="utf-8")

    @staticmethod
    def generate_pdf(input_file: Path, output_pdf: Path, output_text: Path,
                     options) -> None:
        """A text-only PDF the size of the image (what --pdf-renderer sandwich grafts)."""
        from .formats.pdf import SearchablePdf

        page, dpi = _read(Path(input_file), options)
        doc = SearchablePdf(dpi)
        doc.add_text_page(page)
        doc.save(output_pdf)
        Path(output_text).write_text(page.text, encoding="utf-8")


@hookimpl
def initialize(plugin_manager) -> None:
    """Tesseract's plugin would insist on a tesseract binary: ocrtool replaces it."""
    plugin_manager.set_blocked("ocrmypdf.builtin_plugins.tesseract_ocr")


@hookimpl
def register_options() -> dict:
    """OCRmyPDF 17's option checks read `options.tesseract.*` whichever engine runs; with
    Tesseract's plugin blocked, its option model (defaults only) is registered here."""
    from ocrmypdf.builtin_plugins.tesseract_ocr import TesseractOptions

    return {"tesseract": TesseractOptions}


@hookimpl
def add_options(parser) -> None:
    group = parser.add_argument_group("ocrtool", "Options of the ocrtool OCR engine")
    group.add_argument("--ocrtool-decoder", choices=["greedy", "beam"], default="greedy",
                       help="CTC decoder (default greedy)")
    group.add_argument("--ocrtool-beam-width", type=int, default=8, metavar="N",
                       help="beam width of the beam decoder (default 8)")
    group.add_argument("--ocrtool-lm-weight", type=float, default=0.0, metavar="W",
                       help="weight of the language's character LM, beam decoder only")
    group.add_argument("--ocrtool-backend", choices=["auto", "torch", "onnx"],
                       default="auto", help="inference backend (default auto)")
    group.add_argument("--ocrtool-weights", metavar="DIR",
                       help="folder with other detector/recognizer model files")
    group.add_argument("--ocrtool-threads", type=int, default=1, metavar="N",
                       help="CPU threads per OCRmyPDF worker (default 1; use --jobs)")


@hookimpl
def check_options(options) -> None:
    """Refuse bad settings before any page is rasterised, with ocrtool's own message."""
    settings = _settings(options)
    if settings["lm_weight"] > 0 and settings["decoder"] != "beam":
        raise BadArgsError("--ocrtool-lm-weight needs --ocrtool-decoder beam")
    if settings["beam_width"] < 1 or settings["threads"] < 1:
        raise BadArgsError("--ocrtool-beam-width and --ocrtool-threads must be at least 1")
    if settings["weights"] and not Path(settings["weights"]).is_dir():
        raise BadArgsError(f"--ocrtool-weights: no such folder: {settings['weights']}")


@hookimpl
def get_ocr_engine(options) -> OcrEngine:
    return OcrtoolEngine()
