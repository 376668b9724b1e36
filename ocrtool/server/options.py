"""The reading options a client may set per request, parsed from query or form fields.

One table (`OPTIONS`) drives parsing, validation, the OpenAPI description and the page's
choices, so they cannot drift apart. Every option maps onto a keyword of `Reader(...)` or
`Reader.read_pages(...)`: the server adds no reading behaviour of its own. Options the
client leaves out are not passed at all, so the Reader's defaults (the same as `ocrtool
read`'s) apply. Options whose Reader keyword does not exist in the installed version (a
language or rotation option still being added) are left out of the table at start-up.

What a client may not choose: anything naming a file on the server (weights, outputs),
the backend, device, precision or thread count (the operator's choice at `ocrtool serve`).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ApiError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
MAX_TEXT_OPTION = 2000  # characters in an allow/block list; longer is a mistake or abuse


@dataclass(frozen=True)
class Option:
    name: str  # query/form field name
    kind: str  # "str", "int", "float", "bool" or "choice"
    help: str
    target: str = "reader"  # keyword of Reader(...) ("reader") or of read_pages ("read")
    keyword: str = ""  # the keyword there; defaults to `name`
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None

    @property
    def key(self) -> str:
        return self.keyword or self.name

    def parse(self, raw: str) -> Any:
        """Convert and check one raw value; any problem is a 400 naming the option."""
        raw = raw.strip() if self.kind != "str" else raw
        if self.kind == "choice":
            if raw not in self.choices:
                raise ApiError(400, f"option {self.name}: {raw!r} is not one of "
                                    f"{', '.join(self.choices)}")
            return raw
        if self.kind == "bool":
            if raw.lower() in _TRUE:
                return True
            if raw.lower() in _FALSE:
                return False
            raise ApiError(400, f"option {self.name}: {raw!r} is not a boolean (true/false)")
        if self.kind == "str":
            if len(raw) > MAX_TEXT_OPTION:
                raise ApiError(400, f"option {self.name}: longer than {MAX_TEXT_OPTION} "
                                    "characters")
            return raw
        try:
            value = int(raw) if self.kind == "int" else float(raw)
        except ValueError:
            raise ApiError(400, f"option {self.name}: {raw!r} is not a"
                                f"{'n integer' if self.kind == 'int' else ' number'}") from None
        if value != value or (self.low is not None and value < self.low) or (
                self.high is not None and value > self.high):
            raise ApiError(400, f"option {self.name}: {raw} is outside "
                                f"[{self.low:g}, {self.high:g}]")
        return value


# The CLI's ranges, except `canvas`: an 8000-pixel detector pass needs about a gigabyte,
# more than one request of a shared service should be able to ask for.
_ALL_OPTIONS = (
    Option("decoder", "choice", "CTC decoder", choices=("greedy", "beam")),
    Option("beam_width", "int", "beam width of the beam decoder", low=1, high=100),
    Option("lm_weight", "float", "weight of the language's shipped character LM (beam only)",
           low=0, high=5),
    Option("allowlist", "str", "only these characters may be output"),
    Option("blocklist", "str", "these characters are never output"),
    Option("lexicon", "bool", "put near-miss words right with the shipped word list"),
    Option("reread_below", "float", "read lines under this mean character probability "
           "again at four other widths and let the readings vote (0: off)", low=0, high=1),
    Option("detail", "choice", "report lines, or single words", choices=("lines", "words")),
    Option("read_by", "choice", "recognize whole lines or each word",
           choices=("lines", "words")),
    Option("min_confidence", "float", "drop lines below this confidence", low=0, high=1),
    Option("min_char_confidence", "float",
           "drop detected lines read below this mean character probability (lines of one "
           "or two characters too; default: the language's)", low=0, high=1),
    Option("canvas", "int", "longest side the detector first sees", low=64, high=4000),
    Option("magnify", "float", "enlarge the image first (small text)", low=0.1, high=8),
    Option("lang", "str", "language of the recognizer"),
    Option("rotate", "choice", "page rotation: found automatically, none, or given",
           choices=("auto", "none", "0", "90", "180", "270")),
    Option("pages", "str", "pages of a PDF or multi-page TIFF to read, e.g. 1-3,7"),
    Option("dpi", "float", "resolution PDF pages are rendered at", low=36, high=600),
    Option("use_text_layer", "bool", "take a PDF page's own text where it has one"),
    Option("no_detect", "bool", "treat the image as one text line", target="read",
           keyword="recognize_only"),
)


def _keywords(function: object) -> set[str]:
    return {name for name, p in inspect.signature(function).parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _supported(options: tuple[Option, ...]) -> tuple[Option, ...]:
    """The options the installed Reader accepts: its named keywords and, where the Reader
    takes its reading options as a ReaderConfig, that config's fields."""
    from ..reader import Reader

    reader = _keywords(Reader.__init__)
    try:
        from ..config import ReaderConfig

        reader |= {f.name for f in dataclasses.fields(ReaderConfig)}
    except ImportError:
        pass
    accepted = {"reader": reader, "read": _keywords(Reader.read_pages)}
    return tuple(o for o in options if o.key in accepted[o.target])


class ReadOptions:
    """The options of one request, split into Reader(...) and read_pages(...) keywords."""

    def __init__(self, reader: dict[str, Any], read: dict[str, Any], fmt: str | None) -> None:
        self.reader, self.read, self.format = reader, read, fmt

    def reader_key(self) -> tuple:
        """Hashable identity of the Reader these options need (for the Reader cache)."""
        return tuple(sorted(self.reader.items()))


class OptionTable:
    """Parses the fields of one request against the options this Reader supports."""

    def __init__(self, options: tuple[Option, ...] | None = None) -> None:
        self.options = _supported(_ALL_OPTIONS) if options is None else options
        self.by_name = {o.name: o for o in self.options}

    def parse(self, fields: Mapping[str, str], formats: tuple[str, ...]) -> ReadOptions:
        """Options from query and form fields together; unknown names are a 400 (a typo
        silently ignored would give a result read with options the client did not ask)."""
        reader: dict[str, Any] = {}
        read: dict[str, Any] = {}
        fmt = None
        for name, raw in fields.items():
            if name == "format":
                if raw not in formats:
                    raise ApiError(400, f"option format: {raw!r} is not one of "
                                        f"{', '.join(formats)}")
                fmt = raw
                continue
            option = self.by_name.get(name)
            if option is None:
                known = ", ".join(["format", *self.by_name])
                raise ApiError(400, f"unknown option {name!r}; known options: {known}")
            (reader if option.target == "reader" else read)[option.key] = option.parse(raw)
        if reader.get("lm_weight", 0) > 0 and reader.get("decoder") != "beam":
            raise ApiError(400, "option lm_weight needs decoder=beam")
        return ReadOptions(reader, read, fmt)

    def describe(self) -> list[dict]:
        """The options as plain data (for /v1/info and the OpenAPI document)."""
        out = []
        for o in self.options:
            d: dict[str, Any] = {"name": o.name, "type": o.kind, "help": o.help}
            if o.choices:
                d["choices"] = list(o.choices)
            if o.low is not None:
                d["min"], d["max"] = o.low, o.high
            out.append(d)
        return out
