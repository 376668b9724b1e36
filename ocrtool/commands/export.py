"""`ocrtool export-onnx`: write detector.onnx and recognizer.onnx (optionally int8).

Thin on purpose: everything lives in ocrtool/export.py. Errors are one line on stderr and
exit code 1; a parity failure is an error, because shipping graphs that read differently
from the PyTorch weights would break the promise that both backends give the same text.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from ..languages import DEFAULT_LANG, LANGUAGES

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(1)


def _sample_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def calibration_images(folders: tuple[str, ...], count: int) -> list[Path]:
    """`count` images spread evenly over `folders` (a data set's images/ or any folder),
    so int8 ranges are measured on the kinds of page users read, not on five samples."""
    from ..export import evenly  # onnx is imported only when exporting

    per_folder = [_sample_images(Path(f) / "images") or _sample_images(Path(f))
                  for f in folders]
    share = max(count // max(len(folders), 1), 1)
    return [image for images in per_folder for image in evenly(images, share)]


@click.command("export-onnx")
@click.option("--weights", "weights_dir", default=None, metavar="DIR",
              help="Folder with detector.pt and recognizer.pt [default: shipped weights].")
@click.option("--out", "out_dir", default=None, metavar="DIR",
              help="Where to write the .onnx files [default: the --weights folder].")
@click.option("--opset", default=17, show_default=True, type=int, help="ONNX opset.")
@click.option("--quantize", type=click.Choice(["int8"]), default=None,
              help="Also write recognizer.int8.onnx (static int8 convolutions, calibrated "
                   "on what the float models see on --samples or --calibrate; the CPU "
                   "default where the CPU has VNNI / dot-product instructions).")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Fail unless logits match PyTorch within 1e-3 and both backends read "
                   "the same text on --samples.")
@click.option("--samples", "samples_dir", default="samples", show_default=True,
              metavar="DIR", help="Images (*.png, *.jpg) for the text check and calibration.")
@click.option("--calibrate", "calibrate_dirs", multiple=True, metavar="DIR",
              help="Calibrate int8 on images from these folders (data sets' images/ or "
                   "plain folders) instead of --samples; repeatable.")
@click.option("--calibrate-images", default=40, show_default=True,
              help="How many images --calibrate takes, spread over its folders.")
@click.option("--lang", type=click.Choice(list(LANGUAGES)), default=DEFAULT_LANG,
              show_default=True,
              help="Export this language's recognizer (another language than the default: "
                   "its recognizer only, the detector is shared).")
def export_onnx(weights_dir: str | None, out_dir: str | None, opset: int,
                quantize: str | None, check: bool, samples_dir: str,
                calibrate_dirs: tuple[str, ...], calibrate_images: int, lang: str) -> None:
    """Export the detector and recognizer to ONNX, with their metadata inside."""
    try:
        from ..export import export_all
        from ..runtime.base import weights_dir as default_weights_dir
    except ImportError as e:
        _fail(f"exporting needs PyTorch and onnx: pip install 'ocrtool[torch]' ({e})")
    source = Path(weights_dir) if weights_dir else default_weights_dir()
    samples = _sample_images(Path(samples_dir))
    try:
        export_all(source, Path(out_dir) if out_dir else source, opset=opset,
                   quantize=quantize, check=check, samples=samples,
                   calibration=calibration_images(calibrate_dirs, calibrate_images),
                   log=lambda line: click.echo(line, err=True), lang=lang)
    except Exception as e:  # noqa: BLE001 - one line for the user, not a traceback
        _fail(f"{type(e).__name__}: {e}")
