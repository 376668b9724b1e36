"""Output writers on a hand-made page: exact text, JSON round trip, TSV shape, valid hOCR."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocrtool import formats
from ocrtool.formats import (
    FORMATS,
    annotate,
    hocr,
    output_path,
    render,
    render_pages,
    render_stream,
    tsv,
)
from ocrtool.formats.annotate import draw_annotations, write_annotated
from ocrtool.io_utils import write_atomic
from ocrtool.results import Line, PageResult, Word

XHTML = "{http://www.w3.org/1999/xhtml}"


def _box(x: float, y: float, w: float, h: float) -> list[list[float]]:
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


def make_page(image: str = "scans/a b.png") -> PageResult:
    """Two blocks, three lines; one line has no words (line-level detail)."""
    line1 = Line("Hello world", 0.95, _box(10, 10, 180, 30), [
        Word("Hello", 0.97, _box(10, 10, 80, 30)),
        Word("world", 0.93, _box(100, 10, 90, 30)),
    ], block=0)
    line2 = Line("Total <5> & co\tx", 0.55, _box(10, 50, 200, 30), [
        Word("Total", 0.9, _box(10, 50, 70, 30)),
        Word("<5>", 0.42, _box(90, 50, 40, 30)),
        Word("&", 0.8, _box(140, 50, 10, 30)),
        Word("co\tx", 0.7, _box(160, 50, 50, 30)),
    ], block=0)
    line3 = Line("Ünïcode ok", 0.88, _box(12.25, 120, 150, 28), [], block=1)
    return PageResult(image, 240, 160, [line1, line2, line3])


def error_page() -> PageResult:
    return PageResult("bad.png", 0, 0, error="corrupt or truncated image: bad.png")


# --- text ------------------------------------------------------------------------------


def test_text_is_exact() -> None:
    assert render(make_page(), "text") == (
        "Hello world\nTotal <5> & co\tx\n\nÜnïcode ok\n")
    assert render(error_page(), "text") == ""
    assert render(PageResult("e.png", 5, 5), "text") == ""


# --- json ------------------------------------------------------------------------------


def test_json_is_one_line_and_round_trips() -> None:
    page = make_page()
    out = render(page, "json")
    assert out.endswith("\n") and out.count("\n") == 1
    assert "Ünïcode" in out  # ensure_ascii=False
    data = json.loads(out)
    assert data == page.to_dict()
    assert PageResult.from_dict(data).to_dict() == page.to_dict()
    assert data["lines"][0]["words"][1]["points"] == _box(100, 10, 90, 30)


def test_json_error_page() -> None:
    data = json.loads(render(error_page(), "json"))
    assert data == {"image": "bad.png", "error": "corrupt or truncated image: bad.png"}


# --- tsv -------------------------------------------------------------------------------


def _tsv_rows(text: str) -> list[list[str]]:
    lines = text.split("\n")
    assert lines[-1] == ""
    return [row.split("\t") for row in lines[:-1]]


def test_tsv_rows_and_columns() -> None:
    rows = _tsv_rows(render(make_page(), "tsv"))
    assert rows[0] == list(tsv.COLUMNS) and len(rows[0]) == 15 and rows[0][-1] == "page"
    body = rows[1:]
    assert len(body) == 2 + 4 + 1  # words of lines 1-2, one row for the wordless line
    assert all(len(r) == 15 for r in body)
    assert body[0] == ["scans/a b.png", "0", "0", "0.9700", "10", "10", "90", "10", "90",
                       "40", "10", "40", "Hello", "", "1"]
    assert body[5][2] == "3" and body[5][12] == "co\\tx"  # tab escaped inside a field
    assert body[6][1:3] == ["2", ""] and body[6][4] == "12.2"
    assert body[6][12] == "Ünïcode ok"


def test_tsv_error_row_and_escaping() -> None:
    rows = _tsv_rows(render(error_page(), "tsv"))
    assert len(rows) == 2 and rows[1][0] == "bad.png" and rows[1][13].startswith("corrupt")
    assert rows[1][14] == ""  # a file fails as a whole, not on a page
    assert tsv.escape("a\tb\nc\\d\r") == "a\\tb\\nc\\\\d\\r"


def test_tsv_stream_has_one_header() -> None:
    out = "".join(render_stream([make_page(), error_page(), make_page("b.png")], "tsv"))
    rows = _tsv_rows(out)
    assert sum(r[0] == "image" for r in rows) == 1
    assert len(rows) == 1 + 7 + 1 + 7


# --- hocr ------------------------------------------------------------------------------


def _classes(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if name in (e.get("class") or "").split()]


def test_hocr_is_valid_xml_with_words() -> None:
    root = ET.fromstring(render(make_page(), "hocr").encode("utf-8"))
    assert root.tag == XHTML + "html"
    (page,) = _classes(root, "ocr_page")
    assert page.get("title") == 'image "scans/a b.png"; bbox 0 0 240 160; ppageno 0'
    assert len(_classes(root, "ocr_carea")) == 2
    assert len(_classes(root, "ocr_line")) == 3
    words = _classes(root, "ocrx_word")
    assert len(words) == 6
    assert [w.text for w in words] == ["Hello", "world", "Total", "<5>", "&", "co\tx"]
    assert words[1].get("title") == "bbox 100 10 190 40; x_wconf 93"
    assert _classes(root, "ocr_line")[2].text == "Ünïcode ok"
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))


def test_hocr_stream_with_error_page() -> None:
    doc = "".join(render_stream([make_page(), error_page(), make_page("c.png")], "hocr"))
    root = ET.fromstring(doc.encode("utf-8"))
    pages = _classes(root, "ocr_page")
    assert [p.get("id") for p in pages] == ["page_1", "page_2", "page_3"]
    assert len(_classes(root, "ocrx_word")) == 12
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    assert hocr.render(error_page()).count("class=\"ocr_page\"") == 1


def test_hocr_bbox_is_clipped_to_page() -> None:
    page = PageResult("x.png", 50, 40, [Line("a", 1.0, _box(-3, -2, 60, 50), [])])
    root = ET.fromstring(render(page, "hocr").encode())
    assert _classes(root, "ocr_line")[0].get("title").startswith("bbox 0 0 50 40;")


# --- pages of a multi-page TIFF ---------------------------------------------------------


def tiff_pages() -> list[PageResult]:
    """The pages of one 3-page file: make_page's lines, an empty page, one short line."""
    three = Line("Page three", 0.9, _box(5, 5, 120, 30),
                 [Word("Page", 0.9, _box(5, 5, 50, 30)), Word("three", 0.9, _box(60, 5, 65, 30))])
    pages = [make_page("doc.tif"), PageResult("doc.tif", 100, 50),
             PageResult("doc.tif", 300, 80, [three])]
    for number, page in enumerate(pages, 1):
        page.page, page.pages = number, len(pages)
    return pages


def test_single_page_json_has_no_page_fields() -> None:
    assert set(make_page().to_dict()) == {"image", "width", "height", "text", "lines"}


def test_json_records_carry_page_and_count_and_round_trip() -> None:
    out = render_pages(tiff_pages(), "json")
    rows = [json.loads(x) for x in out.splitlines()]
    assert [(r["page"], r["pages"]) for r in rows] == [(1, 3), (2, 3), (3, 3)]
    assert [r["text"] for r in rows[1:]] == ["", "Page three"]
    back = PageResult.from_dict(rows[2])
    assert (back.page, back.pages) == (3, 3) and back.to_dict() == rows[2]


def test_text_pages_are_separated_by_form_feeds() -> None:
    out = render_pages(tiff_pages(), "text")
    assert out == "Hello world\nTotal <5> & co\tx\n\nÜnïcode ok\n\f\fPage three\n"
    assert out.split("\f") == [render(p, "text") for p in tiff_pages()]  # empty page kept
    # one page of a file alone (or an ordinary image) is written exactly as before
    assert render_pages([make_page()], "text") == render(make_page(), "text")
    assert "\f" not in "".join(render_stream([make_page(), make_page("b.png")], "text"))


def test_tsv_page_column_and_one_header() -> None:
    rows = _tsv_rows(render_pages(tiff_pages(), "tsv"))
    assert sum(r[0] == "image" for r in rows) == 1
    assert [r[14] for r in rows[1:]] == ["1"] * 7 + ["3", "3"]
    assert [r[12] for r in rows[-2:]] == ["Page", "three"]


def test_hocr_has_one_ocr_page_per_page() -> None:
    root = ET.fromstring(render_pages(tiff_pages(), "hocr").encode("utf-8"))
    pages = _classes(root, "ocr_page")
    assert [p.get("title") for p in pages] == [
        'image "doc.tif"; bbox 0 0 240 160; ppageno 0',
        'image "doc.tif"; bbox 0 0 100 50; ppageno 1',
        'image "doc.tif"; bbox 0 0 300 80; ppageno 2']
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))


# --- registry and files ------------------------------------------------------------------


def test_registry() -> None:
    assert set(FORMATS) == {"text", "json", "tsv", "hocr", "alto"}
    assert {k: f.extension for k, f in FORMATS.items()} == {
        "text": ".txt", "json": ".json", "tsv": ".tsv", "hocr": ".hocr", "alto": ".alto.xml"}
    assert FORMATS["json"].stream_extension == ".jsonl"
    with pytest.raises(ValueError, match="unknown format"):
        render(make_page(), "pdf")
    assert "".join(render_stream([make_page()] * 2, "json")).count("\n") == 2


def test_output_path_mirrors_tree(tmp_path: Path) -> None:
    root = tmp_path / "in"
    assert output_path(root / "sub" / "a.png", root, tmp_path / "out", "json") == (
        tmp_path / "out" / "sub" / "a.png.json")
    assert output_path("/elsewhere/b.jpg", root, "o", "text") == Path("o/b.jpg.txt")


def test_write_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "deep" / "dir" / "r.txt"
    write_atomic(target, "héllo\n")
    write_atomic(target, "second\n")
    assert target.read_text(encoding="utf-8") == "second\n"
    write_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert formats.write_atomic is write_atomic

    def boom(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(target, "third\n")
    assert target.read_text() == "second\n"  # old content intact, no temp file left
    assert sorted(p.name for p in target.parent.iterdir()) == ["r.txt"]


# --- annotate --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(160, 240, 3), (1600, 2400, 3)])
def test_annotate_draws_on_a_copy(shape: tuple[int, int, int]) -> None:
    image = np.full(shape, 200, np.uint8)
    scale = shape[0] / 160
    page = make_page()
    for line in page.lines:
        line.points = [[x * scale, y * scale] for x, y in line.points]
        for word in line.words:
            word.points = [[x * scale, y * scale] for x, y in word.points]
    before = image.copy()
    out = draw_annotations(image, page)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert not np.array_equal(out, image)
    assert np.array_equal(image, before)  # input untouched


def test_annotate_error_page_and_file(tmp_path: Path) -> None:
    image = np.full((160, 240, 3), 200, np.uint8)
    out = draw_annotations(image, error_page())
    assert np.array_equal(out, image) and out is not image
    write_annotated(tmp_path / "a" / "x.png", image, make_page())
    with Image.open(tmp_path / "a" / "x.png") as im:
        assert im.size == (240, 160)
    assert annotate.find_font_file() is None or Path(annotate.find_font_file()).exists()
