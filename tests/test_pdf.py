"""PDF in (pypdfium2) and searchable PDF out (fpdf2): pages, resolution, page ranges, text
layers, bad files, and text that comes back out of the PDFs we write.

Every PDF is made here (fpdf2 or a few hand-written objects); none is committed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

pytest.importorskip("pypdfium2")
fpdf = pytest.importorskip("fpdf")

from pdf_samples import images_pdf  # noqa: E402

from ocrtool import Reader  # noqa: E402
from ocrtool.cli import main  # noqa: E402
from ocrtool.evaluation import cer  # noqa: E402
from ocrtool.formats.pdf import FONT_PATH, SearchablePdf, make_glyphless_font, write_pdf  # noqa: E402
from ocrtool.imageio import ImageError, iter_image_files, iter_pages, load_image  # noqa: E402
from ocrtool.pdf import (  # noqa: E402
    MAX_RENDER_PIXELS,
    PageOptions,
    parse_pages,
    select_pages,
    text_layer,
)
from ocrtool.results import Line, PageResult, Word  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
LINE = SAMPLES / "line.png"
SCREENSHOT = SAMPLES / "screenshot.png"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader(backend="onnx", threads=1)


# --- making PDFs -------------------------------------------------------------------------


def text_pdf(path: Path, pages: list[str], size=(300, 100), **encryption) -> Path:
    """Born-digital pages: each string written in Helvetica 14 at (20, 50) points."""
    doc = fpdf.FPDF(unit="pt")
    for text in pages:
        doc.add_page(format=size)
        doc.set_font("helvetica", size=14)
        doc.text(20, 50, text)
    if encryption:
        doc.set_encryption(**encryption)
    doc.output(str(path))
    return path


def zero_page_pdf(path: Path) -> Path:
    """A well-formed PDF whose page tree is empty (fpdf2 will not write one)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


def error_of(source, **kwargs) -> str:
    with pytest.raises(ImageError) as info:
        list(iter_pages(source, **kwargs))
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# --- page ranges -------------------------------------------------------------------------


def test_parse_and_select_pages() -> None:
    assert parse_pages("1-3,7") == [(1, 3), (7, 7)]
    assert parse_pages(" 5- ") == [(5, None)]
    assert parse_pages([2, 4]) == [(2, 2), (4, 4)]
    assert select_pages("1-3,7", 5) == [1, 2, 3]  # pages past the end are skipped
    assert select_pages("3,1-2,2", 9) == [1, 2, 3]  # document order, each page once
    assert select_pages("4-", 6) == [4, 5, 6]
    assert select_pages(None, 3) == [1, 2, 3]
    for bad in ("0", "3-1", "a", "1-2-3", "", "1,,2"):
        with pytest.raises(ValueError, match="page"):
            parse_pages(bad)
    with pytest.raises(ImageError, match="none of pages"):
        select_pages("7-9", 3, "doc.pdf")
    with pytest.raises(ValueError, match="dpi"):
        PageOptions(dpi=0)


# --- rendering ---------------------------------------------------------------------------


def test_pages_render_at_the_asked_resolution(tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "t.pdf", ["one", "two", "three"], size=(144, 72))
    pages = list(iter_pages(pdf, dpi=100))
    assert [(n, c) for n, c, _ in pages] == [(1, 3), (2, 3), (3, 3)]
    assert all(rgb.shape == (100, 200, 3) and rgb.dtype == np.uint8 for _, _, rgb in pages)
    assert pages[0][2].min() < 100 < pages[0][2].max()  # black text on white
    assert [n for n, _, _ in iter_pages(pdf, pages="3,1", dpi=50)] == [1, 3]
    assert load_image(pdf, page=1).shape == (300, 600, 3)  # default 300 dpi
    assert load_image(pdf.read_bytes()).shape == (300, 600, 3)  # bytes work as paths do


def test_a_scanned_pdf_reads_like_its_image(tmp_path: Path, reader: Reader) -> None:
    pdf = images_pdf(tmp_path / "scan.pdf", [LINE, SCREENSHOT])
    results = reader.read_pages(pdf)
    assert [(r.page, r.pages) for r in results] == [(1, 2), (2, 2)]
    for result, image in zip(results, (LINE, SCREENSHOT)):
        direct = reader.read(image)
        assert abs(result.width - direct.width) <= 1 and abs(result.height - direct.height) <= 1
        assert result.text.strip()
        assert cer(result.text, direct.text) < 0.01, (result.text, direct.text)


def test_reader_page_options(tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "t.pdf", ["alpha beta", "gamma", "delta"])
    reader = Reader(backend="onnx", threads=1, pages="2-", use_text_layer=True, dpi=150)
    results = reader.read_pages(pdf)
    assert [(r.page, r.pages, r.text) for r in results] == [(2, 3, "gamma"), (3, 3, "delta")]
    assert (results[0].width, results[0].height) == (625, 209)  # 300 x 100 pt at 150 dpi


def test_text_layer_words_and_boxes(tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "t.pdf", ["Hello born digital"])
    lines = text_layer(pdf, 1, dpi=72)  # 1 pixel = 1 point
    assert [ln.text for ln in lines] == ["Hello born digital"]
    words = lines[0].words
    assert [w.text for w in words] == ["Hello", "born", "digital"]
    x0, y0 = words[0].points[0]
    x1, y1 = words[0].points[2]
    assert 19 <= x0 <= 22 and 35 <= y0 < 50 <= y1 <= 54  # baseline at y=50, 14 pt font
    assert all(a.points[1][0] < b.points[0][0] for a, b in zip(words, words[1:]))
    assert text_layer(images_pdf(tmp_path / "scan.pdf", [LINE]), 1) == []  # pixels only


def test_use_text_layer_or_ocr(tmp_path: Path, reader: Reader) -> None:
    pdf = text_pdf(tmp_path / "t.pdf", ["HELLO WORLD 42"], size=(200, 80))
    embedded = Reader(backend="onnx", threads=1, use_text_layer=True).read_pages(pdf)[0]
    assert embedded.text == "HELLO WORLD 42" and embedded.lines[0].confidence == 1.0
    ocr = reader.read_pages(pdf)[0]  # without the flag the page is OCRed
    assert cer(ocr.text, "HELLO WORLD 42") < 0.2 and ocr.lines[0].confidence < 1.0


# --- bad PDFs ----------------------------------------------------------------------------


def test_bad_pdfs_give_one_line_errors(tmp_path: Path) -> None:
    good = text_pdf(tmp_path / "good.pdf", ["fine"]).read_bytes()
    enc = text_pdf(tmp_path / "enc.pdf", ["secret"], owner_password="o", user_password="u")
    assert "encrypted PDF" in error_of(enc)
    (tmp_path / "cut.pdf").write_bytes(good[: len(good) // 2])
    assert "corrupt" in error_of(tmp_path / "cut.pdf")
    assert "PDF has no pages" in error_of(zero_page_pdf(tmp_path / "zero.pdf"))
    (tmp_path / "empty.pdf").write_bytes(b"")
    assert "0 bytes" in error_of(tmp_path / "empty.pdf")
    (tmp_path / "junk.pdf").write_bytes(b"not a pdf at all")
    assert "corrupt" in error_of(tmp_path / "junk.pdf")
    assert "not found" in error_of(tmp_path / "missing.pdf")
    huge = text_pdf(tmp_path / "huge.pdf", ["big"], size=(20000, 20000))
    message = error_of(huge)
    assert "too large" in message and "20000x20000 points" in message and "--dpi" in message
    assert [rgb.shape for _, _, rgb in iter_pages(huge, dpi=20)] == [(5556, 5556, 3)]
    assert 20000 * 20000 > MAX_RENDER_PIXELS


def test_folder_run_reports_bad_pdfs_and_goes_on(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    text_pdf(root / "enc.pdf", ["secret"], owner_password="o", user_password="u")
    zero_page_pdf(root / "zero.pdf")
    (root / "cut.pdf").write_bytes(text_pdf(tmp_path / "g.pdf", ["x"]).read_bytes()[:200])
    text_pdf(root / "good.pdf", ["Good text here"])
    assert [p.name for p, _ in iter_image_files([root])] == [
        "cut.pdf", "enc.pdf", "good.pdf", "zero.pdf"]
    result = run("read", str(root), "--use-text-layer", "--threads", "1", "-q")
    assert result.exit_code == 1
    assert result.stdout.strip() == "Good text here"
    errors = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(errors) == 3 and all(ln.startswith("ocrtool: ") for ln in errors)
    assert "Traceback" not in result.stderr


def test_cli_page_options(tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "t.pdf", ["one", "two", "three", "four"])
    result = run("read", str(pdf), "--pages", "2,4", "--use-text-layer", "-f", "json",
                 "--dpi", "72", "--threads", "1")
    assert result.exit_code == 0, result.output
    import json

    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["page"], r["pages"], r["text"], r["width"]) for r in rows] == [
        (2, 4, "two", 300), (4, 4, "four", 300)]
    bad = run("read", str(pdf), "--pages", "3-1")
    assert bad.exit_code == 2 and "bad page range" in bad.output


# --- searchable PDF out ------------------------------------------------------------------


def _page_with_words(width: int, height: int, rows: list[list[tuple[str, int, int, int]]]
                     ) -> PageResult:
    """rows of (text, x0, x1, y0) words, 20 px high, one Line per row."""
    lines = []
    for k, row in enumerate(rows):
        words = [Word(t, 0.9, [[x0, y0], [x1, y0], [x1, y0 + 20], [x0, y0 + 20]])
                 for t, x0, x1, y0 in row]
        xs = [p[0] for w in words for p in w.points]
        ys = [p[1] for w in words for p in w.points]
        box = [[min(xs), min(ys)], [max(xs), min(ys)], [max(xs), max(ys)], [min(xs), max(ys)]]
        lines.append(Line(" ".join(w.text for w in words), 0.9, box, words, block=k))
    return PageResult("synthetic", width, height, lines)


def test_glyphless_font_is_what_the_builder_makes(tmp_path: Path) -> None:
    make_glyphless_font(tmp_path / "g.ttf")
    assert (tmp_path / "g.ttf").read_bytes() == FONT_PATH.read_bytes()


def test_searchable_pdf_text_comes_back_on_its_boxes(tmp_path: Path) -> None:
    page = _page_with_words(400, 200, [
        [("Total", 10, 70, 20), ("€12.50", 300, 380, 20)],
        [("“quoted”", 10, 110, 60), ("&", 120, 140, 60), ("한글", 150, 200, 60)],
    ])
    white = np.full((200, 400, 3), 255, np.uint8)
    out = tmp_path / "out.pdf"
    assert write_pdf(out, [(white, page), (white, page)], dpi=72) == 2
    back = text_layer(out, 2, dpi=72)  # read back through PDFium, at 1 pixel per point
    assert [ln.text for ln in back] == ["Total €12.50", "“quoted” & 한글"]
    for got, want in zip([w for ln in back for w in ln.words], page.words):
        assert got.text == want.text
        assert np.allclose(got.points[0], want.points[0], atol=1.5)  # top left
        assert np.allclose(got.points[2], want.points[2], atol=1.5)  # bottom right
    assert load_image(out).shape == (200, 400, 3)  # the picture is the page


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_pdftotext_reads_the_text_layer_in_reading_order(tmp_path: Path) -> None:
    page = _page_with_words(600, 120, [
        [("WHOLE", 10, 80, 10), ("MILK", 90, 140, 10), ("4.29", 520, 580, 10)],
        [("EGGS", 10, 70, 50), ("3.99", 520, 580, 50)],
    ])
    out = tmp_path / "out.pdf"
    write_pdf(out, [(np.full((120, 600, 3), 255, np.uint8), page)], dpi=150)
    raw = subprocess.run(["pdftotext", "-raw", str(out), "-"], capture_output=True,
                         text=True, check=True).stdout
    assert raw.split("\f")[0].split("\n")[:2] == ["WHOLE MILK 4.29", "EGGS 3.99"]
    words = subprocess.run(["pdftotext", "-bbox", str(out), "-"], capture_output=True,
                           text=True, check=True).stdout
    assert 'xMin="4.8' in words or 'xMin="4.7' in words  # WHOLE at x=10 px = 4.8 pt


def test_cli_writes_searchable_pdfs(tmp_path: Path, reader: Reader) -> None:
    out = tmp_path / "out.pdf"
    result = run("read", str(LINE), str(SCREENSHOT), "-f", "pdf", "-o", str(out),
                 "--threads", "1", "-q")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    back = Reader(backend="onnx", threads=1, use_text_layer=True).read_pages(out)
    assert len(back) == 2
    for got, image in zip(back, (LINE, SCREENSHOT)):
        assert (got.width, got.height) == Image.open(image).size  # same pixels per point
        assert cer(" ".join(got.text.split()), " ".join(reader.read(image).text.split())) \
            < 0.01  # the same words in the same order (blank lines between blocks aside)
    folder = tmp_path / "each"
    result = run("read", str(LINE), "-f", "pdf", "--output-dir", str(folder), "--threads",
                 "1", "-q")
    assert result.exit_code == 0 and (folder / "line.png.pdf").is_file()
    usage = run("read", str(LINE), "-f", "pdf")
    assert usage.exit_code == 2 and "-o FILE.pdf" in usage.output


def test_text_page_has_no_picture(tmp_path: Path) -> None:
    doc = SearchablePdf(dpi=72)
    doc.add_text_page(_page_with_words(100, 50, [[("word", 5, 60, 10)]]))
    doc.save(tmp_path / "t.pdf")
    rgb = load_image(tmp_path / "t.pdf", page=0)
    assert rgb.shape == (209, 417, 3) and rgb.min() == 255  # invisible text, nothing drawn
    assert [ln.text for ln in text_layer(tmp_path / "t.pdf", 1)] == ["word"]
