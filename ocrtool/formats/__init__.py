"""Output writers: one small module per format, all taking a PageResult.

`render(page, fmt)` gives a complete standalone document for one image (what
`--output-dir` writes per image). A stream of many images into one file or stdout
(`-o FILE` or no option) uses `Format.header`, `Format.page` for each image, then
`Format.footer`, so TSV has one header row and hOCR is one document with many pages;
`render_stream` does exactly that. The pages of a multi-page TIFF are items of such a
stream like any other image; `render_pages` makes one file's document of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..io_utils import write_atomic
from ..results import PageResult
from . import alto, hocr, jsonl, text, tsv
from . import pdf as searchable_pdf

__all__ = ["FORMATS", "PICTURE_FORMATS", "Format", "format_for_output", "render",
           "render_pages", "render_stream", "output_path", "write_atomic"]


def _nothing() -> str:
    return ""


@dataclass(frozen=True)
class Format:
    name: str
    extension: str  # for one file per image (--output-dir)
    stream_extension: str  # for many images in one file (-o)
    render: Callable[[PageResult], str]  # standalone document for one image
    header: Callable[[], str]  # start of a multi-image stream
    page: Callable[[PageResult, int], str]  # one image inside a stream (0-based index)
    footer: Callable[[], str]  # end of a multi-image stream


FORMATS: dict[str, Format] = {
    "text": Format("text", text.EXTENSION, text.EXTENSION, text.render, _nothing,
                   lambda page, index: text.page_text(page), _nothing),
    "json": Format("json", jsonl.EXTENSION, jsonl.STREAM_EXTENSION, jsonl.render, _nothing,
                   lambda page, index: jsonl.render(page), _nothing),
    "tsv": Format("tsv", tsv.EXTENSION, tsv.EXTENSION, tsv.render, tsv.header,
                  lambda page, index: tsv.rows(page), _nothing),
    "hocr": Format("hocr", hocr.EXTENSION, hocr.EXTENSION, hocr.render, hocr.header,
                   hocr.page_xml, hocr.footer),
    "alto": Format("alto", alto.EXTENSION, alto.EXTENSION, alto.render, alto.header,
                   alto.page_xml, alto.footer),
}

# Binary formats made from the page pictures as well as the results: not in FORMATS (whose
# writers return text); the CLI writes them with their own module. name -> extension.
PICTURE_FORMATS: dict[str, str] = {"pdf": searchable_pdf.EXTENSION}


def format_for_output(path: str | os.PathLike | None) -> str | None:
    """The format an output file's name asks for ("out.jsonl" -> "json", "book.pdf" ->
    "pdf", "scan.alto.xml" -> "alto"), by the formats' own extensions; None for another
    name (the caller's default applies). A user who writes `-o results.json` expects
    JSON in it, not plain text."""
    if path is None:
        return None
    name = Path(path).name.lower()
    suffixes = [(ext, f.name) for f in FORMATS.values()
                for ext in (f.extension, f.stream_extension)]
    suffixes += [(ext, name_) for name_, ext in PICTURE_FORMATS.items()]
    # the longest matching extension wins (".alto.xml" before a shorter one)
    for ext, fmt in sorted(suffixes, key=lambda item: -len(item[0])):
        if name.endswith(ext) and len(name) > len(ext):
            return fmt
    return None


def get_format(fmt: str) -> Format:
    """Look a format up by name, with an error that lists the valid names."""
    try:
        return FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}") from None


def render(page: PageResult, fmt: str) -> str:
    """One image's result as a complete document in format `fmt`."""
    return get_format(fmt).render(page)


def render_pages(pages: Sequence[PageResult], fmt: str) -> str:
    """All pages of one input file as one complete document (what --output-dir writes).

    One page gives exactly `render(page, fmt)`, so ordinary images are written as before.
    Several pages are a stream of their own: text pages separated by form feeds, one JSON
    object per page per line, one TSV header, one hOCR document with an ocr_page each.
    """
    if len(pages) == 1:
        return render(pages[0], fmt)
    return "".join(render_stream(pages, fmt))


def render_stream(pages: Iterable[PageResult], fmt: str) -> Iterator[str]:
    """Chunks of one document holding many images, yielded as each page arrives.

    Lazy on purpose: the CLI can write each chunk as soon as its image is read, so a long
    folder run shows output progressively and keeps no results in memory.
    """
    f = get_format(fmt)
    yield f.header()
    for index, page in enumerate(pages):
        yield f.page(page, index)
    yield f.footer()


def output_path(image: str | os.PathLike, root: str | os.PathLike,
                out_dir: str | os.PathLike, fmt: str) -> Path:
    """Where --output-dir puts the result for `image`, mirroring its place under `root`.

    The extension is appended, not substituted (a.png -> a.png.txt), so a.png and a.jpg in
    one folder cannot overwrite each other's results.
    """
    image, root = Path(image), Path(root)
    try:
        rel = image.relative_to(root)
    except ValueError:
        rel = Path(image.name)
    extension = PICTURE_FORMATS.get(fmt) or get_format(fmt).extension
    return Path(out_dir) / rel.parent / (rel.name + extension)
