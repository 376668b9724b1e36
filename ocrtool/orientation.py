"""Page orientation: find the quarter turn (0/90/180/270) that makes a page upright, read
the page that way, and map every box back to the original image's pixels.

Why it works this way (measured on sroie_dev and born_digital_dev, see bench/rotation_eval.py):
- The detector was trained on upright text: on a page turned by 90 degrees it finds only
  broken pieces of characters (born-digital graphics: nothing at all), so its boxes cannot
  tell a sideways page from a page with little text. A read of the page can.
- Upside down, text is still found line by line, but the recognizer reads it as garbage
  with low confidence; cut out and turned by 180 degrees, the same crop reads with near
  certainty (mean log-probability per character about -0.01 against -0.2 to -0.4). So a
  few words of the page read both ways tell 0 from 180 almost for free.
- Hence the page is read as it comes first. When a few of its words read clearly better
  one way than the other, the page is upright (no further cost: the common case) or
  upside down (read again turned by 180). Only when that test is undecided (no text, very
  little text, or a sideways page) are the other turns read too, and the turn whose read
  holds the most confident characters wins; nothing found anywhere keeps the page as it is.

The rotation reported is the clockwise turn applied to the image before reading (what
Tesseract's OSD calls "Rotate"): a page scanned lying on its left side reads with 90.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .recognition.decoding import Decoded
from .recognition.preprocess import DETECTION_CONTEXT, crop_line
from .results import Line, Word

ROTATIONS = (0, 90, 180, 270)
SAMPLE_WORDS = 6  # words read both ways to tell 0 from 180
SAMPLE_CHARS = (3, 12)  # a sample word has this many characters: enough to judge, cheap to read
MIN_SAMPLE_CHARS = 6  # fewer characters than this in the sample decide nothing
CLEAR_READ = -0.15  # mean log-probability per character of a clearly readable sample
CLEAR_MARGIN = 0.08  # ... that beats the other direction by at least this much
EMPTY_READ = -7.0  # log-probability charged to a crop that reads as nothing
# another turn replaces the page as it comes only when its read holds clearly more
# confident characters (pages with one or two words must not turn on noise)
TURN_GAIN = 1.25
TURN_MIN = 1.0

ReadFn = Callable[[np.ndarray], list[Line]]
RecognizeFn = Callable[[Sequence[np.ndarray]], list[Decoded]]


def turn_image(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """The image turned clockwise by `rotation` degrees (a multiple of 90)."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, -k)) if k else rgb


def turn_points(points: np.ndarray, rotation: int, width: int, height: int) -> np.ndarray:
    """Points of a `width` x `height` image, in the pixels of that image turned clockwise by
    `rotation` degrees (exact: a pixel's corners land on the turned pixel's corners)."""
    p = np.asarray(points, np.float32).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    k = (rotation // 90) % 4
    if k == 1:
        x, y = height - y, x
    elif k == 2:
        x, y = width - x, height - y
    elif k == 3:
        x, y = y, width - x
    return np.stack([x, y], axis=1)


def unturn_lines(lines: list[Line], rotation: int, width: int, height: int) -> list[Line]:
    """Lines read on the image turned by `rotation`, with every point (line and word boxes)
    in the pixels of the original `width` x `height` image. Corner order stays the text's:
    the first point is still the top-left of the text as it reads."""
    if rotation % 360 == 0:
        return lines
    back = (360 - rotation) % 360
    # the turned image is height x width when the turn is a quarter
    tw, th = (height, width) if rotation % 180 else (width, height)

    def pts(points) -> list[list[float]]:
        return turn_points(np.asarray(points), back, tw, th).tolist()

    return [replace(ln, points=pts(ln.points),
                    words=[Word(w.text, w.confidence, pts(w.points)) for w in ln.words])
            for ln in lines]


@dataclass
class FlipTest:
    """Mean log-probability per character of sample words read as they are and turned by
    180 degrees, and how many characters the upright read holds."""

    upright: float
    flipped: float
    chars: int

    @property
    def decided(self) -> bool:
        best = max(self.upright, self.flipped)
        return (self.chars >= MIN_SAMPLE_CHARS and best >= CLEAR_READ
                and abs(self.upright - self.flipped) >= CLEAR_MARGIN)

    @property
    def upside_down(self) -> bool:
        return self.flipped > self.upright


def sample_words(lines: list[Line], n: int = SAMPLE_WORDS) -> list[Word]:
    """The longest words of a few characters (`SAMPLE_CHARS`): long enough that one read
    is telling, short enough that reading them twice costs little."""
    lo, hi = SAMPLE_CHARS
    words = [w for ln in lines for w in ln.words if lo <= len(w.text.strip()) <= hi]
    return sorted(words, key=lambda w: len(w.text.strip()), reverse=True)[:n]


def flip_test(rgb: np.ndarray, lines: list[Line], recognize: RecognizeFn) -> FlipTest:
    """Read a few words of `lines` as cut and turned by 180 degrees (one recognizer call)."""
    crops = [crop_line(rgb, np.asarray(w.points, np.float32), DETECTION_CONTEXT)
             for w in sample_words(lines)]
    if not crops:
        return FlipTest(EMPTY_READ, EMPTY_READ, 0)
    decoded = recognize(crops + [np.ascontiguousarray(c[::-1, ::-1]) for c in crops])
    up, down = decoded[: len(crops)], decoded[len(crops):]
    return FlipTest(_mean_log_prob(up), _mean_log_prob(down),
                    sum(len(d.char_probs) for d in up))


def _mean_log_prob(decoded: list[Decoded]) -> float:
    total, count = 0.0, 0
    for d in decoded:
        if d.char_probs:
            total += float(np.log(np.clip(d.char_probs, 1e-6, 1.0)).sum())
            count += len(d.char_probs)
        else:
            total, count = total + EMPTY_READ, count + 1
    return total / max(count, 1)


def evidence(lines: list[Line]) -> float:
    """Confident characters read: the sum over lines of confidence x letters and digits."""
    return sum(ln.confidence * sum(c.isalnum() for c in ln.text) for ln in lines)


def find_rotation(rgb: np.ndarray, read: ReadFn, recognize: RecognizeFn,
                  ) -> tuple[int, list[Line]]:
    """(clockwise turn, lines read on the image turned by it): see the module docstring.

    `read` reads an upright RGB page into lines; `recognize` decodes line crops.
    """
    reads: dict[int, list[Line]] = {}

    def lines_at(rotation: int) -> list[Line]:
        if rotation not in reads:
            reads[rotation] = read(turn_image(rgb, rotation))
        return reads[rotation]

    for base in (0, 90):  # the page as it comes, then lying on its side
        test = flip_test(turn_image(rgb, base), lines_at(base), recognize)
        if not test.decided:
            continue
        chosen = base + 180 if test.upside_down else base
        if chosen == 0 or _beats(lines_at(chosen), lines_at(0)):
            return chosen, lines_at(chosen)
        break  # the turn reads worse than the page as it comes: read every turn
    best = max(ROTATIONS, key=lambda r: evidence(lines_at(r)))
    if best != 0 and _beats(lines_at(best), lines_at(0)):
        return best, lines_at(best)
    return 0, lines_at(0)


def _beats(lines: list[Line], upright: list[Line]) -> bool:
    return evidence(lines) > TURN_GAIN * evidence(upright) + TURN_MIN


def read_any_way_up(rgb: np.ndarray, rotate: str | int, read: ReadFn,
                    recognize: RecognizeFn) -> tuple[list[Line], int]:
    """Lines of the page in the original image's pixels, and the clockwise turn applied.

    `rotate` is 'auto' (find the turn), 'none' (read as is) or a fixed turn.
    """
    h, w = rgb.shape[:2]
    if rotate == "none":
        return read(rgb), 0
    if rotate == "auto":
        rotation, lines = find_rotation(rgb, read, recognize)
    else:
        rotation = int(rotate) % 360
        lines = read(turn_image(rgb, rotation))
    return unturn_lines(lines, rotation, w, h), rotation
