"""ALTO 4 XML: the layout-and-text format of libraries and archives (Tesseract writes it).

Structure: alto > Description (pixel units, source file, ocrtool as the processing step)
> Layout > Page > PrintSpace > TextBlock (one per block) > TextLine > String, with SP
between the words of a line. Every element has HPOS/VPOS/WIDTH/HEIGHT in pixels of the
image (axis-aligned boxes: ALTO's Shape polygons are optional and we leave them out),
Strings carry WC (word confidence, 0..1) and the Page PC (the mean of its words).

Output validates against the official ALTO 4.4 schema shipped in `ocrtool/data`
(`SCHEMA_PATH`; tests check every document with it). A page of a multi-page file is a Page
element with PHYSICAL_IMG_NR = its page number; a failed image is a Page with
QUALITY="Missing" and the error in QUALITY_DETAIL, so a document is never left with no
page (the schema requires one).
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

from .. import __version__
from ..geometry import pixel_box
from ..results import Line, PageResult, Points, line_blocks

EXTENSION = ".alto.xml"
NAMESPACE = "http://www.loc.gov/standards/alto/ns-v4#"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "data" / "alto-4-4.xsd"
_SCHEMA_URL = "http://www.loc.gov/standards/alto/v4/alto-4-4.xsd"

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="{ns}" xmlns:xlink="http://www.w3.org/1999/xlink" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:schemaLocation="{ns} {url}" SCHEMAVERSION="4.4">
  <Description>
    <MeasurementUnit>pixel</MeasurementUnit>
{source}    <Processing ID="ocrtool">
      <processingCategory>contentGeneration</processingCategory>
      <processingSoftware>
        <softwareName>ocrtool</softwareName>
        <softwareVersion>{version}</softwareVersion>
      </processingSoftware>
    </Processing>
  </Description>
  <Layout>
"""
_FOOT = "  </Layout>\n</alto>\n"


def _text(value: str) -> str:
    """XML-safe attribute value: characters XML 1.0 forbids (controls) are dropped."""
    clean = "".join(c for c in value if c in "\t\n\r" or ord(c) >= 0x20)
    return quoteattr(" ".join(clean.split()))


def header(source: str = "") -> str:
    """Document start; a stream of many images writes it once, then pages, then footer()."""
    info = (f"    <sourceImageInformation>\n      <fileName>{_text(source)[1:-1]}</fileName>\n"
            "    </sourceImageInformation>\n") if source else ""
    return _HEAD.format(ns=NAMESPACE, url=_SCHEMA_URL, source=info, version=__version__)


def footer() -> str:
    return _FOOT


def _box(points: Points, width: int, height: int) -> tuple[int, int, int, int]:
    """(HPOS, VPOS, WIDTH, HEIGHT) of the integer box around the points, inside the page."""
    x0, y0, x1, y1 = pixel_box(points, width, height)
    return x0, y0, x1 - x0, y1 - y0


def _pos(box: tuple[int, int, int, int]) -> str:
    return f'HPOS="{box[0]}" VPOS="{box[1]}" WIDTH="{box[2]}" HEIGHT="{box[3]}"'


def _conf(value: float) -> str:
    return f"{min(1.0, max(0.0, float(value))):.4f}"


def _line_xml(line: Line, ids: str, w: int, h: int) -> str:
    words = [(wd.text, wd.confidence, wd.points) for wd in line.words] or \
        [(line.text, line.confidence, line.points)]
    words = [(t, c, p) for t, c, p in words if t.strip()]
    if not words:
        return ""
    parts = [f'          <TextLine ID="{ids}" {_pos(_box(line.points, w, h))}>\n']
    prev = None
    for k, (text, conf, points) in enumerate(words, 1):
        box = _box(points, w, h)
        if prev is not None:  # the gap between two words (none when they touch)
            gap = box[0] - (prev[0] + prev[2])
            parts.append(f'            <SP WIDTH="{max(gap, 0)}" HPOS="{prev[0] + prev[2]}" '
                         f'VPOS="{prev[1]}"/>\n')
        parts.append(f'            <String ID="{ids}_w{k}" CONTENT={_text(text)} {_pos(box)} '
                     f'WC="{_conf(conf)}"/>\n')
        prev = box
    parts.append("          </TextLine>\n")
    return "".join(parts)


def page_xml(page: PageResult, index: int = 0) -> str:
    """One Page element; `index` (0-based, in the stream) keeps IDs unique in a document."""
    pid = f"p{index + 1}"
    w, h = int(page.width), int(page.height)
    number = max(1, int(page.page))
    if page.error is not None:
        return (f'    <Page ID="{pid}" PHYSICAL_IMG_NR="{number}" QUALITY="Missing" '
                f"QUALITY_DETAIL={_text('error: ' + page.error)}/>\n")
    confs = [wd.confidence for ln in page.lines for wd in (ln.words or [ln])]
    pc = f' PC="{_conf(sum(confs) / len(confs))}"' if confs else ""
    parts = [f'    <Page ID="{pid}" PHYSICAL_IMG_NR="{number}" WIDTH="{w}" HEIGHT="{h}"{pc}>\n',
             f'      <PrintSpace HPOS="0" VPOS="0" WIDTH="{w}" HEIGHT="{h}">\n']
    n_line = 0
    for b, lines in enumerate(line_blocks(page), 1):
        body = []
        for line in lines:
            n_line += 1
            body.append(_line_xml(line, f"{pid}_l{n_line}", w, h))
        if any(body):
            points = [p for ln in lines for p in ln.points]
            parts.append(f'        <TextBlock ID="{pid}_b{b}" {_pos(_box(points, w, h))}>\n')
            parts.extend(body)
            parts.append("        </TextBlock>\n")
    parts.append("      </PrintSpace>\n    </Page>\n")
    return "".join(parts)


def render(page: PageResult) -> str:
    """A complete ALTO document for one image."""
    return header(page.image) + page_xml(page, 0) + footer()


def validate(xml: str | bytes) -> list[str]:
    """Errors of `xml` against the shipped ALTO 4.4 schema (empty: valid). Needs lxml."""
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    doc = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
