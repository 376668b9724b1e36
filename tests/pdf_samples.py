"""PDFs the PDF and OCRmyPDF tests build from images (nothing binary is committed)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def images_pdf(path: Path, images: list[Path], dpi: float = 300) -> Path:
    """One page per image, the image filling a page of its size at `dpi` (a scan)."""
    import fpdf

    doc = fpdf.FPDF(unit="pt")
    for image in images:
        w, h = Image.open(image).size
        doc.add_page(format=(w * 72 / dpi, h * 72 / dpi))
        doc.image(str(image), 0, 0, w * 72 / dpi, h * 72 / dpi)
    doc.output(str(path))
    return path
