"""Reader: loads a backend and composes the three stages of reading a page.

    detection    ocrtool/detection/stage.py    page -> word boxes (second pass for small text)
    layout       ocrtool/layout/stage.py       words -> lines in reading order (lay_out)
    recognition  ocrtool/recognition/stage.py  line crops -> text (+ assemble.py: words)
    layout       ocrtool/layout/stage.py       receipt rules, padded boxes (finish)

Only the two forward passes go through the backend (PyTorch or ONNX Runtime); everything
else is shared numpy/OpenCV code, so both backends give the same text. Training
validation, threshold tuning, calibration and `ocrtool eval` run these same stages
(`Reader.from_stages` takes stages built on in-memory models).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .config import ReaderConfig
from .detection.postprocess import DetectParams
from .detection.stage import DetectionStage
from .imageio import iter_pages, load_image
from .languages import SHORT_LINE_CHARS, get_language
from .layout import PageLayout, finish, grown_line_ends, lay_out, trim_words_to_ink
from .layout.colons import colon_candidates, insert_after
from .orientation import map_lines, read_any_way_up
from .pdf import DEFAULT_DPI, PageOptions, PageSpec, is_pdf, text_layer
from .pixels import WORK_PIXELS
from .recognition.assemble import read_lines, read_whole_crops, read_words
from .recognition.decoding import Decoded
from .recognition.lexicon import listed_words, read_word_file
from .recognition.preprocess import to_gray
from .recognition.stage import RecognitionStage
from .results import Line, PageResult
from .runtime.loader import load_backend


class Reader:
    """Loads the models once; `read()` can then be called on any number of images.

    Settings come as a `ReaderConfig`, as keyword arguments (`Reader(decoder="beam")`),
    or both (the keywords override the config's fields); every value is checked here.
    """

    # documents: which pages, PDF render resolution, PDF text layer (see ocrtool.pdf)
    document: PageOptions = PageOptions()

    def __init__(self, config: ReaderConfig | None = None, *, pages: PageSpec = None,
                 dpi: float = DEFAULT_DPI, use_text_layer: bool = False,
                 **options: Any) -> None:
        self.document = PageOptions(pages, dpi, use_text_layer)
        config = ReaderConfig.from_options(config, **options)
        backend = load_backend(config.backend, config.device, config.weights,
                               config.threads, config.precision, config.lang)
        detection = DetectionStage.from_backend(backend, detect_params(config))
        recognition = RecognitionStage.from_backend(backend, **recognition_settings(config))
        self._compose(config, detection, recognition, backend)

    @classmethod
    def from_stages(cls, detection: DetectionStage, recognition: RecognitionStage,
                    config: ReaderConfig | None = None) -> Reader:
        """A Reader on stages built elsewhere (e.g. on a model being trained); `config`
        gives the page-level settings (detail, min_confidence, read_by)."""
        reader = cls.__new__(cls)
        reader._compose(config or ReaderConfig(), detection, recognition, None)
        return reader

    def _compose(self, config: ReaderConfig, detection: DetectionStage,
                 recognition: RecognitionStage, backend) -> None:
        self.config = config
        self.backend = backend
        self.detection = detection
        self.recognition = recognition

    # ------------------------------------------------------------------ settings

    @property
    def params(self) -> DetectParams:
        return self.detection.params

    @property
    def charset(self):
        return self.recognition.charset

    @property
    def min_char_confidence(self) -> float:
        """The legibility under which a detected line is dropped
        (`languages.Language.min_char_confidence`)."""
        return self._legibility("min_char_confidence")

    @property
    def min_short_line_confidence(self) -> float:
        """The same for lines of at most SHORT_LINE_CHARS characters
        (`languages.Language.min_short_line_confidence`)."""
        return self._legibility("min_short_line_confidence")

    def _legibility(self, threshold: str) -> float:
        """The config's `min_char_confidence` when given (one knob for a user, short lines
        included), else the recognizer's language's `threshold`."""
        if self.config.min_char_confidence is not None:
            return self.config.min_char_confidence
        return getattr(get_language(self.recognition.lang), threshold)

    @property
    def calibrator(self):
        return self.recognition.calibrator

    @calibrator.setter
    def calibrator(self, value) -> None:  # None: raw confidences (fitting a calibrator)
        self.recognition.calibrator = value

    # ------------------------------------------------------------------ public API

    def read(self, image, recognize_only: bool = False, name: str | None = None) -> PageResult:
        """Read one image: a path, bytes, a PIL image or a numpy array (RGB or gray).

        Of a multi-page TIFF only the first page is read (one result, as before multi-page
        support); `read_pages` reads them all.
        """
        return self._read_rgb(load_image(image, max_pixels=WORK_PIXELS), _label(image, name),
                              recognize_only)

    def read_pages(self, image, recognize_only: bool = False,
                   name: str | None = None) -> list[PageResult]:
        """Read every page of a multi-page TIFF or a PDF, in order; one result for other
        images. The Reader's `pages`, `dpi` and `use_text_layer` choose the pages, the PDF
        render resolution and whether a PDF page's own text replaces OCR (ocrtool.pdf).

        Each result of a file with several pages carries `page` (from 1) and `pages`.
        Pages are decoded one at a time, so a long scan is never in memory whole. A page
        that cannot be decoded raises ImageError for the whole file ("page 2 of 3: ...").
        """
        label = _label(image, name)
        results = []
        doc = self.document
        for number, count, rgb in iter_pages(image, doc.pages, doc.dpi, WORK_PIXELS):
            # a PDF page's own words when asked for and present, else OCR
            embedded = text_layer(image, number, doc.dpi) \
                if doc.use_text_layer and is_pdf(image) else []
            result = (PageResult(label, rgb.shape[1], rgb.shape[0], embedded) if embedded
                      else self._read_rgb(rgb, label, recognize_only))
            result.page, result.pages = number, count
            results.append(result)
        return results

    def read_rgb(self, rgb: np.ndarray, name: str = "<image>",
                 recognize_only: bool = False) -> PageResult:
        """Read an already decoded RGB page (what `read` does after loading it)."""
        return self._read_rgb(rgb, name, recognize_only)

    def _read_rgb(self, rgb: np.ndarray, label: str, recognize_only: bool) -> PageResult:
        # a huge file decoded smaller (pixels.WORK_PIXELS): boxes go back to its pixels
        full_size = getattr(rgb, "full_size", None)
        rgb = np.asarray(rgb)
        h, w = rgb.shape[:2]
        rotation = 0
        if recognize_only:  # the image is the crop: its border is all the context
            lines = read_whole_crops(self.recognition, [rgb])
        else:  # turned upright, read, and the boxes mapped back to these pixels
            # orientation judges legibility, not case: it scores crops read caseless
            lines, rotation = read_any_way_up(rgb, self.config.rotate,
                                              self._detect_and_read,
                                              self.recognition.recognize_caseless,
                                              self.read_boxes, polish=_trim_words)
        lines = [ln for ln in lines if ln.text and ln.confidence >= self.config.min_confidence]
        if not recognize_only:  # a crop the caller gave is text by their word
            lines = legible_lines(lines, self.min_char_confidence,
                                  self.min_short_line_confidence)
        if self.config.detail == "words":
            lines = [Line(wd.text, wd.confidence, wd.points, [wd], ln.block)
                     for ln in lines for wd in ln.words]
        if full_size:
            to_file = np.array(full_size, np.float32) / np.array([w, h], np.float32)
            lines = map_lines(lines, lambda p: p * to_file)
            w, h = full_size
        return PageResult(label, w, h, lines, rotation=rotation)

    def _detect_and_read(self, rgb: np.ndarray) -> list[Line]:
        """detection -> layout -> recognition -> layout's receipt rules."""
        h, w = rgb.shape[:2]
        found = self.detection(rgb)
        layout = lay_out(found.words, found.scores, self.params.text_threshold)
        read = read_words if self.config.read_by == "words" else read_lines
        lines = read(self.recognition, rgb, layout.lines, layout.words, layout.blocks)
        if read is read_lines:
            lines = self._with_ends_on_ink(rgb, layout, lines)
        return finish(layout, lines, self.params.line_pad, w, h,
                      find_marks=lambda kept: self._with_spaced_colons(rgb, kept))

    def _with_ends_on_ink(self, rgb: np.ndarray, layout: PageLayout,
                          lines: list[Line]) -> list[Line]:
        """On a sparse page, `lines` with the legible ones whose boxes stopped short of a
        glyph read again on boxes grown over it (`layout.grown_line_ends`), the new
        reading kept where the line then holds more words of the language's word list
        ("reative" -> "Creative"); without a word list nothing is grown. Illegible lines
        (texture, scenery) are left as read, to be dropped as before. On the training pages not
        held out, word F1 (ci) born_digital 0.8500 -> 0.8503, ic15 0.4217 -> 0.4245,
        ic03 0.6524 -> 0.6563; kept whatever the new reading, ic15's word-box H-mean fell
        0.006 (junk beside lines read in), model card."""
        repair = self.recognition.lexicon_repair
        if repair is None or not layout.is_sparse:
            return lines
        legible = [i for i, ln in enumerate(lines)
                   if ln.char_confidence >= self.min_char_confidence]
        grown = grown_line_ends(layout, to_gray(rgb), legible)
        if not grown:
            return lines
        again = read_lines(self.recognition, rgb, [q for _, q, _ in grown],
                           [w for _, _, w in grown], [layout.blocks[i] for i, _, _ in grown])
        out = list(lines)
        for (i, _, _), line in zip(grown, again):
            if listed_words(line.text, repair.lexicon) > listed_words(out[i].text, repair.lexicon):
                out[i] = line
        return out

    def _with_spaced_colons(self, rgb: np.ndarray, lines: list[Line]) -> list[Line]:
        """`lines` with the spaced colons the detector missed (`layout.colons`): each
        patch of ink in a line's gap is read, and kept where it reads as ":"."""
        found = colon_candidates(lines, to_gray(rgb))
        if not found:
            return lines
        read = read_lines(self.recognition, rgb, [q for _, q in found],
                          [[q] for _, q in found], [lines[i].block for i, _ in found])
        return insert_after(lines, [(i, ln) for (i, _), ln in zip(found, read)
                                    if ln.text.strip() == ":"])

    def read_boxes(self, rgb: np.ndarray, quads: Sequence[np.ndarray]) -> list[Line]:
        """Read given line boxes of a page, each along its first edge: the corner order is
        the way its text runs (a box's corners rolled by two read it upside down)."""
        quads = [np.asarray(q, np.float32) for q in quads]
        return read_lines(self.recognition, rgb, quads, [[] for _ in quads], [0] * len(quads))

    def detect(self, rgb: np.ndarray) -> tuple[list[np.ndarray], list[float]]:
        """Word quadrilaterals in original pixels, with their detection scores."""
        found = self.detection(rgb)
        return found.words, found.scores

    def recognize(self, crops: Sequence[np.ndarray],
                  tight_ends: bool = True) -> list[Decoded]:
        """Decode text-line crops (any size, RGB or gray), in the order given. Crops handed
        over are taken to end on their last glyph (`tight_ends`): they are read with a
        little background after it; False for crops cut with a margin."""
        return self.recognition.recognize(crops, tight_ends)

    def recognize_text(self, crops: Sequence[np.ndarray],
                       tight_ends: bool = True) -> list[tuple[str, float]]:
        """(text, confidence) per line crop, in the order given (`recognize`)."""
        return self.recognition.recognize_text(crops, tight_ends)


def _trim_words(upright: np.ndarray, lines: list[Line]) -> list[Line]:
    """Word boxes cut down to their ink on the upright page (`layout.trim_words_to_ink`)."""
    return trim_words_to_ink(lines, to_gray(upright))


def legible_lines(lines: list[Line], min_char_confidence: float,
                  min_short_line_confidence: float = 0.0) -> list[Line]:
    """Detected lines read legibly enough to be text (`ReaderConfig.min_char_confidence`):
    the rest were detections of texture, stamps or scenery. A line of at most
    SHORT_LINE_CHARS characters must also reach `min_short_line_confidence`, and words
    read as stripes are dropped (`without_stripes`). Thresholds of 0 keep every line."""
    short = max(min_char_confidence, min_short_line_confidence)
    if short <= 0:
        return lines
    return [ln for ln in without_stripes(lines)
            if ln.char_confidence >= (short if is_short_line(ln) else min_char_confidence)]


# A run of four of one stroke-like letter (i, I, l, |, and L, which the case repair
# writes for a run of l) is not text: railings, fences and rows of bars or squares read
# so ("iiiiiiiiii", "ILLLLLELLILL", over the confidence threshold). No word of the
# 164 thousand labelled in ../shared/data nor of the word lists holds such a run (the
# longest are "III" and "BESIII"; runs of 4 of any letter: only "XXXX", masked digits).
STRIPE = re.compile(r"([iIlL|])\1{3,}")


def without_stripes(lines: list[Line]) -> list[Line]:
    """Detected lines without the words read as stripes (`STRIPE`), and without lines
    left empty. Unlike `legible_lines` this asks what was read, not how surely: a model
    or an LM that reads texture more confidently does not let it through."""
    kept = []
    for ln in lines:
        words = [w for w in ln.words if not STRIPE.search(w.text)]
        if len(words) == len(ln.words):
            kept.append(ln)
        elif words:
            kept.append(replace(ln, words=words, text=" ".join(w.text for w in words)))
    return kept


def is_short_line(line: Line) -> bool:
    """A line of at most SHORT_LINE_CHARS characters, spaces not counted."""
    return len("".join(line.text.split())) <= SHORT_LINE_CHARS


def detect_params(config: ReaderConfig) -> DetectParams:
    """The detection stage's parameters for a config."""
    return DetectParams(canvas=config.canvas, magnify=config.magnify)


def recognition_settings(config: ReaderConfig) -> dict[str, Any]:
    """The recognition stage's settings for a config."""
    return {"decoder": config.decoder, "beam_width": config.beam_width,
            "lm_weight": config.lm_weight, "allowlist": config.allowlist,
            "blocklist": config.blocklist, "lexicon": config.lexicon,
            "reread_below": config.reread_below,
            "user_words": read_word_file(config.user_words) if config.user_words else (),
            "batch_size": config.batch_size}


def _label(image, name: str | None) -> str:
    """The `image` field of a result: the given name, else the path, else a placeholder."""
    if name is not None:
        return name
    return str(image) if isinstance(image, (str, Path)) else "<image>"


def read(image, **kwargs) -> PageResult:
    """One-off convenience: build a Reader and read one image."""
    return Reader(**kwargs).read(image)
