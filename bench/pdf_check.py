"""Acceptance measurement of PDF in / searchable PDF out / ALTO / the OCRmyPDF plugin.

    python bench/pdf_check.py [--data ../shared/data] [--n 10] [--long-pages 500]

Builds, in a temporary folder (nothing of the data set is written into the repository):
  doc.pdf   ten sroie_dev receipts and ten born_digital_dev images, one per page, each
            page the image's pixels at 300 dpi (a scan, as a scanner or img2pdf makes it)
and runs the real commands on it, printing what each gives:
  1. `ocrtool read doc.pdf -f json` against `ocrtool read <the 20 images> -f json`:
     per-page CER of the texts (whitespace runs count as one space);
  2. `ocrtool read doc.pdf -f pdf -o searchable.pdf`, then `pdftotext -raw` (content order,
     which is ours), `-layout` and plain `pdftotext` (poppler's own reading order, which
     splits a receipt's item and price columns) against step 1;
  3. `ocrmypdf --plugin ocrtool.ocrmypdf -j 1 --sidecar s.txt doc.pdf ocrmypdf.pdf`: exit
     code, PDF/A status, pdftotext of its text layer and its sidecar against step 1;
  4. `ocrtool read doc.pdf --pages 1-3 -f alto`, validated against the shipped ALTO 4.4 XSD;
  5. bad PDFs (encrypted, truncated, no pages, a 20000 x 20000-point page) in one folder
     run: the error lines, the exit code and the time;
  6. peak RSS of `ocrtool read long.pdf --threads 1 --dpi 100` (OCR of every page) for a
     50-page and an N-page PDF of small born-digital pages (2 x 0.5 inch, "Page k"): flat
     memory means about equal peaks.
  7. the same pages and words written by fpdf2 and by reportlab (how the writer was
     chosen): seconds, size, and the text pdftotext and PDFium read back.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ocrtool.evaluation.metrics import cer


def words(text: str) -> str:
    return " ".join(text.split())


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)


def build_doc(data: Path, n: int, out: Path) -> list[Path]:
    from fpdf import FPDF
    from PIL import Image

    images = []
    for name in ("sroie_dev", "born_digital_dev"):
        folder = data / name / "images"
        images += sorted(p for p in folder.iterdir() if p.suffix.lower() in
                         (".jpg", ".png"))[:n]
    pdf = FPDF(unit="pt")
    for image in images:
        w, h = Image.open(image).size
        pdf.add_page(format=(w * 72 / 300, h * 72 / 300))
        pdf.image(str(image), 0, 0, w * 72 / 300, h * 72 / 300)
    pdf.output(str(out))
    return images


def json_texts(stdout: str) -> list[str]:
    return [json.loads(line).get("text", "") for line in stdout.splitlines() if line.strip()]


def mean_cer(refs: list[str], hyps: list[str]) -> tuple[float, float]:
    """Mean per-page CER and the CER over all characters."""
    per = [cer(words(r), words(h)) for r, h in zip(refs, hyps)]
    total = sum(len(words(r)) for r in refs)
    pooled = sum(c * len(words(r)) for c, r in zip(per, refs)) / max(total, 1)
    return sum(per) / max(len(per), 1), pooled


def pdftotext_pages(pdf: Path, mode: str) -> list[str]:
    out = run(["pdftotext"] + ([mode] if mode else []) + [str(pdf), "-"]).stdout
    return out.split("\f")[:-1]


def peak_rss_mb(cmd: list[str]) -> tuple[float, float, int]:
    """Peak RSS (MB) of one child process, its seconds and exit code (via wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    _, status, usage = os.wait4(proc.pid, 0)
    return usage.ru_maxrss / 1024, time.perf_counter() - start, os.waitstatus_to_exitcode(status)


def long_pdf(path: Path, pages: int) -> None:
    from fpdf import FPDF

    pdf = FPDF(unit="pt")
    for k in range(pages):
        pdf.add_page(format=(144, 36))
        pdf.set_font("helvetica", size=16)
        pdf.text(8, 26, f"Page {k + 1}")
    pdf.output(str(path))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] /
                    "shared" / "data")
    ap.add_argument("--n", type=int, default=10, help="images from each dev set")
    ap.add_argument("--long-pages", type=int, default=500)
    ap.add_argument("--long-dpi", type=int, default=100, help="render resolution of step 6")
    ap.add_argument("--skip", default="", help="comma list of steps to skip (1-6)")
    args = ap.parse_args()
    skip = set(args.skip.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="pdf_check_"))
    doc = tmp / "doc.pdf"
    images = build_doc(args.data, args.n, doc)
    print(f"doc.pdf: {len(images)} pages ({args.n} sroie_dev + {args.n} born_digital_dev), "
          f"{doc.stat().st_size / 1e6:.1f} MB, in {tmp}")

    t = time.perf_counter()
    pdf_run = run(["ocrtool", "read", str(doc), "-f", "json", "--threads", "1", "-q"])
    pdf_s = time.perf_counter() - t
    ours = json_texts(pdf_run.stdout)
    if "1" not in skip:
        t = time.perf_counter()
        img_run = run(["ocrtool", "read", *map(str, images), "-f", "json", "--threads", "1",
                       "-q"])
        img_s = time.perf_counter() - t
        direct = json_texts(img_run.stdout)
        m, pooled = mean_cer(direct, ours)
        same = sum(words(a) == words(b) for a, b in zip(direct, ours))
        print(f"1. ocrtool read doc.pdf vs the images: {len(ours)} / {len(direct)} pages, "
              f"identical text on {same}, CER mean {m:.4f}, pooled {pooled:.4f} ({pdf_s:.0f} s "
              f"vs {img_s:.0f} s, exit {pdf_run.returncode}/{img_run.returncode})")

    if "2" not in skip:
        searchable = tmp / "searchable.pdf"
        r = run(["ocrtool", "read", str(doc), "-f", "pdf", "-o", str(searchable),
                 "--threads", "1", "-q"])
        for mode in ("-raw", "-layout", ""):
            back = pdftotext_pages(searchable, mode)
            m, pooled = mean_cer(ours, back)
            print(f"2. pdftotext {mode or '(default)'} of searchable.pdf vs step 1: "
                  f"{len(back)} pages, CER mean {m:.4f}, pooled {pooled:.4f} "
                  f"(exit {r.returncode}, {searchable.stat().st_size / 1e6:.1f} MB)")

    if "3" not in skip:
        out = tmp / "ocrmypdf.pdf"
        t = time.perf_counter()
        r = run(["ocrmypdf", "--plugin", "ocrtool.ocrmypdf", "-j", "1", "--sidecar",
                 str(tmp / "sidecar.txt"), str(doc), str(out)])
        seconds = time.perf_counter() - t
        status = [ln for ln in r.stderr.splitlines() if "PDF/A" in ln]
        print(f"3. ocrmypdf --plugin ocrtool.ocrmypdf: exit {r.returncode}, {seconds:.0f} s; "
              + "; ".join(s.strip() for s in status[-1:]))
        if r.returncode == 0:
            import pikepdf

            with pikepdf.open(out) as p:
                print(f"   pikepdf: PDF/A status {p.open_metadata().pdfa_status!r}")
            for mode in ("-raw", "-layout", ""):
                back = pdftotext_pages(out, mode)
                m, pooled = mean_cer(ours, back)
                print(f"   pdftotext {mode or '(default)'} of its text layer vs step 1: "
                      f"{len(back)} pages, CER mean {m:.4f}, pooled {pooled:.4f}")
            side = (tmp / "sidecar.txt").read_text(encoding="utf-8").split("\f")
            m, pooled = mean_cer(ours, side)
            print(f"   its --sidecar text vs step 1: CER mean {m:.4f}, pooled {pooled:.4f}")
        else:
            print(r.stderr[-2000:])

    if "4" not in skip:
        alto_out = tmp / "doc.alto.xml"
        r = run(["ocrtool", "read", str(doc), "--pages", "1-3", "-f", "alto", "-o",
                 str(alto_out), "--threads", "1", "-q"])
        from ocrtool.formats.alto import validate

        errors = validate(alto_out.read_bytes())
        print(f"4. ALTO of pages 1-3: exit {r.returncode}, "
              f"{alto_out.read_text().count('<String ')} words, schema errors: "
              f"{len(errors)} {errors[:3]}")

    if "5" not in skip:
        bad = tmp / "bad"
        bad.mkdir()
        make_bad_pdfs(bad, doc)
        t = time.perf_counter()
        r = run(["ocrtool", "read", str(bad), "--threads", "1", "-q"], timeout=600)
        print(f"5. folder of bad PDFs: exit {r.returncode}, {time.perf_counter() - t:.1f} s, "
              f"traceback: {'Traceback' in r.stderr}")
        for line in r.stderr.splitlines():
            print(f"   {line}")

    if "6" not in skip:
        for pages in (50, args.long_pages):
            path = tmp / f"long{pages}.pdf"
            long_pdf(path, pages)
            rss, seconds, code = peak_rss_mb(["ocrtool", "read", str(path), "--threads", "1",
                                              "--dpi", str(args.long_dpi), "-q", "-f", "json",
                                              "-o", str(tmp / "l.jsonl")])
            n = sum(1 for _ in open(tmp / "l.jsonl"))
            print(f"6. {pages}-page PDF: exit {code}, {n} pages read, {seconds:.0f} s, "
                  f"peak RSS {rss:.0f} MB")
    if "7" not in skip:
        compare_writers(tmp, doc, pdf_run.stdout)
    print(f"(this process: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
          " MB)")
    return 0


def compare_writers(tmp: Path, doc: Path, results_jsonl: str) -> None:
    """7. The same pages and words written by fpdf2 (ocrtool's writer) and by reportlab
    (the same layout: line baseline and height, each word stretched over its box, the same
    font): seconds, bytes, and pdftotext -raw / PDFium text against the results."""
    from ocrtool.formats.pdf import _DESCENT, FONT_PATH, JPEG_QUALITY, WORD_GAP, SearchablePdf
    from ocrtool.imageio import iter_pages
    from ocrtool.pdf import page_sizes, text_layer
    from ocrtool.results import PageResult

    pages = [PageResult.from_dict(json.loads(x)) for x in results_jsonl.splitlines() if x]
    pictures = [rgb for _, _, rgb in iter_pages(doc)]
    sizes = page_sizes(doc)
    texts = [p.text for p in pages]

    def with_fpdf2(out: Path) -> None:
        w = SearchablePdf(300)
        for rgb, page, size in zip(pictures, pages, sizes):
            w.add_page(rgb, page, jpeg=True, size=size)
        w.save(out)

    def with_reportlab(out: Path) -> None:
        import io

        from PIL import Image
        from reportlab.lib.utils import ImageReader
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont
        from reportlab.pdfgen import canvas

        pdfmetrics.registerFont(TTFont("glyphless", str(FONT_PATH)))
        c = canvas.Canvas(str(out))
        for rgb, page, (pw, ph) in zip(pictures, pages, sizes):
            c.setPageSize((pw, ph))
            buf = io.BytesIO()
            Image.fromarray(rgb).save(buf, "JPEG", quality=JPEG_QUALITY)
            buf.seek(0)
            c.drawImage(ImageReader(buf), 0, 0, pw, ph)
            sx, sy = pw / rgb.shape[1], ph / rgb.shape[0]
            for line in page.lines:
                ys = [p[1] for p in line.points]
                size = max((max(ys) - min(ys)) * sy, 1.0)
                base = ph - (max(ys) * sy - _DESCENT * size)
                words = [w for w in (line.words or [line]) if w.text.strip()]
                boxes = [(min(p[0] for p in w.points), max(p[0] for p in w.points))
                         for w in words]
                for k, (word, (x0, x1)) in enumerate(zip(words, boxes)):
                    left, right = x0 * sx, x1 * sx
                    if k + 1 < len(words):
                        right = min(right, max(boxes[k + 1][0] * sx - WORD_GAP * size,
                                               left + (right - left) / 2))
                    text = " ".join(word.text.split())
                    t = c.beginText(left, base)
                    t.setTextRenderMode(3)
                    t.setFont("glyphless", size)
                    t.setHorizScale(100.0 * max(right - left, 0.5) / (0.5 * size * len(text)))
                    t.textOut(text)
                    c.drawText(t)
            c.showPage()
        c.save()

    for name, write in (("fpdf2", with_fpdf2), ("reportlab", with_reportlab)):
        out = tmp / f"writer_{name}.pdf"
        t = time.perf_counter()
        write(out)
        seconds = time.perf_counter() - t
        raw_m, raw_p = mean_cer(texts, pdftotext_pages(out, "-raw"))
        pdfium = [" ".join(ln.text for ln in text_layer(out, k + 1)) for k in range(len(pages))]
        pd_m, pd_p = mean_cer(texts, pdfium)
        print(f"7. {name}: {seconds:.1f} s for {len(pages)} pages, {out.stat().st_size / 1e6:.2f}"
              f" MB; pdftotext -raw CER mean {raw_m:.4f} pooled {raw_p:.4f}; PDFium CER mean "
              f"{pd_m:.4f} pooled {pd_p:.4f}")


def make_bad_pdfs(folder: Path, good: Path) -> None:
    from fpdf import FPDF

    p = FPDF(unit="pt")
    p.add_page(format=(200, 100))
    p.set_font("helvetica", size=14)
    p.text(20, 50, "secret")
    p.set_encryption(owner_password="owner", user_password="user")
    p.output(str(folder / "encrypted.pdf"))
    data = good.read_bytes()
    (folder / "truncated.pdf").write_bytes(data[: len(data) // 3])
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 3\n0000000000 65535 f \n"
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    (folder / "zero_pages.pdf").write_bytes(bytes(out))
    p = FPDF(unit="pt")
    p.add_page(format=(20000, 20000))
    p.set_font("helvetica", size=14)
    p.text(20, 50, "huge")
    p.output(str(folder / "huge_page.pdf"))


if __name__ == "__main__":
    sys.exit(main())
