"""Word case made consistent where the recognizer doubts it.

A CTC recognizer decides the case of each letter on its own frames, so a word it is
unsure of comes out in mixed case ("ThaNK", "dUE", "RELATIOnS"), which print almost
never is. Real words are written in one of three ways: lower case, capitalised, or all
capitals. For each run of letters whose decoded case is none of these, the cheapest of the
three (in the model's own log-probabilities, at each letter's peak frame) replaces it when
it costs at most `max_cost`. Deliberate mixed case that the model reads confidently
("McDonald", "iPhone", "kHz") costs more than that and is kept; the case-blind language
model leaves case to this step and the recognizer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .decoding import Decoded

LOWER, CAPITALISED, UPPER = "lower", "capitalised", "upper"


def casing_of(cases: Sequence[bool]) -> str | None:
    """Which of the three word casings a run of letters has (True = capital), or None."""
    if not any(cases):
        return LOWER
    if all(cases):
        return UPPER
    if cases[0] and not any(cases[1:]):
        return CAPITALISED
    return None


def cases_for(casing: str, n: int) -> list[bool]:
    """The capital flags of an n-letter run written in `casing`."""
    if casing == UPPER:
        return [True] * n
    if casing == CAPITALISED:
        return [True] + [False] * (n - 1)
    return [False] * n


class CaseRepair:
    """Rewrites the mixed-case letter runs of decoded lines (see the module docstring).

    `upper` and `lower` are the charset's paired class columns (`Charset.case_pairs`);
    `letters` marks the classes that belong to a word (letters, cased or not), so digits,
    spaces and punctuation end a run.
    """

    def __init__(self, upper: Sequence[int], lower: Sequence[int], letters: set[int],
                 max_cost: float) -> None:
        self.to_upper = dict(zip(lower, upper))
        self.to_lower = dict(zip(upper, lower))
        self.letters, self.max_cost = letters, max_cost

    def needs_repair(self, d: Decoded) -> bool:
        """Whether any letter run of `d` is in mixed case (cheap; no log-probabilities)."""
        return any(casing_of(self._cases(d.indices, run)) is None for run in self._runs(d))

    def repair(self, d: Decoded, log_probs: np.ndarray) -> Decoded:
        """`d` with each mixed-case run recased where that costs at most `max_cost`;
        `log_probs` is the line's (T, C) masked log-softmax that `d` was decoded from."""
        if self.max_cost <= 0 or not d.frames:
            return d
        indices, probs = list(d.indices), list(d.char_probs)
        for run in self._runs(d):
            cased = [k for k in run if self._is_cased(indices[k])]
            cases = self._cases(indices, cased)
            if casing_of(cases) is not None:
                continue
            best, cost = min(((c, self._cost(d, log_probs, cased, cases_for(c, len(cased))))
                              for c in (LOWER, CAPITALISED, UPPER)), key=lambda x: x[1])
            if cost > self.max_cost:
                continue
            for k, cap in zip(cased, cases_for(best, len(cased))):
                new = self._with_case(indices[k], cap)
                if new != indices[k]:
                    indices[k] = new
                    probs[k] = float(np.exp(log_probs[d.frames[k], new]))
        return Decoded(indices, probs, list(d.frames))

    def _runs(self, d: Decoded) -> list[list[int]]:
        """Positions of each maximal run of letters with at least two cased letters."""
        runs, cur = [], []
        for k, i in enumerate(d.indices + [-1]):
            if i in self.letters:
                cur.append(k)
                continue
            if sum(self._is_cased(d.indices[j]) for j in cur) >= 2:
                runs.append(cur)
            cur = []
        return runs

    def _is_cased(self, i: int) -> bool:
        return i in self.to_upper or i in self.to_lower

    def _cases(self, indices: Sequence[int], positions: Sequence[int]) -> list[bool]:
        return [indices[k] in self.to_lower for k in positions if self._is_cased(indices[k])]

    def _with_case(self, i: int, capital: bool) -> int:
        if capital:
            return self.to_upper.get(i, i)
        return self.to_lower.get(i, i)

    def _cost(self, d: Decoded, log_probs: np.ndarray, positions: Sequence[int],
              capitals: Sequence[bool]) -> float:
        """Log-probability lost by writing the letters at `positions` with `capitals`."""
        total = 0.0
        for k, cap in zip(positions, capitals):
            i, new = d.indices[k], self._with_case(d.indices[k], cap)
            if new != i:
                t = d.frames[k]
                total += float(log_probs[t, i] - log_probs[t, new])
        return total
