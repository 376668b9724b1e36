"""Each stage of the pipeline on its own: layout on hand-made words, detection and
recognition on fake forwards (model geometry from metadata), in-memory torch modules, and
the Reader composing stages it did not load."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from ocrtool.detection.postprocess import DetectParams
from ocrtool.detection.stage import DetectionStage
from ocrtool.layout import finish, lay_out
from ocrtool.reader import Reader
from ocrtool.recognition.charset import Charset
from ocrtool.recognition.stage import RecognitionStage
from ocrtool.results import Line


def _box(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


# ------------------------------------------------------------------------ layout


def test_layout_groups_hand_made_words_into_ordered_lines():
    # two rows of words given out of order, and a faint lone glyph far right of row 2;
    # words half a text height apart, as words of a line are (a gap of a whole height is
    # where the link model starts to weigh columns: about even odds on a page this bare)
    words = [_box(280, 100, 360, 120), _box(100, 40, 180, 60), _box(100, 100, 180, 120),
             _box(190, 40, 270, 60), _box(190, 100, 270, 120), _box(700, 100, 708, 120)]
    scores = [0.9, 0.9, 0.9, 0.9, 0.9, 0.55]
    layout = lay_out(words, scores, faint_below=0.6)
    assert len(layout.lines) == 3
    firsts = [[float(np.min(w[:, 0])) for w in line] for line in layout.words]
    assert firsts[:2] == [[100, 190], [100, 190, 280]]  # top row first, left to right
    assert layout.faint == [False, False, True]
    line_x = [np.asarray(q)[:, 0] for q in layout.lines]
    assert line_x[1].min() == 100 and line_x[1].max() == 360


def test_finish_applies_the_receipt_rules():
    words = [_box(100, 40, 300, 60), _box(100, 100, 300, 120), _box(700, 100, 708, 120),
             _box(100, 160, 300, 180), _box(350, 160, 356, 180)]
    layout = lay_out(words, [0.9, 0.9, 0.55, 0.9, 0.9], faint_below=0.6)
    texts = {0: "TOTAL", 1: "CASH", 2: "x", 3: "TAX", 4: ":"}
    order = [next(k for k, w in enumerate(words) if np.allclose(w, line[0]))
             for line in layout.words]
    lines = [Line(texts[k], 0.95 if k != 4 else 0.5, layout.lines[i].tolist())
             for i, k in enumerate(order)]
    out = finish(layout, lines, line_pad=0.1, width=1000, height=1000)
    # the faint "x" is not a glyph a receipt has: dropped; the spaced ":" joins "TAX"
    assert [ln.text for ln in out] == ["TOTAL", "CASH", "TAX :"]
    top, bottom = out[0].points[0][1], out[0].points[3][1]
    assert np.isclose(top, 38) and np.isclose(bottom, 62)  # padded by 0.1 of 20 px


# ------------------------------------------------------------------------ detection


class _FakeDetector:
    """Region/affinity maps with one word blob, at the model's own map stride."""

    def __init__(self, map_stride: int):
        self.map_stride, self.inputs = map_stride, []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.inputs.append(batch)
        s = self.map_stride
        maps = np.zeros((1, 2, batch.shape[2] // s, batch.shape[3] // s), np.float32)
        maps[0, 0, 10:20, 10:60] = 0.9
        return maps


def test_detection_reads_its_geometry_from_the_model_metadata():
    fake = _FakeDetector(map_stride=4)
    meta = {"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "input_stride": 64,
            "output_stride": 4}
    stage = DetectionStage(fake, meta, DetectParams(expand=0.0, small_text=0, zoom_out=0))
    page = np.full((1000, 700, 3), 255, np.uint8)
    found = stage(page)
    x = fake.inputs[0]
    assert x.shape[2] % 64 == 0 and x.shape[3] % 64 == 0
    assert np.isclose(x[0, :, 5, 5], 1.0).all()  # white with mean 0, std 1
    assert found.scale == pytest.approx(1.0) and len(found.words) == 1
    xs, ys = found.words[0][:, 0], found.words[0][:, 1]
    # map pixels 10..59 x 10..19 at 4 input pixels each (scale 1)
    assert xs.min() == pytest.approx(42, abs=0.5) and xs.max() == pytest.approx(238, abs=0.5)
    assert ys.min() == pytest.approx(42, abs=0.5) and ys.max() == pytest.approx(78, abs=0.5)


def _pairs_joined_by_faint_links(rows: int):
    """Maps with `rows` rows of two character blobs whose affinity link scores 0.32:
    under the dense-page threshold (0.35), over the sparse-page one (0.3)."""

    def forward(batch: np.ndarray) -> np.ndarray:
        maps = np.zeros((1, 2, batch.shape[2] // 2, batch.shape[3] // 2), np.float32)
        for r in range(rows):
            y = 10 + 12 * (r % 25)
            x = 10 + 60 * (r // 25)
            maps[0, 0, y : y + 8, x : x + 8] = 0.9
            maps[0, 0, y : y + 8, x + 12 : x + 20] = 0.9
            maps[0, 1, y + 2 : y + 6, x + 8 : x + 12] = 0.32
        return maps

    return forward


def test_a_sparse_page_is_read_with_the_lower_sparse_threshold():
    params = DetectParams(expand=0.0, small_text=0, zoom_out=0)
    page = np.full((1200, 800, 3), 255, np.uint8)
    sparse = DetectionStage(_pairs_joined_by_faint_links(1), {}, params)(page)
    assert len(sparse.words) == 1  # the faint link joins the two characters
    dense = DetectionStage(_pairs_joined_by_faint_links(30), {}, params)(page)
    assert len(dense.words) == 60  # 60 words on the page: each pair stays apart
    off = replace(params, sparse_low_text=0.0)
    assert len(DetectionStage(_pairs_joined_by_faint_links(1), {}, off)(page).words) == 2


def _recording_detector(calls: list[np.ndarray], words: int = 1):
    """A detector that keeps the inputs it is given and answers with `words` words whose
    region scores rise by 0.1 with every call."""

    def forward(batch: np.ndarray) -> np.ndarray:
        calls.append(batch)
        h, w = batch.shape[2] // 2, batch.shape[3] // 2
        maps = np.zeros((1, 2, h, w), np.float32)
        for k in range(words):
            y, x = 10 + 12 * (k % 25), 10 + 60 * (k // 25)
            maps[0, 0, y : y + 8, x : x + 20] = 0.6 + 0.1 * len(calls)
        return maps

    return forward


def test_a_dark_sparse_page_is_also_detected_with_its_local_contrast_equalised():
    rng = np.random.default_rng(0)
    dark = rng.integers(20, 60, (400, 600, 3)).astype(np.uint8)  # mean grey ~40
    params = DetectParams(small_text=0, dark_page=110)
    calls: list[np.ndarray] = []
    found = DetectionStage(_recording_detector(calls), {}, params)(dark)
    assert len(calls) == 2 and calls[0].shape == calls[1].shape
    assert np.abs(calls[1] - calls[0]).mean() > 0.05  # the second pass sees another page
    assert found.scores == [pytest.approx(0.8)]  # the higher of the two passes' scores
    for page, settings, words in (
            (np.full((400, 600, 3), 200, np.uint8), params, 1),  # a bright page
            (dark, params, 50),  # a dense page (a receipt photographed on a dark table)
            (dark, replace(params, dark_page=0), 1)):  # 0 turns it off
        calls.clear()
        DetectionStage(_recording_detector(calls, words), {}, settings)(page)
        assert len(calls) == 1


def _photo(text: str, size: int, xy: tuple[int, int], background: tuple, fill: tuple,
           noise: float, light: np.ndarray | None = None) -> np.ndarray:
    """A 1280 x 720 "photo": `text` in DejaVu Sans Bold on a flat background, plus an
    optional light field and sensor noise."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (1280, 720), background)
    face = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", size)
    ImageDraw.Draw(img).text(xy, text, font=face, fill=fill)
    pixels = np.array(img).astype(np.float32)
    if light is not None:
        pixels += light[..., None]
    pixels += np.random.default_rng(0).normal(0, noise, pixels.shape)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def test_dim_text_on_a_dark_photo_is_read():
    # light grey words on a dark wall beside a bright lamp (a night photo): the lamp keeps
    # the global contrast stretch from lifting the words
    yy, xx = np.mgrid[:720, :1280]
    lamp = 255 * np.exp(-((xx - 1000) ** 2 + (yy - 150) ** 2) / (2 * 60 ** 2))
    page = _photo("Coast Way", 40, (300, 300), (50, 50, 50), (80, 80, 80), 3, lamp)
    assert DetectParams().dark_page > 0
    assert [ln.text for ln in Reader().read(page).lines] == ["Coast Way"]


def _finds_a_word_only_when_zoomed_out(calls: list[np.ndarray]):
    """A detector that sees one large word (page pixels x 200-500, y 300-360 of a
    1280 x 896 page) only when the page is fed smaller than its own size, as a real
    detector misses words too large for it."""

    def forward(batch: np.ndarray) -> np.ndarray:
        calls.append(batch)
        maps = np.zeros((1, 2, batch.shape[2] // 2, batch.shape[3] // 2), np.float32)
        scale = batch.shape[3] / 1280
        if scale < 0.9:
            k = scale / 2  # page pixels -> map pixels
            maps[0, 0, round(300 * k):round(360 * k), round(200 * k):round(500 * k)] = 0.9
        return maps

    return forward


def test_a_sparse_photo_is_also_seen_zoomed_out_and_the_word_kept_in_page_pixels():
    params = DetectParams(expand=0.0, small_text=0, dark_page=0)
    photo = np.full((896, 1280, 3), 255, np.uint8)
    calls: list[np.ndarray] = []
    found = DetectionStage(_finds_a_word_only_when_zoomed_out(calls), {}, params)(photo)
    assert [c.shape[3] for c in calls] == [1280, 896]  # the page, then 0.7 of it
    assert len(found.words) == 1 and found.scale == pytest.approx(1.0)
    box = found.words[0]
    assert box[:, 0].min() == pytest.approx(200, abs=4)
    assert box[:, 0].max() == pytest.approx(500, abs=4)
    assert box[:, 1].min() == pytest.approx(300, abs=4)
    assert box[:, 1].max() == pytest.approx(360, abs=4)
    calls.clear()
    off = DetectionStage(_finds_a_word_only_when_zoomed_out(calls), {},
                         replace(params, zoom_out=0))(photo)
    assert off.words == [] and len(calls) == 1
    # a dense page (a receipt, a paper) and a page the detector enlarges (a small web
    # graphic) are seen once
    for page, words in ((photo, 50), (np.full((300, 500, 3), 255, np.uint8), 1)):
        calls.clear()
        DetectionStage(_recording_detector(calls, words), {}, params)(page)
        assert len(calls) == 1


def test_a_word_too_large_for_the_detector_is_read_on_a_photo():
    # a shop sign filling the frame: its 280-pixel letters are beyond the sizes the
    # detector finds at the photo's own scale, and within them at 0.7 of it
    photo = _photo("OPEN", 280, (60, 150), (40, 90, 160), (250, 250, 250), 4)
    reader = Reader()
    assert [ln.text for ln in reader.read(photo).lines] == ["OPEN"]
    reader.detection.params = replace(reader.detection.params, zoom_out=0)
    assert [ln.text for ln in reader.read(photo).lines] != ["OPEN"]


# ------------------------------------------------------------------------ recognition


class _FakeRecognizer:
    """Logits that spell `word` in the first frames of every row, blank elsewhere."""

    def __init__(self, charset: Charset, word: str, stride: int):
        self.charset, self.word, self.stride, self.shapes = charset, word, stride, []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.shapes.append(batch.shape)
        frames = batch.shape[3] // self.stride
        logits = np.zeros((batch.shape[0], frames, self.charset.num_classes), np.float32)
        logits[:, :, 0] = 10.0
        for t, index in enumerate(self.charset.encode(self.word)):
            logits[:, 2 * t, 0], logits[:, 2 * t, index] = 0.0, 10.0
        return logits


def test_recognition_uses_the_models_height_and_frame_stride():
    charset = Charset("abc ")
    fake = _FakeRecognizer(charset, "cab", stride=8)
    meta = {"charset": charset.to_dict(), "input_height": 48, "frame_stride": 8}
    stage = RecognitionStage(fake, meta, batch_size=2)
    crops = [np.full((20, w, 3), 200, np.uint8) for w in (300, 40, 120, 120)]
    out = stage.recognize_text(crops)
    assert [t for t, _ in out] == ["cab"] * 4
    assert all(0.9 < c <= 1.0 for _, c in out)
    assert all(s[2] == 48 and s[3] % 8 == 0 for s in fake.shapes)
    # batched by width, two at most, lines far apart in width not padded to each other
    # (at 48 px high: 96, 288 and 720 columns, multiples of the stride)
    assert sorted(s[:1] + s[3:] for s in fake.shapes) == [(1, 96), (1, 720), (2, 288)]


def test_recognition_runs_batches_at_once_and_keeps_their_order():
    """With workers=2 two batches are in the forward at the same time (the barrier lets
    neither through alone: one at a time it breaks), and each line still gets its own
    batch's reading: a batch of wide lines reads "ab", of narrow ones "c"."""
    charset = Charset("abc ")
    wide, narrow = _FakeRecognizer(charset, "ab", 4), _FakeRecognizer(charset, "c", 4)
    meeting = threading.Barrier(2, timeout=5)

    def forward(batch: np.ndarray) -> np.ndarray:
        if len(wide.shapes) + len(narrow.shapes) < 2:
            meeting.wait()  # the first two batches must be forwarded together
        return (wide if batch.shape[3] > 200 else narrow)(batch)

    meta = {"charset": charset.to_dict()}
    crops = [np.full((32, w, 3), 200, np.uint8) for w in (400, 60, 420, 50, 410)]
    stage = RecognitionStage(forward, meta, batch_size=2, workers=2)
    assert [t for t, _ in stage.recognize_text(crops)] == ["ab", "c", "ab", "c", "ab"]
    # a lone batch of three lines goes in two parts at once, its lines in order
    meeting.reset()
    wide.shapes, narrow.shapes = [], []
    lone = [np.full((32, 400, 3), 200, np.uint8)] * 3
    assert [t for t, _ in stage.recognize_text(lone)] == ["ab"] * 3
    assert sorted(shape[0] for shape in wide.shapes) == [1, 2]
    meeting.reset()
    wide.shapes, narrow.shapes = [], []
    with pytest.raises(threading.BrokenBarrierError):  # one at a time: nobody to meet
        RecognitionStage(forward, meta, batch_size=2, workers=1).recognize_text(crops)


def test_recognition_forwards_only_a_few_batches_ahead_of_the_decoder():
    """A decoder slower than the model must not pile up a folder's logits: batches are
    forwarded at most AHEAD per worker ahead of the one being decoded."""
    from ocrtool.recognition.stage import AHEAD

    charset = Charset("abc ")
    fake = _FakeRecognizer(charset, "ab", 4)
    calls = []

    def forward(batch: np.ndarray) -> np.ndarray:
        calls.append(batch.shape)
        return fake(batch)

    stage = RecognitionStage(forward, {"charset": charset.to_dict()}, batch_size=1,
                             workers=2)
    lines = [stage.prepare(np.full((32, 40 + 24 * k, 3), 200, np.uint8)) for k in range(20)]
    ahead = []
    for decoded, _ in enumerate(stage._forward_batches(lines), start=1):
        time.sleep(0.01)  # a slow decoder
        ahead.append(len(calls) - decoded)
    assert len(calls) == 20 and max(ahead) <= AHEAD * 2 and max(ahead) >= 2


def test_onnx_threads_are_split_between_recognizer_batches():
    from ocrtool.runtime.onnx_backend import split_threads

    assert split_threads(1) == (1, 1)  # --threads 1: one batch at a time, as before
    assert split_threads(2) == (2, 1)
    assert split_threads(3) == (2, 1)
    assert split_threads(16) == (2, 8)


def test_recognition_refuses_an_allowlist_the_model_cannot_output():
    meta = {"charset": Charset("abc").to_dict()}
    with pytest.raises(ValueError, match="allowlist"):
        RecognitionStage(lambda b: b, meta, allowlist="abz")


# ------------------------------------------------------------------------ composition


def test_stages_accept_in_memory_torch_modules():
    torch = pytest.importorskip("torch")
    from ocrtool.detection.model import CraftNet
    from ocrtool.recognition.model import CRNN

    torch.manual_seed(0)
    detection = DetectionStage.from_module(CraftNet().eval())
    maps, scale = detection.maps(np.full((200, 300, 3), 255, np.uint8), detection.params)
    assert maps.shape[0] == 2 and maps.shape[1] * 2 == detection.prepare(
        np.full((200, 300, 3), 255, np.uint8))[0].shape[2]
    charset = Charset("abc")
    recognition = RecognitionStage.from_module(CRNN(charset.num_classes).eval(),
                                               {"charset": charset.to_dict()})
    (d,) = recognition.recognize([np.full((32, 100), 128, np.uint8)])
    assert set(recognition.text(d)) <= set("abc")


def test_the_reader_composes_stages_built_elsewhere():
    charset = Charset("abc ")
    detection = DetectionStage(_FakeDetector(map_stride=2), {},
                               DetectParams(expand=0.0, small_text=0))
    recognition = RecognitionStage(_FakeRecognizer(charset, "abc", stride=4),
                                   {"charset": charset.to_dict()})
    reader = Reader.from_stages(detection, recognition)
    page = np.full((800, 600, 3), 255, np.uint8)
    result = reader.read(page)
    assert [ln.text for ln in result.lines] == ["abc"]
    assert reader.detect(page)[0][0].shape == (4, 2)


def test_detector_validation_scores_what_ocrtool_eval_scores(tmp_path):
    """Training's detector validation runs the Reader's pipeline on the model in memory:
    on the shipped weights it gives eval's H-mean (the old copy skipped the second pass,
    faint glyphs, reading order and line padding)."""
    pytest.importorskip("torch")
    from pathlib import Path

    from ocrtool.evaluation import evaluate_pages, load_ground_truth, predict_with_reader
    from ocrtool.runtime.base import DETECTOR, model_path
    from ocrtool.runtime.torch_backend import load_detector
    from ocrtool.training.datasets import validation_rows
    from ocrtool.training.detector import validate

    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "born_digital_train"
    if not data.is_dir():
        pytest.skip("born_digital_train not here")
    (tmp_path / "born_digital_train").symlink_to(data)
    model, meta = load_detector(model_path(DETECTOR, ".pt"))
    got = validate(model, str(tmp_path), limit=3, device="cpu", meta=meta,
                   val_sets={"born_digital_train": "word"})
    rows = validation_rows(load_ground_truth(data))[:3]  # its held-out pages
    reader = Reader(backend="torch", device="cpu", threads=1)
    want = evaluate_pages(rows, predict_with_reader(reader, data, rows), level="word")
    assert got["born_digital_train/det_hmean"] == pytest.approx(want["det_hmean"], abs=1e-9)
    assert 0.3 < want["det_hmean"] <= 1.0
