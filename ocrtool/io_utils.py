"""Small file-system helpers shared by the CLI's writers."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_atomic(path: str | os.PathLike, data: str | bytes, fsync: bool = True) -> None:
    """Write `data` to `path` so that a reader never sees a half-written file.

    The data goes to a temporary file in the same folder (same file system, so the rename
    is atomic) and is then renamed over `path`: a run killed mid-write leaves either the
    old file or the new one, which is what lets `--resume` trust every file it finds.
    Missing parent folders are created (output trees mirror input trees). Text is UTF-8.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # os.open with mode 0o666 honours the umask, unlike tempfile's private 0o600 files.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
