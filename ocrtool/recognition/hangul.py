"""Hangul syllables as jamo: the Korean recognizer reads letters, not whole syllables.

A syllable block is an initial consonant, a vowel and an optional final consonant
(Unicode's arithmetic: 0xAC00 + (initial * 21 + vowel) * 28 + final). Reading the 67
conjoining jamo instead of the 2,350 KS X 1001 syllables covers all 11,172 modern
syllables, and every syllable's parts are learned from every other syllable that shares
them, which matters when a model trains on a CPU for hours, not on a GPU for days.
The decoder's jamo are put back together here (NFC output).
"""

from __future__ import annotations

from collections.abc import Sequence

SYLLABLE_FIRST, SYLLABLE_LAST = 0xAC00, 0xD7A3
INITIALS = "".join(chr(0x1100 + i) for i in range(19))
VOWELS = "".join(chr(0x1161 + i) for i in range(21))
FINALS = "".join(chr(0x11A8 + i) for i in range(27))
JAMO = INITIALS + VOWELS + FINALS
# a jamo the decoder leaves on its own is shown as the compatibility letter people type
_COMPAT = dict(zip(
    INITIALS + VOWELS + FINALS,
    "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
    "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
    "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ",
))


def is_syllable(c: str) -> bool:
    return SYLLABLE_FIRST <= ord(c) <= SYLLABLE_LAST


def decompose(text: str) -> str:
    """Each precomposed Hangul syllable as its 2 or 3 conjoining jamo; the rest unchanged."""
    out = []
    for c in text:
        if is_syllable(c):
            s = ord(c) - SYLLABLE_FIRST
            out.append(INITIALS[s // 588] + VOWELS[(s % 588) // 28])
            if s % 28:
                out.append(FINALS[s % 28 - 1])
        else:
            out.append(c)
    return "".join(out)


def compose_groups(chars: Sequence[str]) -> list[tuple[str, list[int]]]:
    """Decoded characters -> (output character, positions it came from).

    An initial followed by a vowel (and a final, when one follows) becomes one syllable;
    a stray jamo becomes its compatibility letter. The positions let the decoder's
    per-character probabilities and frames follow the composed text.
    """
    groups: list[tuple[str, list[int]]] = []
    i, n = 0, len(chars)
    while i < n:
        c = chars[i]
        if c in INITIALS and i + 1 < n and chars[i + 1] in VOWELS:
            code = (INITIALS.index(c) * 21 + VOWELS.index(chars[i + 1])) * 28
            used = [i, i + 1]
            if i + 2 < n and chars[i + 2] in FINALS:
                code += FINALS.index(chars[i + 2]) + 1
                used.append(i + 2)
            groups.append((chr(SYLLABLE_FIRST + code), used))
            i += len(used)
            continue
        groups.append((_COMPAT.get(c, c), [i]))
        i += 1
    return groups


def compose(chars: Sequence[str]) -> str:
    """Decoded jamo and other characters as NFC text."""
    return "".join(c for c, _ in compose_groups(chars))


def has_stray_jamo(chars: Sequence[str]) -> bool:
    """True when some decoded jamo is not part of a syllable (see `compose_groups`)."""
    return any(len(pos) == 1 and chars[pos[0]] in JAMO for _, pos in compose_groups(chars))


class JamoGrammar:
    """A character "language model" for the beam that knows only how syllables are built:
    an initial is followed by a vowel, a vowel follows an initial, a final follows a vowel.
    Any other jamo transition costs `penalty` (log-probability), so a beam that has it
    prefers whole syllables and keeps a stray letter only on strong evidence.

    With a jamo n-gram `lm` (`lm.CharNgramLM` on the same charset), its log-probability
    times `lm_weight` is added: the grammar rules out broken syllables, the LM prefers the
    syllables and words Korean text has ("오전" over "으전").

    `chars` are the charset's characters; label k is chars[k - 1] (0 is the CTC blank).
    """

    def __init__(self, chars: Sequence[str], penalty: float, lm=None,
                 lm_weight: float = 0.0) -> None:
        self.penalty = penalty
        self.kind = [""] + ["L" if c in INITIALS else "V" if c in VOWELS
                            else "T" if c in FINALS else "" for c in chars]
        self.lm, self.lm_weight = lm, lm_weight

    def log_prob(self, context: Sequence[int], index: int) -> float:
        prev = self.kind[context[-1]] if context else ""
        nxt = self.kind[index]
        if prev == "L":
            ok = nxt == "V"
        else:
            ok = nxt == "" or nxt == "L" or (nxt == "V" and prev == "L") or (
                nxt == "T" and prev == "V")
        score = 0.0 if ok else -self.penalty
        if self.lm is not None:
            score += self.lm_weight * self.lm.log_prob(context, index)
        return score
