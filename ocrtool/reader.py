"""Reader: detect -> group into lines -> crop -> recognize -> assemble, all in numpy.

Only the two forward passes go through the backend (PyTorch or ONNX Runtime); everything
else is shared, so both backends give the same text. Whole lines are recognised (the
recognizer sees word spacing and context); word boxes come from the detector when its
words line up with the recognised words, else from the CTC frame positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from .detection.postprocess import (
    DetectParams,
    group_lines,
    line_boxes,
    line_direction,
    maps_to_words,
    oriented_box,
    padded_line_box,
    prepare_image,
    reading_order,
    text_height,
)
from .geometry import expand_quad, quad_size
from .imageio import iter_pages, load_image
from .recognition.charset import Charset
from .recognition.decoding import Decoded, char_mask, decode_batch
from .recognition.preprocess import (
    DETECTION_CONTEXT,
    batches_by_width,
    crop_line,
    pad_batch,
    prepare_crop,
)
from .results import Line, PageResult, Points, Word
from .runtime.base import Backend, load_backend

SPECK_CONFIDENCE = 0.8  # see _looks_like_a_speck
# a one-character line's reported box is at least this wide for its height: annotators
# box a character's cell, not its ink (a "1" is a third as wide as its cell)
GLYPH_CELL = 0.8
TRAILING_MARKS = (":",)  # read alone right after a line, they are that line's (see below)
MARK_GAP = 3.0  # ... when at most this many line heights past its end


class Reader:
    """Loads the models once; `read()` can then be called on any number of images."""

    def __init__(
        self,
        backend: str = "auto",
        device: str = "auto",
        weights: str | Path | None = None,
        decoder: str = "greedy",
        beam_width: int = 8,
        lm_weight: float = 0.0,
        allowlist: str | None = None,
        blocklist: str | None = None,
        detail: str = "lines",
        min_confidence: float = 0.0,
        canvas: int = 1600,
        magnify: float = 1.0,
        batch_size: int = 32,
        threads: int | None = None,
        precision: str = "auto",
        read_by: str = "lines",
    ) -> None:
        if read_by not in ("lines", "words"):
            raise ValueError(f"unknown read_by {read_by!r} (use lines or words)")
        if decoder not in ("greedy", "beam"):
            raise ValueError(f"unknown decoder {decoder!r} (use greedy or beam)")
        if detail not in ("lines", "words"):
            raise ValueError(f"unknown detail {detail!r} (use lines or words)")
        self.backend: Backend = load_backend(backend, device, weights, threads, precision)
        meta = self.backend.recognizer_meta
        self.charset = Charset.from_dict(meta["charset"])
        self.decoder, self.beam_width = decoder, beam_width
        self.lm, self.lm_weight = (self._load_lm() if lm_weight > 0 else None), lm_weight
        self.mask = char_mask(
            self.charset.num_classes,
            self.charset.indices_of(allowlist) if allowlist else None,
            self.charset.indices_of(blocklist) if blocklist else None,
        )
        self.calibrator = _load_calibrator(meta)
        self.detail, self.min_confidence = detail, min_confidence
        self.params = DetectParams(canvas=canvas, magnify=magnify)
        self.batch_size = batch_size
        self.read_by = read_by

    def _load_lm(self):
        from .recognition.lm import load_default_lm

        return load_default_lm(self.charset)

    # ------------------------------------------------------------------ public API

    def read(self, image, recognize_only: bool = False, name: str | None = None) -> PageResult:
        """Read one image: a path, bytes, a PIL image or a numpy array (RGB or gray).

        Of a multi-page TIFF only the first page is read (one result, as before multi-page
        support); `read_pages` reads them all.
        """
        return self._read_rgb(load_image(image), _label(image, name), recognize_only)

    def read_pages(self, image, recognize_only: bool = False,
                   name: str | None = None) -> list[PageResult]:
        """Read every page of a multi-page TIFF, in order; one result for other images.

        Each result of a file with several pages carries `page` (from 1) and `pages`.
        Pages are decoded one at a time, so a long scan is never in memory whole. A page
        that cannot be decoded raises ImageError for the whole file ("page 2 of 3: ...").
        """
        label = _label(image, name)
        results = []
        for number, count, rgb in iter_pages(image):
            result = self._read_rgb(rgb, label, recognize_only)
            result.page, result.pages = number, count
            results.append(result)
        return results

    def _read_rgb(self, rgb: np.ndarray, label: str, recognize_only: bool) -> PageResult:
        h, w = rgb.shape[:2]
        if recognize_only:
            quad = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
            # the image is the crop: its own border is all the context there is
            lines = self._read_lines(rgb, [quad], [[quad]], [0], context=(0.0, 0.0))
        else:
            lines = self._detect_and_read(rgb)
        lines = [ln for ln in lines if ln.text and ln.confidence >= self.min_confidence]
        if self.detail == "words":
            lines = [Line(wd.text, wd.confidence, wd.points, [wd], ln.block)
                     for ln in lines for wd in ln.words]
        return PageResult(label, w, h, lines)

    def _detect_and_read(self, rgb: np.ndarray) -> list[Line]:
        h, w = rgb.shape[:2]
        words, scores = self.detect(rgb)
        # faint glyphs (a lone quantity "1") are lines of their own: linked into rows,
        # they merged separate fields
        faint = [s < self.params.text_threshold for s in scores]
        groups = group_lines(words, alone=faint)
        line_quads = line_boxes(words, groups)
        order, blocks = reading_order(line_quads)
        read_lines = self._read_words if self.read_by == "words" else self._read_lines
        lines = read_lines(
            rgb,
            [line_quads[i] for i in order],
            [[words[j] for j in groups[i]] for i in order],
            [blocks[i] for i in order],
        )
        lines = [ln for i, ln in zip(order, lines)
                 if not faint[groups[i][0]] or _reads_as_glyph(ln)]
        return [_padded(ln, self.params.line_pad, w, h)
                for ln in _attach_trailing_marks(lines) if not _looks_like_a_speck(ln)]

    def detect(self, rgb: np.ndarray) -> tuple[list[np.ndarray], list[float]]:
        """Word quadrilaterals in original pixels, with their detection scores.

        Small text is detected a second time at a larger scale (`DetectParams.small_text`).
        """
        words, scores, scale = self._detect_at(rgb, self.params)
        size = text_height(words) * scale
        if words and self.params.small_text and size < self.params.small_text:
            bigger = replace(self.params,
                             magnify=self.params.magnify * self.params.text_target / size)
            words, scores, _ = self._detect_at(rgb, bigger)
        return words, scores

    def _detect_at(self, rgb: np.ndarray, params) -> tuple[list[np.ndarray], list[float], float]:
        batch, scale = prepare_image(rgb, params)
        maps = self.backend.detect(batch)[0]
        return (*maps_to_words(maps[0], maps[1], params, scale), scale)

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Decoded]:
        """Decode text-line crops (any size, RGB or gray), in the order given."""
        lines = [prepare_crop(c) for c in crops]
        out: list[Decoded | None] = [None] * len(lines)
        for idx in batches_by_width(lines, self.batch_size):
            logits = self.backend.recognize(pad_batch([lines[i] for i in idx]))
            lengths = [lines[i].shape[1] // 4 for i in idx]
            decoded = decode_batch(logits, self.decoder, self.beam_width, self.mask,
                                   self.lm, self.lm_weight, lengths)
            for i, d in zip(idx, decoded):
                out[i] = d
        return out  # type: ignore[return-value]

    def recognize_text(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """(text, confidence) per line crop, in the order given."""
        return [(self.charset.decode(d.indices), self._line_confidence(d))
                for d in self.recognize(crops)]

    # ------------------------------------------------------------------ assembly

    def _line_confidence(self, d: Decoded) -> float:
        """Calibrated confidence of a whole line; spaces carry no evidence and are skipped."""
        text = self.charset.decode(d.indices)
        return self._confidence([p for c, p in zip(text, d.char_probs) if c != " "])

    def _confidence(self, probs: Sequence[float]) -> float:
        raw = float(np.prod(probs)) if len(probs) else 0.0
        return self.calibrator(raw) if self.calibrator else raw

    def _read_lines(self, rgb, line_quads, word_quads, blocks,
                    context: tuple[float, float] = DETECTION_CONTEXT) -> list[Line]:
        crops = [crop_line(rgb, q, context) for q in line_quads]
        decoded = self.recognize(crops)
        return [
            self._assemble_line(d, q, wq, b, crop.shape[:2], context)
            for d, q, wq, b, crop in zip(decoded, line_quads, word_quads, blocks, crops)
        ]

    def _read_words(self, rgb, line_quads, word_quads, blocks) -> list[Line]:
        """Recognize every detected word on its own crop, then assemble the lines."""
        # word boxes come in the detector's corner order; turn each to its line's direction
        word_quads = [_along(quads, line_direction(quads)) for quads in word_quads]
        flat = [q for quads in word_quads for q in quads]
        decoded = iter(self.recognize([crop_line(rgb, q, DETECTION_CONTEXT) for q in flat]))
        lines = []
        for quad, quads, block in zip(line_quads, word_quads, blocks):
            words = []
            for q in quads:
                d = next(decoded)
                text = self.charset.decode(d.indices).strip()
                if text:
                    words.append(Word(text, self._line_confidence(d),
                                      np.asarray(q, np.float32).tolist()))
            confidence = float(np.prod([w.confidence for w in words])) if words else 0.0
            lines.append(Line(" ".join(w.text for w in words), confidence,
                              np.asarray(quad).tolist(), words, block))
        return lines

    def _assemble_line(self, d: Decoded, quad, detected_words, block, crop_hw,
                       context: tuple[float, float]) -> Line:
        text = self.charset.decode(d.indices)
        spans = _word_spans(text)
        words = []
        use_detected = len(detected_words) == len(spans) and len(spans) > 1
        if use_detected:  # detector boxes start at any corner: turn them to the line's way
            detected_words = _along(detected_words, line_direction(detected_words))
        crop_w = crop_hw[1] * 32.0 / max(crop_hw[0], 1)  # the crop's width at height 32
        for n, (a, b) in enumerate(spans):
            probs = d.char_probs[a:b]
            if use_detected:
                pts = np.asarray(detected_words[n], np.float32)
            else:
                pts = _span_quad(quad, d.frames[a], d.frames[b - 1], crop_w, context)
            words.append(Word(text[a:b], self._confidence(probs), pts.tolist()))
        return Line(" ".join(w.text for w in words), self._line_confidence(d),
                    np.asarray(quad).tolist(), words, block)


def _label(image, name: str | None) -> str:
    """The `image` field of a result: the given name, else the path, else a placeholder."""
    if name is not None:
        return name
    return str(image) if isinstance(image, (str, Path)) else "<image>"


def _reads_as_glyph(line: Line) -> bool:
    """A faint lone component is kept only when it reads as what such components on
    receipts are: a quantity digit or a spaced colon. Read as letters, they were noise."""
    text = line.text.strip()
    return text.isdigit() or text in TRAILING_MARKS


def _looks_like_a_speck(line: Line) -> bool:
    """No letter or digit, and read without confidence: on scanned receipts such lines are
    mostly specks of dirt read as '.', '-' or ':' (dropping them: sroie_dev line H-mean
    0.820 -> 0.830, CER 7.2% -> 7.0%; born_digital_dev unchanged)."""
    return line.confidence < SPECK_CONFIDENCE and not any(c.isalnum() for c in line.text)


def _attach_trailing_marks(lines: list[Line]) -> list[Line]:
    """Join a lone ":" to the line it follows on the same row. Receipts space their
    labels' colons ("TOTAL   :"); the detector finds such a colon as a word of its own,
    too far for the link model to join, and alone it is dropped as a speck. Colons were
    the words sroie_dev's receipts lost most often (74 of 6,203)."""
    marks = [k for k, ln in enumerate(lines) if ln.text.strip() in TRAILING_MARKS]
    if not marks:
        return lines
    merged = dict(enumerate(lines))
    for k in marks:
        target = _line_before(lines, k, set(marks))
        if target is not None:
            j, u, spaced = target
            merged[j] = _with_mark(merged[j], lines[k], u, spaced)
            del merged[k]
    return [merged[k] for k in sorted(merged)]


def _with_mark(line: Line, mark: Line, u: np.ndarray, spaced: bool) -> Line:
    """`line` extended by `mark`: a word of its own when spaced, else the last word's end."""
    def joined(a: Points, b: Points) -> Points:
        return oriented_box(np.concatenate([np.asarray(a, np.float32),
                                            np.asarray(b, np.float32)]), u).tolist()

    text = mark.text.strip()
    words = list(line.words)
    if spaced or not words:
        words += mark.words
    else:
        last = words[-1]
        words[-1] = Word(last.text + text, last.confidence * mark.confidence,
                         joined(last.points, mark.points))
    return replace(line, text=line.text + (" " if spaced else "") + text,
                   confidence=line.confidence * mark.confidence,
                   points=joined(line.points, mark.points), words=words)


def _line_before(lines: list[Line], k: int, skip: set[int]):
    """(index, direction, spaced) of the nearest line that line k follows on its row
    within `MARK_GAP` heights, or None."""
    mark = np.asarray(lines[k].points, np.float32)
    best = None
    for j, line in enumerate(lines):
        if j in skip:
            continue
        q = np.asarray(line.points, np.float32)
        u = line_direction([q])
        v = np.array([-u[1], u[0]], np.float32)
        height = float(np.ptp(q @ v))
        gap = float((mark @ u).min() - (q @ u).max())
        offset = abs(float((mark @ v).mean() - (q @ v).mean()))
        if offset < 0.5 * height and -0.3 * height < gap < MARK_GAP * height and (
                best is None or gap < best[0]):
            best = (gap, j, u, gap > 0.25 * height)
    return None if best is None else best[1:]


def _padded(line: Line, pad: float, width: int, height: int) -> Line:
    """The line with its reported box grown by `pad` of its height above and below (and a
    one-character line's to `GLYPH_CELL` of its height across)."""
    q = padded_line_box(line.points, pad)
    length, tall = quad_size(q)
    if len(line.text.strip()) == 1 and length < GLYPH_CELL * tall:
        q = expand_quad(q, (GLYPH_CELL * tall - length) / 2, 0.0)
    q = np.clip(q, 0, [width, height])
    return replace(line, points=q.tolist())


def _along(quads, u: np.ndarray) -> list[np.ndarray]:
    """Each quad re-fitted as a box along direction u (first corner at its text start)."""
    return [oriented_box(np.asarray(q, np.float32), u) for q in quads]


def _word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the space-separated words of a line."""
    spans, start = [], None
    for i, c in enumerate(text + " "):
        if c != " " and start is None:
            start = i
        elif c == " " and start is not None:
            spans.append((start, i))
            start = None
    return spans


def _span_quad(quad, first_frame: int, last_frame: int, crop_w: float,
               context: tuple[float, float]) -> np.ndarray:
    """Part of a line quad covered by CTC frames [first, last] (4 px each at height 32).

    The crop was cut with `context` around the quad, so crop positions are shifted by that
    margin before they become fractions of the quad's own length.
    """
    q = np.asarray(quad, np.float32)
    margin = context[0] * 32.0 / (1 + 2 * context[1])  # crop pixels at height 32
    inner = max(crop_w - 2 * margin, 1e-6)  # the quad's own length at the crop's scale
    f0 = float(np.clip((4 * first_frame - 3 - margin) / inner, 0, 1))
    f1 = float(np.clip((4 * last_frame + 7 - margin) / inner, 0, 1))
    top = lambda f: q[0] + f * (q[1] - q[0])  # noqa: E731
    bottom = lambda f: q[3] + f * (q[2] - q[3])  # noqa: E731
    return np.array([top(f0), top(f1), bottom(f1), bottom(f0)], np.float32)


def _load_calibrator(meta: dict):
    if "calibration" not in meta:
        return None
    from .recognition.calibration import Calibrator

    return Calibrator.from_dict(meta["calibration"]).apply


def read(image, **kwargs) -> PageResult:
    """One-off convenience: build a Reader and read one image."""
    return Reader(**kwargs).read(image)
