"""Recognised crops -> `Line`s with word boxes: the last step of reading a page.

Whole lines are recognised (the recognizer sees word spacing and context); word boxes
come from the detector when its words line up with the recognised words, else from the
CTC frame positions. With `read_by="words"` each detected word is read on its own crop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..geometry import oriented_box
from ..layout.lines import line_direction
from ..results import Line, Word
from .decoding import Decoded
from .preprocess import CROP_CONTEXT, DETECTION_CONTEXT, to_gray
from .slant import slanted_text_quad
from .stage import RecognitionStage

# A crop handed over whole at least this many times as tall as wide is also read turned a
# quarter either way (`read_whole_crops`): scene word crops that tall are mostly words
# running up or down a sign. Chosen on the crops not held out (ic15_words_train's 193
# and iiit5k_train_cs's 42 at least 1.2 times as tall as wide: 27 and 41 read right; at
# 1.2, 1.5, 2.0: 51 / 40, 60 / 40, 54 / 40); held out: ic15 words 319 -> 324 of 446 read
# right, the other crop sets equal (session 36).
TALL_CROP = 1.5

# Where a word's box starts and ends around its first and last characters' CTC peak frames,
# in frames (the peak falls on different parts of a glyph); see `span_quad`.
SPAN_LEAD = 0.75
SPAN_TAIL = 1.75


def read_lines(stage: RecognitionStage, rgb: np.ndarray, line_quads: Sequence[np.ndarray],
               word_quads: Sequence[Sequence[np.ndarray]], blocks: Sequence[int],
               context: tuple[float, float] = DETECTION_CONTEXT) -> list[Line]:
    """Cut and read each line, then split its text into words with boxes."""
    return _read_cut(stage, [rgb] * len(line_quads), line_quads, word_quads, blocks, context)


def read_whole_crops(stage: RecognitionStage, images: Sequence[np.ndarray]) -> list[Line]:
    """Each image read as one crop (handed over with `--no-detect`, or a crop set's), along
    its width with nothing cut away. Two kinds of crop are also read another way, and the
    most confident reading is kept: one whose text runs at a slant (a tilted word's upright
    bounding rectangle, `slant.slanted_text_quad`) along the text's own box, with the
    margin training crops have; one at least TALL_CROP times as tall as wide (a word
    running up or down a sign) turned a quarter either way. The line's box is the one
    read along, its first corner where the text starts."""
    rects = [whole_quad(im) for im in images]
    lines = _read_cut(stage, images, rects, [[q] for q in rects], [0] * len(rects),
                      (0.0, 0.0))
    slanted, turned = [], []  # (image index, quad) of each other way to read it
    for i, im in enumerate(images):
        quad = slanted_text_quad(to_gray(im))
        if quad is not None:
            slanted.append((i, quad))
        h, w = im.shape[:2]
        if h >= TALL_CROP * w:  # read downward, then upward (corners rolled)
            turned += [(i, np.roll(rects[i], -1, axis=0)), (i, np.roll(rects[i], 1, axis=0))]
    for ways, context in ((slanted, CROP_CONTEXT), (turned, (0.0, 0.0))):
        if not ways:
            continue
        read = _read_cut(stage, [images[i] for i, _ in ways], [q for _, q in ways],
                         [[q] for _, q in ways], [0] * len(ways), context)
        for (i, _), line in zip(ways, read):
            if line.confidence > lines[i].confidence:
                lines[i] = line
    return lines


def whole_quad(image: np.ndarray) -> np.ndarray:
    """The clockwise box of a whole image, from its top-left corner."""
    h, w = image.shape[:2]
    return np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)


def _read_cut(stage: RecognitionStage, images: Sequence[np.ndarray],
              line_quads: Sequence[np.ndarray], word_quads: Sequence[Sequence[np.ndarray]],
              blocks: Sequence[int], context: tuple[float, float]) -> list[Line]:
    """Each line cut out of its image with `context` around it, all read in one call."""
    crops = [stage.crop(im, q, context) for im, q in zip(images, line_quads)]
    decoded = stage.recognize(crops, tight_ends=context[0] == 0)
    return [
        assemble_line(stage, d, q, wq, b, crop.shape[:2], context)
        for d, q, wq, b, crop in zip(decoded, line_quads, word_quads, blocks, crops)
    ]


def read_words(stage: RecognitionStage, rgb: np.ndarray, line_quads: Sequence[np.ndarray],
               word_quads: Sequence[Sequence[np.ndarray]], blocks: Sequence[int]) -> list[Line]:
    """Recognize every detected word on its own crop, then assemble the lines."""
    # word boxes come in the detector's corner order; turn each to its line's direction
    word_quads = [along(quads, line_direction(quads)) for quads in word_quads]
    flat = [q for quads in word_quads for q in quads]
    decoded = iter(stage.recognize([stage.crop(rgb, q) for q in flat]))
    lines = []
    for quad, quads, block in zip(line_quads, word_quads, blocks):
        words, read = [], []
        for q in quads:
            d = next(decoded)
            text = stage.text(d).strip()
            if text:
                words.append(Word(text, stage.line_confidence(d),
                                  np.asarray(q, np.float32).tolist()))
                read.append(d)
        confidence = float(np.prod([w.confidence for w in words])) if words else 0.0
        lines.append(Line(" ".join(w.text for w in words), confidence,
                          np.asarray(quad).tolist(), words, block,
                          stage.char_confidence(*read)))
    return lines


def assemble_line(stage: RecognitionStage, d: Decoded, quad, detected_words, block,
                  crop_hw: tuple[int, int], context: tuple[float, float]) -> Line:
    """One recognised line with its words: detector boxes when they match the words one
    to one, else the parts of the line box their CTC frames cover."""
    text = stage.text(d)
    spans = word_spans(text)
    words = []
    use_detected = len(detected_words) == len(spans) and len(spans) > 1
    if use_detected:  # detector boxes start at any corner: turn them to the line's way
        detected_words = along(detected_words, line_direction(detected_words))
    height = float(stage.height)
    crop_w = crop_hw[1] * height / max(crop_hw[0], 1)  # the crop's width at input height
    for n, (a, b) in enumerate(spans):
        probs = d.char_probs[a:b]
        if use_detected:
            pts = np.asarray(detected_words[n], np.float32)
        else:
            pts = span_quad(quad, d.frames[a], d.frames[b - 1], crop_w, context,
                            height, stage.frame_stride)
        words.append(Word(text[a:b], stage.confidence(probs), pts.tolist()))
    return Line(" ".join(w.text for w in words), stage.line_confidence(d),
                np.asarray(quad).tolist(), words, block, stage.char_confidence(d))


def along(quads, u: np.ndarray) -> list[np.ndarray]:
    """Each quad re-fitted as a box along direction u (first corner at its text start)."""
    return [oriented_box(np.asarray(q, np.float32), u) for q in quads]


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the space-separated words of a line."""
    spans, start = [], None
    for i, c in enumerate(text + " "):
        if c != " " and start is None:
            start = i
        elif c == " " and start is not None:
            spans.append((start, i))
            start = None
    return spans


def span_quad(quad, first_frame: int, last_frame: int, crop_w: float,
              context: tuple[float, float], height: float = 32.0,
              stride: int = 4) -> np.ndarray:
    """Part of a line quad covered by CTC frames [first, last] (`stride` px each at the
    input `height`).

    The crop was cut with `context` around the quad, so crop positions are shifted by that
    margin before they become fractions of the quad's own length. A character peaking at
    frame k is taken to span from just before that frame to the end of the next one.
    """
    q = np.asarray(quad, np.float32)
    margin = context[0] * height / (1 + 2 * context[1])  # crop pixels at input height
    inner = max(crop_w - 2 * margin, 1e-6)  # the quad's own length at the crop's scale
    f0 = float(np.clip((stride * (first_frame - SPAN_LEAD) - margin) / inner, 0, 1))
    f1 = float(np.clip((stride * (last_frame + SPAN_TAIL) - margin) / inner, 0, 1))
    top = lambda f: q[0] + f * (q[1] - q[0])  # noqa: E731
    bottom = lambda f: q[3] + f * (q[2] - q[3])  # noqa: E731
    return np.array([top(f0), top(f1), bottom(f1), bottom(f0)], np.float32)
