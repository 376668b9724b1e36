"""CRAFT's weak supervision: real word boxes split into characters by the detector's own
region scores, weighted by how well the count agrees with the text."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from ocrtool.detection.targets import split_word_quad  # noqa: E402
from ocrtool.synth.fonts import discover_fonts  # noqa: E402
from ocrtool.training import pseudo_chars  # noqa: E402
from ocrtool.training.detector import (  # noqa: E402
    DetectorConfig,
    PageCrops,
    real_page,
    sample_crop,
)
from ocrtool.training.pseudo_chars import (  # noqa: E402
    FALLBACK_CONFIDENCE,
    LABELS_FILE,
    label_sets,
    load_labels,
    save_labels,
    split_by_region_peaks,
    split_word_by_model,
    word_confidence,
)

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "detector.pt"


@pytest.mark.parametrize(("n_chars", "n_found", "expected"), [
    (5, 5, 1.0), (5, 3, 0.6), (5, 7, 0.6), (4, 2, 0.5), (4, 9, 0.0), (4, 0, 0.0),
    (3, 4, 2 / 3), (10, 1, 0.1), (1, 2, 0.0),
])
def test_word_confidence_is_crafts_formula(n_chars, n_found, expected):
    assert word_confidence(n_chars, n_found) == pytest.approx(expected, abs=1e-12)


def _bumps(centres: list[float], heights: list[float], length: int = 80,
           sigma: float | list[float] = 3.0) -> np.ndarray:
    """A region profile: one Gaussian blob per character (the highest where they meet)."""
    x = np.arange(length) + 0.5
    sigmas = sigma if isinstance(sigma, list) else [sigma] * len(centres)
    return np.max([h * np.exp(-((x - c) ** 2) / (2 * s**2))
                   for c, h, s in zip(centres, heights, sigmas)], axis=0)


def test_the_profile_is_cut_in_the_valleys_between_its_peaks():
    centres = [10.5, 24.5, 36.5, 58.5]  # uneven spacing: a proportional font
    # wide and narrow letters side by side: the valleys are off the midpoints
    profile = _bumps(centres, [0.8, 0.6, 0.9, 0.7], sigma=[2.0, 4.0, 2.0, 6.0])
    extents = split_by_region_peaks(profile)
    assert extents is not None and len(extents) == 4
    bounds = extents * len(profile)
    for (start, stop), c in zip(bounds, centres):
        assert start < c < stop  # each segment holds its own peak
    for (_, stop), a, b in zip(bounds[:-1], centres[:-1], centres[1:]):
        lo, hi = int(a), int(b)
        valley = lo + int(np.argmin(profile[lo:hi + 1]))
        assert abs(valley + 0.5 - (a + b) / 2) > 1.5
        assert abs(stop - (valley + 0.5)) <= 0.5  # the cut is at the valley's floor
    assert np.all(bounds[1:, 0] == bounds[:-1, 1])  # inner segments share their cuts
    # the outer segments are as wide outward as inward, not stretched to the profile ends
    assert bounds[0, 0] == pytest.approx(2 * centres[0] - bounds[0, 1])
    assert bounds[-1, 1] == pytest.approx(2 * centres[-1] - bounds[-1, 0])


def test_a_shallow_dip_is_one_character_and_faint_bumps_none():
    one = _bumps([33.5], [0.8], sigma=6.0)
    one[33] -= 0.02  # a notch on top of one blob (stroke noise): two local maxima
    assert one[32] > one[33] < one[34] and one[33] > one[32] - pseudo_chars.MIN_DIP
    extents = split_by_region_peaks(one)
    assert extents is not None and len(extents) == 1
    start, stop = extents[0] * len(one)
    assert start < 30 and stop > 37
    one[33] -= 0.05  # a clear dip: two characters
    assert len(split_by_region_peaks(one)) == 2
    assert split_by_region_peaks(_bumps([20.5, 50.5], [0.2, 0.3])) is None
    assert split_by_region_peaks(np.zeros(40)) is None


@pytest.fixture(scope="module")
def shipped_detector():
    from ocrtool.detection.model import CraftNet
    from ocrtool.runtime.torch_backend import module_forward

    if not WEIGHTS.exists():
        pytest.skip("weights/detector.pt not present")
    torch.set_num_threads(1)
    model = CraftNet()
    model.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=False)["model"])
    model.eval()
    return module_forward(model)


def _font(name: str = "DejaVuSans") -> str:
    matches = [f.path for f in discover_fonts("latin") if f.name == name]
    if not matches:
        pytest.skip(f"font {name} not installed (apt-get install fonts-dejavu-core)")
    return matches[0]


def _rendered_word(text: str, size: int = 40):
    """A word in black on white, its box (clockwise from top-left) and each glyph's ink
    extent along x."""
    font = ImageFont.truetype(_font(), size)
    x0 = y0 = size
    img = Image.new("RGB", (int(font.getlength(text)) + 2 * size, 3 * size), "white")
    ImageDraw.Draw(img).text((x0, y0), text, font=font, fill="black")
    left, top, right, bottom = font.getbbox(text)
    quad = np.array([[x0 + left - 2, y0 + top - 2], [x0 + right + 2, y0 + top - 2],
                     [x0 + right + 2, y0 + bottom + 2], [x0 + left - 2, y0 + bottom + 2]],
                    np.float32)
    glyphs = []
    for i, ch in enumerate(text):
        advance = font.getlength(text[:i])
        gl, _, gr, _ = font.getbbox(ch)
        glyphs.append((x0 + advance + gl, x0 + advance + gr))
    return np.asarray(img), quad, glyphs


def test_the_shipped_detector_splits_a_printed_word_into_its_letters(shipped_detector):
    image, quad, glyphs = _rendered_word("HELLO")
    chars, confidence = split_word_by_model(shipped_detector, image, quad, "HELLO")
    assert chars.shape == (5, 4, 2) and chars.dtype == np.float32
    assert confidence == 1.0
    for box, (left, right) in zip(chars, glyphs):
        cx, cy = box.mean(axis=0)
        assert left <= cx <= right
        assert quad[0, 1] <= cy <= quad[2, 1]


def test_a_text_far_longer_than_the_split_falls_back_to_equal_slices(shipped_detector):
    image, quad, _ = _rendered_word("HELLO")
    text = "HELLOWORLDHELLO"  # 15 letters where the model sees 5: s_conf 1/3
    chars, confidence = split_word_by_model(shipped_detector, image, quad, text)
    assert confidence == FALLBACK_CONFIDENCE
    np.testing.assert_allclose(chars, split_word_quad(quad, len(text)), atol=1e-4)


def _tiny_set(root: Path, pages: int = 10) -> list[dict]:
    """A word-boxed set: page i has a rendered 'HELLO', a faint word the ink rule cannot
    split, and an ignored box."""
    (root / "images").mkdir(parents=True)
    image, quad, _ = _rendered_word("HELLO")
    faint = image.copy()
    faint[:, :] = np.maximum(faint, 230)  # contrast under the ink rule's 40 levels
    rows = []
    for i in range(pages):
        name = f"images/p{i}.png"
        Image.fromarray(np.concatenate([image, faint], axis=0)).save(root / name)
        low = quad + np.array([0, image.shape[0]], np.float32)
        rows.append({"image": name, "width": image.shape[1], "height": 2 * image.shape[0],
                     "regions": [{"points": quad.tolist(), "text": "HELLO"},
                                 {"points": [[2, 2], [20, 2], [20, 12], [2, 12]],
                                  "text": "###", "ignore": True},
                                 {"points": low.tolist(), "text": "HELLO"}]})
    with open(root / "gt.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return rows


def test_real_page_takes_the_cached_split_and_its_weight(tmp_path: Path):
    rows = _tiny_set(tmp_path / "tiny", pages=1)
    cached = split_word_quad(np.array(rows[0]["regions"][2]["points"], np.float32), 5) + 1.5
    page = real_page(tmp_path / "tiny", rows[0], 0.8, {2: (cached, 0.6)})
    before = real_page(tmp_path / "tiny", rows[0], 0.8)
    assert len(page.words) == 2 and len(page.ignore) == 1
    np.testing.assert_array_equal(page.words[1], cached)
    assert page.weights[1] == 0.6
    # the uncached word keeps today's rule: its ink splits it, at full weight
    np.testing.assert_array_equal(page.words[0], before.words[0])
    assert page.weights[0] == before.weights[0] == 1.0
    assert before.weights[1] == 0.8  # the faint word: equal slices at pseudo_weight
    # the confidence is the loss weight of the word's pixels (the crop holds the page)
    _, region, _, weight = sample_crop(random.Random(0), page, 1024)
    assert np.isclose(weight, 0.6).sum() > 50 and np.isclose(weight, 0.0).sum() > 10
    assert region.max() > 0.5


def test_the_loader_reads_the_labels_file_again_when_it_is_rewritten(tmp_path: Path):
    rows = _tiny_set(tmp_path / "tiny", pages=1)
    cfg = replace(DetectorConfig(), data_root=str(tmp_path), real_sets={"tiny": 1.0},
                  synth_fraction=0.0, out_dir=str(tmp_path / "run"), weak_supervision=True)
    labels_path = tmp_path / "run" / LABELS_FILE
    quad = np.array(rows[0]["regions"][2]["points"], np.float32)
    save_labels({"tiny": {rows[0]["image"]: {2: (split_word_quad(quad, 5), 0.6)}}},
                labels_path)
    crops = PageCrops(cfg)
    assert crops.page(random.Random(0)).weights == [1.0, 0.6]
    save_labels({"tiny": {rows[0]["image"]: {2: (split_word_quad(quad, 4), 0.75)}}},
                labels_path)
    page = crops.page(random.Random(0))
    assert page.weights == [1.0, 0.75] and len(page.words[1]) == 4


def test_only_training_pages_words_the_ink_cannot_split_are_labelled(tmp_path: Path):
    rows = _tiny_set(tmp_path / "tiny", pages=10)

    def no_characters(batch: np.ndarray) -> np.ndarray:  # a model that sees nothing
        b, _, h, w = batch.shape
        return np.zeros((b, 2, h // 2, w // 2), np.float32)

    labels = label_sets(no_characters, tmp_path, {"tiny": 0}, log=lambda m: None)
    save_labels(labels, tmp_path / LABELS_FILE)
    labels = load_labels(tmp_path / LABELS_FILE)
    held_out = rows[9]["image"]  # every tenth page validates the detector
    assert set(labels["tiny"]) == {r["image"] for r in rows} - {held_out}
    for page in labels["tiny"].values():
        assert set(page) == {2}  # not the ink-split word, not the ignored box
        chars, confidence = page[2]
        assert confidence == FALLBACK_CONFIDENCE and chars.shape == (5, 4, 2)
    assert len(label_sets(no_characters, tmp_path, {"tiny": 3}, log=lambda m: None)["tiny"]) == 3


def test_relabelling_writes_the_file_the_loader_reads_and_keeps_the_model_training(
        tmp_path: Path):
    from ocrtool.detection.model import CraftNet
    from ocrtool.training.detector import relabel_words

    torch.set_num_threads(1)
    rows = _tiny_set(tmp_path / "tiny", pages=2)
    cfg = replace(DetectorConfig(), data_root=str(tmp_path), real_sets={"tiny": 1.0},
                  weak_sets={"tiny": 0, "absent_train": 0}, out_dir=str(tmp_path / "run"),
                  weak_supervision=True)
    model = CraftNet().train()
    relabel_words(model, cfg, "cpu", log=lambda m: None)
    assert model.training
    labels = load_labels(tmp_path / "run" / LABELS_FILE)
    assert set(labels) == {"tiny"} and set(labels["tiny"]) == {r["image"] for r in rows}


def test_train_detector_has_the_weak_supervision_options():
    from ocrtool.commands.train import detector

    names = {p.name for p in detector.params}
    assert {"weak_supervision", "relabel_every"} <= names
    cfg = DetectorConfig()
    assert cfg.weak_supervision is False and cfg.relabel_every == 0
    assert set(cfg.weak_sets) <= set(cfg.real_sets)


def test_train_detector_mix_and_weak_sets_reach_the_config(tmp_path: Path, monkeypatch):
    from click.testing import CliRunner

    import ocrtool.training.detector as training
    from ocrtool.cli import main

    _tiny_set(tmp_path / "tiny", pages=1)
    _tiny_set(tmp_path / "other", pages=1)
    seen = []
    monkeypatch.setattr(training, "train_detector", lambda cfg, log: seen.append(cfg))
    runner = CliRunner()
    args = ["train", "detector", "--data-root", str(tmp_path)]
    ok = runner.invoke(main, [*args, "--mix", "tiny=0.7", "--mix", "other=0.3",
                              "--weak-set", "tiny"])
    assert ok.exit_code == 0, ok.output
    assert seen[0].real_sets == {"tiny": 0.7, "other": 0.3}
    assert seen[0].weak_sets == {"tiny": 0}
    assert seen[0].val_sets == {"tiny": "auto", "other": "auto"}
    bad = runner.invoke(main, [*args, "--mix", "tiny"])
    assert bad.exit_code == 2 and "SET=WEIGHT" in bad.output
    missing = runner.invoke(main, [*args, "--mix", "absent=1"])
    assert missing.exit_code == 2 and "absent: no gt.jsonl" in missing.output
    assert len(seen) == 1
