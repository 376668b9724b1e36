"""Languages: Hangul jamo labels and their recomposition, language selection and errors."""

from __future__ import annotations

import json
import shutil
import unicodedata

import numpy as np
import pytest
from click.testing import CliRunner

from ocrtool.cli import main
from ocrtool.config import ReaderConfig
from ocrtool.languages import LANGUAGES, get_language, installed_languages
from ocrtool.recognition import hangul
from ocrtool.recognition.charset import KOREAN_CHARS, Charset
from ocrtool.recognition.stage import JAMO_LM_WEIGHT, RecognitionStage
from ocrtool.runtime.base import weights_dir

KO = Charset(KOREAN_CHARS, "jamo")


def test_every_modern_syllable_decomposes_and_composes_back():
    syllables = "".join(chr(c) for c in range(hangul.SYLLABLE_FIRST, hangul.SYLLABLE_LAST + 1))
    assert len(syllables) == 11172
    jamo = hangul.decompose(syllables)
    assert set(jamo) <= set(hangul.JAMO)
    assert jamo == unicodedata.normalize("NFD", syllables)  # Unicode's own decomposition
    assert hangul.compose(list(jamo)) == syllables


@pytest.mark.parametrize("text", ["부산 12.5km", "가격: 12,500원", "www.example.co.kr",
                                  "서울특별시 강남구 테헤란로 123, 4층", "Tel. 02-123-4567"])
def test_korean_charset_round_trips_mixed_text_as_nfc(text):
    labels = KO.encode(text)
    assert len(labels) > len(text.replace(" ", "")) - 1  # syllables became 2-3 labels each
    decoded = KO.decode(labels)
    assert decoded == text and unicodedata.is_normalized("NFC", decoded)
    assert KO.canonical(text) == text


def test_decomposed_input_and_compatibility_jamo_are_normalised():
    nfd = unicodedata.normalize("NFD", "한국어")
    assert KO.decode(KO.encode(nfd)) == "한국어"
    # a lone letter (as typed, compatibility jamo) reads back as that letter
    assert KO.decode(KO.encode("ㅋㅋ 좋아요")) == "ㅋㅋ 좋아요"


def test_output_groups_follow_the_composed_characters():
    labels = KO.encode("값 a")
    groups = KO.output_groups(labels)
    assert [len(g) for g in groups] == [3, 1, 1]  # ᄀ ᅡ ᆹ, space, a
    assert Charset().output_groups(Charset().encode("ab")) is None


def _one_hot_forward(charset: Charset, text: str, p: float = 0.9):
    """A fake model emitting `text`'s labels, each on one frame followed by a blank."""
    labels = charset.encode(text)

    def forward(batch: np.ndarray) -> np.ndarray:
        steps = batch.shape[-1] // 4
        logits = np.full((batch.shape[0], steps, charset.num_classes), -10.0, np.float32)
        logits[:, :, 0] = 10.0
        for t, k in enumerate(labels):
            logits[:, 2 * t, :] = np.log((1 - p) / (charset.num_classes - 1))
            logits[:, 2 * t, k] = np.log(p)
        return logits

    return forward


def test_the_recognition_stage_composes_syllables_with_one_probability_each():
    meta = {"charset": KO.to_dict(), "lang": "ko"}
    stage = RecognitionStage(_one_hot_forward(KO, "한국 12"), meta)
    line = np.full((32, 160), 255, np.uint8)
    (d,) = stage.recognize_prepared([line])
    assert stage.text(d) == "한국 12"
    assert len(d.char_probs) == len(d.frames) == len("한국 12")
    # a syllable's probability is the product of its jamo's: 한 = 3 labels, 국 = 3
    assert d.char_probs[0] == pytest.approx(0.9 ** 3, rel=1e-3)
    assert d.char_probs[3] == pytest.approx(0.9, rel=1e-3)
    assert d.frames[:2] == [0, 6]  # the first jamo's frame


def test_the_jamo_grammar_penalises_only_broken_syllables():
    grammar = hangul.JamoGrammar(KO.chars, penalty=10.0)
    ssang, s, eu, ng = KO.encode("\u110a")[0], KO.encode("\u1109")[0], KO.encode("\u1173")[0], \
        KO.encode("\u11bc")[0]
    one = KO.encode("1")[0]
    assert grammar.log_prob([ssang], eu) == 0.0  # initial, vowel
    assert grammar.log_prob([ssang, eu], ng) == 0.0  # ... and a final
    assert grammar.log_prob([ssang, eu], s) == 0.0  # the next syllable
    assert grammar.log_prob([], one) == grammar.log_prob([ssang, eu, ng], one) == 0.0
    assert grammar.log_prob([ssang], s) == -10.0  # an initial with no vowel
    assert grammar.log_prob([one], eu) == -10.0  # a vowel with no initial
    assert grammar.log_prob([ssang], ng) == -10.0  # a final after an initial
    assert grammar.log_prob([ssang], one) == -10.0
    assert hangul.has_stray_jamo(list("\u110a\u1109\u1173"))  # ㅆ스
    assert not hangul.has_stray_jamo(list("\u1109\u1173 12"))  # 스 12


def test_a_line_with_a_stray_jamo_is_decoded_again_into_read_doubtful_again():
    """Greedy reads these frames as "ㅆ스" (a second initial just ahead of the blank);
    the grammar beam gives "쓰", which costs the frames little. English is untouched."""
    ssang, s, eu = (KO.encode(c)[0] for c in ("\u110a", "\u1109", "\u1173"))

    def forward(batch: np.ndarray) -> np.ndarray:
        logits = np.full((batch.shape[0], batch.shape[-1] // 4, KO.num_classes), -10.0,
                         np.float32)
        logits[:, :, 0] = 10.0
        logits[:, 0, 0], logits[:, 0, ssang] = -10.0, 10.0
        logits[:, 1, 0], logits[:, 1, s] = 1.0, 1.2  # ㅅ just above the blank
        logits[:, 2, 0], logits[:, 2, eu] = -10.0, 10.0
        return logits

    line = np.full((32, 64), 255, np.uint8)
    meta = {"charset": KO.to_dict(), "lang": "ko"}
    (d,) = RecognitionStage(forward, meta).recognize_prepared([line])
    assert RecognitionStage(forward, meta).text(d) == "쓰"
    assert len(d.char_probs) == 1
    greedy = RecognitionStage(forward, meta)
    greedy._read_doubtful_again = lambda logits, lengths, decoded: decoded
    (raw,) = greedy.recognize_prepared([line])
    assert greedy.text(raw) == "ㅆ스"
    beam = RecognitionStage(forward, meta, decoder="beam")  # the beam knows syllables too
    assert isinstance(beam.lm, hangul.JamoGrammar)
    (d,) = beam.recognize_prepared([line])
    assert beam.text(d) == "쓰"


def test_an_allowlist_of_syllables_allows_their_jamo():
    meta = {"charset": KO.to_dict(), "lang": "ko"}
    stage = RecognitionStage(_one_hot_forward(KO, "한국"), meta, allowlist="한국")
    (d,) = stage.recognize_prepared([np.full((32, 96), 255, np.uint8)])
    assert stage.text(d) == "한국"


def test_an_unsure_korean_line_is_read_with_the_korean_lm():
    """Frames that read "으전 9시" by a hair (ㅡ 0.5 against ㅗ 0.45): the line is under
    REDO_CONFIDENCE, so the beam with the jamo LM reads it, and the LM knows "오전"."""
    labels = KO.encode("오전 9시")
    o, eu = KO.encode("\u1169")[0], KO.encode("\u1173")[0]

    def forward(batch: np.ndarray) -> np.ndarray:
        logits = np.full((batch.shape[0], batch.shape[-1] // 4, KO.num_classes), -10.0,
                         np.float32)
        logits[:, :, 0] = 10.0
        for t, k in enumerate(labels):
            logits[:, 2 * t, 0], logits[:, 2 * t, k] = -10.0, 10.0
        t = labels.index(o)
        logits[:, 2 * t, o], logits[:, 2 * t, eu] = np.log(0.45), np.log(0.5)
        logits[:, 2 * t, 0] = np.log(0.05)
        return logits

    meta = {"charset": KO.to_dict(), "lang": "ko"}
    line = np.full((32, 4 * 2 * len(labels) + 8), 255, np.uint8)
    stage = RecognitionStage(forward, meta)
    assert stage.grammar.lm is not None and stage.grammar.lm_weight == JAMO_LM_WEIGHT
    (d,) = stage.recognize_prepared([line])
    assert stage.text(d) == "오전 9시"
    greedy = RecognitionStage(forward, meta, lexicon=False)
    greedy._read_doubtful_again = lambda logits, lengths, decoded: decoded
    (raw,) = greedy.recognize_prepared([line])
    assert greedy.text(raw) == "으전 9시"
    # the word list alone also knows "오전" (one jamo off)
    listed = RecognitionStage(forward, meta)
    listed._read_doubtful_again = lambda logits, lengths, decoded: decoded
    assert listed.text(listed.recognize_prepared([line])[0]) == "오전 9시"
    # --decoder beam --lm-weight W: the Korean LM at that weight, on every line
    beam = RecognitionStage(forward, meta, decoder="beam", lm_weight=0.5)
    assert beam.lm is beam.grammar and beam.grammar.lm_weight == 0.5
    assert beam.grammar.lm.charset.chars == KO.chars


def test_an_unknown_language_is_refused_with_the_list():
    with pytest.raises(ValueError, match="available: en, ko"):
        ReaderConfig(lang="xx")
    with pytest.raises(ValueError, match="unknown language"):
        get_language("kor")
    result = CliRunner().invoke(main, ["read", "--lang", "xx", "samples/line.png"])
    assert result.exit_code == 2 and "'en'" in result.output and "'ko'" in result.output


def test_a_language_without_its_model_files_is_a_missing_model(tmp_path):
    for name in ("detector.onnx", "recognizer.onnx"):
        shutil.copy(weights_dir() / name, tmp_path / name)
    assert [lang.code for lang in installed_languages(tmp_path)] == ["en"]
    result = CliRunner().invoke(main, ["read", "--lang", "ko", "--weights", str(tmp_path),
                                       "samples/line.png"])
    assert result.exit_code == 3
    assert "language 'ko' is not installed" in result.output


def test_info_lists_the_installed_languages_with_their_charsets():
    result = CliRunner().invoke(main, ["info", "--json"])
    assert result.exit_code == 0
    languages = {lang["code"]: lang for lang in json.loads(result.output)["languages"]}
    assert "en" in languages and "a" in languages["en"]["charset"]
    installed = {lang.code for lang in installed_languages()}
    assert set(languages) == installed
    if "ko" in languages:
        assert set(hangul.JAMO) <= set(languages["ko"]["charset"])
    assert set(LANGUAGES) >= installed


def test_korean_training_draws_korean_text_with_hangul_fonts():
    import random

    from ocrtool.synth.fonts import hangul_fonts
    from ocrtool.training.recognizer import MixedLines, RecognizerConfig, training_charset

    cfg = RecognizerConfig(lang="ko", synth_fraction=1.0)
    charset = training_charset(get_language("ko"), "abcé")  # an English model's rows first
    assert charset.form == "jamo" and charset.chars.startswith("abcé")
    lines = MixedLines(cfg, charset, [], [])
    assert set(lines.fonts) == set(hangul_fonts()) and not set(lines.fonts) & set(
        hangul_fonts(held_out=True))
    rng = random.Random(0)
    texts = [lines.sample(rng)[1] for _ in range(30)]
    assert sum(any(hangul.is_syllable(c) for c in t) for t in texts) >= 20
