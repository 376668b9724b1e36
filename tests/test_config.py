"""ReaderConfig: one place for the reading options; bad values refused when a Reader is built."""

from __future__ import annotations

import math

import pytest

from ocrtool import Reader
from ocrtool.config import ReaderConfig

BAD = [
    ("beam_width", 0), ("beam_width", -3), ("canvas", 0), ("canvas", -100),
    ("magnify", 0), ("magnify", -1.0), ("magnify", math.inf), ("batch_size", 0),
    ("min_confidence", 1.5), ("min_confidence", -0.1), ("lm_weight", math.nan),
    ("lm_weight", -0.5), ("allowlist", ""), ("threads", 0), ("decoder", "viterbi"),
    ("read_by", "pages"), ("detail", "chars"),
]


@pytest.mark.parametrize("name, value", BAD)
def test_a_bad_option_is_refused_with_its_name(name, value):
    # before ReaderConfig, beam_width=0 or batch_size=0 failed only while reading (or
    # read nothing), and an empty allowlist silently allowed everything
    with pytest.raises(ValueError, match=name):
        Reader(backend="onnx", precision="fp32", **{name: value})


def test_an_allowlist_outside_the_charset_is_refused():
    with pytest.raises(ValueError, match="allowlist.*'ж'"):
        Reader(backend="onnx", precision="fp32", allowlist="0123ж")


def test_keywords_and_a_config_give_the_same_reader_settings():
    cfg = ReaderConfig(decoder="beam", beam_width=4, canvas=1200)
    a = Reader(config=cfg, backend="onnx")
    b = Reader(decoder="beam", beam_width=4, canvas=1200, backend="onnx")
    assert a.config == b.config
    assert a.recognition.beam_width == 4 and a.params.canvas == 1200
    # keywords override the config's fields
    assert Reader(config=cfg, beam_width=2, backend="onnx").recognition.beam_width == 2


def test_an_unknown_option_is_a_type_error():
    with pytest.raises(TypeError, match="beamwidth"):
        ReaderConfig.from_options(beamwidth=3)


def test_the_lm_is_loaded_only_for_the_beam_decoder():
    assert Reader(backend="onnx", lm_weight=0.3).recognition.lm is None
    assert Reader(backend="onnx", decoder="beam", lm_weight=0.3).recognition.lm is not None


def test_config_round_trips_through_a_plain_dict():
    cfg = ReaderConfig(weights=".", allowlist="0123456789")
    assert ReaderConfig(**cfg.to_dict()) == ReaderConfig(weights=".", allowlist="0123456789")
