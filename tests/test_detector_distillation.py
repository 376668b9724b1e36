"""`ocrtool train detector --distill`: a fine-tune pulled toward a teacher's maps on the
sets it should not drift on, free on the others."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fonts import dejavu_sans  # noqa: E402

from ocrtool.training.detector import (  # noqa: E402
    SYNTHETIC,
    DetectorConfig,
    Page,
    PageCrops,
    distillation_loss,
    ohem_mse,
    train_detector,
)

ROOT = Path(__file__).resolve().parents[1]
DETECTOR = ROOT / "weights" / "detector.pt"


def _page_set(root: Path, pages: int = 10, shift: int = 0) -> Path:
    """A word-boxed page set: each page a printed word with its box (moved `shift` pixels
    to the right, onto blank paper: labels that contradict what a detector sees)."""
    from PIL import Image, ImageDraw

    font = dejavu_sans(32)
    (root / "images").mkdir(parents=True)
    rows = []
    for i in range(pages):
        word = ["Sale", "Open", "Total", "Menu"][i % 4]
        img = Image.new("RGB", (256, 128), "white")
        ImageDraw.Draw(img).text((40, 40), word, font=font, fill="black")
        left, top, right, bottom = font.getbbox(word)
        x0, x1, y0, y1 = 40 + left + shift, 40 + right + shift, 40 + top, 40 + bottom
        box = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
        img.save(root / f"images/p{i}.png")
        rows.append({"image": f"images/p{i}.png", "width": 256, "height": 128,
                     "regions": [{"points": box, "text": word}]})
    (root / "gt.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_distillation_is_the_hard_mined_error_against_the_teachers_maps_on_anchored_crops():
    torch.manual_seed(0)
    pred, teacher = torch.rand(3, 2, 16, 16), torch.rand(3, 2, 16, 16)
    mask = torch.tensor([True, False, True])
    ones = torch.ones(2, 16, 16)
    expected = 2 / 3 * (ohem_mse(pred[mask][:, 0], teacher[mask][:, 0], ones)
                        + ohem_mse(pred[mask][:, 1], teacher[mask][:, 1], ones))
    assert distillation_loss(pred, teacher, mask).item() == pytest.approx(expected.item())
    # the crop left free does not count, whatever the model says there
    moved = pred.clone()
    moved[1] = 1.0
    assert distillation_loss(moved, teacher, mask).item() == pytest.approx(expected.item())
    # the teacher's own maps cost nothing; no anchored crop, nothing
    assert distillation_loss(teacher, teacher, mask).item() == 0.0
    assert distillation_loss(pred, teacher, torch.zeros(3, dtype=torch.bool)).item() == 0.0


def test_pages_are_anchored_by_the_set_they_come_from(tmp_path: Path) -> None:
    _page_set(tmp_path / "mine", pages=2)
    cfg = replace(DetectorConfig(), data_root=str(tmp_path), real_sets={"mine": 1.0},
                  synth_fraction=0.0, batch_size=3, crop=128, out_dir=str(tmp_path / "run"))
    held = PageCrops(replace(cfg, distill_sets=("mine",)))
    free = PageCrops(replace(cfg, distill_sets=("sroie_train",)))
    page = held.page(random.Random(0))
    assert page.source == "mine" and held.anchored(page) and not free.anchored(page)
    assert held.page(random.Random(0)).source == "mine"  # again, boxes from the cache
    # rendered pages are always held; a turned page keeps its source
    rendered = Page(page.image, page.words, page.weights, page.ignore)
    assert rendered.source == SYNTHETIC and free.anchored(rendered)
    turned = free.turned(random.Random(0), page)
    assert turned.source == "mine"
    batch = next(iter(held))
    assert len(batch) == 5 and batch[4].tolist() == [True, True, True]
    assert next(iter(free))[4].tolist() == [False, False, False]


def test_distillation_keeps_the_detector_near_its_teacher(tmp_path: Path) -> None:
    """Trained on pages whose boxes contradict the teacher (the shipped detector), with
    and without its pull, the pulled model's maps on a page stay far closer to the
    teacher's than the free one's (measured: a seventh of the free gap)."""
    from ocrtool.runtime.torch_backend import load_detector

    if not DETECTOR.exists():
        pytest.skip("weights/detector.pt not present")
    _page_set(tmp_path / "mine", shift=100)
    torch.set_num_threads(1)

    def run(name: str, distill: str | None):
        train_detector(DetectorConfig(
            data_root=str(tmp_path), real_sets={"mine": 1.0}, val_sets={"mine": "word"},
            synth_fraction=0.0, batch_size=4, crop=128, steps=30, lr=3e-3, workers=0,
            eval_every=10_000, val_limit=1, init=str(DETECTOR), distill=distill,
            distill_weight=5.0, distill_sets=("mine",), out_dir=str(tmp_path / name),
            weights_out=str(tmp_path / f"{name}.pt")), log=lambda m: None)
        return load_detector(tmp_path / f"{name}.pt")[0]

    free, pulled = run("free", None), run("pulled", str(DETECTOR))
    teacher = load_detector(DETECTOR)[0]
    from ocrtool.detection.model import MEAN, STD
    from ocrtool.training.datasets import load_rgb

    page = load_rgb(tmp_path / "mine" / "images" / "p1.png").astype(np.float32) / 255
    images = torch.from_numpy(((page - MEAN) / STD).transpose(2, 0, 1)[None].copy()).float()
    with torch.no_grad():
        target = teacher(images)
        gap_free = ((free(images) - target) ** 2).mean().item()
        gap_pulled = ((pulled(images) - target) ** 2).mean().item()
    assert gap_pulled < 0.4 * gap_free, (gap_pulled, gap_free)


def test_distill_options_reach_the_config_and_a_wrong_teacher_is_one_line(
        tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    import ocrtool.training.detector as training
    from ocrtool.cli import main

    _page_set(tmp_path / "mine", pages=1)
    teacher = tmp_path / "teacher.pt"
    torch.save({"model": {"not": torch.zeros(1)}}, teacher)
    args = ["train", "detector", "--data-root", str(tmp_path), "--mix", "mine=1",
            "--steps", "1", "--out-dir", str(tmp_path / "run"),
            "--weights-out", str(tmp_path / "d.pt"), "--distill", str(teacher)]
    wrong = CliRunner().invoke(main, args)
    assert wrong.exit_code == 1, wrong.output
    assert "not a detector's weights" in wrong.output and "Traceback" not in wrong.output
    assert not (tmp_path / "d.pt").exists()

    seen = []
    monkeypatch.setattr(training, "train_detector", lambda cfg, log: seen.append(cfg))
    ok = CliRunner().invoke(main, [*args, "--distill-weight", "0.5", "--distill-set", "mine"])
    assert ok.exit_code == 0, ok.output
    cfg = seen[0]
    assert (cfg.distill, cfg.distill_weight, cfg.distill_sets) == (str(teacher), 0.5, ("mine",))
    typo = CliRunner().invoke(main, [*args, "--distill-set", "mien"])
    assert typo.exit_code == 2 and "mien: not among the sets trained on (mine)" in typo.output
    assert len(seen) == 1
    assert DetectorConfig().distill is None
    assert "born_digital_train" not in DetectorConfig().distill_sets
