"""Line-crop preprocessing shared by training and both inference backends (numpy + OpenCV).

Crops are sorted by width and padded only to the widest crop of their own batch
(PaddleOCR's trick), the batches cut where that wastes the fewest columns
(`batches_by_width`): padding every crop to the widest in the image wastes most of the CPU
time on blank columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..enhance import pixel_median, stretch_contrast
from ..geometry import crop_quad, expand_quad, quad_size

# Defaults for weight files that predate these metadata keys; the recognition stage reads
# `input_height` and `frame_stride` from the model's metadata.
INPUT_HEIGHT = 32  # recognizer input height
FRAME_STRIDE = 4  # input columns per output frame (CTC time step)
MIN_WIDTH = 16
MAX_WIDTH = 2400
# What one more recognizer call costs, in padded input columns (ONNX Runtime's fixed
# cost per run against its cost per column of one line: `bench/batch_cost.py`)
BATCH_COST = 16
# Background columns a crop with tight ends is read with after its last glyph
# (`with_trailing_background`): a crop handed over or cut exactly on its box, with nothing
# after its last glyph, lost it ("data." -> "data", "[10]" -> "[10"); the batching that
# cut every 32 lines had padded most such crops by chance. Lines cut with context (the
# detector's) are read as they are: 4 more columns turned "y < 1" into "y < l" there.
# Chosen on the recognizer's validation crops (5119, fp32, session 33; every crop padded):
# 0 -> 4417 read right, 4 -> 4438, 8 -> 4435, 12 -> 4434 (the old batching: 4438).
TRAILING_PAD = 4
# Background kept around a box when it is cut, as fractions of the box height (along,
# across): the middle of the margins the training crops have (jitter_crop).
CROP_CONTEXT = (0.15, 0.07)
# The detector's boxes are tighter than annotated ones (median height 0.88 of the matching
# sroie_dev box), so crops cut from them take more: end-to-end word F1 (ci) 0.686 -> 0.713
# on born_digital_dev and 0.815 -> 0.824 on sroie_dev against CROP_CONTEXT.
DETECTION_CONTEXT = (0.15, 0.12)


def context_quad(quad: np.ndarray, context: tuple[float, float] = CROP_CONTEXT) -> np.ndarray:
    """The box grown by a little of its surroundings.

    Training crops carry a margin of background, while ground-truth and detector boxes hug
    the ink: cut tight, a glyph touching the edge (a leading 'I' or 'l') is often dropped.
    On born_digital_dev's word boxes this margin alone raised word accuracy from 73% to 86%
    (v0.2 weights).
    """
    _, h = quad_size(quad)
    return expand_quad(quad, context[0] * h, context[1] * h)


def crop_line(image: np.ndarray, quad: np.ndarray,
              context: tuple[float, float] = CROP_CONTEXT,
              height: int = INPUT_HEIGHT) -> np.ndarray:
    """Cut a text line (with `context_quad`'s margin) out of an image, upright.

    Small text is warped straight to the recognizer's input `height` (sampling the source at
    sub-pixel positions, as training crops are); larger text is cut at its own size and
    shrunk with area averaging later, which aliases less than a shrinking warp.
    """
    quad = context_quad(quad, context)
    _, h = quad_size(quad)
    return crop_quad(image, quad, height=height if h < height else None)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Any uint8 image (H, W), (H, W, 3) RGB or (H, W, 4) RGBA -> (H, W) uint8."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        image = image[:, :, :3]
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def resize_line(gray: np.ndarray, height: int = INPUT_HEIGHT) -> np.ndarray:
    """Scale to a fixed height keeping the aspect ratio; width clamped to a sane range.

    A line narrower than `MIN_WIDTH` at this height (a lone '.', ',' or '0' cut on its box)
    is padded with its own edge background, not stretched: stretched twice as wide, a
    full stop reads as a dash and a zero as an 'O'. On the held-out word boxes of
    docbank_pages_train cut with no margin, 544 -> 578 of 684 words read right; the other
    validation sets do not move (session 11).
    """
    h, w = gray.shape[:2]
    new_w = min(max(int(round(w * height / max(h, 1))), 1), MAX_WIDTH)
    interp = cv2.INTER_AREA if h > height else cv2.INTER_LINEAR
    line = cv2.resize(gray, (new_w, height), interpolation=interp)
    return pad_to_width(line, MIN_WIDTH)


def edge_background(line: np.ndarray, side: str = "right") -> int:
    """The colour a (H, W) uint8 line is padded with on one side: the median of its two
    outermost columns there."""
    return pixel_median(line[:, :2] if side == "left" else line[:, -2:])


def pad_to_width(line: np.ndarray, width: int) -> np.ndarray:
    """Centre a (H, W) uint8 line in `width` columns of its left and right edge colours."""
    missing = width - line.shape[1]
    if missing <= 0:
        return line
    left, right = missing // 2, missing - missing // 2
    height = line.shape[0]
    return np.concatenate([np.full((height, left), edge_background(line, "left"), np.uint8),
                           line, np.full((height, right), edge_background(line), np.uint8)],
                          axis=1)


def prepare_crop(crop: np.ndarray, height: int = INPUT_HEIGHT,
                 tight_ends: bool = False) -> np.ndarray:
    """A line crop (RGB or gray, any size) as the recognizer reads it: gray, contrast
    stretched, at the input height; with `tight_ends` (a crop with nothing after its last
    glyph), TRAILING_PAD columns of its background appended (`with_trailing_background`)."""
    line = resize_line(stretch_contrast(to_gray(crop)), height)
    return with_trailing_background(line) if tight_ends else line


def with_trailing_background(line: np.ndarray, columns: int = TRAILING_PAD) -> np.ndarray:
    """A prepared (H, W) uint8 line with `columns` of its right-edge background after it.
    A line at MIN_WIDTH is left as it is: most are narrow marks `resize_line` already
    centred in background, and a lone "." then read ","."""
    if line.shape[1] <= MIN_WIDTH or columns <= 0:
        return line
    edge = np.full((line.shape[0], columns), edge_background(line), np.uint8)
    return np.concatenate([line, edge], axis=1)


def normalize(line: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [-1, 1]; the same mapping is stored in the model metadata."""
    return line.astype(np.float32) / 127.5 - 1.0


def pad_batch(lines: Sequence[np.ndarray], multiple: int = FRAME_STRIDE) -> np.ndarray:
    """Stack height-normalised uint8 lines into (B, 1, H, Wmax) float32.

    Padding repeats each line's own right-edge background (its median last column) so the
    model never sees a hard black/white border it was not trained on. The width is
    rounded up to a `multiple` of the model's frame stride.
    """
    width = max(padded_width(line.shape[1], multiple) for line in lines)
    batch = np.empty((len(lines), 1, lines[0].shape[0], width), dtype=np.float32)
    for i, line in enumerate(lines):
        w = line.shape[1]
        batch[i, 0, :, :w] = normalize(line)
        if w < width:
            batch[i, 0, :, w:] = normalize(np.uint8(edge_background(line)))
    return batch


def padded_width(width: int, multiple: int = FRAME_STRIDE) -> int:
    """Columns a line `width` wide is fed as: rounded up to `multiple`."""
    return -(-width // multiple) * multiple


def batches_by_width(lines: Sequence[np.ndarray], batch_size: int,
                     multiple: int = FRAME_STRIDE,
                     batch_cost: int = BATCH_COST) -> list[list[int]]:
    """Index groups of similar width, widest last, that waste the fewest padded columns;
    callers restore the original order.

    The recognizer's time is its input's area (lines x padded width: `bench/batch_cost.py`),
    so the lines, sorted by width, are cut into runs of at most `batch_size` that minimise
    the columns fed (each line padded to its run's widest) plus `batch_cost` columns per
    run. Cutting every `batch_size` lines instead fed a receipt's 67 lines 17862 columns
    for the 9771 they hold.
    """
    order = sorted(range(len(lines)), key=lambda i: lines[i].shape[1])
    widths = [padded_width(lines[i].shape[1], multiple) for i in order]
    # cost[j]: the cheapest cut of the first j lines; start[j]: where its last run begins
    cost, start = [0] * (len(order) + 1), [0] * (len(order) + 1)
    for j in range(1, len(order) + 1):
        cost[j], start[j] = min((cost[i] + (j - i) * widths[j - 1] + batch_cost, i)
                                for i in range(max(0, j - batch_size), j))
    runs, j = [], len(order)
    while j:
        runs.append(order[start[j]:j])
        j = start[j]
    return runs[::-1]
