"""Reading many images: per-file error capture, resume, and optional worker processes.

A folder run must never stop at one bad file: every failure becomes a PageResult with an
`error`, and the caller decides how to report it. Workers each hold their own Reader
(models load once per process); results come back in input order.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from .imageio import ImageError
from .results import PageResult

_WORKER_READER = None


def read_one(reader, path: Path, recognize_only: bool = False) -> PageResult:
    """Read a file; any failure comes back as a one-line error, never an exception."""
    try:
        return reader.read(path, recognize_only=recognize_only, name=str(path))
    except (ImageError, OSError, ValueError) as e:
        return PageResult(str(path), 0, 0, error=_one_line(e))
    except MemoryError:
        return PageResult(str(path), 0, 0, error="out of memory while reading this image")
    except Exception as e:  # a model or library failure on one image must not end the run
        return PageResult(str(path), 0, 0, error=f"{type(e).__name__}: {_one_line(e)}")


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _init_worker(reader_kwargs: dict) -> None:
    global _WORKER_READER
    from .reader import Reader

    _WORKER_READER = Reader(**reader_kwargs)


def _work(args: tuple[str, bool]) -> PageResult:
    return read_one(_WORKER_READER, Path(args[0]), args[1])


def read_files(
    files: Iterable[Path],
    reader_kwargs: dict,
    workers: int = 1,
    recognize_only: bool = False,
    reader=None,
) -> Iterator[PageResult]:
    """Yield one PageResult per file, in order; workers > 1 uses separate processes."""
    files = list(files)
    if workers <= 1:
        if reader is None:
            from .reader import Reader

            reader = Reader(**reader_kwargs)
        for path in files:
            yield read_one(reader, path, recognize_only)
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    ctx = mp.get_context("spawn")  # fork after torch/onnxruntime threads is unsafe
    with ctx.Pool(workers, _init_worker, ({**reader_kwargs, "threads": threads},)) as pool:
        yield from pool.imap(_work, [(str(p), recognize_only) for p in files], chunksize=1)


def done_in_jsonl(path: Path) -> set[str]:
    """Images already read successfully in a JSON-lines output; drops a torn last line."""
    if not path.exists():
        return set()
    done, good = set(), []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill: redo that image
            good.append(line if line.endswith("\n") else line + "\n")
            if "error" not in row:
                done.add(row.get("image", ""))
    with open(path, "w", encoding="utf-8") as f:  # keep only complete, successful rows
        f.writelines(x for x in good if "error" not in json.loads(x))
    return done
