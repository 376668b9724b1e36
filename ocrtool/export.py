"""PyTorch weights -> ONNX graphs that carry their own metadata, plus a parity check.

Each `.onnx` file is a complete model: the weight file's meta (charset, normalisation,
architecture arguments), the ocrtool version and the SHA-256 of the source `.pt` live in the
graph's metadata_props, so the ONNX backend never needs the `.pt` file or torch.

The classic TorchScript exporter (`dynamo=False`) is used on purpose: with torch 2.13 the
torch.export-based exporter fails on the recognizer's LSTM once batch and width are both
dynamic, and it takes ~50x longer on the detector. The classic one gives truly dynamic
batch/height/width axes (checked by `check_parity` on several sizes).
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnx
import torch

from . import __version__
from .languages import DEFAULT_LANG, get_language
from .runtime.base import DETECTOR, META_KEY, RECOGNIZER, file_sha256, model_path
from .runtime.base import weights_dir as default_weights_dir
from .runtime.torch_backend import load_detector, load_recognizer

DEFAULT_OPSET = 17
INPUT_NAME = "images"
OUTPUT_NAMES = {DETECTOR: "maps", RECOGNIZER: "logits"}
PARITY_ATOL = 1e-3

# (batch, height, width) inputs the parity check runs; odd sizes on purpose.
DETECTOR_SIZES = ((1, 64, 96), (2, 128, 160), (1, 320, 224))
RECOGNIZER_SIZES = ((1, 32, 16), (3, 32, 100), (2, 32, 340))


class ParityError(RuntimeError):
    """ONNX Runtime and PyTorch disagree by more than the tolerance."""


def export_detector(pt_path: str | Path, onnx_path: str | Path,
                    opset: int = DEFAULT_OPSET) -> Path:
    """Export the detector with dynamic batch, height and width (sides multiples of 32)."""
    model, meta = load_detector(pt_path)
    example = torch.zeros(2, 3, 64, 96)
    axes = {INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
            OUTPUT_NAMES[DETECTOR]: {0: "batch", 2: "map_height", 3: "map_width"}}
    return _export(model, meta, example, axes, DETECTOR, pt_path, onnx_path, opset)


def export_recognizer(pt_path: str | Path, onnx_path: str | Path,
                      opset: int = DEFAULT_OPSET) -> Path:
    """Export the recognizer with dynamic batch and width (the LSTM included)."""
    model, meta = load_recognizer(pt_path)
    example = torch.zeros(2, 1, meta.get("input_height", 32), 64)
    axes = {INPUT_NAME: {0: "batch", 3: "width"},
            OUTPUT_NAMES[RECOGNIZER]: {0: "batch", 1: "steps"}}
    return _export(model, meta, example, axes, RECOGNIZER, pt_path, onnx_path, opset)


def _export(model: torch.nn.Module, meta: dict, example: torch.Tensor, axes: dict,
            kind: str, pt_path: str | Path, onnx_path: str | Path, opset: int) -> Path:
    onnx_path = Path(onnx_path)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = onnx_path.with_name(onnx_path.name + ".tmp")
    with warnings.catch_warnings():
        # The legacy-exporter deprecation notice, and the LSTM batch-size warning that
        # does not apply (no initial states are passed; dynamic batch is tested).
        warnings.simplefilter("ignore")
        with torch.no_grad():
            torch.onnx.export(model, (example,), str(tmp), input_names=[INPUT_NAME],
                              output_names=[OUTPUT_NAMES[kind]], dynamic_axes=axes,
                              opset_version=opset, do_constant_folding=True, dynamo=False)
    graph = onnx.load(str(tmp))
    set_metadata(graph, onnx_meta(meta, model, kind), file_sha256(pt_path))
    onnx.checker.check_model(graph)
    onnx.save(graph, str(tmp))
    tmp.replace(onnx_path)
    return onnx_path


def onnx_meta(meta: dict, model: torch.nn.Module, kind: str) -> dict:
    """The weight file's meta, plus what a reader of the ONNX file alone needs to know."""
    out = dict(meta)
    out.setdefault("arch", type(model).__name__.lower())
    out.setdefault("kind", kind)
    out["ocrtool_version"] = __version__
    return out


def set_metadata(graph: onnx.ModelProto, meta: dict, source_sha256: str) -> None:
    """Write metadata_props (replacing ours if present); values are strings by spec."""
    props = {META_KEY: json.dumps(meta, default=_json_default, ensure_ascii=False),
             "source_sha256": source_sha256, "ocrtool_version": __version__}
    kept = [p for p in graph.metadata_props if p.key not in props]
    del graph.metadata_props[:]
    graph.metadata_props.extend(kept)
    onnx.helper.set_model_props(graph, {**{p.key: p.value for p in kept}, **props})
    graph.producer_name = "ocrtool"
    graph.producer_version = __version__


def _json_default(value: object) -> object:
    """numpy scalars/arrays and tuples-in-disguise from training metrics become JSON."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def read_metadata(onnx_path: str | Path) -> dict[str, str]:
    """metadata_props of an ONNX file as a plain dict (values are strings)."""
    graph = onnx.load(str(onnx_path), load_external_data=False)
    return {p.key: p.value for p in graph.metadata_props}


# ---------------------------------------------------------------- parity


def check_parity(pt_path: str | Path, onnx_path: str | Path, kind: str | None = None,
                 sizes: Sequence[tuple[int, int, int]] | None = None,
                 atol: float = PARITY_ATOL, seed: int = 0) -> float:
    """Run PyTorch and ONNX Runtime on several input sizes; raise ParityError past `atol`.

    Several sizes, because a graph exported with a fixed axis runs fine on the example
    size and only breaks (or silently broadcasts) on others. Returns the largest diff.
    """
    kind = kind or _kind_of(onnx_path)
    loader = load_detector if kind == DETECTOR else load_recognizer
    model, _ = loader(pt_path)
    channels = 3 if kind == DETECTOR else 1
    sizes = sizes or (DETECTOR_SIZES if kind == DETECTOR else RECOGNIZER_SIZES)
    session = _cpu_session(onnx_path)
    rng = np.random.default_rng(seed)
    worst = 0.0
    for batch, height, width in sizes:
        x = rng.standard_normal((batch, channels, height, width), dtype=np.float32)
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        got = session.run(None, {session.get_inputs()[0].name: x})[0]
        if got.shape != expected.shape:
            raise ParityError(f"{kind}: ONNX output shape {got.shape} != torch "
                              f"{expected.shape} for input {x.shape}")
        diff = float(np.abs(got - expected).max())
        worst = max(worst, diff)
        if diff > atol:
            raise ParityError(f"{kind}: max |onnx - torch| = {diff:.2e} > {atol:g} "
                              f"for input {x.shape}")
    return worst


def _kind_of(onnx_path: str | Path) -> str:
    name = Path(onnx_path).name
    for kind in (DETECTOR, RECOGNIZER):
        if name.startswith(kind):
            return kind
    raise ValueError(f"cannot tell detector from recognizer by the name {name!r}; pass kind")


def _cpu_session(onnx_path: str | Path):
    import onnxruntime as ort

    return ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])


def compare_text(pt_dir: str | Path, onnx_dir: str | Path,
                 images: Sequence[str | Path],
                 lang: str = DEFAULT_LANG) -> list[tuple[str, str, str]]:
    """Read `images` with both backends; return (image, torch text, onnx text) mismatches.

    Logit parity at 1e-3 can still flip an argmax on a near tie, so the acceptance test
    is the decoded text itself (the design rule: both backends give the same text).
    """
    from .reader import Reader

    torch_reader = Reader(backend="torch", device="cpu", weights=pt_dir, lang=lang)
    onnx_reader = Reader(backend="onnx", device="cpu", weights=onnx_dir, precision="fp32",
                         lang=lang)
    mismatches = []
    for image in images:
        a, b = torch_reader.read(image).text, onnx_reader.read(image).text
        if a != b:
            mismatches.append((str(image), a, b))
    return mismatches


# ---------------------------------------------------------------- quantization


# Calibration of the int8 recognizer: activation ranges are the 99.999th percentile of
# what the calibration lines produce, not their extremes. Judged by fidelity to the
# float graph (share of the training validation's 5119 held-out crops read differently
# from fp32, as `bench/int8_fidelity.py` counts them): v0.6 re-exported 2.40% with
# min-max ranges -> 2.05% (the shipped file: 2.03%); session 24's halfway average 1.74%
# -> 1.35%, and its CER against its own fp32 reading 0.30% -> 0.19%. The histogram
# calibrators need batches of one shape: lines are cut or edge-padded to
# CALIBRATION_WIDTH columns.
CALIBRATION_PERCENTILE = 99.999
CALIBRATION_WIDTH = 512
CALIBRATION_BATCH = 32


def quantize_recognizer(onnx_path: str | Path, out_path: str | Path,
                        calibration: Sequence[np.ndarray]) -> Path:
    """Static int8 of the convolutions (QDQ, per-channel weights), calibrated on real crops.

    The CNN is ~85% of the recognizer's arithmetic; QLinearConv with calibrated
    activation ranges ran 1.9x faster than float here (AVX-512 VNNI), while dynamic
    quantization (ConvInteger) ran ~4x slower. The BiLSTM stays in float: quantizing it
    too made the whole graph slower. The first convolution stays in float too: it sees the
    raw pixels, and quantizing it moved born_digital_dev word F1 by 0.0074 from fp32, against
    0.0028 with it in float (`bench/int8_keep_first_conv.py`). Ranges: see
    CALIBRATION_PERCENTILE.
    """
    convs = [n.name for n in onnx.load(str(onnx_path)).graph.node if n.op_type == "Conv"]
    return _quantize_static(onnx_path, out_path, uniform_batches(calibration), ["Conv"],
                            symbolic_shapes=True, keep_float=convs[:1],
                            percentile=CALIBRATION_PERCENTILE)


def uniform_batches(batches: Sequence[np.ndarray], width: int = CALIBRATION_WIDTH,
                    size: int = CALIBRATION_BATCH) -> list[np.ndarray]:
    """(N, 1, H, W) batches of any widths as batches of one shape: every line cut or padded
    with its own last column to `width`, then regrouped `size` lines at a time (the few
    lines left over are dropped; fewer than `size` lines make one batch)."""
    lines = np.concatenate([_fit_width(b, width) for b in batches]) if batches else []
    if len(lines) <= size:
        return [lines] if len(lines) else []
    return [lines[i:i + size] for i in range(0, len(lines) - size + 1, size)]


def _fit_width(batch: np.ndarray, width: int) -> np.ndarray:
    missing = width - batch.shape[-1]
    if missing <= 0:
        return batch[..., :width]
    return np.pad(batch, [(0, 0)] * (batch.ndim - 1) + [(0, missing)], mode="edge")


def recognizer_calibration(images: Sequence[str | Path], weights: str | Path,
                           limit: int = 400, batch: int = 32,
                           lang: str = DEFAULT_LANG) -> list[np.ndarray]:
    """Padded batches of the text lines the float models find on `images`.

    Calibration must see what inference sees: the lines the Reader's detection and layout
    stages find, cut, cleaned and batched by width by its recognition stage, and from every
    kind of page given. The `limit` lines are spread evenly over all the pages' lines: the
    first 400 were all from the first eight receipts, and int8 ranges measured on receipts
    alone cost held-out scene photos 0.05 of word F1 against the float model.
    """
    from .imageio import load_image
    from .layout import lay_out
    from .reader import Reader

    reader = Reader(backend="onnx", weights=weights, precision="fp32", batch_size=batch,
                    lang=lang)
    stage = reader.recognition
    lines = []
    for path in images:
        rgb = load_image(path)
        found = reader.detection(rgb)
        layout = lay_out(found.words, found.scores, reader.params.text_threshold)
        lines += [stage.prepare(stage.crop(rgb, q)) for q in layout.lines]
    return [padded for _, padded in stage.batches(evenly(lines, limit))]


def evenly(items: list, count: int) -> list:
    """At most `count` of `items`, spread evenly from first to last."""
    return items[::max(len(items) // max(count, 1), 1)][:count]


@contextmanager
def _preprocessed(onnx_path: str | Path, symbolic_shapes: bool = True) -> Iterator[Path]:
    """onnxruntime's recommended pre-quantization pass (shape inference, fusions).

    Its symbolic shape inference gives up on the detector's scale-factor Resize, so the
    detector uses plain ONNX shape inference only.
    """
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(onnx_path), str(prepared),
                          skip_symbolic_shape=not symbolic_shapes)
        yield prepared


def _quantize_static(onnx_path: str | Path, out_path: str | Path,
                     calibration: Sequence[np.ndarray], op_types: list[str] | None,
                     symbolic_shapes: bool, keep_float: Sequence[str] = (),
                     percentile: float | None = None) -> Path:
    """quantize_static with our settings; calibrating on noise would clip real ranges.
    Activation ranges are the calibration's extremes, or its `percentile` (then every
    calibration batch must have one shape)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    if not calibration:
        raise ValueError("static quantization needs calibration inputs (sample images)")

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._items = iter({INPUT_NAME: x} for x in calibration)

        def get_next(self):  # noqa: ANN202 - onnxruntime's interface
            return next(self._items, None)

    ranges = {} if percentile is None else {
        "calibrate_method": CalibrationMethod.Percentile,
        "extra_options": {"CalibPercentile": percentile}}
    out_path = Path(out_path)
    with _preprocessed(onnx_path, symbolic_shapes=symbolic_shapes) as prepared:
        quantize_static(str(prepared), str(out_path), _Reader(),
                        quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=op_types, nodes_to_exclude=list(keep_float),
                        **ranges)
    _copy_metadata(onnx_path, out_path)
    return out_path


def _copy_metadata(src: str | Path, dst: str | Path) -> None:
    """The quantizer does not promise to keep metadata_props; put ours back."""
    props = read_metadata(src)
    graph = onnx.load(str(dst))
    meta = json.loads(props[META_KEY])
    meta["quantization"] = "int8"
    set_metadata(graph, meta, props["source_sha256"])
    onnx.save(graph, str(dst))


# ---------------------------------------------------------------- everything at once


def export_all(weights_dir: str | Path | None, out_dir: str | Path,
               opset: int = DEFAULT_OPSET, quantize: str | None = None, check: bool = True,
               samples: Sequence[str | Path] = (),
               log: Callable[[str], None] = print,
               calibration: Sequence[str | Path] = (),
               lang: str = DEFAULT_LANG) -> dict[str, Path]:
    """Export both models from `weights_dir` to `out_dir`; optionally int8 and checks.

    Another `lang` than the default exports that language's recognizer only (the detector
    is shared).

    With `check`, logits must agree within 1e-3 on several sizes, and when sample images
    are given both backends must decode the same text on each (ParityError otherwise).
    Returns {"detector": path, "recognizer": path, ...} of the files written.
    """
    if quantize not in (None, "int8"):
        raise ValueError(f"unknown quantization {quantize!r} (use int8)")
    out_dir = Path(out_dir)
    written: dict[str, Path] = {}
    stem = get_language(lang).recognizer
    exporters = {RECOGNIZER: (stem, export_recognizer)}
    if lang == DEFAULT_LANG:
        exporters = {DETECTOR: (DETECTOR, export_detector), **exporters}
    for kind, (name, exporter) in exporters.items():
        pt = model_path(name, ".pt", weights_dir)
        written[name] = exporter(pt, out_dir / f"{name}.onnx", opset)
        log(f"wrote {written[name]}")
        if check:
            diff = check_parity(pt, written[name], kind)
            log(f"{name}: parity ok, max |onnx - torch| = {diff:.1e}")
    if check and samples:
        _check_text(weights_dir, out_dir, samples, log, lang)
    if quantize == "int8":
        written.update(_quantize_all(out_dir, calibration or samples, log, lang))
    return written


def _check_text(weights_dir: str | Path | None, out_dir: Path,
                samples: Sequence[str | Path], log: Callable[[str], None],
                lang: str = DEFAULT_LANG) -> None:
    mismatches = compare_text(weights_dir or default_weights_dir(), out_dir, samples, lang)
    if mismatches:
        image, a, b = mismatches[0]
        raise ParityError(f"{len(mismatches)} of {len(samples)} samples read differently, "
                          f"e.g. {image}: torch {a!r} vs onnx {b!r}")
    log(f"text: both backends agree on {len(samples)} sample image(s)")


def _quantize_all(out_dir: Path, samples: Sequence[str | Path],
                  log: Callable[[str], None], lang: str = DEFAULT_LANG) -> dict[str, Path]:
    """The recognizer in static int8, calibrated on what the float models see on `samples`.

    The detector stays in float: its int8 graph moved borderline boxes enough to change
    3% of the characters read on training pages (0.4% for the int8 recognizer alone;
    `python bench/int8_parity.py`), while the recognizer is most of a page's time.
    """
    if not samples:
        log("no sample images to calibrate on: int8 models skipped")
        return {}
    stem = get_language(lang).recognizer
    path = quantize_recognizer(out_dir / f"{stem}.onnx", out_dir / f"{stem}.int8.onnx",
                               recognizer_calibration(samples, out_dir, lang=lang))
    log(f"wrote {path}")
    return {f"{stem}_int8": path}
