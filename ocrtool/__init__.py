"""ocrtool: offline OCR with a CRAFT-like detector and a CRNN + CTC recognizer."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Reader", "ReaderConfig", "read", "__version__"]


def __getattr__(name: str):
    # Reader pulls in OpenCV and a runtime; keep `import ocrtool` itself instant.
    if name in ("Reader", "read"):
        from . import reader

        return getattr(reader, name)
    if name == "ReaderConfig":
        from .config import ReaderConfig

        return ReaderConfig
    raise AttributeError(name)
