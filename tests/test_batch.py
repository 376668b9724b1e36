"""--resume with JSON Lines: which images count as done, and what is kept of the file."""

from __future__ import annotations

import json
from pathlib import Path

from ocrtool.batch import done_in_jsonl


def _row(image: str, page: int | None = None, pages: int | None = None, **extra) -> str:
    where = {"page": page, "pages": pages} if pages else {}
    return json.dumps({"image": image, **where, "text": "t", "lines": [], **extra}) + "\n"


def test_a_multipage_image_is_done_only_with_all_its_pages(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    out.write_text(
        _row("a.png")
        + _row("half.tif", 1, 3) + _row("half.tif", 2, 3)  # killed before page 3
        + _row("whole.tif", 2, 2) + _row("whole.tif", 1, 2)  # order does not matter
        + json.dumps({"image": "bad.png", "error": "corrupt"}) + "\n"
        + _row("gap.tif", 1, 3) + _row("gap.tif", 3, 3)
        + _row("torn.tif", 1, 2) + _row("torn.tif", 2, 2)[:30]  # a line cut by a kill
    )
    assert done_in_jsonl(out) == {"a.png", "whole.tif"}
    kept = [json.loads(x) for x in out.read_text().splitlines()]
    # images to be read again leave no stale pages behind to be duplicated
    assert [(r["image"], r.get("page")) for r in kept] == [
        ("a.png", None), ("whole.tif", 2), ("whole.tif", 1)]


def test_duplicate_and_malformed_page_rows(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    out.write_text(_row("d.tif", 1, 2) + _row("d.tif", 1, 2) + _row("d.tif", 2, 2)
                   + _row("x.tif", "1", 1) + _row("huge.tif", 1, 10**12))
    assert done_in_jsonl(out) == {"d.tif"}
    assert out.read_text().count("\n") == 2  # page 1 written twice is kept once
    assert done_in_jsonl(tmp_path / "missing.jsonl") == set()
