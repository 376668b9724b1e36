"""The recognition stage: line (or word) crops -> text, confidences and character frames.

It owns everything between a crop and its text: the model's input geometry (height and
frame stride, read from the model's metadata), preparation, batching by width (each batch
padded only to its own widest crop), the forward pass (a backend's `recognize`, or a
`torch.nn.Module` during training), the decoder settings (greedy or beam, beam width,
character LM, allow/block mask, checked once here) and calibrated confidences. The LM is
loaded only when the beam decoder will use it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import chain, islice

import numpy as np

from ..config import BEAM_WIDTH, DECODERS, LM_WEIGHT
from ..languages import DEFAULT_LANG
from .casing import CaseRepair
from .charset import Charset
from .decoding import (
    Decoded,
    apply_mask,
    beam_decode,
    char_mask,
    decode_log_probs,
    greedy_decode,
    log_softmax,
    merge_cases,
)
from .hangul import JamoGrammar, has_stray_jamo
from .lexicon import LexiconRepair
from .lm import load_language_lm
from .preprocess import (
    DETECTION_CONTEXT,
    FRAME_STRIDE,
    INPUT_HEIGHT,
    batches_by_width,
    crop_line,
    pad_batch,
    prepare_crop,
)
from .widths import REREAD_WIDTHS, frames_at_width, majority, widened

Forward = Callable[[np.ndarray], np.ndarray]

# Log-probability a broken syllable costs when a Korean line is decoded again
# (`RecognitionStage._read_doubtful_again`); chosen on data/ko_lines_val.
JAMO_PENALTY = 10.0
# Greedy lines whose weakest character is under REDO_CONFIDENCE (Korean lines also when a
# jamo stands outside any syllable) are decoded again by a beam with the language's LM, at
# LM_REDO_WEIGHT (Latin-script; chosen on the recognizer's validation crops,
# bench/tune_redo.py) or JAMO_LM_WEIGHT (Korean, with the syllable grammar; chosen on
# lines written from passages the LM never saw, bench/korean/tune_lm.py).
REDO_CONFIDENCE = 0.7
LM_REDO_WEIGHT = 0.3
JAMO_LM_WEIGHT = 0.4
# A decoded word in mixed case ("ThaNK") is written in the cheapest of lower case,
# capitalised and all capitals when that costs at most this much log-probability
# (`casing.CaseRepair`); chosen on the recognizer's validation crops, bench/tune_case.py.
CASE_REPAIR_COST = 1.0
# Recognizer batches forwarded ahead of the decoder, per worker (`_forward_all`)
AHEAD = 2


class RecognitionStage:
    """Reads crops with one recognizer. `forward` maps (B, 1, H, W) inputs to (B, T, C)
    logits; `meta` is the model's metadata (charset, input height, calibration)."""

    def __init__(self, forward: Forward, meta: dict, decoder: str = "greedy",
                 beam_width: int = BEAM_WIDTH, lm_weight: float = LM_WEIGHT,
                 allowlist: str | None = None, blocklist: str | None = None,
                 lexicon: bool = True, user_words: Sequence[str] = (),
                 batch_size: int = 32, reread_below: float = 0.0, workers: int = 1) -> None:
        if decoder not in DECODERS:
            raise ValueError(f"unknown decoder {decoder!r} (use {', '.join(DECODERS)})")
        self.forward, self.meta = forward, meta
        self.workers = workers  # batches forwarded at once (`Backend.recognize_workers`)
        self.charset = Charset.from_dict(meta["charset"])
        self.height = int(meta.get("input_height", INPUT_HEIGHT))
        self.frame_stride = int(meta.get("frame_stride", FRAME_STRIDE))
        self.decoder, self.beam_width, self.lm_weight = decoder, beam_width, lm_weight
        self.batch_size = batch_size
        self.mask = char_mask(self.charset.num_classes, self._allowed(allowlist),
                              self.charset.indices_of(self.charset.label_chars(blocklist))
                              if blocklist else None)
        self.lang = meta.get("lang", DEFAULT_LANG)
        self.reread_below = reread_below  # 0: each line read once (`_read_unsure_again`)
        # the language's LM is loaded here (about a second): nearly every page has a line
        # in doubt that is decoded again with it (`_read_doubtful_again`)
        self.jamo = self.charset.form == "jamo"
        self.grammar = self._syllable_grammar() if self.jamo else None
        self.lm = None
        if decoder == "beam" and self.jamo:
            self.lm, self.lm_weight = self.grammar, 1.0
        elif decoder == "beam" and lm_weight > 0:
            self.lm = load_language_lm(self.lang, self.charset)
        self.redo_lm, self.redo_weight = (
            (self.grammar, 1.0) if self.jamo else
            (load_language_lm(self.lang, self.charset), LM_REDO_WEIGHT)
        ) if decoder == "greedy" else (None, 0.0)
        self.calibrator = _load_calibrator(meta)
        self._case_pairs = self.charset.case_pairs()  # for `recognize_caseless`
        self.case_repair = CaseRepair(*self._case_pairs, set(self.charset.indices_of(
            "".join(c for c in self.charset.chars if c.isalpha()))), CASE_REPAIR_COST)
        self.lexicon_repair = LexiconRepair.for_language(self.lang, self.charset,
                                                         user_words) if lexicon else None

    @classmethod
    def from_backend(cls, backend, **settings) -> RecognitionStage:
        """The stage on a loaded backend (PyTorch or ONNX Runtime)."""
        return cls(backend.recognize, backend.recognizer_meta,
                   workers=backend.recognize_workers, **settings)

    @classmethod
    def from_module(cls, module, meta: dict, device: str = "cpu",
                    **settings) -> RecognitionStage:
        """The stage on an in-memory torch module (training validation); the caller puts
        it in eval mode."""
        from ..runtime.torch_backend import module_forward

        return cls(module_forward(module, device), meta, **settings)

    def _allowed(self, allowlist: str | None) -> list[int] | None:
        if allowlist is None:
            return None
        allowlist = self.charset.label_chars(allowlist)
        unknown = sorted({c for c in allowlist if c not in self.charset.chars})
        if not allowlist or unknown:
            raise ValueError("allowlist: " + (
                f"{''.join(unknown)!r} not in the model's character set" if unknown
                else "empty (nothing could be read)"))
        return self.charset.indices_of(allowlist)

    def _syllable_grammar(self) -> JamoGrammar:
        """The syllable grammar with the language's jamo LM, at `lm_weight` when one was
        given, else at JAMO_LM_WEIGHT."""
        weight = self.lm_weight if self.lm_weight > 0 else JAMO_LM_WEIGHT
        return JamoGrammar(self.charset.chars, JAMO_PENALTY,
                           load_language_lm(self.lang, self.charset), weight)

    # ------------------------------------------------------------------ crops -> text

    def crop(self, rgb: np.ndarray, quad: np.ndarray,
             context: tuple[float, float] = DETECTION_CONTEXT) -> np.ndarray:
        """Cut a detected line (or word) box out of a page, with `context` around it."""
        return crop_line(rgb, quad, context, self.height)

    def prepare(self, crop: np.ndarray, tight_ends: bool = False) -> np.ndarray:
        """A crop (RGB or gray, any size) as the model reads it: gray, stretched, resized;
        with `tight_ends` (nothing after its last glyph), background appended."""
        return prepare_crop(crop, self.height, tight_ends)

    def recognize(self, crops: Sequence[np.ndarray],
                  tight_ends: bool = False) -> list[Decoded]:
        """Decode crops (any size, RGB or gray), in the order given. `tight_ends`: the
        crops end on their last glyph (handed over, or cut with no context), and are read
        with background after it (`preprocess.with_trailing_background`)."""
        return self.recognize_prepared([self.prepare(c, tight_ends) for c in crops])

    def recognize_prepared(self, lines: Sequence[np.ndarray]) -> list[Decoded]:
        """Decode crops already `prepare`d, batched by width, in the order given; lines in
        doubt are read again at other widths (`_read_unsure_again`)."""
        return self._read_unsure_again(lines, self._read_prepared(lines))

    def _read_prepared(self, lines: Sequence[np.ndarray]) -> list[Decoded]:
        """One reading of each prepared line: decoded, LM re-read, case and words mended."""
        out: list[Decoded | None] = [None] * len(lines)
        for idx, logits, lengths in self._forward_batches(lines):
            log_probs = self._log_probs(logits)  # once: the decoder and each repair read it
            decoded = decode_log_probs(log_probs, self.decoder, self.beam_width, self.lm,
                                       self.lm_weight, lengths)
            decoded = self._read_doubtful_again(log_probs, lengths, decoded)
            decoded = self._repair_case(log_probs, lengths, decoded)
            decoded = self._repair_words(log_probs, lengths, decoded)
            for i, d in zip(idx, decoded):
                out[i] = self._per_output_char(d)
        return out  # type: ignore[return-value]

    def _read_unsure_again(self, lines: Sequence[np.ndarray],
                           decoded: list[Decoded]) -> list[Decoded]:
        """Lines read with a character confidence under `reread_below` are read again at
        each of REREAD_WIDTHS; the text most of the readings share wins
        (`widths.majority`), with the frames of its reading mapped back onto the line."""
        if not self.reread_below:  # off (the default): no confidence computed per line
            return decoded
        unsure = [i for i, d in enumerate(decoded)
                  if self.char_confidence(d) < self.reread_below]
        if not unsure:
            return decoded
        again = self._read_prepared([widened(lines[i], f)
                                     for f in REREAD_WIDTHS for i in unsure])
        out = list(decoded)
        for k, i in enumerate(unsure):
            readings = [decoded[i]] + again[k::len(unsure)]
            best = majority([self.text(d) for d in readings])
            if best:
                out[i] = frames_at_width(readings[best], REREAD_WIDTHS[best - 1],
                                         lines[i].shape[1] // self.frame_stride)
        return out

    def recognize_caseless(self, crops: Sequence[np.ndarray]) -> list[Decoded]:
        """Greedy reads with each letter's two cases as one (the capital's label), in the
        order given: how legible a crop is whatever its case. Orientation asks that: a
        line whose case the model doubts ("ThANK YOU") is still plainly upright, and text
        upside down is no more legible for having its case ignored."""
        lines = [self.prepare(c) for c in crops]
        out: list[Decoded | None] = [None] * len(lines)
        for idx, logits, lengths in self._forward_batches(lines):
            lp = merge_cases(self._log_probs(logits), *self._case_pairs)
            for k, i in enumerate(idx):
                out[i] = greedy_decode(lp[k, : lengths[k]])
        return out  # type: ignore[return-value]

    def _log_probs(self, logits: np.ndarray) -> np.ndarray:
        """Masked log-softmax of logits (any leading shape): what the decoders read."""
        return log_softmax(apply_mask(np.asarray(logits, np.float32), self.mask))

    def _forward_batches(self, lines: Sequence[np.ndarray]):
        """(indices, logits, un-padded frame counts) per width batch of prepared crops."""
        for idx, logits in self._forward_all(self.batches(lines)):
            yield idx, logits, [lines[i].shape[1] // self.frame_stride for i in idx]

    def _forward_all(self, batches: Iterable[tuple[list[int], np.ndarray]]
                     ) -> Iterator[tuple[list[int], np.ndarray]]:
        """(indices, logits) of each (indices, input) batch, in order: `workers` batches
        at a time, so the caller decodes one batch while the next ones run; at most
        AHEAD times `workers` batches wait for it (a slow decoder must not pile up the
        logits of a folder of crops). A lone batch goes in parts (`_forward_in_parts`)."""
        batches = iter(batches)
        if self.workers <= 1:
            for idx, batch in batches:
                yield idx, self.forward(batch)
            return
        head = list(islice(batches, 2))
        if len(head) == 1:
            idx, batch = head[0]
            yield idx, self._forward_in_parts(batch)
            return
        with ThreadPoolExecutor(self.workers) as pool:
            pending: deque = deque()
            for idx, batch in chain(head, batches):
                pending.append((idx, pool.submit(self.forward, batch)))
                if len(pending) > AHEAD * self.workers:
                    done, future = pending.popleft()
                    yield done, future.result()
            for done, future in pending:
                yield done, future.result()

    def _forward_in_parts(self, batch: np.ndarray) -> np.ndarray:
        """A lone batch's logits, its lines forwarded in `workers` parts at once (each
        line's logits are its own: the same numbers)."""
        if len(batch) < 2:  # one line: nothing to share out
            return self.forward(batch)
        parts = np.array_split(batch, min(self.workers, len(batch)))
        with ThreadPoolExecutor(len(parts)) as pool:
            return np.concatenate(list(pool.map(self.forward, parts)))

    def _read_doubtful_again(self, log_probs: np.ndarray, lengths: Sequence[int],
                             decoded: list[Decoded]) -> list[Decoded]:
        """Greedy lines in doubt are decoded again by a beam that knows the language: its
        LM (a price reads "9.00", not "9.0O"). In doubt: the weakest character is under
        REDO_CONFIDENCE, or (Korean) a jamo stands outside any syllable ("ㅆ스이는"),
        where the beam also charges for broken syllables (`hangul.JamoGrammar`). Only
        those lines pay for the beam (about a quarter on the validation crops)."""
        if self.redo_lm is None:
            return decoded
        chars = self.charset.chars
        redo = [j for j, d in enumerate(decoded) if d.confidence < REDO_CONFIDENCE or (
            self.jamo and has_stray_jamo([chars[i - 1] for i in d.indices]))]
        if not redo:
            return decoded
        decoded = list(decoded)
        for j in redo:
            decoded[j] = beam_decode(log_probs[j, :lengths[j]], self.beam_width,
                                     lm=self.redo_lm, lm_weight=self.redo_weight)
        return decoded

    def _repair_case(self, log_probs: np.ndarray, lengths: Sequence[int],
                     decoded: list[Decoded]) -> list[Decoded]:
        """Lines with a word in mixed case get that word recased where the model's own
        probabilities allow it (`casing.CaseRepair`): print is in lower case, capitalised
        or in capitals, and the model decides each letter's case on its own."""
        out = list(decoded)
        for j, d in enumerate(decoded):
            if self.case_repair.needs_repair(d):
                out[j] = self.case_repair.repair(d, log_probs[j, :lengths[j]])
        return out

    def _repair_words(self, log_probs: np.ndarray, lengths: Sequence[int],
                      decoded: list[Decoded]) -> list[Decoded]:
        """Words one or two letters off a listed word, and two listed words read as one,
        are put right where the model's own probabilities allow it
        (`lexicon.LexiconRepair`)."""
        if self.lexicon_repair is None:
            return decoded
        return [self.lexicon_repair.repair(d, log_probs[j, :lengths[j]])
                for j, d in enumerate(decoded)]

    def _per_output_char(self, d: Decoded) -> Decoded:
        """One probability and frame per character of `text(d)`: composed jamo make one
        syllable, whose probability is the product of its parts' (so line confidences,
        products over the labels, are unchanged) and whose frame is its first part's."""
        groups = self.charset.output_groups(d.indices)
        if groups is None:
            return d
        return Decoded(d.indices, [float(np.prod([d.char_probs[p] for p in g])) for g in groups],
                       [d.frames[g[0]] for g in groups] if d.frames else [])

    def batches(self, lines: Sequence[np.ndarray]):
        """(indices, padded input) per batch of similar width: what the model is fed (and
        what int8 calibration must see)."""
        for idx in batches_by_width(lines, self.batch_size, self.frame_stride):
            yield idx, pad_batch([lines[i] for i in idx], self.frame_stride)

    def text(self, d: Decoded) -> str:
        return self.charset.decode(d.indices)

    def recognize_text(self, crops: Sequence[np.ndarray],
                       tight_ends: bool = False) -> list[tuple[str, float]]:
        """(text, confidence) per crop, in the order given (`recognize`)."""
        return [(self.text(d), self.line_confidence(d))
                for d in self.recognize(crops, tight_ends)]

    # ------------------------------------------------------------------ confidence

    def line_confidence(self, d: Decoded) -> float:
        """Calibrated confidence of a whole line; spaces carry no evidence and are skipped."""
        text = self.text(d)
        return self.confidence([p for c, p in zip(text, d.char_probs) if c != " "])

    def char_confidence(self, *decoded: Decoded) -> float:
        """Geometric mean of the probabilities of the characters of a line (or of its
        words read one by one), spaces skipped, uncalibrated: how legibly it was read,
        whatever its length (1.0 for none)."""
        probs = [p for d in decoded for c, p in zip(self.text(d), d.char_probs) if c != " "]
        return float(np.exp(np.mean(np.log(np.maximum(probs, 1e-12))))) if probs else 1.0

    def confidence(self, probs: Sequence[float]) -> float:
        """Calibrated product of character probabilities (0 for no characters)."""
        raw = float(np.prod(probs)) if len(probs) else 0.0
        return self.calibrator(raw) if self.calibrator else raw


def _load_calibrator(meta: dict):
    if "calibration" not in meta:
        return None
    from .calibration import Calibrator

    return Calibrator.from_dict(meta["calibration"]).apply
