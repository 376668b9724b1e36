"""The reading options shared by `ocrtool read` and `ocrtool eval`, and the ReaderConfig
they make. Defaults come from ReaderConfig itself, so every command reads (and scores)
with the same settings as the Python API unless told otherwise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import click

from ..config import BACKENDS, DECODERS, DEVICES, READ_BY, ReaderConfig
from ..detection.postprocess import DetectParams
from ..languages import LANGUAGES
from ..recognition.widths import REREAD_GATE

_D = ReaderConfig()

# page orientation (ocrtool/orientation.py); `ocrtool read` lists it among its own options
ROTATE_OPTION = click.option(
    "--rotate", type=click.Choice(["auto", "none", "0", "90", "180", "270"]),
    default=str(_D.rotate), show_default=True,
    help="Turn pages clockwise by this much before reading; auto finds the turn (and "
         "levels pages tilted by up to 20 degrees), none reads pages as they come. Boxes "
         "are always in the original image's pixels.")

# which models run where: also `ocrtool serve`'s
MODEL_OPTIONS: list[Callable] = [
    click.option("--backend", type=click.Choice(BACKENDS), default=_D.backend,
                 show_default=True),
    click.option("--device", type=click.Choice(DEVICES), default=_D.device,
                 show_default=True),
    click.option("--weights", type=click.Path(path_type=Path, file_okay=False, exists=True),
                 help="Folder with detector/recognizer model files (default: shipped ones)."),
    click.option("--precision", type=click.Choice(["auto", "fp32", "int8"]),
                 default=_D.precision, show_default=True,
                 help="ONNX model precision; auto takes the int8 recognizer where the CPU "
                      "runs it right (see `ocrtool info`)."),
    click.option("--lang", type=click.Choice(list(LANGUAGES)), default=_D.lang,
                 show_default=True,
                 help="Language of the text: picks the recognizer (`ocrtool info` lists "
                      "the installed ones)."),
]

# in the order --help lists them
_OPTIONS: list[Callable] = [
    click.option("--decoder", type=click.Choice(DECODERS), default=_D.decoder,
                 show_default=True),
    click.option("--beam-width", type=click.IntRange(1, 100), default=_D.beam_width,
                 show_default=True),
    click.option("--lm-weight", type=click.FloatRange(0, 5), default=_D.lm_weight,
                 show_default=True,
                 help="Weight of the language's shipped character LM (beam decoder "
                      "only); Korean always decodes with its jamo LM."),
    click.option("--allowlist", help="Only these characters may be output."),
    click.option("--blocklist", help="These characters are never output."),
    click.option("--lexicon/--no-lexicon", default=_D.lexicon, show_default=True,
                 help="Put words one or two letters off a word of the language's "
                      "shipped word list right where the model nearly read it, and "
                      "split two listed words read as one where it saw room for a space; "
                      "--no-lexicon for codes, names and other non-words."),
    click.option("--user-words", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                 help="UTF-8 file of words (one per line) added to the word list: names "
                      "and jargon are then kept, and near misses put right to them."),
    click.option("--reread-below", type=click.FloatRange(0, 1), default=_D.reread_below,
                 show_default=True,
                 help="Read lines whose mean character probability is under this again at "
                      "four other widths and keep the reading most of them agree on: more "
                      f"word crops read right ({REREAD_GATE} was best on validation crops), "
                      "at up to 3.4x the recognition time on scene words; 0: off."),
    *MODEL_OPTIONS,
    click.option("--lines/--words", "lines", default=True,
                 help="Report lines or single words."),
    click.option("--read-by", type=click.Choice(READ_BY), default=_D.read_by,
                 show_default=True,
                 help="Recognize whole lines (more accurate on both dev sets) or each word."),
    click.option("--min-confidence", type=click.FloatRange(0, 1), default=_D.min_confidence,
                 show_default=True, help="Drop lines read with less confidence than this."),
    click.option("--min-char-confidence", type=click.FloatRange(0, 1), default=None,
                 help="Drop detected lines whose characters were read with less than this "
                      "probability on average (geometric mean): detections of things that "
                      "are not text. 0 keeps every line [default: the language's, "
                      "higher for lines of one or two characters, see `ocrtool info`]."),
    click.option("--canvas", type=click.IntRange(64, 8000), default=_D.canvas,
                 show_default=True,
                 help="Longest side the detector first sees (small text on a sparse page "
                      f"is looked at again up to {DetectParams.small_text_canvas} px, or "
                      "this if larger)."),
    click.option("--magnify", type=click.FloatRange(0.1, 8), default=_D.magnify,
                 show_default=True, help="Enlarge images first (small text on large scans)."),
    click.option("--threads", type=click.IntRange(1, 256), default=None,
                 help="CPU threads per process."),
    ROTATE_OPTION,
]


def _apply(options: list[Callable], command: Callable) -> Callable:
    for option in reversed(options):
        command = option(command)
    return command


def reader_options(command: Callable) -> Callable:
    """Add every reading option to a click command (they arrive as keyword arguments)."""
    return _apply(_OPTIONS, command)


def model_options(command: Callable) -> Callable:
    """Add --backend, --device, --weights, --precision and --lang to a click command."""
    return _apply(MODEL_OPTIONS, command)


def reader_config(opts: dict[str, Any]) -> ReaderConfig:
    """The ReaderConfig of the options: every ReaderConfig field found in `opts` (those
    `reader_options` adds, and any a command adds itself), `lines` for `detail`.

    Raises click.UsageError for combinations that would silently do nothing."""
    if opts["lm_weight"] > 0 and opts["decoder"] != "beam":
        raise click.UsageError("--lm-weight needs --decoder beam")
    values = {f.name: opts[f.name] for f in fields(ReaderConfig) if f.name in opts}
    values["detail"] = "lines" if opts["lines"] else "words"
    try:
        return ReaderConfig(**values)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
