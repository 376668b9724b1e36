"""ALTO 4 output: documents validate against the official schema shipped in ocrtool/data,
and carry the words, boxes and confidences of the result."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

etree = pytest.importorskip("lxml.etree")

from ocrtool.cli import main  # noqa: E402
from ocrtool.formats import FORMATS, output_path, render, render_pages, render_stream  # noqa: E402
from ocrtool.formats.alto import NAMESPACE, SCHEMA_PATH, validate  # noqa: E402
from ocrtool.results import Line, PageResult, Word  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
NS = {"a": NAMESPACE}


def page(image: str = "scan.png", page_no: int = 1, pages: int = 1) -> PageResult:
    def word(text, x0, x1, y0, conf):
        return Word(text, conf, [[x0, y0], [x1, y0], [x1, y0 + 20], [x0, y0 + 20]])

    first = [word("Tom & Jerry's", 10, 120, 10, 0.97), word('"café"', 130, 190, 10, 1.2)]
    second = [word("TOTAL", 10.4, 70.6, 50.2, 0.5), word("€9.00", 300, 380, 50, -0.1)]
    lines = [Line("Tom & Jerry's \"café\"", 0.9, [[10, 10], [190, 10], [190, 30], [10, 30]],
                  first, block=0),
             Line("TOTAL €9.00", 0.6, [[10, 50], [380, 50], [380, 70], [10, 70]], second,
                  block=1),
             Line("no words", 0.8, [[5, 90], [90, 90], [95, 115], [5, 110]], [], block=1)]
    return PageResult(image, 400, 120, lines, page=page_no, pages=pages)


def parse(xml: str):
    return etree.fromstring(xml.encode("utf-8"))


def test_schema_is_shipped_and_really_checks() -> None:
    assert SCHEMA_PATH.is_file() and (SCHEMA_PATH.parent / "xlink.xsd").is_file()
    assert "alto" in FORMATS and FORMATS["alto"].extension == ".alto.xml"
    good = render(page(), "alto")
    assert validate(good) == []
    broken = good.replace('PHYSICAL_IMG_NR="1"', "")  # a required attribute
    assert any("PHYSICAL_IMG_NR" in e for e in validate(broken))
    assert validate(good.replace("<MeasurementUnit>pixel", "<MeasurementUnit>px")) != []


def test_words_boxes_and_confidences() -> None:
    root = parse(render(page(), "alto"))
    assert root.findtext("a:Description/a:MeasurementUnit", namespaces=NS) == "pixel"
    assert root.findtext(".//a:fileName", namespaces=NS) == "scan.png"
    pg = root.find(".//a:Page", NS)
    assert (pg.get("WIDTH"), pg.get("HEIGHT"), pg.get("PHYSICAL_IMG_NR")) == ("400", "120", "1")
    blocks = root.findall(".//a:TextBlock", NS)
    assert [len(b.findall("a:TextLine", NS)) for b in blocks] == [1, 2]  # lines by block
    strings = root.findall(".//a:String", NS)
    assert [s.get("CONTENT") for s in strings] == [
        "Tom & Jerry's", '"café"', "TOTAL", "€9.00", "no words"]
    total = strings[2]
    assert [total.get(k) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT", "WC")] == [
        "10", "50", "61", "21", "0.5000"]
    assert [s.get("WC") for s in strings[:4]] == ["0.9700", "1.0000", "0.5000", "0.0000"]
    sp = root.find(".//a:SP", NS)  # the gap between the first two words
    assert (sp.get("HPOS"), sp.get("WIDTH")) == ("120", "10")
    ids = [e.get("ID") for e in root.iter() if e.get("ID")]
    assert len(ids) == len(set(ids))


def test_streams_multi_page_files_and_errors() -> None:
    failed = PageResult("bad.png", 0, 0, error="corrupt image -- cut <short>")
    doc = "".join(render_stream([page("a.png"), failed, page("b.png")], "alto"))
    assert validate(doc) == []
    root = parse(doc)
    pages = root.findall(".//a:Page", NS)
    assert len(pages) == 3 and pages[1].get("QUALITY") == "Missing"
    assert "corrupt image" in pages[1].get("QUALITY_DETAIL")
    ids = [e.get("ID") for e in root.iter() if e.get("ID")]
    assert len(ids) == len(set(ids))  # page ids stay unique across the stream
    tiff = render_pages([page("t.tif", 1, 2), page("t.tif", 2, 2)], "alto")
    assert validate(tiff) == []
    assert [p.get("PHYSICAL_IMG_NR") for p in parse(tiff).findall(".//a:Page", NS)] == [
        "1", "2"]
    empty = PageResult("blank.png", 10, 10, [])
    assert validate(render(empty, "alto")) == []


def test_cli_writes_valid_alto(tmp_path: Path) -> None:
    out = tmp_path / "out.alto.xml"
    result = CliRunner().invoke(main, ["read", str(SAMPLES / "line.png"), "-f", "alto",
                                       "-o", str(out), "--threads", "1", "-q"])
    assert result.exit_code == 0, result.output
    xml = out.read_text(encoding="utf-8")
    assert validate(xml) == []
    strings = parse(xml).findall(".//a:String", NS)
    expected = (SAMPLES / "line.txt").read_text(encoding="utf-8").split()
    assert len(strings) == len(expected)
    assert sum(s.get("CONTENT") == e for s, e in zip(strings, expected)) >= len(expected) - 2
    assert output_path(SAMPLES / "line.png", SAMPLES, tmp_path, "alto").name == \
        "line.png.alto.xml"
