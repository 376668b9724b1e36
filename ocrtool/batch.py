"""Reading many images: per-file error capture, resume, and optional worker processes.

A folder run must never stop at one bad file: every failure becomes a PageResult with an
`error`, and the caller decides how to report it. Workers each hold their own Reader
(models load once per process); results come back in input order, one list of pages per
file (all pages of a multi-page TIFF, or a single error for the whole file, so that a
file is either complete in the output or redone by --resume).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from .imageio import ImageError
from .io_utils import display_name, one_line_name, write_atomic
from .results import PageResult

_WORKER_READER = None


def read_one(reader, path: Path, recognize_only: bool = False) -> list[PageResult]:
    """Read every page of a file; any failure comes back as a one-line error, never an
    exception. A failure on any page fails the whole file (one error result): pages read
    before it are dropped, so the output never holds part of a file that looks complete.
    The result's `image` is `display_name(path)`, so any file name can be written as UTF-8.
    """
    try:
        return reader.read_pages(path, recognize_only=recognize_only,
                                 name=display_name(path))
    except Exception as e:  # a model or library failure on one image must not end the run
        return [error_result(path, e)]


def error_result(path: Path | str, e: Exception) -> PageResult:
    """The error record of a file that failed with `e` (also used by the Ray path, which
    reads a file's pages separately but must report failures exactly like a local run)."""
    label = display_name(path)
    if isinstance(e, (ImageError, OSError, ValueError)):
        return PageResult(label, 0, 0, error=_one_line(e, path))
    if isinstance(e, MemoryError):
        return PageResult(label, 0, 0, error="out of memory while reading this image")
    return PageResult(label, 0, 0, error=f"{type(e).__name__}: {_one_line(e, path)}")


def _one_line(e: BaseException, path: Path | str) -> str:
    """The message on one line and writable as UTF-8; the file name inside it keeps a
    newline visible as \\n instead of turning it into a space."""
    text = str(e).replace(os.fsdecode(path), one_line_name(path))
    return display_name(" ".join(text.split())) or type(e).__name__


def _init_worker(reader_kwargs: dict) -> None:
    global _WORKER_READER
    import signal

    from .reader import Reader

    # Ctrl-C reaches the whole process group: the parent stops the pool and sums up;
    # a worker that took the interrupt itself would print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    show_warnings_on_one_line()

    _WORKER_READER = Reader(**reader_kwargs)


def _work(args: tuple[str, bool]) -> list[PageResult]:
    pages = read_one(_WORKER_READER, Path(args[0]), args[1])
    release_freed_memory()
    return pages


_MALLOC_TRIM = None


def release_freed_memory() -> None:
    """Hand the memory freed by the last file back to the system (glibc's malloc_trim).

    glibc keeps freed blocks in its heap, so a folder run's resident memory grows to the
    largest file's working set and stays there. Trimming after each file costs ~2 us when
    there is nothing to return. Measured on 25 sroie receipts with onnxruntime's CPU arena
    off: ~100 MB between files instead of ~260 MB. With the arena on (the default: faster,
    see issue 14's note) the arena keeps its own peak and only numpy/OpenCV buffers come
    back. A no-op where the C library has no malloc_trim (macOS, musl, Windows).
    """
    global _MALLOC_TRIM
    if _MALLOC_TRIM is None:
        import ctypes
        import ctypes.util

        try:
            _MALLOC_TRIM = ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
        except (AttributeError, OSError, TypeError):
            _MALLOC_TRIM = False
    if _MALLOC_TRIM:
        _MALLOC_TRIM(0)


def read_files(
    files: Iterable[Path],
    reader_kwargs: dict,
    workers: int = 1,
    recognize_only: bool = False,
    reader=None,
) -> Iterator[list[PageResult]]:
    """Yield the pages of each file (see `read_one`), in file order; workers > 1 uses
    separate processes, each reading whole files."""
    files = list(files)
    if workers <= 1:
        if reader is None:
            from .reader import Reader

            reader = Reader(**reader_kwargs)
        for path in files:
            pages = read_one(reader, path, recognize_only)
            release_freed_memory()
            yield pages
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    ctx = mp.get_context("spawn")  # fork after torch/onnxruntime threads is unsafe
    with ctx.Pool(workers, _init_worker, ({**reader_kwargs, "threads": threads},)) as pool:
        yield from pool.imap(_work, [(str(p), recognize_only) for p in files], chunksize=1)


def done_in_jsonl(path: Path) -> set[str]:
    """Images already read completely and successfully in a JSON-lines output.

    An image of several pages is done only when every page 1..pages is there. The file is
    rewritten (atomically) without a torn last line, failed images and images cut short
    part-way, so that the images read again are appended to a clean file, not next to
    stale pages of themselves.
    """
    if not path.exists():
        return set()
    rows: list[tuple[str, dict]] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill: redo that image
            if _is_read_row(row):
                rows.append((line if line.endswith("\n") else line + "\n", row))
    done = _complete_images([row for _, row in rows])
    kept, seen = [], set()
    for line, row in rows:
        key = (row.get("image", ""), row.get("page", 1))
        if key[0] in done and key not in seen:  # a page written twice is kept once
            seen.add(key)
            kept.append(line)
    write_atomic(path, "".join(kept))
    return done


def _is_read_row(row: object) -> bool:
    """A successful record whose page fields (if any) are usable numbers."""
    return (isinstance(row, dict) and "error" not in row
            and all(type(row.get(k, 1)) is int and row.get(k, 1) >= 1
                    for k in ("page", "pages")))


def _complete_images(rows: list[dict]) -> set[str]:
    """Images whose rows cover all their pages (a row without "pages" is a whole image)."""
    got: dict[str, set[int]] = {}
    wanted: dict[str, int] = {}
    for row in rows:
        image = row.get("image", "")
        got.setdefault(image, set()).add(row.get("page", 1))
        wanted[image] = max(wanted.get(image, 1), row.get("pages", 1))
    # all() stops at the first missing page, so an absurd "pages" costs nothing
    return {image for image, pages in got.items()
            if all(n in pages for n in range(1, wanted[image] + 1))}


def write_file_result(target: Path, pages: list[PageResult], fmt: str) -> bool:
    """--output-dir: write one file's result atomically; a failed file gets no output.

    A failure leaves no file (an error record or an empty .txt would look done to
    --resume, which would then never retry it), and a result left by an earlier run of
    the same image is removed, so the folder never shows an outdated text for a file
    that now fails. Returns whether a result was written.
    """
    from .formats import render_pages

    if pages[0].error is not None:
        target.unlink(missing_ok=True)
        return False
    write_atomic(target, render_pages(pages, fmt))
    return True


def first_clash(targets: Iterable[tuple[Path, Path]]) -> tuple[Path, Path, Path] | None:
    """The first two inputs that map to one output, as (input, other input, output).

    Two inputs of the same name from different folders (A/scan.png, B/scan.png) would
    otherwise overwrite each other's result silently. `targets` is (input, output) pairs.
    """
    seen: dict[str, Path] = {}
    for source, target in targets:
        key = os.path.normcase(os.path.abspath(target))
        if key in seen:
            return seen[key], source, target
        seen[key] = source
    return None


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (through links too, when both exist)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist (yet): compare the spelled-out paths
        return os.path.abspath(a) == os.path.abspath(b)


def show_warnings_on_one_line() -> None:
    """Print warnings as one `ocrtool: warning: ...` line each on stderr (a folder run's
    stderr is one line per event), not Python's two lines with a source location."""
    import sys
    import warnings

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = display_name(" ".join(str(message).split()))
        print(f"ocrtool: warning: {text}", file=sys.stderr, flush=True)

    warnings.showwarning = show
