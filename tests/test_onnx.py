"""ONNX export and the ONNX Runtime backend, on randomly initialised models.

Random weights are enough to prove the graphs: parity is about the exporter reproducing
the same function on every input size, not about what the function has learned.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from ocrtool.detection.model import CraftNet  # noqa: E402
from ocrtool.export import (  # noqa: E402
    ParityError,
    check_parity,
    evenly,
    export_all,
    export_recognizer,
    quantize_recognizer,
    read_metadata,
    uniform_batches,
)
from ocrtool.recognition.charset import Charset  # noqa: E402
from ocrtool.recognition.model import CRNN  # noqa: E402
from ocrtool.runtime.base import file_sha256  # noqa: E402
from ocrtool.training.checkpoints import save_weights  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHARSET = Charset()
RECOGNIZER_META = {"charset": CHARSET.to_dict(), "arch": "crnn", "width": 1, "hidden": 32,
                   "input_height": 32, "normalize": "x/127.5-1", "step": 0,
                   "metrics": {"cer": np.float32(0.5)}}
DETECTOR_META = {"arch_args": {"widths": (8, 16, 24, 32, 48), "up_widths": (24, 16, 16, 8)},
                 "normalize": "imagenet"}


def _save_models(folder: Path, seed: int = 0) -> Path:
    """Small random detector + recognizer in `folder`, as training would save them."""
    torch.manual_seed(seed)
    save_weights(folder / "recognizer.pt", CRNN(CHARSET.num_classes, 1, 32), RECOGNIZER_META)
    save_weights(folder / "detector.pt", CraftNet(**DETECTOR_META["arch_args"]), DETECTOR_META)
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """Weights and their ONNX export in one folder (what `weights/` holds when shipped)."""
    folder = _save_models(tmp_path_factory.mktemp("weights"))
    export_all(folder, folder, check=False, log=lambda _: None)
    return folder


def _torch_model(folder: Path, kind: str):
    from ocrtool.runtime.torch_backend import load_detector, load_recognizer

    return (load_detector if kind == "detector" else load_recognizer)(folder / f"{kind}.pt")[0]


@pytest.mark.parametrize(
    "kind, shape",
    [("recognizer", (b, 1, 32, w)) for b in (1, 3) for w in (16, 100, 340)]
    + [("detector", (b, 3, h, w)) for b in (1, 2) for h, w in ((64, 96), (128, 160))],
)
def test_onnxruntime_matches_torch(exported: Path, kind: str, shape: tuple) -> None:
    model = _torch_model(exported, kind)
    session = ort.InferenceSession(str(exported / f"{kind}.onnx"),
                                   providers=["CPUExecutionProvider"])
    x = np.random.default_rng(sum(shape)).standard_normal(shape, dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    got = session.run(None, {"images": x})[0]
    assert got.shape == expected.shape
    assert np.allclose(got, expected, atol=1e-3), np.abs(got - expected).max()


def test_graph_axes_are_dynamic(exported: Path) -> None:
    det = ort.InferenceSession(str(exported / "detector.onnx"), providers=["CPUExecutionProvider"])
    rec = ort.InferenceSession(str(exported / "recognizer.onnx"),
                               providers=["CPUExecutionProvider"])
    assert det.get_inputs()[0].shape == ["batch", 3, "height", "width"]
    assert rec.get_inputs()[0].shape == ["batch", 1, 32, "width"]


def test_check_parity_passes_and_reports(exported: Path) -> None:
    diff = check_parity(exported / "recognizer.pt", exported / "recognizer.onnx")
    assert 0.0 <= diff < 1e-4


def test_check_parity_fails_on_other_weights(exported: Path, tmp_path: Path) -> None:
    other = _save_models(tmp_path, seed=1)
    with pytest.raises(ParityError):
        check_parity(other / "recognizer.pt", exported / "recognizer.onnx",
                     sizes=[(1, 32, 64)])


def test_metadata_round_trip(exported: Path) -> None:
    from ocrtool.runtime.onnx_backend import OnnxBackend

    backend = OnnxBackend(exported, device="cpu", threads=1)
    pt_meta = torch.load(exported / "recognizer.pt", weights_only=False)["meta"]
    assert backend.recognizer_meta["charset"] == pt_meta["charset"]
    assert Charset.from_dict(backend.recognizer_meta["charset"]).chars == CHARSET.chars
    assert backend.recognizer_meta["normalize"] == "x/127.5-1"
    assert backend.recognizer_meta["metrics"]["cer"] == pytest.approx(0.5)
    assert backend.detector_meta["arch_args"]["widths"] == [8, 16, 24, 32, 48]
    props = read_metadata(exported / "detector.onnx")
    assert props["source_sha256"] == file_sha256(exported / "detector.pt")
    assert json.loads(props["ocrtool_meta"])["kind"] == "detector"
    assert props["ocrtool_version"]


def test_backend_shapes(exported: Path) -> None:
    from ocrtool.runtime.onnx_backend import OnnxBackend

    backend = OnnxBackend(exported, device="cpu")
    assert (backend.name, backend.device) == ("onnx", "cpu")
    maps = backend.detect(np.zeros((1, 3, 96, 128), np.float32))
    logits = backend.recognize(np.zeros((2, 1, 32, 120), np.float64))  # cast, not rejected
    assert maps.shape == (1, 2, 48, 64) and maps.min() >= 0 and maps.max() <= 1
    assert logits.shape == (2, 30, CHARSET.num_classes)


def test_cuda_request_without_provider_falls_back(capsys) -> None:
    from ocrtool.runtime.onnx_backend import select_providers

    device, providers = select_providers("cuda", ["CPUExecutionProvider"])
    assert (device, providers) == ("cpu", ["CPUExecutionProvider"])
    assert capsys.readouterr().err.count("\n") == 1
    device, providers = select_providers("auto", ["CUDAExecutionProvider",
                                                  "CPUExecutionProvider"])
    assert device == "cuda"
    assert providers[0] == ("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"})


def test_int8_recognizer_keeps_metadata_and_shape(exported: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    calibration = [rng.uniform(-1, 1, (4, 1, 32, w)).astype(np.float32) for w in (64, 128)]
    path = quantize_recognizer(exported / "recognizer.onnx", tmp_path / "recognizer.int8.onnx",
                               calibration)
    meta = json.loads(read_metadata(path)["ocrtool_meta"])
    assert meta["charset"] == RECOGNIZER_META["charset"] and meta["quantization"] == "int8"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {"images": np.zeros((3, 1, 32, 100), np.float32)})[0]
    assert out.shape == (3, 25, CHARSET.num_classes)
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert "QuantizeLinear" in ops and "LSTM" in ops  # convolutions int8, the LSTM float


def test_precision_picks_the_int8_files_only_when_asked_or_shipped(
        exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ocrtool.runtime import precision
    from ocrtool.runtime.onnx_backend import OnnxBackend

    # "auto" depends on the CPU: this test says which one it is on
    monkeypatch.setattr(precision, "cpu_flags", lambda cpuinfo=None: {"avx2", "avx512_vnni"})

    with pytest.raises(ValueError, match="no int8 models"):
        OnnxBackend(exported, device="cpu", precision="int8")
    for name in ("detector.onnx", "recognizer.onnx"):
        shutil.copy(exported / name, tmp_path / name)
    shutil.copy(exported / "recognizer.onnx", tmp_path / "recognizer.int8.onnx")
    names = lambda b: sorted(p.name for p in b.files.values())  # noqa: E731
    assert names(OnnxBackend(tmp_path, device="cpu")) == ["detector.onnx",
                                                          "recognizer.int8.onnx"]
    assert names(OnnxBackend(tmp_path, device="cpu", precision="fp32")) == [
        "detector.onnx", "recognizer.onnx"]
    monkeypatch.setattr(precision, "cpu_flags", lambda cpuinfo=None: {"avx2"})
    assert names(OnnxBackend(tmp_path, device="cpu")) == ["detector.onnx", "recognizer.onnx"]


def test_export_recognizer_writes_only_the_target(exported: Path, tmp_path: Path) -> None:
    out = export_recognizer(exported / "recognizer.pt", tmp_path / "sub" / "r.onnx", opset=17)
    assert sorted(p.name for p in out.parent.iterdir()) == ["r.onnx"]


def test_cli_reports_missing_weights_in_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ocrtool.commands.export import export_onnx

    result = CliRunner().invoke(export_onnx, ["--weights", str(tmp_path), "--out",
                                              str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "not found" in result.output and result.output.count("\n") == 1


# A subprocess in which torch (and the `onnx` package, also absent from a torch-free
# install) cannot be imported: the PathFinder is wrapped so they look not installed at all
# (find_spec -> None, import -> ModuleNotFoundError), exactly like a missing package.
NO_TORCH_PRELUDE = """
import sys
from importlib.machinery import PathFinder

class _Hidden(PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.partition(".")[0] in ("torch", "onnx", "onnxscript"):
            return None
        return PathFinder.find_spec(name, path, target)

sys.meta_path[:] = [_Hidden if f is PathFinder else f for f in sys.meta_path]
try:
    import torch
    raise SystemExit("torch should not be importable here")
except ModuleNotFoundError:
    pass
"""


def _run_without_torch(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")])}
    script = NO_TORCH_PRELUDE + textwrap.dedent(code) + (
        "\nassert not any(m.partition('.')[0] == 'torch' for m in sys.modules), "
        "'torch was imported'\nprint('OK')\n")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


def test_onnx_backend_runs_without_torch(exported: Path) -> None:
    result = _run_without_torch(f"""
        import numpy as np
        from ocrtool.runtime.base import torch_available
        from ocrtool.runtime.loader import load_backend
        assert not torch_available()
        backend = load_backend("onnx", "cpu", {str(exported)!r}, threads=1)
        maps = backend.detect(np.zeros((1, 3, 64, 96), np.float32))
        logits = backend.recognize(np.zeros((3, 1, 32, 100), np.float32))
        assert maps.shape == (1, 2, 32, 48), maps.shape
        assert logits.shape[:2] == (3, 25), logits.shape
        assert len(backend.recognizer_meta["charset"]["chars"]) == logits.shape[2] - 1
    """)
    assert result.returncode == 0 and result.stdout.strip().endswith("OK"), result.stderr


def test_reader_reads_an_image_without_torch(exported: Path, tmp_path: Path) -> None:
    pytest.importorskip("ocrtool.reader")
    import cv2

    page = np.full((200, 320, 3), 255, np.uint8)
    cv2.putText(page, "Total 12.50", (10, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 2)
    cv2.imwrite(str(tmp_path / "page.png"), page)
    result = _run_without_torch(f"""
        from ocrtool.reader import Reader
        reader = Reader(backend="onnx", device="cpu", weights={str(exported)!r}, threads=1)
        result = reader.read({str(tmp_path / "page.png")!r})
        assert isinstance(result.text, str)
    """)
    assert result.returncode == 0 and result.stdout.strip().endswith("OK"), result.stderr


def _op_chain(graph) -> list[str]:
    """The ops that matter for speed, in graph order, of an ONNX file or model."""
    model = onnx.load(str(graph)) if isinstance(graph, Path) else graph
    return [n.op_type for n in model.graph.node
            if n.op_type in ("Conv", "Relu", "MaxPool", "Resize", "Concat", "Add")]


def test_exported_graphs_take_the_fast_forms(exported: Path) -> None:
    """The recognizer pools before its first ReLU, and the detector's decoder adds its
    upsampled and skip branches instead of concatenating them (see the model code): the
    forms ONNX Runtime runs fastest, while torch parity holds (test above)."""
    rec = _op_chain(exported / "recognizer.onnx")
    assert rec[:3] == ["Conv", "MaxPool", "Relu"]
    det = _op_chain(exported / "detector.onnx")
    assert "Concat" not in det and det.count("Resize") == 4 and det.count("Add") == 4


def test_pool_before_relu_keeps_an_old_export_reading_the_same(exported: Path,
                                                                 tmp_path: Path) -> None:
    """bench/pool_before_relu.py turns a graph exported in the old order into the new one
    with the same logits: rebuilt here by swapping the new graph back first."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from pool_before_relu import swap_first_pool
    finally:
        sys.path.pop(0)
    model = onnx.load(str(exported / "recognizer.onnx"))
    nodes = list(model.graph.node)
    pool = next(n for n in nodes if n.op_type == "MaxPool")
    relu = next(n for n in nodes if n.op_type == "Relu" and n.input[0] == pool.output[0])
    # the old order: Conv -> Relu -> MaxPool
    pool.input[0], relu.input[0] = relu.input[0], pool.input[0]
    pool.output[0], relu.output[0] = relu.output[0], pool.output[0]
    i, j = nodes.index(pool), nodes.index(relu)
    nodes[i], nodes[j] = relu, pool
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    del model.graph.value_info[:]
    old = tmp_path / "old.onnx"
    onnx.save(model, str(old))
    assert _op_chain(old)[:3] == ["Conv", "Relu", "MaxPool"]
    x = np.random.default_rng(3).uniform(-1, 1, (2, 1, 32, 96)).astype(np.float32)

    def logits(m) -> np.ndarray:
        data = m.SerializeToString() if not isinstance(m, Path) else str(m)
        return ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(
            None, {"images": x})[0]

    before = logits(old)
    swapped = onnx.load(str(old))
    assert swap_first_pool(swapped) and not swap_first_pool(swapped)  # once, then done
    assert _op_chain(swapped)[:3] == ["Conv", "MaxPool", "Relu"]
    assert np.array_equal(logits(swapped), before)
    assert np.allclose(before, logits(exported / "recognizer.onnx"), atol=1e-5)


@pytest.mark.parametrize("training", [False, True])
def test_decoder_steps_compute_the_concatenating_fuse(training: bool) -> None:
    """`detection.model.Up` equals upsample, concatenate, 1x1 conv, BatchNorm, ReLU (and
    the separable conv) in both modes: the same weights load and train the same way."""
    import torch.nn.functional as F

    from ocrtool.detection.model import Up

    torch.manual_seed(0)
    up = Up(8, 4, 6)
    for m in up.modules():  # BatchNorm statistics other than the defaults
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1), m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5), m.bias.data.uniform_(-0.5, 0.5)
    up.train(training)
    x, skip = torch.randn(2, 8, 5, 7), torch.randn(2, 4, 10, 14)
    plain = up.fuse(torch.cat([F.interpolate(x, scale_factor=2.0, mode="bilinear",
                                             align_corners=False), skip], dim=1))
    assert torch.allclose(up(x, skip), plain, atol=1e-5)


def test_recognizer_pools_before_its_first_relu_to_the_same_effect() -> None:
    torch.manual_seed(0)
    model = CRNN(CHARSET.num_classes, 1, 32).eval()
    conv, bn, pool, relu = list(model.features)[:4]
    assert isinstance(pool, torch.nn.MaxPool2d) and isinstance(relu, torch.nn.ReLU)
    x = torch.randn(2, 1, 32, 40)
    with torch.no_grad():
        y = bn(conv(x))
        assert torch.equal(relu(pool(y)), pool(torch.relu(y)))


def test_int8_calibration_lines_are_spread_over_every_page() -> None:
    """The first 400 lines were all from the first receipts of the calibration set."""
    lines = [f"page{p}-line{k}" for p in range(5) for k in range(60)]
    picked = evenly(lines, 40)
    assert len(picked) == 40 and picked[0] == "page0-line0"
    assert {line.split("-")[0] for line in picked} == {f"page{p}" for p in range(5)}
    assert evenly(lines[:7], 40) == lines[:7] and evenly([], 3) == []


def test_calibration_batches_get_one_shape() -> None:
    """The percentile calibrator stacks every batch: lines are cut or edge-padded to one
    width and regrouped into batches of one size."""
    wide = np.arange(2 * 3 * 600, dtype=np.float32).reshape(2, 1, 3, 600)
    narrow = np.ones((40, 1, 3, 100), np.float32)
    narrow[..., -1] = 7.0
    batches = uniform_batches([wide, narrow], width=512, size=16)
    assert [b.shape for b in batches] == [(16, 1, 3, 512)] * 2  # 42 lines: 10 left over
    assert np.array_equal(batches[0][0], wide[0, :, :, :512])
    assert np.all(batches[0][2, :, :, 99:] == 7.0)  # padded with its own last column
    assert [b.shape for b in uniform_batches([narrow[:5]], width=512, size=16)] == \
        [(5, 1, 3, 512)]
    assert uniform_batches([]) == []


def test_grafted_head_keeps_the_int8_graph_and_adds_the_new_outputs(exported: Path,
                                                                     tmp_path: Path) -> None:
    """bench/graft_head.py: a model that only added output rows (`--freeze features rnn
    known`) gets the shipped int8 graph with its own output layer: the old characters'
    logits are the int8 file's exactly, the new ones the candidate's; a candidate that
    moved anything else is refused."""
    from ocrtool.runtime.torch_backend import load_recognizer
    from ocrtool.training.recognizer import load_with_charset

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from graft_head import check_only_new_rows, graft
    finally:
        sys.path.pop(0)
    rng = np.random.default_rng(0)
    calibration = [rng.uniform(-1, 1, (4, 1, 32, w)).astype(np.float32) for w in (64, 128)]
    int8 = quantize_recognizer(exported / "recognizer.onnx", tmp_path / "old.int8.onnx",
                               calibration)
    old, meta = load_recognizer(str(exported / "recognizer.pt"))
    grown_charset = Charset(CHARSET.chars + "αβ")
    grown = CRNN(grown_charset.num_classes, 1, 32)
    load_with_charset(grown, old.state_dict(), CHARSET, grown_charset)
    with torch.no_grad():
        grown.head.bias[-2:] = torch.tensor([3.0, -1.0])
    save_weights(tmp_path / "grown.pt", grown, {**meta, "charset": grown_charset.to_dict()})
    grown_onnx = export_recognizer(tmp_path / "grown.pt", tmp_path / "grown.onnx")
    shipped_float, candidate = onnx.load(str(exported / "recognizer.onnx")), onnx.load(
        str(grown_onnx))
    check_only_new_rows(shipped_float, candidate)
    out = tmp_path / "grafted.int8.onnx"
    onnx.save(graft(onnx.load(str(int8)), candidate), str(out))

    x = rng.uniform(-1, 1, (2, 1, 32, 96)).astype(np.float32)

    def logits(path: Path) -> np.ndarray:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, {"images": x})[0]

    grafted, before, floats = logits(out), logits(int8), logits(grown_onnx)
    n = CHARSET.num_classes
    assert grafted.shape[-1] == n + 2 and np.array_equal(grafted[..., :n], before)
    # the new columns: the candidate's head on the int8 features
    assert np.abs(grafted[..., n:] - floats[..., n:]).max() < 0.5
    grafted_meta = json.loads(read_metadata(out)["ocrtool_meta"])
    assert grafted_meta["charset"] == grown_charset.to_dict()
    assert grafted_meta["quantization"] == "int8"
    # a candidate whose convolutions moved is not an added-outputs model
    moved = onnx.load(str(grown_onnx))
    conv = next(i for i in moved.graph.initializer if len(i.dims) == 4)
    conv.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(conv) + 0.01,
                                               conv.name))
    with pytest.raises(SystemExit, match="outside the output layer"):
        check_only_new_rows(shipped_float, moved)
