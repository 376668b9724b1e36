"""The OCRmyPDF plugin: `ocrmypdf --plugin ocrtool.ocrmypdf in.pdf out.pdf` makes a PDF/A
whose text layer is ocrtool's text; options reach the Reader; bad options are refused."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ocrmypdf")
fpdf = pytest.importorskip("fpdf")

from ocrmypdf.exceptions import BadArgsError  # noqa: E402
from ocrmypdf.hocrtransform import OcrClass  # noqa: E402
from pdf_samples import images_pdf  # noqa: E402

from ocrtool import Reader  # noqa: E402
from ocrtool.evaluation.metrics import cer  # noqa: E402
from ocrtool.ocrmypdf import OcrtoolEngine, _settings, check_options, to_ocr_element  # noqa: E402
from ocrtool.pdf import text_layer  # noqa: E402
from ocrtool.results import Line, PageResult, Word  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
OCRMYPDF = [sys.executable, "-m", "ocrmypdf", "--plugin", "ocrtool.ocrmypdf", "-j", "1"]
needs_gs = pytest.mark.skipif(shutil.which("gs") is None,
                              reason="Ghostscript not installed (apt-get install ghostscript)")


def ocrmypdf(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([*OCRMYPDF, *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_result_becomes_ocrmypdf_tree() -> None:
    words = [Word("TOTAL", 0.9, [[10, 50], [70, 50], [70, 70], [10, 70]]),
             Word("9.00", 1.3, [[300, 50], [380, 50], [380, 72], [300, 72]])]
    lines = [Line("Head", 0.8, [[10, 5], [60, 5], [60, 25], [10, 25]], [], block=0),
             Line("TOTAL 9.00", 0.9, [[10, 50], [380, 50], [380, 72], [10, 72]], words, 1)]
    tree = to_ocr_element(PageResult("p.png", 400, 100, lines), dpi=200, page_number=3,
                          language="eng")
    assert (tree.ocr_class, tree.dpi, tree.page_number) == (OcrClass.PAGE, 200.0, 3)
    assert (tree.bbox.right, tree.bbox.bottom) == (400, 100)
    assert [p.ocr_class for p in tree.children] == [OcrClass.PARAGRAPH] * 2  # one per block
    line = tree.children[1].children[0]
    assert line.ocr_class == OcrClass.LINE
    assert [(w.text, w.confidence) for w in line.children] == [("TOTAL", 0.9), ("9.00", 1.0)]
    assert (line.children[1].bbox.left, line.children[1].bbox.bottom) == (300, 72)
    assert [w.text for w in tree.children[0].children[0].children] == ["Head"]


def test_options_reach_the_reader_and_bad_ones_are_refused(tmp_path: Path) -> None:
    opts = argparse.Namespace(ocrtool_decoder="beam", ocrtool_beam_width=4,
                              ocrtool_lm_weight=0.5, ocrtool_backend="onnx",
                              ocrtool_weights=None, ocrtool_threads=2)
    assert _settings(opts) == {"decoder": "beam", "beam_width": 4, "lm_weight": 0.5,
                               "backend": "onnx", "weights": None, "threads": 2, "lang": "en"}
    Reader(**_settings(opts))  # the Reader takes them as they are
    # -l kor picks the Korean recognizer (it reads English too: eng+kor is Korean)
    for languages, lang in ((["kor"], "ko"), (["eng", "kor"], "ko"), (["eng"], "en")):
        assert _settings(argparse.Namespace(**vars(opts), languages=languages))["lang"] == lang
    assert OcrtoolEngine.languages(opts) == {"eng", "kor"}
    check_options(opts)
    with pytest.raises(BadArgsError, match="needs --ocrtool-decoder beam"):
        check_options(argparse.Namespace(**{**vars(opts), "ocrtool_decoder": "greedy"}))
    with pytest.raises(BadArgsError, match="no such folder"):
        check_options(argparse.Namespace(**{**vars(opts), "ocrtool_weights": "/nope"}))


def test_cli_refuses_bad_settings_before_reading(tmp_path: Path) -> None:
    pdf = images_pdf(tmp_path / "in.pdf", [SAMPLES / "line.png"])
    r = ocrmypdf("--ocrtool-lm-weight", "1", str(pdf), str(tmp_path / "out.pdf"))
    assert r.returncode != 0 and "needs --ocrtool-decoder beam" in r.stderr
    r = ocrmypdf("-l", "jpn", str(pdf), str(tmp_path / "out.pdf"))
    assert r.returncode != 0 and "jpn" in r.stderr
    assert not (tmp_path / "out.pdf").exists()


@needs_gs
def test_plugin_makes_a_searchable_pdfa(tmp_path: Path) -> None:
    images = [SAMPLES / "line.png", SAMPLES / "screenshot.png"]
    pdf = images_pdf(tmp_path / "in.pdf", images)
    out, sidecar = tmp_path / "out.pdf", tmp_path / "out.txt"
    r = ocrmypdf("--ocrtool-decoder", "beam", "--ocrtool-beam-width", "4", "--sidecar",
                 str(sidecar), str(pdf), str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "PDF/A" in r.stderr and "Traceback" not in r.stderr
    import pikepdf

    with pikepdf.open(out) as doc:
        assert len(doc.pages) == 2
        assert doc.open_metadata().pdfa_status.startswith("2")  # PDF/A-2b by default
        assert "ocrtool" in str(doc.docinfo.get("/Creator", ""))
    reader = Reader(backend="onnx", threads=1, decoder="beam", beam_width=4)
    for number, image in enumerate(images, 1):
        direct = " ".join(reader.read(image).text.split())
        layer = " ".join(" ".join(ln.text for ln in text_layer(out, number)).split())
        assert cer(direct, layer) < 0.03, (direct, layer)
    side = sidecar.read_text(encoding="utf-8")
    assert cer(" ".join(reader.read(images[1]).text.split()),
               " ".join(side.split("\f")[1].split())) < 0.03
