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
- Hence the page is read as it comes first. Upright text reads confidently, upside-down
  text never did on the training pages: when a few words of the first read all read with
  high confidence, the page is upright at no further cost (the common case). Otherwise a
  few of its words are read both ways (the flip test, one small recognizer call; a
  dozen words when four do not decide): the page is upright or upside down (read again
  turned by 180). Only when that test is undecided (no text, very little text, or a
  sideways page) are the other turns read too; then the flip tests of all four reads
  vote (a read at r says how much r is upright, the read at r + 180 how much r is upside
  down), else the turn whose read holds the most confident characters wins; nothing
  found anywhere keeps the page as it is.
- Big text on a sideways page (a banner) is found anyway, as vertical lines, and read
  along them; the page then takes the turn that sets those lines level.
- A page whose lines run 3 to 20 degrees off level is turned level and read again (the
  canvas cut to the text found, as growing it would shrink the text at the detector).
- A line upside down on an upright page (a label on a box, a stamp) reads with little
  confidence: such lines are cut turned by 180 degrees and read (one call for all), and
  a line that reads clearly turned is read again that way (`flip_lines`).
- The thresholds were chosen on training pages (bench/orientation_tune.py replays these
  decisions on cached reads of born_digital_train and sroie_train at all four turns).

The rotation reported is the clockwise turn applied to the image before reading (what
Tesseract's OSD calls "Rotate"): a page scanned lying on its left side reads with 90.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from .geometry import expand_quad, quad_size
from .recognition.decoding import Decoded
from .recognition.preprocess import DETECTION_CONTEXT, crop_line
from .results import Line, Word

ROTATIONS = (0, 90, 180, 270)
SAMPLE_WORDS = 4  # words read both ways to tell 0 from 180
SAMPLE_CHARS = (3, 10)  # a sample word has this many characters: enough to judge, cheap to read
MORE_SAMPLE_WORDS = 12  # an undecided first test is repeated on this many words
MIN_SAMPLE_CHARS = 6  # fewer characters than this in the sample decide nothing (train)
# Thresholds below marked (train) were chosen by replaying the decisions on training
# pages at all four turns (bench/orientation_tune.py replay: all 269 born_digital_train
# pages and the first 40 of sroie_train, read by recognizer v0.6, sample words read
# caseless as `ocrtool read` reads them); the dev sets only report.
# A page read as it comes whose sample words all read at least this confidently (and
# there are SAMPLE_WORDS of them) is upright: no flip test. (train) The least confidence
# among the sample words was under 0.5 on all 211 upside-down and 20 sideways reads,
# and at least 0.7 on 56% of the 218 upright reads (0.8: no change).
SURE_WORD = 0.7
# Pages read at every turn take the turn the flip tests of all four reads support by at
# least this margin (characters x log-probability per character, `FlipTest.margin`).
# 2, not 0.5 (session 19): these are the sparse pages whose first read decided nothing,
# mostly photos, and photos come upright (phones turn them by their EXIF tag). Replayed on
# all 253 ic15_pages_train photos and 120 born_digital_train graphics (bench/orientation_tune.py),
# right turn at 0/90/180/270: ic15 0.854/0.747/0.723/0.751 -> 0.921/0.723/0.676/0.727,
# born_digital 0.975/0.958/0.958/0.958 -> 0.975/0.950/0.942/0.950, 40 sroie_train
# receipts 1.000 at every turn either way (5: ic15 0.933 upright, 0.609 upside down).
SUPPORT_MIN = 2.0
# (train) Right turn on born_digital_train at 0/90/180/270 and the upright pages that
# needed more than their first read:
# - as chosen (MIN_SAMPLE_CHARS 6, SUPPORT_MIN 0.5, EVIDENCE_CHARS 3):
#   0.985/0.948/0.944/0.952, 39 pages;
# - the v0.5 settings (10, 1.0, every line counts): 0.967/0.941/0.937/0.944, 49 pages;
# - MIN_SAMPLE_CHARS 4 or 8, SUPPORT_MIN 2, EVIDENCE_CHARS 1 or 4, CLEAR_READ -0.1 or
#   -0.25, CLEAR_MARGIN 0.05 or 0.12, TURN_MIN 2, SURE_WORD 0.8: no better on any turn;
# - sroie_train 1.000 at every turn with all of them but CLEAR_READ -0.25.
CLEAR_READ = -0.15  # median mean log-probability per character of clearly readable words
CLEAR_MARGIN = 0.08  # ... that beats the other direction by at least this much
EMPTY_READ = -7.0  # log-probability charged to a crop that reads as nothing
# another turn replaces the page as it comes only when its read holds clearly more
# confident characters (pages with one or two words must not turn on noise)
TURN_GAIN = 1.25
TURN_MIN = 1.0
EVIDENCE_CHARS = 3  # lines with fewer letters and digits count for nothing (`evidence`)
KEEP_READ = 0.75  # a turn that sets vertical lines level may read this much less
# a page whose lines run at least SKEW_MIN degrees off the horizontal (at most SKEW_MAX)
# is turned straight and read again: the detector and the line grouping were made on
# level text
SKEW_MIN = 3.0
SKEW_MAX = 20.0
SKEW_LINES = 3  # ... judged from at least this many long lines
SKEW_MARGIN = 3.0  # a level page keeps this many line heights around the lines found
# per-line 180-degree check (a label upside down on a box): a line read with less
# confidence than LINE_CHECK is read again turned by 180 degrees, and turned it is when
# that reading is clear: at least LINE_CHARS characters at a mean log-probability per
# character of LINE_CLEAR or more (a per-character measure: a line's confidence is a
# product over the line, low on long lines read right), read caseless, and at least
# LINE_MARGIN above the line's caseless reading as found (upside-down Latin print is
# partly legible: "shopping" turned reads "Buiddoys"). (train: bench/orientation_tune.py
# lines on 12 sroie_train and 80 born_digital_train pages, upright and turned by 180,
# recognizer v0.6) Upright lines read again (as found and turned): 6.4% and 6.3%; turned
# wrongly: 0 of 707 and 0 of 335 (without the margin 6 and 2, with margin 0 1 and 1);
# upside-down lines turned right: 280 of 565 and 171 of 309 (LINE_CLEAR -0.15: 275 and
# 170; LINE_CHECK 0.2 turns 353 and 200 for a third more lines read again)
LINE_CHECK = 0.1
LINE_CLEAR = -0.2
LINE_MARGIN = 0.1
LINE_CHARS = 3
LINE_ASPECT = 2.0  # ... only lines at least this many times longer than high

ReadFn = Callable[[np.ndarray], list[Line]]
# reads given line boxes of an image (the boxes' corner order gives the way the text runs)
ReadBoxesFn = Callable[[np.ndarray, Sequence[np.ndarray]], list[Line]]
RecognizeFn = Callable[[Sequence[np.ndarray]], list[Decoded]]
# the last touch on an upright page's lines, given that page (e.g. word boxes trimmed)
PolishFn = Callable[[np.ndarray, list[Line]], list[Line]]


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


def tilt_image(rgb: np.ndarray, angle: float,
               keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The image turned clockwise by `angle` degrees, and the 2x3 matrix that takes its
    points to the new image. The canvas holds all of the image, or, given `keep` (points
    of the image), just the box around those points once turned: growing a page's canvas
    shrinks its text at the detector's input. Corners take the image's border colour."""
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1.0)  # cv2: positive turns left
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64) @ m[:, :2].T + m[:, 2]
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    if keep is not None and len(keep):
        turned = np.asarray(keep, np.float64).reshape(-1, 2) @ m[:, :2].T + m[:, 2]
        lo, hi = np.maximum(lo, turned.min(axis=0)), np.minimum(hi, turned.max(axis=0))
    m[:, 2] -= np.floor(lo)
    nw, nh = (int(v) for v in np.maximum(np.ceil(hi) - np.floor(lo), 1))
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    fill = tuple(int(v) for v in np.atleast_1d(np.median(border, axis=0)))
    out = cv2.warpAffine(rgb, m, (nw, nh), flags=cv2.INTER_CUBIC,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    return out, m


def text_height(lines: list[Line]) -> float:
    """Median height of the lines' boxes (0 without lines)."""
    return float(np.median([quad_size(np.asarray(ln.points))[1] for ln in lines])) \
        if lines else 0.0


def page_skew(lines: list[Line]) -> float:
    """Median clockwise tilt (degrees) of the page's long lines; 0 when fewer than
    `SKEW_LINES` long lines lie within `SKEW_MAX` of level."""
    angles = []
    for ln in lines:
        q = np.asarray(ln.points, np.float32)
        top, side = q[1] - q[0], q[3] - q[0]
        if np.hypot(*top) >= 3 * np.hypot(*side):
            a = math.degrees(math.atan2(float(top[1]), float(top[0])))
            if abs(a) <= SKEW_MAX:
                angles.append(a)
    return float(np.median(angles)) if len(angles) >= SKEW_LINES else 0.0


def map_lines(lines: list[Line], fn: Callable[[np.ndarray], np.ndarray]) -> list[Line]:
    """Lines with `fn` applied to every point of their line and word boxes."""
    def pts(points) -> list[list[float]]:
        return np.asarray(fn(np.asarray(points, np.float32).reshape(-1, 2))).tolist()

    return [replace(ln, points=pts(ln.points),
                    words=[Word(w.text, w.confidence, pts(w.points)) for w in ln.words])
            for ln in lines]


def read_level(rgb: np.ndarray, lines: list[Line], read: ReadFn) -> list[Line]:
    """`lines` of an upright page; if they run `SKEW_MIN` degrees or more off level, the
    page is turned level and read again, its points mapped back to `rgb`'s pixels."""
    skew = page_skew(lines)
    if abs(skew) < SKEW_MIN:
        return lines
    # what the tilted read found, with a margin for what it missed at its edges
    margin = SKEW_MARGIN * max(text_height(lines), 0.02 * max(rgb.shape[:2]))
    keep = np.concatenate([expand_quad(np.asarray(ln.points, np.float32), margin, margin)
                           for ln in lines])
    level, m = tilt_image(rgb, -skew, keep)
    back = cv2.invertAffineTransform(m)
    return map_lines(read(level), lambda p: p @ back[:, :2].T + back[:, 2])


def unturn_lines(lines: list[Line], rotation: int, width: int, height: int) -> list[Line]:
    """Lines read on the image turned by `rotation`, with every point (line and word boxes)
    in the pixels of the original `width` x `height` image. Corner order stays the text's:
    the first point is still the top-left of the text as it reads."""
    if rotation % 360 == 0:
        return lines
    back = (360 - rotation) % 360
    # the turned image is height x width when the turn is a quarter
    tw, th = (height, width) if rotation % 180 else (width, height)
    return map_lines(lines, lambda p: turn_points(p, back, tw, th))


@dataclass
class FlipTest:
    """Mean log-probability per character of sample words read as they are and turned by
    180 degrees, and how many characters the upright read holds."""

    upright: float
    flipped: float
    chars: int

    @classmethod
    def of(cls, scores: Sequence[tuple[float, float, int]]) -> FlipTest:
        """Each way scores the median over the words (`flip_scores`), so one smudged word
        does not decide the page."""
        if not scores:
            return cls(EMPTY_READ, EMPTY_READ, 0)
        return cls(float(np.median([s[0] for s in scores])),
                   float(np.median([s[1] for s in scores])), sum(s[2] for s in scores))

    @property
    def decided(self) -> bool:
        best = max(self.upright, self.flipped)
        return (self.chars >= MIN_SAMPLE_CHARS and best >= CLEAR_READ
                and abs(self.upright - self.flipped) >= CLEAR_MARGIN)

    @property
    def upside_down(self) -> bool:
        return self.flipped > self.upright

    @property
    def margin(self) -> float:
        """How much the sample reads better as cut than turned, in characters: the
        characters read times the difference per character (at most 1)."""
        return self.chars * float(np.clip(self.upright - self.flipped, -1.0, 1.0))


def sample_words(lines: list[Line], n: int = SAMPLE_WORDS) -> list[Word]:
    """Words of a few characters (`SAMPLE_CHARS`) with the most letters: long enough that
    one read is telling, short enough that reading them twice costs little. Letters
    first: digits such as 0, 1 and 8 read the same upside down."""
    lo, hi = SAMPLE_CHARS
    words = [w for ln in lines for w in ln.words
             if lo <= len(w.text.strip()) <= hi and _runs_across(w.points)]
    return sorted(words, key=lambda w: (sum(c.isalpha() for c in w.text), len(w.text)),
                  reverse=True)[:n]


def _runs_across(points) -> bool:
    """The box runs more across the image than down it: only such words tell 0 from 180
    (a word found running down, big print on a sideways page, reads well both ways)."""
    q = np.asarray(points, np.float32)
    dx, dy = np.abs(q[1] - q[0])
    return bool(dx >= dy)


def flip_test(rgb: np.ndarray, lines: list[Line], recognize: RecognizeFn,
              n: int = SAMPLE_WORDS) -> FlipTest:
    """Read `n` sample words of `lines` as cut and turned by 180 degrees (one recognizer
    call); see `flip_scores` and `FlipTest.of`."""
    return FlipTest.of(flip_scores(rgb, lines, recognize, n))


def flip_scores(rgb: np.ndarray, lines: list[Line], recognize: RecognizeFn,
                n: int = SAMPLE_WORDS) -> list[tuple[float, float, int]]:
    """(mean log-probability per character as cut, turned by 180, characters read as cut)
    of each of `n` sample words, in `sample_words`' order."""
    crops = [crop_line(rgb, np.asarray(w.points, np.float32), DETECTION_CONTEXT)
             for w in sample_words(lines, n)]
    if not crops:
        return []
    decoded = recognize(crops + [np.ascontiguousarray(c[::-1, ::-1]) for c in crops])
    up, down = decoded[: len(crops)], decoded[len(crops):]
    return [(_mean_log_prob([u]), _mean_log_prob([d]), len(u.char_probs))
            for u, d in zip(up, down)]


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
    """Confident characters read: the sum over lines of confidence x letters and digits,
    counting only lines of at least `EVIDENCE_CHARS` of them (a lone "O", "0" or "I" reads
    the same at every turn, and a page read sideways is full of them)."""
    total = 0.0
    for ln in lines:
        chars = sum(c.isalnum() for c in ln.text)
        if chars >= EVIDENCE_CHARS:
            total += ln.confidence * chars
    return total


def find_rotation(rgb: np.ndarray, read: ReadFn, recognize: RecognizeFn,
                  ) -> tuple[int, list[Line]]:
    """(clockwise turn, lines read on the image turned by it): see the module docstring.

    `read` reads an upright RGB page into lines; `recognize` decodes line crops.
    """
    reads: dict[int, list[Line]] = {}

    def lines_at(rotation: int) -> list[Line]:
        rotation %= 360
        if rotation not in reads:
            reads[rotation] = read(turn_image(rgb, rotation))
        return reads[rotation]

    tests: dict[tuple[int, int], FlipTest] = {}

    def flip_at(rotation: int, n: int) -> FlipTest:
        rotation %= 360
        if (rotation, n) not in tests:
            tests[rotation, n] = flip_test(turn_image(rgb, rotation), lines_at(rotation),
                                           recognize, n)
        return tests[rotation, n]

    rotation = choose_rotation(lines_at, flip_at)
    return rotation, lines_at(rotation)


def choose_rotation(lines_at: Callable[[int], list[Line]],
                    flip_at: Callable[[int, int], FlipTest]) -> int:
    """The clockwise turn that sets the page upright, from its reads at some turns
    (`lines_at`, read on demand) and flip tests of those reads on a number of sample words
    (`flip_at`). Reading is left to the callers, so bench/orientation_tune.py replays
    these very decisions on cached reads of training pages."""
    rotation = _choose(lines_at, flip_at)
    # big text on a sideways page (a banner) is found as vertical lines and read along
    # them: the page is then upright only once those lines run left to right
    extra = reading_turn(lines_at(rotation))
    if extra and evidence(lines_at(rotation + extra)) >= KEEP_READ * evidence(lines_at(rotation)):
        rotation = (rotation + extra) % 360
    return rotation


def _choose(lines_at: Callable[[int], list[Line]],
            flip_at: Callable[[int, int], FlipTest]) -> int:
    if reads_surely(lines_at(0)):
        return 0
    for base in (0, 90):  # the page as it comes, then lying on its side
        test = flip_at(base, SAMPLE_WORDS)
        if not test.decided and base == 0 and len(sample_words(lines_at(0), SAMPLE_WORDS + 1)) \
                > SAMPLE_WORDS:  # a wider sample costs less than reading the other turns
            test = flip_at(base, MORE_SAMPLE_WORDS)
        if not test.decided:
            continue
        chosen = base + 180 if test.upside_down else base
        if chosen == 0 or _beats(lines_at(chosen), lines_at(0)):
            return chosen
        break  # the turn reads worse than the page as it comes: read every turn
    # every turn is read: the flip tests of all four reads together (a read at r says
    # how much r is upright, the read at r + 180 how much it is upside down) ...
    tests = {r: flip_at(r, MORE_SAMPLE_WORDS) for r in ROTATIONS}
    support = {r: tests[r].margin - tests[(r + 180) % 360].margin for r in ROTATIONS}
    best = max(ROTATIONS, key=lambda r: support[r])
    if support[best] >= SUPPORT_MIN:
        return best
    # ... else the turn whose read holds clearly the most confident characters
    best = max(ROTATIONS, key=lambda r: evidence(lines_at(r)))
    return best if best != 0 and _beats(lines_at(best), lines_at(0)) else 0


def reads_surely(lines: list[Line]) -> bool:
    """`SAMPLE_WORDS` sample words all read with at least `SURE_WORD` confidence: text
    read upside down is garbage read with little confidence."""
    words = sample_words(lines)
    return len(words) == SAMPLE_WORDS and min(w.confidence for w in words) >= SURE_WORD


def reading_turn(lines: list[Line]) -> int:
    """The clockwise quarter turn after which most of the read characters run left to right
    (0 for a page whose lines already do, or that has none): lines read downwards need 270,
    upwards 90, right to left 180."""
    weight = np.zeros(4)
    for ln in lines:
        q = np.asarray(ln.points, np.float32)
        u = q[1] - q[0]
        way = int(round(math.degrees(math.atan2(float(u[1]), float(u[0]))) / 90)) % 4
        weight[way] += evidence([ln])
    way = int(np.argmax(weight))
    return (360 - 90 * way) % 360 if weight[way] > 0.5 * weight.sum() > 0 else 0


def _beats(lines: list[Line], upright: list[Line]) -> bool:
    return evidence(lines) > TURN_GAIN * evidence(upright) + TURN_MIN


def flip_candidates(lines: list[Line]) -> list[int]:
    """Indices of the lines the per-line check reads again turned: read with little
    confidence, and long enough (`LINE_ASPECT`) that their reading either way is telling."""
    out = []
    for i, ln in enumerate(lines):
        if ln.confidence < LINE_CHECK:
            length, height = quad_size(np.asarray(ln.points, np.float32))
            if length >= LINE_ASPECT * max(height, 1e-6):
                out.append(i)
    return out


def flip_lines(rgb: np.ndarray, lines: list[Line], recognize: RecognizeFn,
               read_boxes: ReadBoxesFn) -> list[Line]:
    """The per-line 180-degree check for pages with lines both ways up (a label printed
    upside down on a box, a stamp): lines read with little confidence are cut turned by
    180 degrees and read (one recognizer call for all of them, none on a clean page); the
    few that read clearly so (`reads_clearly`) are read as found too (a second call), and
    those that read more clearly turned than as found are read again as lines. `recognize`
    should read caseless (`RecognitionStage.recognize_caseless`): a line read in doubtful
    case is not less upright. A turned line keeps its place and its box, its first corner
    moved to where its text starts (the box's opposite corner).

    Why as found only second: an upright line turned reads as garbage, so on an upright
    page the check is settled by the turned reads alone; reading both ways at once read
    each doubtful line twice (on a receipt, 7% of the recognizer's columns)."""
    todo = flip_candidates(lines)
    if not todo:
        return lines
    turned = {i: np.roll(np.asarray(lines[i].points, np.float32), 2, axis=0) for i in todo}
    scores = dict(zip(todo, turned_scores(rgb, list(turned.values()), recognize)))
    maybe = [i for i in todo if reads_clearly(*scores[i])]
    if not maybe:
        return lines
    found = turned_scores(rgb, [np.asarray(lines[i].points, np.float32) for i in maybe],
                          recognize)
    clear = [i for i, (before, _) in zip(maybe, found)
             if scores[i][0] >= before + LINE_MARGIN]
    if not clear:
        return lines
    out = list(lines)
    for i, line in zip(clear, read_boxes(rgb, [turned[i] for i in clear])):
        out[i] = replace(line, block=lines[i].block)
    return out


def reads_clearly(score: float, chars: int) -> bool:
    """A crop's caseless reading (mean log-probability per character, characters) is
    clear: at least LINE_CHARS characters at LINE_CLEAR or better."""
    return chars >= LINE_CHARS and score >= LINE_CLEAR


def turned_scores(rgb: np.ndarray, quads: Sequence[np.ndarray],
                  recognize: RecognizeFn) -> list[tuple[float, int]]:
    """(mean log-probability per character, characters) of each box read along it."""
    crops = [crop_line(rgb, q, DETECTION_CONTEXT) for q in quads]
    return [(_mean_log_prob([d]), len(d.char_probs)) for d in recognize(crops)]


def read_any_way_up(rgb: np.ndarray, rotate: str | int, read: ReadFn,
                    recognize: RecognizeFn,
                    read_boxes: ReadBoxesFn | None = None,
                    polish: PolishFn | None = None) -> tuple[list[Line], int]:
    """Lines of the page in the original image's pixels, and the clockwise turn applied.

    `rotate` is 'auto' (find the turn), 'none' (read as is) or a fixed turn. Given
    `read_boxes`, lines of a page read at a turn (not 'none') also get the per-line
    180-degree check (`flip_lines`). Given `polish`, the lines of the page as read upright
    pass through it before their points go back to the original pixels (after the checks
    above have used them), so it sees the same pixels whichever way the page came in.
    """
    h, w = rgb.shape[:2]
    polish = polish or (lambda _, lines: lines)
    if rotate == "none":
        return polish(rgb, read(rgb)), 0
    if rotate == "auto":
        rotation, lines = find_rotation(rgb, read, recognize)
    else:
        rotation = int(rotate) % 360
        lines = read(turn_image(rgb, rotation))
    upright = turn_image(rgb, rotation)
    level = read_level(upright, lines, read)
    moved = level is not lines or rotation != 0
    level = polish(upright, level)
    if moved:
        level = unturn_lines(level, rotation, w, h)
        level = map_lines(level, lambda p: np.clip(p, 0, [w, h]))
    if read_boxes is not None:
        level = flip_lines(rgb, level, recognize, read_boxes)
    return level, rotation
