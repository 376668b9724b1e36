"""`ocrtool info`: version, backends, devices, model files and the charset."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import click

from .. import __version__
from ..languages import installed_languages
from ..runtime.base import RECOGNIZER, file_sha256, weights_dir
from ..runtime.onnx_backend import available_cores, split_threads
from ..runtime.precision import choose_precision, cpu_model


def collect_info() -> dict:
    """Everything `ocrtool info` prints, as a dict (also handy in bug reports)."""
    info: dict = {"version": __version__, "backends": {}, "devices": ["cpu"], "models": []}
    import onnxruntime as ort

    providers = ", ".join(ort.get_available_providers())
    info["backends"]["onnx"] = f"onnxruntime {ort.__version__} ({providers})"
    if importlib.util.find_spec("torch") is not None:
        import torch

        info["backends"]["torch"] = f"torch {torch.__version__}"
        if torch.cuda.is_available():
            info["devices"].append(f"cuda ({torch.cuda.get_device_name(0)})")
    else:
        info["backends"]["torch"] = "not installed (pip install 'ocrtool[torch]')"
    folder = weights_dir()
    info["weights_dir"] = str(folder)
    for path in sorted(folder.glob("*")):
        if path.suffix in (".pt", ".onnx"):
            info["models"].append({"file": path.name, "bytes": path.stat().st_size,
                                   "sha256": file_sha256(path)[:16]})
    info["charset"] = shipped_charset(folder)
    info["languages"] = [{"code": lang.code, "name": lang.name,
                          "recognizer": f"{lang.recognizer}.onnx",
                          "charset": shipped_charset(folder, lang.recognizer),
                          "min_char_confidence": lang.min_char_confidence,
                          "min_short_line_confidence": lang.min_short_line_confidence}
                         for lang in installed_languages(folder)]
    choice = choose_precision(
        "auto", on_gpu="CUDAExecutionProvider" in ort.get_available_providers(),
        int8_available=any(folder.glob("*.int8.onnx")))
    info["precision"] = {"default": choice.precision, "reason": choice.reason,
                         "cpu": cpu_model()}
    cores = available_cores()
    workers, each = split_threads(cores)
    info["threads"] = {"cpus": cores, "recognizer_batches_at_once": workers,
                       "threads_per_batch": each}
    return info


def shipped_charset(folder: Path, recognizer: str = RECOGNIZER) -> str:
    """The characters a shipped recognizer can read (from its ONNX metadata); Hangul
    models list their jamo, from which every syllable is composed."""
    path = folder / f"{recognizer}.onnx"
    if not path.is_file():
        return f"(no {recognizer}.onnx)"
    import onnxruntime as ort

    from ..runtime.onnx_backend import read_meta

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return read_meta(session)["charset"]["chars"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def info(as_json: bool) -> None:
    """Show version, available backends and devices, model files and the charset."""
    data = collect_info()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"ocrtool {data['version']}")
    for name, desc in data["backends"].items():
        click.echo(f"backend {name}: {desc}")
    click.echo(f"devices: {', '.join(data['devices'])}")
    prec = data["precision"]
    click.echo(f"default precision (onnx, cpu): {prec['default']}, because {prec['reason']} "
               f"({prec['cpu']})")
    threads = data["threads"]
    click.echo(f"threads (onnx, cpu, default): {threads['cpus']}; recognizer batches "
               f"{threads['recognizer_batches_at_once']} at once, "
               f"{threads['threads_per_batch']} thread(s) each (--threads 1: one at a time)")
    click.echo(f"weights: {data['weights_dir']}")
    for m in data["models"]:
        click.echo(f"  {m['file']:<24} {m['bytes'] / 1e6:7.2f} MB  sha256 {m['sha256']}")
    click.echo(f"charset ({len(data['charset'])} characters): {data['charset']}")
    for lang in data["languages"]:
        click.echo(f"language {lang['code']}: {lang['name']} ({lang['recognizer']}, "
                   f"{len(lang['charset'])} characters, detected lines kept from "
                   f"{lang['min_char_confidence']} mean character confidence, "
                   f"{lang['min_short_line_confidence']} for lines of one or two): "
                   f"{lang['charset']}")
