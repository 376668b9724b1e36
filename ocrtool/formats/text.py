"""Plain text: the page's text in reading order, one line of output per text line."""

from __future__ import annotations

from ..results import PageResult

EXTENSION = ".txt"


def render(page: PageResult) -> str:
    """The full text, newline-terminated; nothing for a failed or empty page.

    Errors go to stderr (the CLI's job), so the text stream stays pure text.
    """
    if page.error is not None or not page.lines:
        return ""
    return page.text + "\n"
