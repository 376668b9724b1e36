"""ReaderConfig: every reading option in one place, with its default and its check.

The Reader, `ocrtool read`, `ocrtool eval`, folder runs and worker processes all take
their settings from this one object, so a default is written once (here) and a bad value
is refused once, when the Reader is built, with a message naming the option, instead of
failing later as a ZeroDivisionError or as silently empty text.

This module imports nothing heavy: a config can be built and checked without numpy,
torch or onnxruntime.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from .languages import DEFAULT_LANG, get_language

BACKENDS = ("auto", "torch", "onnx")
DEVICES = ("auto", "cpu", "cuda")
DECODERS = ("greedy", "beam")
DETAILS = ("lines", "words")
READ_BY = ("lines", "words")

# Weight of the character LM inside the beam. 0: the LM is off (and not even loaded); the
# recognition stage and `decode_batch` share this default.
LM_WEIGHT = 0.0
BEAM_WIDTH = 8


@dataclass(frozen=True)
class ReaderConfig:
    """How a Reader reads. Defaults are what `ocrtool read` does without options.

    `canvas` and `magnify` set the detector's input scale; `detail` is what a result
    lists (lines, or single words as lines); `read_by` is what the recognizer sees (whole
    lines, or each detected word). `precision` is checked by the backend loader, which
    knows the files and the CPU.
    """

    backend: str = "auto"
    device: str = "auto"
    weights: str | Path | None = None
    threads: int | None = None
    precision: str = "auto"
    decoder: str = "greedy"
    beam_width: int = BEAM_WIDTH
    lm_weight: float = LM_WEIGHT
    allowlist: str | None = None
    blocklist: str | None = None
    # words one or two letters off a word of the language's list are put right where the
    # model nearly read the listed one, and two listed words read as one are split
    # (recognition/lexicon.py); off for codes and names
    lexicon: bool = True
    # a UTF-8 file of one word per line added to the word list (names, product words,
    # jargon): never replaced, and what near misses are put right to
    user_words: str | Path | None = None
    # lines read with a character confidence under this are read again at four other
    # widths and the readings vote (recognition/widths.py): more word crops read right
    # (REREAD_GATE, chosen on validation crops), 3.4x the recognition time on scene word
    # crops (many are in doubt), pages unchanged on average; 0: off
    reread_below: float = 0.0
    detail: str = "lines"
    min_confidence: float = 0.0
    # detected lines read less legibly than this (geometric mean of their characters'
    # probabilities) are dropped as non-text; None: the language's own threshold
    # (languages.py). Crops read with --no-detect are never dropped.
    min_char_confidence: float | None = None
    canvas: int = 1600
    magnify: float = 1.0
    batch_size: int = 32
    read_by: str = "lines"
    # page orientation (ocrtool/orientation.py): "auto" finds the quarter turn, "none"
    # reads the page as it comes, 0/90/180/270 turn it clockwise by that much first
    rotate: str | int = "auto"
    # the recognizer's language (languages.py); the detector is shared
    lang: str = DEFAULT_LANG

    def __post_init__(self) -> None:
        get_language(self.lang)  # a ValueError listing the languages there are
        _choice("backend", self.backend, BACKENDS)
        _choice("device", self.device, DEVICES)
        _choice("decoder", self.decoder, DECODERS)
        _choice("detail", self.detail, DETAILS)
        _choice("read_by", self.read_by, READ_BY)
        object.__setattr__(self, "rotate", _rotate(self.rotate))
        _positive_int("beam_width", self.beam_width)
        _positive_int("canvas", self.canvas)
        _positive_int("batch_size", self.batch_size)
        if self.threads is not None:
            _positive_int("threads", self.threads)
        _number("lm_weight", self.lm_weight, low=0.0)
        _number("min_confidence", self.min_confidence, low=0.0, high=1.0)
        _number("reread_below", self.reread_below, low=0.0, high=1.0)
        if self.min_char_confidence is not None:
            _number("min_char_confidence", self.min_char_confidence, low=0.0, high=1.0)
        _number("magnify", self.magnify, low=0.0, open_low=True)
        for name in ("allowlist", "blocklist"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string of characters, got {value!r}")
        if self.allowlist is not None and not self.allowlist:
            raise ValueError("allowlist is empty: nothing could be read (leave it unset "
                             "to allow every character)")
        if self.user_words is not None and not Path(self.user_words).is_file():
            raise ValueError(f"user_words: {self.user_words} is not a file")
        if not isinstance(self.precision, str):
            raise ValueError(f"precision must be a string, got {self.precision!r}")

    @classmethod
    def from_options(cls, config: ReaderConfig | None = None, **options: Any) -> ReaderConfig:
        """`config` (or the defaults) with `options` applied; an unknown name is refused."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown Reader option(s): {', '.join(unknown)}")
        return replace(config or cls(), **options)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (weights as a string): what a worker process is started with."""
        out = asdict(self)
        for name in ("weights", "user_words"):
            if out[name] is not None:
                out[name] = str(out[name])
        return out


def _rotate(value: object) -> str | int:
    """"auto", "none" or a clockwise turn of 0/90/180/270 ("90" and 90 alike)."""
    text = str(value).strip().lower()
    if text in ("auto", "none"):
        return text
    if not isinstance(value, bool) and text in ("0", "90", "180", "270"):
        return int(text)
    raise ValueError(f"unknown rotate {value!r} (use auto, none, 0, 90, 180 or 270)")


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r} (use {', '.join(allowed)})")


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")


def _number(name: str, value: object, low: float | None = None, high: float | None = None,
            open_low: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value) \
            or math.isinf(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (value <= low if open_low else value < low):
        bound = f"above {low:g}" if open_low else f"at least {low:g}"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be at most {high:g}, got {value!r}")
