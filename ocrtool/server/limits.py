"""What keeps the server alive under heavy or hostile traffic.

- Upload size: the body is read in chunks and counted; past the limit the request is a 413
  and nothing more is kept in memory.
- Pixels and pages: the image header is read (no pixels decoded) and an image too large
  to decode safely is a 413 before it reaches the model (the decompression-bomb guard).
- A bounded queue in front of the model thread: a request holds a slot from before its
  body is read until its reading is finished, so at most `queue_size` uploads are in
  memory and queued; when all slots are taken the answer is 503 with Retry-After, not an
  unbounded backlog.
- A per-request timeout: a slow upload is a 408, a request still waiting for or in the
  model after `timeout_s` a 503. A reading already running cannot be interrupted, so its
  slot stays taken until it ends: abandoned work still counts against the queue.
- Inference runs in its own thread, never on the event loop, so /healthz and uploads are
  served while the model works.
"""

from __future__ import annotations

import asyncio
import io
import math
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request

from .errors import ApiError

T = TypeVar("T")
MIB = 1024 * 1024
# A client that sends a little more than the limit is read to the end before the 413, so
# that it can read the answer (closing on unread data resets the connection, and the
# client sees an error instead of the 413); past this much more the connection is dropped.
DRAIN_BYTES = 8 * MIB


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = 20 * MIB
    max_pixels: int = 50_000_000  # a 600 dpi A4 scan is 35 Mpx
    max_pages: int = 20  # pages of one multi-page TIFF (or PDF) per request
    timeout_s: float = 60.0
    queue_size: int = 32  # requests admitted at once, per worker process

    def describe(self) -> dict:
        return {"max_upload_bytes": self.max_upload_bytes, "max_pixels": self.max_pixels,
                "max_pages": self.max_pages, "timeout_s": self.timeout_s,
                "queue_size": self.queue_size}


async def read_body(request: Request, max_bytes: int, timeout_s: float) -> bytes:
    """The whole request body, or ApiError 413 (too large) / 408 (too slow to arrive)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes + DRAIN_BYTES:
        raise ApiError(413, f"upload too large: {int(declared)} bytes, the limit is "
                            f"{max_bytes} bytes")
    chunks: list[bytes] = []
    total = 0

    async def collect() -> None:
        nonlocal total
        async for chunk in request.stream():
            total += len(chunk)
            if total <= max_bytes:
                chunks.append(chunk)
            elif total > max_bytes + DRAIN_BYTES:
                break
            else:
                chunks.clear()  # over the limit: keep reading, keep nothing

    try:
        await asyncio.wait_for(collect(), timeout_s)
    except asyncio.TimeoutError:
        raise ApiError(408, f"upload not received within {timeout_s:g} s") from None
    if total > max_bytes:
        raise ApiError(413, f"upload too large: more than {max_bytes} bytes")
    return b"".join(chunks)


def check_image_size(data: bytes, limits: Limits, pages: str | None = None) -> None:
    """Refuse (413) a file whose header promises more pixels or pages than allowed.

    Only headers are parsed (and a PDF's page tree). `pages` is the client's page
    selection ("1-3,7"): only the pages it keeps count. Anything that cannot be identified
    is left to the Reader, which gives the proper error for a corrupt file.
    """
    count = _pdf_page_count(data)
    if count is None:
        size = _image_header(data)
        if size is None:
            return
        width, height, count = size
        if width * height > limits.max_pixels:
            raise ApiError(413, f"image too large: {width}x{height} is more than "
                                f"{limits.max_pixels} pixels")
    if pages:
        count = _selected(pages, count)
    if count > limits.max_pages:
        raise ApiError(413, f"too many pages: {count}, the limit is {limits.max_pages} per "
                            "request (the pages option reads fewer)")


def _image_header(data: bytes) -> tuple[int, int, int] | None:
    """(width, height, pages) from the header, or None when Pillow does not know it."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                pages = getattr(im, "n_frames", 1) if im.format == "TIFF" else 1
                return im.width, im.height, pages
    except Exception:  # not an image Pillow knows, or a broken one: the Reader says which
        return None


def _pdf_page_count(data: bytes) -> int | None:
    """Pages of a PDF; None for anything else, or when no PDF support is installed."""
    try:
        from ..pdf import is_pdf, page_count
    except ImportError:
        return None
    if not is_pdf(data):
        return None
    try:
        return page_count(data)
    except Exception:  # broken, encrypted, or no pypdfium2: the Reader gives the message
        return None


def _selected(pages: str, count: int) -> int:
    try:
        from ..pdf import select_pages

        return len(select_pages(pages, count))
    except Exception:  # a bad selection: the Reader refuses it with its own message
        return count


class ModelQueue:
    """A bounded queue in front of one model thread (one per worker process).

    Used only from the event loop (no lock needed): `admit()` takes a slot or raises 503,
    `run()` hands a function to the model thread and waits for it with a timeout.
    """

    def __init__(self, capacity: int, timeout_s: float) -> None:
        self.capacity, self.timeout_s = capacity, timeout_s
        self.pending = 0
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocrtool-model")
        self._seconds_per_job = 1.0  # running mean, for Retry-After

    def admit(self) -> Slot:
        if self.pending >= self.capacity:
            retry = max(1, math.ceil(self.pending * self._seconds_per_job))
            raise ApiError(503, f"server busy: {self.pending} requests queued, try again "
                                f"in {retry} s", {"Retry-After": str(retry)})
        self.pending += 1
        return Slot(self)

    def submit(self, fn: Callable[..., T], *args: Any) -> Future:
        """Run `fn` in the model thread (used directly only at start-up)."""
        return self.executor.submit(self._timed, fn, *args)

    def _timed(self, fn: Callable[..., T], *args: Any) -> T:
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            seconds = time.perf_counter() - start
            self._seconds_per_job = 0.8 * self._seconds_per_job + 0.2 * seconds

    def _release(self) -> None:
        self.pending -= 1

    def shutdown(self) -> None:
        """Finish the work already handed to the model thread, then stop it."""
        self.executor.shutdown(wait=True)


class Slot:
    """One admitted request. Released when the request ends, or, when its reading is
    still running in the model thread (a timeout), when that reading ends."""

    def __init__(self, queue: ModelQueue) -> None:
        self.queue = queue
        self.future: Future | None = None
        self.started = time.monotonic()

    def remaining(self) -> float:
        return self.queue.timeout_s - (time.monotonic() - self.started)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in the model thread; 503 if it has not finished in time."""
        loop = asyncio.get_running_loop()
        self.future = self.queue.submit(fn, *args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(self.future, loop=loop),
                                          max(self.remaining(), 0.001))
        except asyncio.TimeoutError:
            self.future.cancel()  # never starts if still queued; a running one finishes
            raise ApiError(503, f"request timed out after {self.queue.timeout_s:g} s",
                           {"Retry-After": "1"}) from None

    async def __aenter__(self) -> Slot:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.future is None or self.future.done():
            self.queue._release()
        else:
            loop = asyncio.get_running_loop()
            self.future.add_done_callback(
                lambda _: loop.call_soon_threadsafe(self.queue._release))
