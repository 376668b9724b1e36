"""JSON Lines: one JSON object per image per line, the schema of `PageResult.to_dict()`."""

from __future__ import annotations

import json

from ..results import PageResult

EXTENSION = ".json"  # one object per file in --output-dir mode
STREAM_EXTENSION = ".jsonl"  # many images in one -o file


def render(page: PageResult) -> str:
    """One compact JSON object and a newline; failed pages carry an "error" field.

    ensure_ascii=False keeps non-Latin text readable; json.dumps escapes the newlines
    inside strings, so one object is always exactly one line.
    """
    return json.dumps(page.to_dict(), ensure_ascii=False) + "\n"
