"""`ocrtool read PATH...`: images and folders in, text/JSON/TSV/hOCR out.

Every page of a multi-page TIFF is read: in a stream (stdout, -o) its pages follow each
other like images, with --output-dir one file holds all pages of its image, and
--annotate draws one picture per page.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ..batch import (
    done_in_jsonl,
    first_clash,
    read_files,
    same_file,
    show_warnings_on_one_line,
    write_file_result,
)
from ..cli import EXIT_ERROR, EXIT_FAILED_FILES, EXIT_INTERRUPTED, EXIT_OK
from ..formats import PICTURE_FORMATS, format_for_output, get_format, output_path
from ..formats.annotate import ANNOTATED_SUFFIX, annotated_path
from ..imageio import iter_image_files
from ..io_utils import display_name, one_line_name
from ..results import PageResult
from .options import reader_config, reader_options


def _reader_kwargs(o: dict) -> dict:
    """Reader settings: the ReaderConfig fields, checked once here (a bad value is a usage
    error naming the option), plus the document options."""
    config = reader_config({**o, "lines": not o["words"]})
    return {**config.to_dict(),
            "pages": o["pages"], "dpi": o["dpi"], "use_text_layer": o["use_text_layer"]}


def _error_line(name: str, error: str) -> str:
    """`ocrtool: NAME: WHY` for a file that failed. The error kept in the results ends
    with the file's name (it must stand alone there); the line names it once."""
    return f"ocrtool: {name}: {error.removesuffix(f': {name}')}"


def _check_pages(ctx, param, value):
    """--pages is checked before anything is read, with the range that is wrong."""
    if value is None:
        return None
    from ..pdf import parse_pages

    try:
        parse_pages(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    return value


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-f", "--format", "fmt",
              type=click.Choice(["text", "json", "tsv", "hocr", "alto", "pdf", "parquet"]),
              default=None,
              help="Output format (json = JSON Lines; pdf = searchable PDF, needs -o FILE "
                   "or --output-dir; parquet only with --ray). Default: the one -o FILE's "
                   "extension names (.txt, .json/.jsonl, .tsv, .hocr, .alto.xml, .pdf), "
                   "else text.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write all results to this file instead of stdout.")
@click.option("--output-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Write one file per image here, mirroring the input folders.")
@click.option("--annotate", type=click.Path(path_type=Path, file_okay=False),
              help="Write each image (each page of a TIFF) with its boxes and text drawn "
                   "into this folder.")
@click.option("-r", "--recursive", is_flag=True, help="Descend into sub-folders.")
@click.option("--ext", "extensions", multiple=True, help="Only these extensions in folders.")
@reader_options
@click.option("--pages", callback=_check_pages, metavar="RANGES",
              help="Only these pages of a PDF or TIFF, e.g. 1-3,7 or 5- (from 1).")
@click.option("--dpi", type=click.IntRange(10, 1200), default=300, show_default=True,
              help="Resolution PDF pages are rendered at (and pictures placed at in "
                   "--format pdf).")
@click.option("--use-text-layer", is_flag=True,
              help="Take a PDF page's own text when it has any, instead of OCR.")
@click.option("--no-detect", is_flag=True, help="Treat each image as one text line.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None,
              metavar="[ADDRESS]",
              help="Read on Ray actors (pip install 'ocrtool[ray]'); write JSON Lines or "
                   "Parquet shards into --output-dir. ADDRESS: auto, local, HOST:PORT or "
                   "ray://HOST:PORT (default: RAY_ADDRESS, a cluster on this machine, else "
                   "a new local one).")
@click.option("--actors", type=click.IntRange(1, 100000), default=None,
              help="Ray actors (default: one per GPU of the cluster, else one per CPU).")
@click.option("--resume", is_flag=True, help="Skip images already in -o FILE / --output-dir.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
def read(paths, fmt, output, output_dir, annotate, recursive, extensions, no_detect, lines,
         workers, resume, quiet, ray_address, actors, **opts) -> None:
    """Read text from images, PDFs and folders of them (PDF pages: --pages)."""
    fmt = fmt or format_for_output(output) or "text"
    opts["words"] = not lines
    if ray_address is not None or actors is not None or fmt == "parquet":
        _read_on_ray(paths, fmt, output, output_dir, annotate, recursive, extensions,
                     no_detect, workers, resume, quiet, ray_address, actors,
                     _reader_kwargs(opts))
    if output and output_dir:
        raise click.UsageError("use either -o/--output or --output-dir, not both")
    if resume and not (output_dir or (output and fmt == "json")):
        raise click.UsageError("--resume needs --output-dir, or -o FILE with --format json")
    if opts["lm_weight"] > 0 and opts["decoder"] != "beam":
        raise click.UsageError("--lm-weight needs --decoder beam")
    files = iter_image_files(paths, recursive=recursive, extensions=extensions or None,
                             skip_suffixes=(ANNOTATED_SUFFIX,))
    if not files:
        raise click.UsageError("no images found in the given folders")
    _check_outputs(files, fmt, output, output_dir, annotate)
    show_warnings_on_one_line()
    if resume:
        files = _not_done(files, fmt, output, output_dir)

    try:
        from ..reader import Reader

        reader = Reader(**_reader_kwargs(opts)) if workers == 1 else None
    except ValueError as e:  # options that cannot go together: a usage error (2)
        raise click.UsageError(" ".join(str(e).split())) from None
    except (OSError, RuntimeError) as e:  # models that cannot load: not a file's failure (3)
        click.echo(f"Error: cannot start the reader: {' '.join(str(e).split())}", err=True)
        raise SystemExit(EXIT_ERROR) from None

    if fmt in PICTURE_FORMATS and not (output or output_dir):
        raise click.UsageError(f"--format {fmt} writes a file: give -o FILE.{fmt} or "
                               "--output-dir")
    pictures = _PdfOutput(output, opts["pages"], opts["dpi"]) if fmt in PICTURE_FORMATS \
        else None
    fmt_obj = get_format("text" if pictures else fmt)
    stream = None
    if not output_dir and not pictures:
        stream = open(output, "a" if resume else "w", encoding="utf-8") if output else sys.stdout
        stream.write(fmt_obj.header())
    start, errors, index, finished = time.perf_counter(), 0, 0, 0
    results = read_files([f for f, _ in files], _reader_kwargs(opts), workers,
                         recognize_only=no_detect, reader=reader)
    bar = _progress(len(files), quiet)
    try:
        for (path, root), pages in zip(files, results):
            failed = pages[0].error is not None  # a file fails as a whole: one error result
            if failed:
                errors += 1
                click.echo(_error_line(one_line_name(path), pages[0].error), err=True)
            if pictures:
                pictures.add(path, pages, output_path(path, root, output_dir, fmt)
                             if output_dir else None)
            elif output_dir:
                write_file_result(output_path(path, root, output_dir, fmt), pages, fmt)
            else:
                for page in pages:  # index runs over the stream's pages (unique hOCR ids)
                    stream.write(fmt_obj.page(page, index))
                    index += 1
                stream.flush()
            if annotate and not failed:
                _annotate(path, root, annotate, pages, opts["pages"], opts["dpi"])
            finished += 1
            bar.update(1)
    except KeyboardInterrupt:
        bar.close()
        _end_stream(stream, fmt_obj)  # what was read stays a complete document
        if pictures:
            pictures.close()
        click.echo(f"ocrtool: interrupted after {finished} of {len(files)} images "
                   f"({finished - errors} written, {errors} errors); --resume goes on",
                   err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:  # `ocrtool read ... | head`: ocrtool.cli ends it quietly
        raise
    except OSError as e:  # an output could not be written: disk full, permissions...
        bar.close()
        if stream is not None and stream is not sys.stdout:
            try:
                stream.close()
            except OSError:
                pass  # the same error again while flushing: already being reported
        click.echo(f"ocrtool: cannot write the output after {finished} of {len(files)} "
                   f"images: {display_name(' '.join(str(e).split()))}", err=True)
        sys.exit(EXIT_ERROR)
    bar.close()
    _end_stream(stream, fmt_obj)
    if pictures:
        try:
            pictures.close()
        except OSError as e:
            click.echo(f"ocrtool: cannot write {display_name(output)}: "
                       f"{' '.join(str(e).split())}", err=True)
            sys.exit(EXIT_ERROR)
    seconds = time.perf_counter() - start
    if not quiet and (len(files) > 1 or resume):
        click.echo(f"ocrtool: {len(files)} images, {errors} errors, {seconds:.1f} s, "
                   f"{len(files) / max(seconds, 1e-9):.2f} images/s", err=True)
    sys.exit(EXIT_FAILED_FILES if errors else EXIT_OK)


def _end_stream(stream, fmt_obj) -> None:
    if stream is not None:
        stream.write(fmt_obj.footer())
        if stream is not sys.stdout:
            stream.close()


def _check_outputs(files, fmt, output, output_dir, annotate) -> None:
    """Refuse, before anything is read, outputs that would destroy an input or each other:
    -o naming one of the images (it was truncated to 0 bytes), and two images whose
    results or pictures would land on one file (A/scan.png and B/scan.png)."""
    if output:
        for path, _ in files:
            if same_file(output, path):
                raise click.UsageError(f"-o {display_name(output)} is one of the input "
                                       "images; choose another output file")
    for kind, folder, target in (
            ("--output-dir", output_dir, lambda f, r: output_path(f, r, output_dir, fmt)),
            ("--annotate", annotate, lambda f, r: annotated_path(f, r, annotate))):
        clash = first_clash((f, target(f, r)) for f, r in files) if folder else None
        if clash:
            a, b, out = (display_name(x) for x in clash)
            raise click.UsageError(
                f"{a} and {b} would both be written to {out} ({kind}); name the folder "
                "that holds both (with -r) so the output mirrors their folders, or read "
                "them in separate runs")


def _read_on_ray(paths, fmt, output, output_dir, annotate, recursive, extensions,
                 no_detect, workers, resume, quiet, address, actors, reader_kwargs) -> None:
    """`--ray`: the folder run of ocrtool.distributed.read_many; the same error lines,
    summary and exit codes as a local run. Exits."""
    from ..distributed import RayRunError, check_address, read_many

    if address is None:
        raise click.UsageError(f"{'--actors' if actors else '--format parquet'} needs --ray")
    if fmt not in ("json", "parquet"):
        raise click.UsageError("--ray writes JSON Lines or Parquet shards: use --format "
                               "json or --format parquet")
    if not output_dir or output or annotate:
        raise click.UsageError("--ray writes shards into --output-dir (not -o or --annotate)")
    if workers > 1:
        raise click.UsageError("--workers is for local runs; with --ray use --actors")
    try:
        check_address(address)
    except RayRunError as e:
        raise click.UsageError(str(e)) from None
    if not iter_image_files(paths, recursive=recursive, extensions=extensions or None,
                            skip_suffixes=(ANNOTATED_SUFFIX,)):
        raise click.UsageError("no images found in the given folders")
    done = [0, 0]  # files finished, of which failed

    def report(pages: list[PageResult]) -> None:
        done[0] += 1
        if pages[0].error is not None:
            done[1] += 1
            click.echo(_error_line(pages[0].image, pages[0].error), err=True)

    try:
        summary = read_many(paths, output_dir, reader_kwargs, address or None,
                            fmt="jsonl" if fmt == "json" else fmt, actors=actors,
                            resume=resume, recursive=recursive,
                            extensions=extensions or None, recognize_only=no_detect,
                            on_file=report)
    except RayRunError as e:  # no Ray, no cluster, readers that cannot load
        click.echo(f"ocrtool: {e}", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:  # read_many has written every finished file
        click.echo(f"ocrtool: interrupted after {done[0]} images ({done[1]} errors); "
                   "--resume goes on", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if not quiet:
        click.echo(f"ocrtool: {summary.files} images, {summary.errors} errors, "
                   f"{summary.seconds:.1f} s, {summary.files / max(summary.seconds, 1e-9):.2f}"
                   f" images/s ({summary.actors} Ray actors)", err=True)
    sys.exit(EXIT_FAILED_FILES if summary.errors else EXIT_OK)


def _not_done(files, fmt, output, output_dir):
    if output_dir:
        return [(f, r) for f, r in files if not output_path(f, r, output_dir, fmt).exists()]
    done = done_in_jsonl(output)
    return [(f, r) for f, r in files if display_name(f) not in done]


def _annotate(path: Path, root: Path, out_dir: Path, pages: list[PageResult],
              page_range: str | None = None, dpi: int = 300) -> None:
    """One picture per page: a.annotated.png, or doc.p1.annotated.png, doc.p2... for the
    pages of a multi-page TIFF (decoded again, one page at a time)."""
    from ..formats.annotate import write_annotated
    from ..imageio import iter_pages

    # the same pages at the same resolution as they were read (--pages, --dpi)
    for page, (_, _, rgb) in zip(pages, iter_pages(path, page_range, dpi)):
        write_annotated(annotated_path(path, root, out_dir, page.page, page.pages), rgb,
                        page)


def _progress(total: int, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="img", disable=quiet or total < 2 or not sys.stderr.isatty())


class _PdfOutput:
    """--format pdf: each file's pages, pictures decoded again (one at a time, the pages and
    resolution they were read at), into one PDF (-o) or one PDF per file (--output-dir).

    A failed file writes nothing (--resume reads it again). JPEG sources and rendered PDF
    pages are stored as JPEG, everything else losslessly.
    """

    def __init__(self, output: Path | None, pages: str | None, dpi: int) -> None:
        self.output, self.pages, self.dpi = output, pages, dpi
        self.doc = None

    def add(self, path: Path, results: list[PageResult], target: Path | None) -> None:
        if results[0].error is not None:
            return
        from ..formats.pdf import SearchablePdf, add_source_pages

        doc = SearchablePdf(self.dpi, title=path.stem) if target else self._shared()
        add_source_pages(doc, path, results, self.pages, self.dpi)
        if target:
            doc.save(target)

    def _shared(self):
        from ..formats.pdf import SearchablePdf

        if self.doc is None:
            self.doc = SearchablePdf(self.dpi, title=self.output.stem)
        return self.doc

    def close(self) -> None:
        """Write the -o document (nothing when no file could be read)."""
        if self.doc is not None and self.doc.pages:
            self.doc.save(self.output)
