"""A widened detector computes what the shipped one computes, records its shape in its
weights, and grows its added channels from the first training step."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from ocrtool.cli import main  # noqa: E402
from ocrtool.detection.widen import CraftArch, widen  # noqa: E402
from ocrtool.runtime.base import DETECTOR, model_path  # noqa: E402
from ocrtool.runtime.torch_backend import load_detector  # noqa: E402
from ocrtool.training.detector import detector_meta  # noqa: E402


@pytest.fixture(scope="module")
def shipped():
    model, _ = load_detector(model_path(DETECTOR, ".pt"))
    return model


def test_scaled_widths_round_to_eight_and_keep_depths():
    arch = CraftArch().scaled(1.5)
    assert arch.widths == (24, 48, 96, 192, 288)
    assert arch.up_widths == (144, 96, 48, 24)
    assert arch.depths == CraftArch().depths
    assert CraftArch().scaled(1.0) == CraftArch()


def test_widened_detector_gives_the_same_maps(shipped):
    wide = widen(shipped, CraftArch().scaled(1.5)).eval()
    assert sum(p.numel() for p in wide.parameters()) > 2 * sum(
        p.numel() for p in shipped.parameters())
    x = torch.randn(2, 3, 96, 160, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(wide(x), shipped(x), atol=1e-6, rtol=0)


def test_added_channels_start_growing_at_the_first_step(shipped):
    wide = widen(shipped, CraftArch().scaled(1.5)).train()
    reads_added = wide.down[1][1][0].weight  # pointwise conv: 32 -> 48 inputs widened
    old_in = shipped.down[1][1][0].in_channels
    old_rows = shipped.down[1][1][0].out_channels
    assert float(reads_added[:old_rows, old_in:].detach().abs().sum()) == 0.0
    opt = torch.optim.SGD(wide.parameters(), lr=0.1)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    wide(x).mean().backward()
    opt.step()
    assert float(reads_added[:old_rows, old_in:].detach().abs().sum()) > 0.0


def test_the_shape_travels_with_the_weights(shipped, tmp_path):
    arch = CraftArch().scaled(1.5)
    wide = widen(shipped, arch)
    path = tmp_path / "wide.pt"
    torch.save({"model": wide.state_dict(), "meta": detector_meta(arch)}, path)
    loaded, meta = load_detector(path)
    assert CraftArch.from_args(meta["arch_args"]) == arch
    assert detector_meta()["arch_args"] == {}  # the shipped shape needs no arguments
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), shipped(x), atol=1e-6, rtol=0)


def test_widen_needs_init():
    result = CliRunner().invoke(main, ["train", "detector", "--widen", "1.5"])
    assert result.exit_code == 2
    assert "give --init" in result.output


def test_a_widened_detector_exports_to_onnx_with_the_same_maps(shipped, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from ocrtool.export import export_detector

    arch = CraftArch().scaled(1.5)
    torch.save({"model": widen(shipped, arch).state_dict(), "meta": detector_meta(arch)},
               tmp_path / "detector.pt")
    export_detector(tmp_path / "detector.pt", tmp_path / "detector.onnx")
    session = ort.InferenceSession(str(tmp_path / "detector.onnx"),
                                   providers=["CPUExecutionProvider"])
    x = torch.rand(1, 3, 64, 128, generator=torch.Generator().manual_seed(2))
    (maps,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(maps), shipped(x), atol=1e-5, rtol=0)
