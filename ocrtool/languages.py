"""The languages ocrtool reads: one registry for the CLI, the Reader, export and training.

A language selects a recognizer file (its charset, normalisation and weights travel
inside it); the detector is shared. Torch-free, so `ocrtool info` and the ONNX path can
use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .recognition.charset import DEFAULT_CHARS, KOREAN_CHARS

DEFAULT_LANG = "en"


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    recognizer: str  # model file stem under weights/: <stem>.pt, .onnx, .int8.onnx
    chars: str  # the charset a new model of this language is trained with
    form: str  # charset form: "nfc" (one label per character) or "jamo" (see hangul.py)
    script: str  # which fonts draw its synthetic lines (synth/fonts.py)
    tesseract: str  # its ISO 639-2 code, as Tesseract and OCRmyPDF's -l name it
    lm: str  # its character (or jamo) n-gram LM under ocrtool/data/ (recognition/lm.py)
    # its word list under ocrtool/data/ (recognition/lexicon.py): a decoded word missing
    # from it is replaced by a listed word one or two edits away that is at most
    # `lexicon_margin` less likely under CTC; words shorter than `lexicon_min_length`
    # characters are left alone. Each margin is chosen on validation lines
    # (bench/tune_case.py --knob lexicon, bench/korean/tune_lexicon.py).
    lexicon: str
    lexicon_margin: float
    lexicon_min_length: int
    # detected lines whose characters this recognizer read with a geometric-mean
    # probability under this are dropped as detections of things that are not text (a
    # logo's texture, a stamp, railings read as "iil"; `Line.char_confidence`). Chosen on
    # the held-out pages of the training sets (bench/tune_noise.py): English 0.45, the
    # highest threshold under which no set's CER got worse (web graphics' word F1 0.817 ->
    # 0.846). The replay, mended in session 15 (a page left with no lines kept its text),
    # now puts receipts' CER at 4.40% against 4.39% off, under two characters in 16
    # thousand; 0.45 stays, as 0.4 reads no set's words better. Korean 0 (off): on
    # Chromium pages of training text every threshold from 0.3 raised the CER (4.1% ->
    # 4.5%).
    min_char_confidence: float
    # lines of at most SHORT_LINE_CHARS characters ("v", "aA", a lone "1") must be read
    # at least this surely: two characters are little evidence that a blob is text, and
    # such reads were most of the false detections left on receipts and scene photos.
    # Chosen as above (bench/tune_noise.py --short-thresholds): English 0.95, the highest
    # under which no set's CER got worse than at 0.45 alone (scene photos' word F1 0.417
    # -> 0.432, H-mean 0.507 -> 0.526; web graphics' 0.846 -> 0.851; receipts' H-mean
    # 0.926 -> 0.929); Korean 0 (off): CER 4.06% -> 4.10% at 0.5 on its validation
    # pages, worse at every threshold above.
    min_short_line_confidence: float
    # a word missing from the list that is two listed words run together is split by a
    # space where the model allows it (same margin; recognition/lexicon.py). English: on
    # the held-out pages, web graphics' word F1 (ci) 0.851 -> 0.865, no set worse. Korean
    # writes particles onto words, so a listed word plus a listed particle is one word.
    lexicon_splits: bool = False


SHORT_LINE_CHARS = 2  # the most non-space characters a line held to the short threshold has


LANGUAGES: dict[str, Language] = {
    "en": Language("en", "English and Latin-script European languages", "recognizer",
                   DEFAULT_CHARS, "nfc", "latin", "eng", "latin_char_lm.json.gz",
                   "latin_words.txt.gz", 4.0, 3, 0.45, 0.95, lexicon_splits=True),
    "ko": Language("ko", "Korean, with digits, Latin letters and punctuation", "recognizer_ko",
                   KOREAN_CHARS, "jamo", "hangul", "kor", "korean_jamo_lm.json.gz",
                   "korean_words.txt.gz", 3.0, 2, 0.0, 0.0),
}


def get_language(code: str) -> Language:
    """The registered language `code`; a ValueError listing the known ones otherwise."""
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r} (available: {', '.join(LANGUAGES)})")
    return LANGUAGES[code]


def installed_languages(weights: str | Path | None = None) -> list[Language]:
    """Languages whose recognizer is present in the weights folder."""
    from .runtime.base import weights_dir

    root = Path(weights or weights_dir())
    return [lang for lang in LANGUAGES.values()
            if any((root / f"{lang.recognizer}{s}").exists() for s in (".onnx", ".pt"))]
