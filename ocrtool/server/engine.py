"""The models of one worker process: Readers created and used only in the model thread.

A Reader is built once (at start-up, with the server's settings) and reused for every
request. Options that change how a Reader is built (decoder, allow list, canvas...) need a
Reader of their own; the few most recently used ones are kept, so a client that always
asks for beam search pays the model load once, and a client cycling through options
cannot grow memory without bound.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ..results import PageResult
from .errors import ApiError

READER_CACHE = 4  # Readers kept per worker; each holds its own copy of the models


class Engine:
    """Builds, caches and runs Readers; every method runs in the model thread."""

    def __init__(self, base: dict[str, Any], cache_size: int = READER_CACHE) -> None:
        self.base = base  # the operator's Reader settings: backend, device, weights...
        self.cache_size = cache_size
        self.readers: OrderedDict[tuple, Any] = OrderedDict()

    def reader(self, key: tuple = ()) -> Any:
        """The Reader for the request options `key` (sorted (keyword, value) pairs)."""
        if key in self.readers:
            self.readers.move_to_end(key)
            return self.readers[key]
        from ..reader import Reader

        try:
            reader = Reader(**self.base, **dict(key))
        except (ValueError, TypeError) as e:  # an option value the Reader refuses
            raise ApiError(400, f"bad option: {e}") from None
        self.readers[key] = reader
        if len(self.readers) > self.cache_size:
            self.readers.popitem(last=False)
        return reader

    def read(self, data: bytes, name: str, key: tuple,
             read_kwargs: dict[str, Any]) -> list[PageResult]:
        """Read every page of an uploaded file; a file the Reader cannot read is a 422
        (imageio's ImageError is a ValueError)."""
        reader = self.reader(key)
        try:
            return reader.read_pages(data, name=name, **read_kwargs)
        except ValueError as e:  # ImageError, or a value the file holds (as batch.read_one)
            raise ApiError(422, str(e)) from None
        except MemoryError:
            raise ApiError(503, "out of memory while reading this image",
                           {"Retry-After": "5"}) from None
