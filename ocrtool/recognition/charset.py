"""The recognizer's character set: one definition, stored inside every checkpoint.

Index 0 is the CTC blank; characters start at 1. Text is normalised before it meets the
charset (NFKC, odd whitespace to spaces, look-alike quotes folded) so the labels of real
data sets and the output of the decoder speak the same alphabet.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterable, Sequence

from . import hangul

# printable ASCII without the control whitespace: every model reads it
PRINTABLE_ASCII = "".join(c for c in string.printable if c not in "\t\n\r\x0b\x0c")
# ® and © mark brand names on web graphics and packaging (born-digital labels use them)
EXTRA_CHARS = "€£°‘’“”–—®©"
# Letters and punctuation of the main Latin-script European languages (French, German,
# Spanish, Portuguese, Italian, Dutch, Polish, Czech, Swedish, Danish, Norwegian, Finnish,
# Turkish, Romanian, Hungarian), lower case then capitals; text is NFC (composed) before it
# meets them, so a decomposed "e" + combining acute reads as the one character.
LATIN_LOWER = "éèêëàâäçîïôöùûüÿñáíóúãõåæøœßłąęśźżćńčřšžťďňůğışőűășțìòý"
LATIN_UPPER = "ÉÈÊËÀÂÄÇÎÏÔÖÙÛÜŸÑÁÍÓÚÃÕÅÆØŒŁĄĘŚŹŻĆŃČŘŠŽŤĎŇŮĞİŞŐŰĂȘȚÌÒÝ"
LATIN_PUNCT = "«»„‚¿¡‹›§¢¥±"
LATIN_CHARS = LATIN_LOWER + LATIN_UPPER + LATIN_PUNCT
DEFAULT_CHARS = PRINTABLE_ASCII + EXTRA_CHARS + LATIN_CHARS

# Korean model: the printable ASCII it reads inside Korean text (prices, brand names,
# URLs), the punctuation Korean print adds, and the 67 conjoining jamo (see hangul.py).
KOREAN_PUNCT = "·※「」『』“”‘’○●■□▲△▶◆◇★☆→←℃₩×–—°"
KOREAN_CHARS = PRINTABLE_ASCII + KOREAN_PUNCT + hangul.JAMO
FORMS = ("nfc", "jamo")

# Characters folded onto ones the charset has, so labels from the wild still train.
_FOLD = {
    "\u00a0": " ",
    "\u2009": " ",
    "\u2002": " ",
    "\u2003": " ",
    "\u2212": "-",
    "\u2010": "-",
    "\u2011": "-",
    "\u00b4": "'",
    "\u2032": "'",
    "\u2033": '"',
    "\u00d7": "x",
    "\u2022": "*",
    "\u00b7": ".",
    "\u2026": "...",
    "\u0163": "\u021b",  # t-cedilla, the old spelling of Romanian t-comma
    "\u0162": "\u021a",
}


class Charset:
    """Maps text to label indices and back; blank is index 0.

    `form` "jamo" labels Hangul syllables as their jamo and composes them again on
    decoding; "nfc" labels every character as it is.
    """

    def __init__(self, chars: str = DEFAULT_CHARS, form: str = "nfc") -> None:
        if len(set(chars)) != len(chars):
            raise ValueError("charset has duplicate characters")
        if form not in FORMS:
            raise ValueError(f"unknown charset form {form!r} (use {', '.join(FORMS)})")
        self.chars, self.form = chars, form
        self._index = {c: i + 1 for i, c in enumerate(chars)}

    def __len__(self) -> int:
        return len(self.chars)

    @property
    def num_classes(self) -> int:
        """Characters plus the CTC blank."""
        return len(self.chars) + 1

    def normalize(self, text: str) -> str:
        """NFKC plus folding; characters the charset lacks are dropped, spaces squeezed."""
        text = unicodedata.normalize("NFKC", text)  # composed (NFC) accents included
        text = "".join(c if c in self._index else _FOLD.get(c, c) for c in text)
        if self.form == "jamo":
            text = hangul.decompose(text)
        text = "".join(c for c in text if c in self._index)
        return " ".join(text.split())

    def label_chars(self, text: str) -> str:
        """The label characters `text` is made of (jamo for Hangul syllables in a jamo
        charset): what allow- and blocklists mean to the decoder."""
        return hangul.decompose(text) if self.form == "jamo" else text

    def canonical(self, text: str) -> str:
        """Text as this charset would read it back: normalised, syllables composed (NFC)."""
        text = self.normalize(text)
        return hangul.compose(text) if self.form == "jamo" else text

    def encode(self, text: str) -> list[int]:
        return [self._index[c] for c in self.normalize(text)]

    def decode(self, indices: Iterable[int]) -> str:
        chars = [self.chars[i - 1] for i in indices if i > 0]
        return hangul.compose(chars) if self.form == "jamo" else "".join(chars)

    def output_groups(self, indices: Sequence[int]) -> list[list[int]] | None:
        """Which label positions make each output character, where that is not one each
        (jamo composed into syllables); None when every label is one character."""
        if self.form != "jamo":
            return None
        return [pos for _, pos in hangul.compose_groups([self.chars[i - 1] for i in indices])]

    def indices_of(self, chars: Sequence[str] | str) -> list[int]:
        """Label indices of the given characters; unknown characters are ignored."""
        return [self._index[c] for c in chars if c in self._index]

    def case_pairs(self) -> tuple[list[int], list[int]]:
        """(upper, lower) index pairs for letters, used for case-insensitive CTC training."""
        pairs = {}
        for c in self.chars:
            u = c.upper()
            if c != u and len(u) == 1 and u in self._index and c != "\u0131":
                pairs.setdefault(self._index[u], self._index[c])  # one lower per capital
        return list(pairs), list(pairs.values())

    def to_dict(self) -> dict:
        return {"chars": self.chars, "form": self.form}

    @classmethod
    def from_dict(cls, d: dict) -> Charset:
        return cls(d["chars"], d.get("form", "nfc"))
