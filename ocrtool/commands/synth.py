"""`ocrtool synth lines|pages`: write synthetic training data (logic in ocrtool/synth/)."""

from __future__ import annotations

import click

from ..synth.writer import write_dataset, write_preview


def _options(f):
    f = click.option(
        "--preview",
        type=click.Path(dir_okay=False),
        help="Also write a contact sheet of samples with labels/boxes drawn.",
    )(f)
    f = click.option(
        "--workers",
        "-w",
        type=click.IntRange(1),
        default=1,
        show_default=True,
        help="Worker processes (the output does not depend on it).",
    )(f)
    f = click.option(
        "--seed", type=int, default=0, show_default=True, help="Same seed, same bytes."
    )(f)
    f = click.option(
        "--out",
        "-o",
        type=click.Path(file_okay=False),
        required=True,
        help="Output folder: images/*.png and gt.jsonl.",
    )(f)
    f = click.option(
        "--count", "-n", type=click.IntRange(0), required=True, help="Number of samples."
    )(f)
    return f


def _run(kind: str, count: int, out: str, seed: int, workers: int, preview: str | None,
         lang: str = "en", held_out: bool = False) -> None:
    gt = write_dataset(kind, count, out, seed=seed, workers=workers, lang=lang,
                       held_out=held_out)
    click.echo(f"wrote {count} {kind} to {gt}")
    if preview:
        write_preview(kind, seed, preview, count=min(count, 40 if kind == "lines" else 9),
                      lang=lang, held_out=held_out)
        click.echo(f"wrote preview {preview}")


@click.group()
def synth() -> None:
    """Render synthetic text lines (recognizer) or pages with character boxes (detector)."""


@synth.command()
@_options
@click.option("--lang", type=click.Choice(["en", "ko"]), default="en", show_default=True,
              help="Language of the text and fonts.")
@click.option("--held-out", is_flag=True,
              help="Korean: draw with the fonts and text kept out of training (dev sets).")
def lines(count: int, out: str, seed: int, workers: int, preview: str | None, lang: str,
          held_out: bool) -> None:
    """Single text-line crops with their labels."""
    _run("lines", count, out, seed, workers, preview, lang, held_out)


@synth.command()
@_options
def pages(count: int, out: str, seed: int, workers: int, preview: str | None) -> None:
    """Pages with line, word and character polygons."""
    _run("pages", count, out, seed, workers, preview)
