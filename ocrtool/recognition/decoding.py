"""CTC decoding in numpy, shared by the PyTorch and ONNX backends.

Greedy (best path) decoding, and a true CTC prefix beam search that keeps the probability
of prefixes ending in blank apart from those ending in a character: without that split a
doubled letter ("happy", "1100") collapses into one. A character language model can be
fused inside the beam (shallow fusion); allow/block lists act as a mask on the logits, so a
masked character can never be emitted by either decoder.

The beam runs on every crop, so its inner loop works on plain Python floats (numpy scalar
arithmetic is an order of magnitude slower per operation) and only visits the characters
that are plausible in each frame.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..config import LM_WEIGHT

BLANK = 0
NEG_INF = float("-inf")


@dataclass
class Decoded:
    """Label indices, one probability per character, and the frame each character peaks at."""

    indices: list[int]
    char_probs: list[float]
    frames: list[int] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        """Raw sequence confidence: the weakest character's probability (1.0 for empty)."""
        return float(min(self.char_probs)) if self.char_probs else 1.0


class CharLM(Protocol):
    """What the beam needs of a language model: log P(next | previous label indices)."""

    def log_prob(self, context: Sequence[int], index: int) -> float: ...


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable log-softmax over the last axis."""
    m = logits.max(axis=-1, keepdims=True)
    z = logits - m
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def char_mask(
    num_classes: int, allowed: Sequence[int] | None = None, blocked: Sequence[int] | None = None
) -> np.ndarray | None:
    """Boolean mask over classes (True = may be emitted); None when nothing is masked.

    The blank always stays allowed: without it CTC could not separate characters.
    """
    if not allowed and not blocked:
        return None
    mask = np.zeros(num_classes, bool) if allowed else np.ones(num_classes, bool)
    if allowed:
        mask[list(allowed)] = True
    if blocked:
        mask[list(blocked)] = False
    mask[BLANK] = True
    return mask


def apply_mask(logits: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Masked classes get a logit of -1e9 so their probability is exactly zero."""
    if mask is None:
        return logits
    out = logits.copy()
    out[..., ~mask] = -1e9
    return out


def merge_cases(log_probs: np.ndarray, upper: Sequence[int], lower: Sequence[int]) -> np.ndarray:
    """Log-probabilities with each letter's small form added onto its capital (the small
    form's column then never wins): what a crop says whatever its case."""
    out = np.array(log_probs, dtype=np.float32, copy=True)
    out[..., upper] = np.logaddexp(log_probs[..., upper], log_probs[..., lower])
    out[..., lower] = -1e9
    return out


def greedy_decode(log_probs: np.ndarray) -> Decoded:
    """Best path: argmax per frame, merge repeats, drop blanks. log_probs is (T, C).

    Each character's probability is the highest it reaches over its run of frames.
    """
    num_frames = log_probs.shape[0]
    if num_frames == 0:
        return Decoded([], [], [])
    best = log_probs.argmax(axis=1)
    probs = np.exp(log_probs[np.arange(num_frames), best])
    new_run = np.ones(num_frames, bool)
    new_run[1:] = best[1:] != best[:-1]
    starts = np.flatnonzero(new_run)
    run_id = np.cumsum(new_run) - 1
    run_max = np.maximum.reduceat(probs, starts)
    # first frame of each run where the run's maximum is reached
    at_max = np.flatnonzero(probs == run_max[run_id])
    _, first = np.unique(run_id[at_max], return_index=True)
    peak = at_max[first]
    keep = best[starts] != BLANK
    return Decoded(
        best[starts][keep].tolist(), run_max[keep].astype(float).tolist(), peak[keep].tolist()
    )


def _lse(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) on Python floats."""
    if a < b:
        a, b = b, a
    if b == NEG_INF:
        return a
    return a + math.log1p(math.exp(b - a))


def _frame_candidates(log_probs: np.ndarray, prune: float, top_k: int) -> list[list[int]]:
    """Per frame, the non-blank classes worth extending a prefix with.

    A class below `prune` probability cannot change the result in practice, nor can one
    outside the frame's `top_k` (it would need to beat top_k better extensions of the
    same beams); when no class passes but the argmax is a character, that character is
    kept so that flat frames still decode like greedy would.
    """
    ok = log_probs > math.log(prune)
    ok[:, BLANK] = False
    if top_k < log_probs.shape[1] - 1:
        kth = -np.partition(-log_probs, top_k, axis=1)[:, top_k - 1 : top_k]
        ok &= log_probs >= kth
    best = log_probs.argmax(axis=1)
    ok[np.arange(len(best)), best] |= best != BLANK
    rows, cols = np.nonzero(ok)
    bounds = np.searchsorted(rows, np.arange(log_probs.shape[0] + 1))
    cols_list = cols.tolist()
    return [cols_list[bounds[t] : bounds[t + 1]] for t in range(log_probs.shape[0])]


def beam_decode(
    log_probs: np.ndarray,
    beam_width: int = 8,
    lm: CharLM | None = None,
    lm_weight: float = LM_WEIGHT,
    length_bonus: float = 0.0,
    prune: float = 1e-3,
) -> Decoded:
    """CTC prefix beam search over (T, C) log-probabilities, with optional LM fusion.

    Each prefix carries log P(prefix, path ends in blank) and log P(prefix, path ends in
    its last character). A repeated character only extends the prefix from the
    blank-ending part (otherwise it merges into the same character), which is what keeps
    "book" from becoming "bok". Beams are ranked by acoustic + lm_weight * LM +
    length_bonus * length; the LM term of a prefix is computed once, when the prefix is
    first created, so every appended character is scored by the LM exactly once.
    """
    num_frames = log_probs.shape[0]
    if num_frames == 0:
        return Decoded([], [], [])
    rows = log_probs.tolist()
    row_max = log_probs.max(axis=1).tolist()
    candidates = _frame_candidates(log_probs, prune, max(beam_width, 2))
    log_prune = math.log(prune)
    lm_score: dict[tuple[int, ...], float] = {(): 0.0}
    first_frame: dict[tuple[int, ...], int] = {}
    # prefix -> [log P(ends in blank), log P(ends in last char)]
    beams: dict[tuple[int, ...], list[float]] = {(): [0.0, NEG_INF]}

    for t in range(num_frames):
        row = rows[t]
        p_blank = row[BLANK]
        cands = candidates[t]
        if not cands:
            # nothing worth extending with (most frames: a blank): every beam only
            # takes this frame's blank or holds its last character, and none is pruned
            beams = {prefix: [_lse(pb, pc) + p_blank, pc + row[prefix[-1]] if prefix
                              else NEG_INF] for prefix, (pb, pc) in beams.items()}
            continue
        nxt: dict[tuple[int, ...], list[float]] = {}
        totals = {prefix: _lse(pb, pc) for prefix, (pb, pc) in beams.items()}
        # extensions far less likely than the best beam's best continuation are skipped
        floor = max(totals.values()) + row_max[t] + log_prune
        for prefix, (pb, pc) in beams.items():
            total = totals[prefix]
            entry = nxt.get(prefix)
            if entry is None:
                entry = nxt[prefix] = [NEG_INF, NEG_INF]
            entry[0] = _lse(entry[0], total + p_blank)
            last = prefix[-1] if prefix else -1
            if prefix:
                # the last character held for one more frame: same prefix
                entry[1] = _lse(entry[1], pc + row[last])
            for k in cands:
                # a repeat of the last character needs a blank in between
                gain = (pb if k == last else total) + row[k]
                if gain < floor:
                    continue
                new = prefix + (k,)
                ext = nxt.get(new)
                if ext is None:
                    ext = nxt[new] = [NEG_INF, gain]
                    if new not in lm_score:
                        step = lm.log_prob(prefix, k) if lm is not None else 0.0
                        lm_score[new] = lm_score[prefix] + step
                    if new not in beams:  # (re)born in this frame
                        first_frame[new] = t
                else:
                    ext[1] = _lse(ext[1], gain)
        beams = _prune(nxt, beam_width, lm_score, lm_weight, length_bonus)

    prefix = _prune(beams, 1, lm_score, lm_weight, length_bonus).popitem()[0]
    return _with_char_probs(log_probs, prefix, first_frame)


def _prune(
    beams: dict[tuple[int, ...], list[float]],
    width: int,
    lm_score: dict[tuple[int, ...], float],
    lm_weight: float,
    length_bonus: float,
) -> dict[tuple[int, ...], list[float]]:
    """Keep the `width` best prefixes by acoustic + weighted LM + length bonus."""
    if len(beams) <= width:
        return beams
    scored = [
        (_lse(pb, pc) + lm_weight * lm_score[p] + length_bonus * len(p), p)
        for p, (pb, pc) in beams.items()
    ]
    best = heapq.nlargest(width, scored, key=_first)
    return {p: beams[p] for _, p in best}


def _first(item: tuple[float, tuple[int, ...]]) -> float:
    return item[0]


def _with_char_probs(
    log_probs: np.ndarray, prefix: tuple[int, ...], first_frame: dict[tuple[int, ...], int]
) -> Decoded:
    """Each character's probability: its peak between its first frame and the next's.

    This matches greedy's "highest probability over the character's run" on peaked
    output, so confidences from both decoders mean the same thing.
    """
    starts = [first_frame[prefix[: i + 1]] for i in range(len(prefix))]
    ends = starts[1:] + [log_probs.shape[0]]
    probs, frames = [], []
    for k, s, e in zip(prefix, starts, ends):
        e = max(e, s + 1)
        seg = log_probs[s:e, k]
        j = int(seg.argmax())
        probs.append(float(np.exp(seg[j])))
        frames.append(s + j)
    return Decoded(list(prefix), probs, frames)


def decode_batch(
    logits: np.ndarray,
    method: str = "greedy",
    beam_width: int = 8,
    mask: np.ndarray | None = None,
    lm: CharLM | None = None,
    lm_weight: float = LM_WEIGHT,
    lengths: Sequence[int] | None = None,
    length_bonus: float = 0.0,
) -> list[Decoded]:
    """Decode (B, T, C) logits; `lengths` trims each row to its un-padded frames.

    `length_bonus` (per character, beam only) offsets the LM's per-character cost, which
    otherwise favours dropping characters when lm_weight is large.
    """
    if method not in ("greedy", "beam"):
        raise ValueError(f"unknown decoder {method!r} (use 'greedy' or 'beam')")
    log_probs = log_softmax(apply_mask(np.asarray(logits, dtype=np.float32), mask))
    return decode_log_probs(log_probs, method, beam_width, lm, lm_weight, lengths,
                            length_bonus)


def decode_log_probs(
    log_probs: np.ndarray,
    method: str = "greedy",
    beam_width: int = 8,
    lm: CharLM | None = None,
    lm_weight: float = LM_WEIGHT,
    lengths: Sequence[int] | None = None,
    length_bonus: float = 0.0,
) -> list[Decoded]:
    """`decode_batch` on (B, T, C) log-probabilities already masked and normalised (a
    caller that reads them again afterwards computes them once)."""
    out = []
    for i in range(log_probs.shape[0]):
        lp = log_probs[i] if lengths is None else log_probs[i, : int(lengths[i])]
        if method == "greedy":
            out.append(greedy_decode(lp))
        else:
            out.append(
                beam_decode(lp, beam_width, lm=lm, lm_weight=lm_weight, length_bonus=length_bonus)
            )
    return out
