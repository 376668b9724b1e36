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


def display_name(path: str | os.PathLike) -> str:
    """A file name as text that any UTF-8 writer accepts, for results and messages.

    POSIX file names are bytes; Python decodes the bytes that are not UTF-8 to lone
    surrogates (os.fsdecode's surrogateescape), which a UTF-8 writer refuses, so one such
    name used to end a whole run. Those bytes are shown as ``\\xff`` (as Python's repr and
    ``ls -b`` do); every other character, backslashes included, is kept as it is, so a
    valid name is unchanged. The file itself is still opened and mirrored by its exact
    bytes (the Path), only the text label is escaped.
    """
    text = os.fsdecode(path)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte (odd Windows names)
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


_CONTROL = {i: f"\\x{i:02x}" for i in range(32)} | {0x7F: "\\x7f"}
_CONTROL |= {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}


def one_line_name(path: str | os.PathLike) -> str:
    """`display_name` with control characters escaped (\\n, \\t, \\x1b...), so a name
    holding a newline cannot split the one-line error message it appears in. Meant for
    people reading stderr: a name that really holds a backslash and an n reads the same."""
    return display_name(os.fsdecode(path).translate(_CONTROL))
