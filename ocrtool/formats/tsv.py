"""TSV: one row per word with its confidence and 4-point polygon, for spreadsheets and pandas.

Columns: image, line, word, confidence, x1, y1, ..., x4, y4, text, error, page. Line and
word indices start at 0 on each page; page starts at 1 (as in the JSON), so the pages of a
multi-page TIFF are told apart, and is 1 for ordinary images. It is the last column so the
others keep the positions they had before it was added. A line without words (line-level
detail) gets one row with an empty word index, and a failed image one row with only image
and error (and no page: a file fails as a whole), so every input shows up in the table.
Backslash, tab, CR and LF inside fields are written as \\\\, \\t, \\r and \\n, so a row is
always one line (grep, awk and `cut` work on it). A field holding a double quote is also
put in quotes with each quote doubled, as RFC 4180 says: CSV readers (Python's csv, pandas,
LibreOffice) take a field that starts with a quote as quoted, so without this a text
starting with `"` shifted the columns. `csv.reader(f, delimiter="\\t")` reads every row
back with the same columns.
"""

from __future__ import annotations

from ..results import PageResult

EXTENSION = ".tsv"

COLUMNS = ("image", "line", "word", "confidence", "x1", "y1", "x2", "y2", "x3", "y3",
           "x4", "y4", "text", "error", "page")

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def escape(value: str) -> str:
    """Escape a field so it cannot break the row or column structure."""
    return value.translate(_ESCAPES)


def field(value: str) -> str:
    """A text field as written: escaped, then quoted (quotes doubled) if it has a quote."""
    value = escape(value)
    return f'"{value.replace(chr(34), chr(34) * 2)}"' if '"' in value else value


def _num(value: float) -> str:
    """Shortest stable form: 12, 12.5 (one decimal is sub-pixel enough)."""
    text = f"{round(float(value), 1):.1f}"
    return text[:-2] if text.endswith(".0") else text


def header() -> str:
    """The header row; written once at the top of a multi-image stream."""
    return "\t".join(COLUMNS) + "\n"


def _row(image: str, line: str, word: str, confidence: str, points: list, text: str,
         error: str = "", page: str = "") -> str:
    coords = [_num(v) for xy in points for v in xy] if points else [""] * 8
    fields = [field(image), line, word, confidence, *coords, field(text), field(error),
              page]
    return "\t".join(fields) + "\n"


def rows(page: PageResult) -> str:
    """The page's rows without a header, for appending to a stream."""
    if page.error is not None:
        return _row(page.image, "", "", "", [], "", page.error)
    out, number = [], str(page.page)
    for li, line in enumerate(page.lines):
        if not line.words:
            out.append(_row(page.image, str(li), "", f"{line.confidence:.4f}", line.points,
                            line.text, page=number))
        for wi, word in enumerate(line.words):
            out.append(_row(page.image, str(li), str(wi), f"{word.confidence:.4f}",
                            word.points, word.text, page=number))
    return "".join(out)


def render(page: PageResult) -> str:
    """A complete TSV document (header and rows) for one page."""
    return header() + rows(page)
