"""Plain text: the page's text in reading order, one line of output per text line.

The pages of a multi-page TIFF are separated by a form feed (\\f, the page-break character
of Tesseract and `pdftotext`), put only between pages: splitting one file's output on
"\\f" gives exactly its pages (an empty page stays an empty string), and the output of an
ordinary image has no form feed at all.
"""

from __future__ import annotations

from ..results import PageResult

EXTENSION = ".txt"
PAGE_SEPARATOR = "\f"


def render(page: PageResult) -> str:
    """The full text, newline-terminated; nothing for a failed or empty page.

    Errors go to stderr (the CLI's job), so the text stream stays pure text.
    """
    if page.error is not None or not page.lines:
        return ""
    return page.text + "\n"


def page_text(page: PageResult) -> str:
    """One page inside a stream or file: its text, after a form feed unless it is page 1."""
    return (PAGE_SEPARATOR if page.page > 1 else "") + render(page)
