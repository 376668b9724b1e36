"""The detection stage: an RGB page -> word boxes with their scores.

Prepare (scale, normalise), forward (any callable: a backend's `detect`, or a
`torch.nn.Module` being trained), maps -> words, and the second pass for small text.
The model's geometry (mean/std, input stride, map stride) is read from its metadata, so
a detector trained with other values needs no code edit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..enhance import equalize_locally, mean_brightness
from ..geometry import text_height
from ..layout.lines import DENSE_PAGE_WORDS
from .postprocess import (
    MEAN,
    STD,
    STRIDE,
    DetectParams,
    detector_scale,
    maps_to_words,
    prepare_image,
)

Forward = Callable[[np.ndarray], np.ndarray]
# the small-text pass runs only if it sees the page at least this much larger
SMALL_TEXT_GROWTH = 1.05


def small_text_canvas(shape: tuple[int, ...], words: int, params: DetectParams) -> int:
    """Longest side the small-text look may grow a page to: `small_text_canvas` for a
    sparse page (a photo, a web graphic, whose small words need magnifying), at most the
    page's own size for a dense one (a scan of a receipt or a paper, which holds no more
    detail than its pixels; magnified receipts read worse), never under `canvas`."""
    cap = params.small_text_canvas
    if words >= DENSE_PAGE_WORDS:
        cap = min(cap, max(shape[:2]))
    return max(params.canvas, cap)


@dataclass
class Detection:
    """Word quads (4x2, original image pixels), their peak region scores, and the scale at
    which the page met the detector."""

    words: list[np.ndarray]
    scores: list[float]
    scale: float


class DetectionStage:
    """Finds words on a page. `forward` maps a (1, 3, H, W) input to (1, 2, h, w) region
    and affinity maps; `meta` is the model's metadata (the .pt meta or the ONNX one)."""

    def __init__(self, forward: Forward, meta: dict | None = None,
                 params: DetectParams | None = None) -> None:
        meta = meta or {}
        self.forward = forward
        self.params = params or DetectParams()
        self.mean = tuple(float(m) for m in meta.get("mean", MEAN))
        self.std = tuple(float(s) for s in meta.get("std", STD))
        self.stride = int(meta.get("input_stride", STRIDE))
        self.map_stride = float(meta.get("output_stride", 2))

    @classmethod
    def from_backend(cls, backend, params: DetectParams | None = None) -> DetectionStage:
        """The stage on a loaded backend (PyTorch or ONNX Runtime)."""
        return cls(backend.detect, backend.detector_meta, params)

    @classmethod
    def from_module(cls, module, meta: dict | None = None, device: str = "cpu",
                    params: DetectParams | None = None) -> DetectionStage:
        """The stage on an in-memory torch module (training validation, tuning); the
        caller puts it in eval mode."""
        from ..runtime.torch_backend import module_forward

        return cls(module_forward(module, device), meta, params)

    def __call__(self, rgb: np.ndarray, params: DetectParams | None = None) -> Detection:
        """Words of a page. Small text is detected a second time at a larger scale
        (`DetectParams.small_text`), unless the page cannot grow by SMALL_TEXT_GROWTH."""
        params = params or self.params
        found = self.detect_at(rgb, params)
        size = text_height(found.words) * found.scale
        if found.words and params.small_text and size < params.small_text:
            canvas = small_text_canvas(rgb.shape[:2], len(found.words), params)
            bigger = replace(params, magnify=params.magnify * params.text_target / size,
                             canvas=canvas)
            if detector_scale(*rgb.shape[:2], bigger) >= found.scale * SMALL_TEXT_GROWTH:
                found = self.detect_at(rgb, bigger)
        return found

    def detect_at(self, rgb: np.ndarray, params: DetectParams) -> Detection:
        """One pass at the scale `params` give. On a sparse page (fewer than
        DENSE_PAGE_WORDS words: a photo, a web graphic) the maps are read again with the
        lower `sparse_low_text` threshold, which finds faint scene words; dense pages
        (receipts, documents) keep `low_text`, under which their lines stay apart. A
        sparse page that is also dark (`DetectParams.dark_page`) first gets a second
        detector pass with its local contrast equalised; the maps keep the higher score.
        Before that, a sparse page the detector does not enlarge is also seen zoomed out
        (`DetectParams.zoom_out`, `zoomed_out_maps`), the maps again keeping the higher
        score."""
        maps, scale = self.maps(rgb, params)
        found = self.words(maps, scale, params)
        if params.zoom_out and len(found.words) < DENSE_PAGE_WORDS and \
                max(rgb.shape[:2]) >= params.min_side:
            maps = np.maximum(maps, self.zoomed_out_maps(rgb, params, maps.shape, scale))
            found = self.words(maps, scale, params)
        if params.dark_page and len(found.words) < DENSE_PAGE_WORDS and \
                mean_brightness(rgb) < params.dark_page:
            lifted, _ = self.maps(equalize_locally(rgb), params)
            maps = np.maximum(maps, lifted)
            found = self.words(maps, scale, params)
        sparse = params.sparse_low_text
        if sparse and sparse != params.low_text and len(found.words) < DENSE_PAGE_WORDS:
            found = self.words(maps, scale, replace(params, low_text=sparse,
                                                    link_threshold=sparse))
        return found

    def prepare(self, rgb: np.ndarray,
                params: DetectParams | None = None) -> tuple[np.ndarray, float]:
        """The model's (1, 3, H, W) input for a page, and the scale it is fed at."""
        return prepare_image(rgb, params or self.params, self.mean, self.std, self.stride)

    def maps(self, rgb: np.ndarray, params: DetectParams) -> tuple[np.ndarray, float]:
        """(2, h, w) region and affinity maps of a page, and the scale it was fed at."""
        batch, scale = self.prepare(rgb, params)
        return self.forward(batch)[0], scale

    def zoomed_out_maps(self, rgb: np.ndarray, params: DetectParams,
                        shape: tuple[int, ...], scale: float) -> np.ndarray:
        """The page's maps at `zoom_out` of the look's scale, grown back onto the look's
        map grid (`shape`, the page fed at `scale`): words too large for the detector at
        the look's scale come out at a size it finds."""
        zoomed = replace(params, magnify=params.magnify * params.zoom_out)
        small, small_scale = self.maps(rgb, zoomed)
        grow = scale / small_scale
        grown = np.stack([cv2.resize(m, None, fx=grow, fy=grow,
                                     interpolation=cv2.INTER_LINEAR) for m in small])
        out = np.zeros(shape, np.float32)
        h, w = min(shape[1], grown.shape[1]), min(shape[2], grown.shape[2])
        out[:, :h, :w] = grown[:, :h, :w]
        return out

    def words(self, maps: np.ndarray, scale: float, params: DetectParams) -> Detection:
        """Maps -> word boxes (what threshold tuning repeats on cached maps)."""
        words, scores = maps_to_words(maps[0], maps[1], params, scale, self.map_stride)
        return Detection(words, scores, scale)
