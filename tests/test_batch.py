"""--resume with JSON Lines: which images count as done, and what is kept of the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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


# --- names and outputs of a folder run (issue 14) ----------------------------------------


def test_display_name_escapes_only_undecodable_bytes() -> None:
    import os

    from ocrtool.io_utils import display_name, one_line_name

    raw = os.fsdecode(b"dir/a\xff\xfe.png")
    assert display_name(raw) == "dir/a\\xff\\xfe.png"
    assert display_name(raw).encode("utf-8")  # writable as UTF-8
    assert display_name("ünï 名前 back\\slash.png") == "ünï 名前 back\\slash.png"
    assert display_name(Path("x.png")) == "x.png"
    assert one_line_name("a\nb\tc\x1b.png") == "a\\nb\\tc\\x1b.png"
    assert one_line_name(os.fsdecode(b"\xff\n.png")) == "\\xff\\n.png"
    assert one_line_name("plain\\name.png") == "plain\\name.png"


def test_error_record_of_a_strange_name_is_one_line_of_utf8() -> None:
    import os

    from ocrtool.batch import error_result
    from ocrtool.imageio import ImageError

    path = Path(os.fsdecode(b"in/bad\n\xff.png"))
    record = error_result(path, ImageError(f"file not found: {path}"))
    assert record.image == "in/bad\n\\xff.png"  # JSON escapes the newline itself
    assert record.error == "file not found: in/bad\\n\\xff.png"
    assert json.loads(json.dumps(record.to_dict())) == record.to_dict()


def test_first_clash_names_both_inputs() -> None:
    from ocrtool.batch import first_clash

    pairs = [(Path("A/scan.png"), Path("out/scan.png.txt")),
             (Path("A/other.png"), Path("out/other.png.txt")),
             (Path("B/scan.png"), Path("out/./scan.png.txt"))]
    assert first_clash(pairs) == (Path("A/scan.png"), Path("B/scan.png"),
                                  Path("out/./scan.png.txt"))
    assert first_clash(pairs[:2]) is None


def test_write_file_result_removes_a_stale_output_of_a_failed_file(tmp_path: Path) -> None:
    from ocrtool.batch import write_file_result
    from ocrtool.results import PageResult

    target = tmp_path / "sub" / "a.png.json"
    assert write_file_result(target, [PageResult("a.png", 3, 2)], "json")
    assert json.loads(target.read_text())["image"] == "a.png"
    assert not write_file_result(target, [PageResult("a.png", 0, 0, error="corrupt")], "json")
    assert not target.exists()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_release_freed_memory_returns_the_heap_to_the_system() -> None:
    """What a folder run calls after each file: freed blocks inside glibc's heap (64 KB
    each, below its mmap threshold) are resident until trimmed."""
    from ocrtool.batch import release_freed_memory

    def rss_mb() -> float:
        with open("/proc/self/status") as f:
            line = next(x for x in f if x.startswith("VmRSS"))
        return int(line.split()[1]) / 1024

    blocks = [bytearray(65536) for _ in range(3000)]  # ~190 MB of small blocks
    for block in blocks:
        block[::4096] = b"x" * 16  # touch every page: resident
    pin = bytearray(65536)  # allocated above them: free() alone cannot shrink the heap
    before = rss_mb()
    del blocks
    kept = rss_mb()
    release_freed_memory()
    after = rss_mb()
    del pin
    assert before - kept < 50, "glibc returned the blocks by itself: nothing to test"
    assert kept - after > 150
