"""Slimming a recognizer (`training.prune`, `ocrtool train prune`): the slim model is the
original with its weakest channels silenced, and loads, trains and exports like any other."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from ocrtool.cli import main  # noqa: E402
from ocrtool.recognition.charset import Charset  # noqa: E402
from ocrtool.recognition.model import CRNN, crnn_from_meta  # noqa: E402
from ocrtool.training.prune import conv_stages, prune_recognizer, strongest_channels  # noqa: E402
from ocrtool.training.recognizer import RecognizerConfig, model_channels, recognizer_meta  # noqa: E402

CHARSET = Charset("abcdefghij0123")


def _trained_like(seed: int = 0) -> CRNN:
    """A small CRNN with distinct BatchNorm scales, statistics and biases, as training
    leaves them (fresh ones are all 1 and 0, which would hide a wrong channel)."""
    torch.manual_seed(seed)
    model = CRNN(CHARSET.num_classes, hidden=16)
    with torch.no_grad():
        for _, bn in conv_stages(model):
            bn.weight.uniform_(-1.5, 1.5)
            bn.bias.uniform_(-0.3, 0.3)
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 2.0)
    return model.eval()


def test_pruning_to_every_channel_is_the_same_model() -> None:
    model = _trained_like()
    same = prune_recognizer(model, model.channels)
    x = torch.rand(3, 1, 32, 80)
    with torch.no_grad():
        assert torch.equal(model(x), same(x))


def test_the_slim_model_is_the_original_with_its_weakest_channels_silenced() -> None:
    """Zeroing the dropped channels' BatchNorm scale and bias in the original makes them
    output 0 after the ReLU: nothing reaches the next layer from them, so the original
    then computes exactly what the slim model does."""
    model = _trained_like(1)
    channels = (24, 40, 96, 150)
    slim = prune_recognizer(model, channels)
    assert slim.channels == channels
    assert [c.out_channels for c, _ in conv_stages(slim)] == [24, 40, 96, 96, 150, 150]
    with torch.no_grad():
        for (_, bn), (new_conv, _) in zip(conv_stages(model), conv_stages(slim)):
            keep = strongest_channels(bn, new_conv.out_channels)
            dropped = torch.ones(bn.num_features, dtype=torch.bool)
            dropped[keep] = False
            # what it keeps: the largest |scale|s
            assert bn.weight.abs()[keep].min() >= bn.weight.abs()[dropped].max()
            bn.weight[dropped] = 0.0
            bn.bias[dropped] = 0.0
        x = torch.rand(2, 1, 32, 120)
        assert torch.allclose(model(x), slim(x), atol=1e-5)


def test_keeping_more_channels_than_there_are_is_an_error() -> None:
    with pytest.raises(ValueError, match="cannot keep 300 of 192"):
        prune_recognizer(_trained_like(), (32, 64, 128, 300))


def test_prune_command_writes_weights_that_load_train_and_export(tmp_path: Path) -> None:
    import onnxruntime as ort

    from ocrtool.export import export_recognizer
    from ocrtool.runtime.torch_backend import load_recognizer
    from ocrtool.training.checkpoints import save_weights

    full = tmp_path / "full.pt"
    save_weights(full, _trained_like(2), recognizer_meta(CHARSET, arch="crnn", hidden=16))
    slim = tmp_path / "slim.pt"
    result = CliRunner().invoke(main, ["train", "prune", "--weights", str(full),
                                       "--channels", "16,32,64,96", "--out", str(slim)])
    assert result.exit_code == 0, result.output
    model, meta = load_recognizer(slim)
    assert model.channels == (16, 32, 64, 96) and meta["channels"] == [16, 32, 64, 96]
    assert meta["charset"] == recognizer_meta(CHARSET)["charset"]
    assert crnn_from_meta(meta).rnn.hidden_size == 16
    # a fine-tune from it keeps its shape; a fresh run has the config's
    assert model_channels(RecognizerConfig(), meta) == (16, 32, 64, 96)
    assert model_channels(RecognizerConfig(width=2), {}) == (64, 128, 256, 384)
    # the ONNX graph reads as the PyTorch model does
    onnx_path = tmp_path / "slim.onnx"
    export_recognizer(slim, onnx_path)
    x = torch.rand(2, 1, 32, 64)
    with torch.no_grad():
        expected = model(x).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert abs(got - expected).max() < 1e-4


@pytest.mark.parametrize("channels, message", [
    ("32,64,128", "expected four positive channel counts"),
    ("32,64,x,192", "expected four positive channel counts"),
    ("32,64,0,192", "expected four positive channel counts"),
])
def test_bad_channels_are_a_usage_error(tmp_path: Path, channels: str, message: str) -> None:
    result = CliRunner().invoke(main, ["train", "prune", "--channels", channels,
                                       "--out", str(tmp_path / "s.pt")])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output and not (tmp_path / "s.pt").exists()


def test_more_channels_than_the_model_has_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["train", "prune", "--channels", "32,64,128,400",
                                       "--out", str(tmp_path / "s.pt")])
    assert result.exit_code == 1 and "cannot keep 400 of 192" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "s.pt").exists()


def test_an_unknown_distill_set_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [
        "train", "recognizer", "--distill", "weights/recognizer.pt", "--distill-set",
        "nope_train", "--steps", "1", "--out-dir", str(tmp_path / "run"),
        "--weights-out", str(tmp_path / "r.pt")])
    assert result.exit_code == 2 and "nope_train: not among the sets trained on" in result.output
    assert not (tmp_path / "r.pt").exists()


def test_distill_set_all_pulls_every_set_trained_on(tmp_path: Path, monkeypatch) -> None:
    import ocrtool.training.recognizer as training

    seen = []
    monkeypatch.setattr(training, "train_recognizer", lambda cfg, log: seen.append(cfg))
    args = ["train", "recognizer", "--distill", "weights/recognizer.pt", "--steps", "1",
            "--out-dir", str(tmp_path / "run")]
    assert CliRunner().invoke(main, [*args, "--distill-set", "all"]).exit_code == 0
    assert CliRunner().invoke(main, [*args, "--distill-set", "svt_words_train"]).exit_code == 0
    assert CliRunner().invoke(main, args).exit_code == 0
    every, one, default = (cfg.distill_sets for cfg in seen)
    assert every == tuple(RecognizerConfig().real_sets) and len(every) == 10
    assert one == ("svt_words_train",)
    assert default == RecognizerConfig().distill_sets


def test_a_slim_model_fine_tunes_from_its_full_teacher(tmp_path: Path) -> None:
    """The run trains the --init model's shape (not the config's), taught by a teacher of
    another shape, and writes weights of that shape."""
    from test_training import WORDS, _crop_set

    from ocrtool.runtime.torch_backend import load_recognizer
    from ocrtool.training.checkpoints import save_weights
    from ocrtool.training.prune import prune_weights
    from ocrtool.training.recognizer import train_recognizer

    data = _crop_set(tmp_path / "mine")
    charset = Charset("".join(sorted(set("".join(WORDS)))))
    full = tmp_path / "full.pt"
    save_weights(full, CRNN(charset.num_classes, hidden=16).eval(),
                 recognizer_meta(charset, arch="crnn", hidden=16))
    prune_weights(str(full), (16, 32, 64, 96), str(tmp_path / "slim.pt"))
    torch.set_num_threads(1)
    train_recognizer(RecognizerConfig(
        train_sets=[str(data)], val_sets=[str(data)], synth_fraction=0.0, batch_size=4,
        steps=3, workers=0, eval_every=10_000, init=str(tmp_path / "slim.pt"),
        distill=str(full), distill_sets=("mine",), out_dir=str(tmp_path / "run"),
        weights_out=str(tmp_path / "out.pt"), cache_dir=str(tmp_path / "cache")),
        log=lambda m: None)
    model, meta = load_recognizer(tmp_path / "out.pt")
    assert model.channels == (16, 32, 64, 96) and meta["channels"] == [16, 32, 64, 96]
    assert model.rnn.hidden_size == 16
