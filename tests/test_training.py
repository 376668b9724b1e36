"""Training smoke test: the documented fine-tuning path runs on a tiny folder in the
shared format and the loss goes down within seconds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fonts import dejavu_sans  # noqa: E402

from ocrtool.training.recognizer import RecognizerConfig, train_recognizer  # noqa: E402

WORDS = ["total", "cash", "12.50", "milk", "bread", "tax", "change", "9.99"]


def _crop_set(folder: Path) -> Path:
    """A crop set in the shared JSON-lines format: one printed word per image."""
    from PIL import Image, ImageDraw

    font = dejavu_sans(26)
    (folder / "images").mkdir(parents=True)
    rows = []
    for i, word in enumerate(WORDS):
        img = Image.new("L", (int(font.getlength(word)) + 16, 40), 235)
        ImageDraw.Draw(img).text((8, 4), word, font=font, fill=20)
        img.save(folder / "images" / f"w{i}.png")
        rows.append({"image": f"images/w{i}.png", "width": img.width, "height": 40,
                     "text": word})
    (folder / "gt.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_recognizer_training_lowers_the_loss(tmp_path: Path) -> None:
    data = _crop_set(tmp_path / "mine")
    logs: list[str] = []
    cfg = RecognizerConfig(
        train_sets=[str(data)], val_sets=[str(data)], synth_fraction=0.0, batch_size=8,
        steps=60, lr=3e-3, hidden=32, workers=0, eval_every=10_000, log_every=10,
        out_dir=str(tmp_path / "run"), weights_out=str(tmp_path / "recognizer.pt"),
        cache_dir=str(tmp_path / "cache"))
    torch.set_num_threads(1)
    metrics = train_recognizer(cfg, log=logs.append)
    losses = [float(m.group(1)) for line in logs if (m := re.search(r"loss ([\d.]+)", line))]
    assert len(losses) == 6
    assert losses[-1] < 0.5 * losses[0], losses
    assert np.isfinite(losses).all()
    assert (tmp_path / "recognizer.pt").exists() and (tmp_path / "run" / "last.ckpt").exists()
    # every validated model is kept, with its step and metrics, to choose from later
    kept = torch.load(tmp_path / "run" / "validated" / "step_60.pt", weights_only=False)
    assert kept["meta"]["step"] == 60 and kept["meta"]["metrics"]["mine/cer"] == metrics["mine/cer"]
    assert 0.0 <= metrics["mine/cer"] <= 1.5


def test_a_fresh_model_takes_the_width_and_hidden_size_asked_for(tmp_path: Path,
                                                                 monkeypatch) -> None:
    """`--width` / `--hidden` shape a fresh recognizer (a larger one for a GPU's run), which
    is saved with that shape in its metadata and loads as it was trained; with --init they
    are a usage error (the init keeps its shape)."""
    from click.testing import CliRunner

    import ocrtool.training.recognizer as training
    from ocrtool.cli import main
    from ocrtool.runtime.torch_backend import load_recognizer

    data = _crop_set(tmp_path / "mine")
    cfg = RecognizerConfig(
        train_sets=[str(data)], val_sets=[str(data)], synth_fraction=0.0, batch_size=4,
        steps=2, width=2, hidden=24, workers=0, eval_every=10_000,
        out_dir=str(tmp_path / "run"), weights_out=str(tmp_path / "wide.pt"),
        cache_dir=str(tmp_path / "cache"))
    torch.set_num_threads(1)
    train_recognizer(cfg, log=lambda m: None)
    model, meta = load_recognizer(str(tmp_path / "wide.pt"))
    assert model.channels == (64, 128, 256, 384) and model.rnn.hidden_size == 24
    assert meta["hidden"] == 24

    seen = []
    monkeypatch.setattr(training, "train_recognizer", lambda cfg, log: seen.append(cfg))
    args = ["train", "recognizer", "--data-root", str(tmp_path)]
    runner = CliRunner()
    assert runner.invoke(main, [*args, "--width", "2", "--hidden", "192"]).exit_code == 0
    assert (seen[0].width, seen[0].hidden) == (2, 192)
    both = runner.invoke(main, [*args, "--width", "2", "--init", str(tmp_path / "wide.pt")])
    assert both.exit_code == 2 and "fresh model" in both.output and len(seen) == 1


def test_with_a_weight_average_the_average_is_validated_shipped_and_resumed(
        tmp_path: Path) -> None:
    """--ema: the shipped weights are the moving average, which a decay near 1 keeps at
    the starting model's, while the trained weights move; a resumed run takes it up."""
    data = _crop_set(tmp_path / "mine")
    torch.set_num_threads(1)

    def run(name: str, steps: int, ema: float, init: str | None = None) -> list[str]:
        logs: list[str] = []
        train_recognizer(RecognizerConfig(
            train_sets=[str(data)], val_sets=[str(data)], synth_fraction=0.0, batch_size=8,
            steps=steps, lr=3e-3, hidden=32, workers=0, eval_every=10_000, ema=ema,
            init=init, out_dir=str(tmp_path / name),
            weights_out=str(tmp_path / f"{name}.pt"), cache_dir=str(tmp_path / "cache")),
            log=logs.append)
        return logs

    run("start", 10, 0.0)
    start = torch.load(tmp_path / "start.pt", weights_only=False)["model"]
    run("avg", 20, 0.999999, init=str(tmp_path / "start.pt"))
    shipped = torch.load(tmp_path / "avg.pt", weights_only=False)["model"]
    ckpt = torch.load(tmp_path / "avg" / "last.ckpt", weights_only=False)
    key = "head.weight"
    assert torch.allclose(shipped[key], start[key], atol=1e-4)
    assert not torch.allclose(ckpt["model"][key], start[key], atol=1e-3)  # it trained
    assert torch.equal(ckpt["average"]["module." + key], shipped[key])
    # resuming (more steps, same folder) continues the saved average, not a fresh copy
    logs = run("avg", 30, 0.999999, init=str(tmp_path / "start.pt"))
    assert any("resumed" in line for line in logs)
    resumed = torch.load(tmp_path / "avg.pt", weights_only=False)["model"]
    assert torch.allclose(resumed[key], start[key], atol=1e-4)


def test_distillation_loss_is_the_teachers_kl_on_anchored_frames_only():
    from ocrtool.training.recognizer import distillation_loss

    teacher = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [9.0, 0.0, 0.0]]] * 2)
    lengths, labels = torch.tensor([2, 2]), torch.tensor([1, 1])
    both = torch.tensor([True, True])
    assert distillation_loss(teacher, teacher, lengths, labels, both).item() == pytest.approx(0)
    flat = torch.zeros_like(teacher)
    # by hand: sum over the first two frames of KL(softmax(teacher) || uniform)
    q = teacher[0, :2].softmax(-1)
    kl = (q * (q.log() - torch.log(torch.tensor(1 / 3)))).sum().item()
    assert distillation_loss(flat, teacher, lengths, labels, both).item() == pytest.approx(kl)
    # a line outside the mask adds nothing, but counts in the batch mean
    one = torch.tensor([True, False])
    assert distillation_loss(flat, teacher, lengths, labels, one).item() == pytest.approx(kl / 2)
    # per label, like the CTC loss
    assert distillation_loss(flat, teacher, lengths, labels * 2, both).item() == \
        pytest.approx(kl / 2)


def test_distillation_keeps_the_model_near_its_teacher(tmp_path: Path) -> None:
    """--distill: trained on the same crops with the teacher's pull on them, the model's
    outputs stay closer to the teacher's than the same run's without it."""
    from ocrtool.runtime.torch_backend import load_recognizer
    from ocrtool.training.recognizer import TeacherMismatch, distillation_loss, load_teacher

    data = _crop_set(tmp_path / "mine")
    torch.set_num_threads(1)

    def run(name: str, steps: int, init: str | None = None, distill: str | None = None):
        train_recognizer(RecognizerConfig(
            train_sets=[str(data)], val_sets=[str(data)], synth_fraction=0.0, batch_size=8,
            steps=steps, lr=3e-3, hidden=32, workers=0, eval_every=10_000, init=init,
            distill=distill, distill_weight=20.0, distill_sets=("mine",),
            out_dir=str(tmp_path / name), weights_out=str(tmp_path / f"{name}.pt"),
            cache_dir=str(tmp_path / "cache")), log=lambda m: None)
        return load_recognizer(str(tmp_path / f"{name}.pt"))[0].eval()

    teacher_path = str(tmp_path / "teacher.pt")
    teacher = run("teacher", 10)
    free = run("free", 30, init=teacher_path)
    pulled = run("pulled", 30, init=teacher_path, distill=teacher_path)
    images = torch.rand(4, 1, 32, 96)
    lengths, labels, mask = torch.full((4,), 24), torch.ones(4), torch.ones(4, dtype=torch.bool)
    with torch.no_grad():
        target = teacher(images)
        gap_free = distillation_loss(free(images), target, lengths, labels, mask).item()
        gap_pulled = distillation_loss(pulled(images), target, lengths, labels, mask).item()
    assert gap_pulled < 0.5 * gap_free, (gap_pulled, gap_free)
    # a teacher's charset must be the model's or begin it, row for row
    from ocrtool.recognition.charset import Charset

    with pytest.raises(TeacherMismatch, match="charset"):
        load_teacher(teacher_path, Charset("abc"), "cpu")
    own = Charset.from_dict(load_recognizer(teacher_path)[1]["charset"])
    wider = Charset(own.chars + "αβ")
    assert load_teacher(teacher_path, wider, "cpu").head.out_features == own.num_classes
    # compared on the teacher's outputs: the model's mass on a new character counts
    student = torch.randn(4, 24, own.num_classes)
    same = distillation_loss(student, target, lengths, labels, mask)
    unused = torch.cat([student, torch.full((4, 24, 2), -1e4)], -1)  # no mass on αβ
    assert torch.isclose(distillation_loss(unused, target, lengths, labels, mask), same)
    heavy = torch.cat([student, torch.full((4, 24, 2), 8.0)], -1)  # most mass on αβ
    assert distillation_loss(heavy, target, lengths, labels, mask) > same + 1.0


def test_frozen_parts_keep_their_weights_and_statistics(tmp_path: Path) -> None:
    """--freeze features rnn: a fine-tune moves the output layer and nothing else, not
    even the BatchNorm running statistics of the frozen convolutions; with --freeze known
    too, only the output rows of characters the --init model lacked."""
    from ocrtool.runtime.torch_backend import load_recognizer

    data = _crop_set(tmp_path / "mine")
    torch.set_num_threads(1)

    def run(name: str, steps: int, **kw):
        train_recognizer(RecognizerConfig(
            train_sets=[str(data)], val_sets=[str(data)], synth_fraction=0.0, batch_size=8,
            steps=steps, lr=3e-3, hidden=32, workers=0, eval_every=5,
            out_dir=str(tmp_path / name), weights_out=str(tmp_path / f"{name}.pt"),
            cache_dir=str(tmp_path / "cache"), **kw), log=lambda m: None)

    run("start", 5)
    start = load_recognizer(str(tmp_path / "start.pt"))[0].state_dict()
    # the weights as trained to the last step, past two validations (steps 5 and 10)
    run("tuned", 12, init=str(tmp_path / "start.pt"), freeze=("features", "rnn"))
    tuned = torch.load(tmp_path / "tuned" / "last.ckpt", weights_only=False)["model"]
    moved = {k for k in start if not torch.equal(start[k], tuned[k])}
    assert moved == {"head.weight", "head.bias"}
    # --freeze known as well: of the output layer only the new characters' rows learn
    run("signs", 12, init=str(tmp_path / "start.pt"), freeze=("features", "rnn", "known"),
        extra_chars="αβ")
    early = load_recognizer(str(tmp_path / "signs" / "validated" / "step_5.pt"))[0]
    late = torch.load(tmp_path / "signs" / "last.ckpt", weights_only=False)["model"]
    old = start["head.weight"].shape[0]
    assert late["head.weight"].shape[0] == old + 2
    for key in start:
        kept = late[key][:old] if key.startswith("head.") else late[key]
        assert torch.equal(start[key], kept), key
    assert not torch.equal(early.state_dict()["head.weight"][old:], late["head.weight"][old:])


def test_a_grown_charset_keeps_what_the_old_characters_learned():
    from ocrtool.languages import get_language
    from ocrtool.recognition.charset import Charset
    from ocrtool.recognition.model import CRNN
    from ocrtool.training.recognizer import load_with_charset, training_charset

    old = Charset("abc")
    torch.manual_seed(0)
    trained = CRNN(old.num_classes).eval()
    new = training_charset(get_language("en"), old.chars, extra="xa")
    assert new.chars[:3] == "abc" and "x" in new.chars and new.chars.count("a") == 1
    grown = CRNN(new.num_classes).eval()
    load_with_charset(grown, trained.state_dict(), old, new)
    image = torch.rand(2, 1, 32, 96)
    with torch.no_grad():
        before, after = trained(image), grown(image)
    cols = [0] + new.indices_of("abc")
    assert torch.allclose(after[..., cols], before, atol=1e-5)
    # a new character starts at the old layer's lowest bias: never the likeliest yet
    x = new.indices_of("x")[0]
    assert grown.head.bias[x].item() <= trained.head.bias[1:].min().item() + 1e-6


def test_extra_characters_appear_in_the_synthetic_lines():
    import random

    from ocrtool.languages import get_language
    from ocrtool.training.recognizer import MixedLines, training_charset

    cfg = RecognizerConfig(extra_chars="äöß", synth_fraction=1.0)
    lines = MixedLines(cfg, training_charset(get_language("en"), "abc", cfg.extra_chars), [], [])
    rng = random.Random(0)
    texts = [lines.sample(rng)[1] for _ in range(60)]
    assert sum(any(c in t for c in "äöß") for t in texts) >= 6


def test_typeset_lines_are_drawn_and_learn_from_their_labels_not_the_teacher():
    """Book and paper print (’ “ ” – —) is part of the synthetic lines, and those lines are
    not anchored to a teacher, which reads the marks as their ASCII look-alikes."""
    import random

    from ocrtool.languages import get_language
    from ocrtool.synth.text import TYPESET_MARKS
    from ocrtool.training.recognizer import TYPESET_TEXT, MixedLines, training_charset

    def draw(share: float) -> list:
        cfg = RecognizerConfig(synth_fraction=1.0, typeset_share=share)
        lines = MixedLines(cfg, training_charset(get_language("en")), [], [])
        rng = random.Random(0)
        return [lines.sample(rng) for _ in range(400)]

    samples = draw(TYPESET_TEXT)
    marked = [any(c in TYPESET_MARKS for c in text) for _, text, _, _ in samples]
    anchored = [a for *_, a in samples]
    assert TYPESET_TEXT / 2 * len(samples) <= sum(marked) <= 3 * TYPESET_TEXT * len(samples)
    assert anchored == [not m for m in marked]
    # --typeset-share: 0 leaves only the other lines' quotes around whole lines
    assert sum(not a for *_, a in draw(0.0)) < TYPESET_TEXT / 2 * len(samples)
    assert sum(not a for *_, a in draw(0.6)) >= 0.6 / 2 * len(samples)


def test_math_lines_are_drawn_with_new_outputs_and_learn_from_their_labels() -> None:
    """--math-share: inline mathematics (Greek letters, − × ≤ ∈ ∂ ...) among the synthetic
    lines, its characters added to the charset (v0.6 has none but ±), its lines not
    anchored to a teacher that cannot write them, and no output when the share is 0."""
    import random

    from ocrtool.languages import get_language
    from ocrtool.synth.text import MATH_SYMBOLS, math_expression, math_text
    from ocrtool.training.recognizer import (
        MixedLines,
        math_chars,
        teacher_knows,
        training_charset,
    )

    rng = random.Random(1)
    expressions = [math_expression(rng) for _ in range(300)]
    assert not any("-" in e for e in expressions)  # the minus sign, not a hyphen
    lines = [math_text(rng) for _ in range(300)]
    assert sum(any(c in MATH_SYMBOLS for c in t) for t in lines) >= 0.8 * len(lines)

    en = get_language("en")
    assert math_chars(RecognizerConfig()) == ""
    added = math_chars(RecognizerConfig(math_share=0.2))
    assert set(added) == set(MATH_SYMBOLS) - set(en.chars) and "±" not in added
    cfg = RecognizerConfig(synth_fraction=1.0, math_share=1.0)
    charset = training_charset(en, extra=math_chars(cfg))
    drawn = [MixedLines(cfg, charset, [], []).sample(random.Random(i)) for i in range(60)]
    with_math = [(t, a) for _, t, _, a in drawn if any(c in MATH_SYMBOLS for c in t)]
    assert len(with_math) >= 0.6 * len(drawn)
    assert all(charset.canonical(t) == t for t, _ in with_math)  # every sign is written
    assert not any(a for t, a in with_math if (set(t) - {"±"}) & set(MATH_SYMBOLS))
    assert teacher_knows("x ± 1") and not teacher_knows("x − 1")  # v0.6 writes ±, not −


def test_width_jitter_scales_and_shifts_a_line_within_the_reread_widths():
    import math
    import random

    from ocrtool.recognition.widths import REREAD_WIDTHS
    from ocrtool.training.recognizer import MAX_TRAIN_WIDTH, jitter_width

    class Draws(random.Random):  # the scale's log and the shift, as given
        def __init__(self, scale: float, shift: int) -> None:
            super().__init__(0)
            self.scale, self.shift = scale, shift

        def uniform(self, a: float, b: float) -> float:
            assert (a, b) == (math.log(min(REREAD_WIDTHS)), math.log(max(REREAD_WIDTHS)))
            return math.log(self.scale)

        def randrange(self, n: int) -> int:
            assert n == 4  # the frame stride: every phase
            return self.shift

    line = np.full((32, 200), 200, np.uint8)
    line[:, :2] = 17  # the left edge colour fills the shift
    line[8:24, 50:150] = 0
    out = jitter_width(Draws(1.3, 3), line)
    assert out.shape == (32, 263)  # 260 columns scaled, 3 shifted in
    assert np.all(out[:, :3] == 17) and np.all(out[16, 3 + 66:3 + 194] == 0)
    out = jitter_width(Draws(0.77, 0), line)
    assert out.shape == (32, 154) and np.all(out[16, 39:115] == 0)
    widths = {jitter_width(random.Random(k), line).shape[1] for k in range(50)}
    assert min(widths) >= 154 and max(widths) <= 263 and len(widths) > 20
    long = np.full((32, MAX_TRAIN_WIDTH), 200, np.uint8)
    assert jitter_width(Draws(1.3, 2), long).shape[1] == MAX_TRAIN_WIDTH


def test_whole_image_crops_are_jittered_outward_only():
    """A crop set's image is its word's box: jitter must never cut into it (marks at the
    image's edge would leave while the label keeps them); a page's word box may be cut."""
    import random

    from ocrtool.training.datasets import CROP_MARGIN, cut_crop
    from ocrtool.training.recognizer import jitter_crop

    word = np.full((40, 160), 255, np.uint8)
    word[5:35, 0:3] = word[5:35, -3:] = 0  # ink touching both ends of the image
    full = {"points": [[0, 0], [160, 0], [160, 40], [0, 40]], "full": True}
    crop = cut_crop(word, full)
    box_h = crop.shape[0] / (1 + 2 * CROP_MARGIN)
    box_w = crop.shape[1] - 2 * (crop.shape[0] - box_h) / 2

    def sizes(whole: bool) -> list[tuple[int, int]]:
        return [jitter_crop(random.Random(k), crop, whole_image=whole).shape for k in range(400)]

    assert all(h >= box_h - 1 and w >= box_w - 1 for h, w in sizes(True))
    cut_inside = [s for s in sizes(False) if s[0] < box_h - 1 or s[1] < box_w - 1]
    assert len(cut_inside) > 20


def test_validation_feeds_the_model_what_the_reader_feeds_it(tmp_path: Path) -> None:
    """Whole-image crops (word and line crop sets) are validated as `ocrtool eval
    --no-detect` reads them: no cached margin around them (it kept 0.15 of the height of
    replicated border on each side: Korean val CER 9.6% where the Reader read 6.5%)."""
    from PIL import Image

    from ocrtool.recognition.stage import RecognitionStage
    from ocrtool.training.datasets import build_crop_set
    from ocrtool.training.recognizer import validation_line

    folder = _crop_set(tmp_path / "words")
    cs = build_crop_set(folder)
    assert cs.whole_images
    stage = RecognitionStage(lambda b: b, {"charset": {"chars": "abc"}})
    for i, word in enumerate(WORDS):
        # read as `--no-detect` reads a crop: its ends tight, background appended
        reader_line = stage.prepare(np.asarray(Image.open(folder / f"images/w{i}.png")),
                                    tight_ends=True)
        line = validation_line(stage, cs, i)
        assert line.shape[0] == reader_line.shape[0]
        assert abs(line.shape[1] - reader_line.shape[1]) <= 2, word


def test_the_detector_validates_on_pages_it_never_trains_on() -> None:
    """Validation pages are the held-out tenth of each training set (as the recognizer's),
    never the dev sets, and training never sees them."""
    from ocrtool.training.detector import DetectorConfig, training_rows, validation_rows

    rows = [{"image": f"{i}.png"} for i in range(95)]
    train, val = training_rows(rows), validation_rows(rows)
    assert len(val) == 9 and {r["image"] for r in val} == {f"{i}.png" for i in range(9, 95, 10)}
    assert not {r["image"] for r in train} & {r["image"] for r in val}
    assert len(train) + len(val) == len(rows)
    cfg = DetectorConfig()
    assert all(name.endswith("_train") for name in (*cfg.val_sets, *cfg.real_sets))
    # a set packed for a GPU machine keeps every row's place; rows left behind are skipped
    packed = [dict(r, not_packed=True) if i in (3, 19, 29) else r for i, r in enumerate(rows)]
    assert [r["image"] for r in training_rows(packed)] == \
        [r["image"] for r in train if r["image"] != "3.png"]
    assert [r["image"] for r in validation_rows(packed)] == \
        [r["image"] for r in val if r["image"] not in ("19.png", "29.png")]


def _box(x0: float, y0: float, x1: float, y1: float, text: str) -> dict:
    return {"points": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], "text": text}


def test_word_runs_join_neighbours_on_a_line_and_nothing_else():
    from ocrtool.training.datasets import word_runs

    regions = [
        _box(120, 10, 160, 30, "the"), _box(10, 10, 60, 30, "Click"),  # any order
        _box(66, 12, 112, 30, "here"), _box(400, 10, 440, 30, "far"),  # too far away
        _box(10, 80, 50, 100, "next"), _box(56, 80, 90, 100, "line"),
        _box(95, 80, 120, 100, "###") | {"ignore": True},  # a word without a label
        _box(126, 80, 150, 100, "after"),  # ... ends the run before it
        _box(10, 150, 40, 170, "alone"),
    ]
    runs = word_runs(regions)
    assert [r["text"] for r in runs] == ["Click here the", "next line"]
    assert np.allclose(runs[0]["points"], [[10, 10], [160, 10], [160, 30], [10, 30]])


def test_word_run_crops_are_cut_from_the_pages_with_joined_labels(tmp_path: Path):
    from PIL import Image, ImageDraw

    from ocrtool.training.datasets import build_crop_set

    font = dejavu_sans(24)
    (tmp_path / "images").mkdir()
    img = Image.new("L", (400, 60), 235)
    draw, regions, x = ImageDraw.Draw(img), [], 10
    for word in ("web", "graphic", "text"):
        x0, y0, x1, y1 = draw.textbbox((x, 15), word, font=font)
        draw.text((x, 15), word, font=font, fill=20)
        regions.append(_box(x0, y0, x1, y1, word))
        x = x1 + 12
    img.save(tmp_path / "images" / "p.png")
    row = {"image": "images/p.png", "width": 400, "height": 60, "regions": regions}
    (tmp_path / "gt.jsonl").write_text(json.dumps(row) + "\n")
    cs = build_crop_set(tmp_path, runs=True)
    assert cs.texts == ["web graphic text"] and cs.pages == [0]
    assert cs.name == f"{tmp_path.name}+runs" and not cs.whole_images
    crop = cs.images[0]
    assert crop.shape[0] == 48 and crop.shape[1] > 3 * crop.shape[0]  # the whole run


def test_page_sets_are_also_validated_on_boxes_cut_with_no_margin(tmp_path: Path) -> None:
    """Page sets' boxes are validated as the Reader cuts them and exactly on the box
    (`SET_tight`), both in the selection score; whole-image crop sets only as they are."""
    from PIL import Image, ImageDraw

    from ocrtool.recognition.preprocess import TRAILING_PAD
    from ocrtool.recognition.stage import RecognitionStage
    from ocrtool.training.datasets import build_crop_set
    from ocrtool.training.recognizer import score_stage, total_cer, validation_line

    font = dejavu_sans(24)
    pages = tmp_path / "pages"
    (pages / "images").mkdir(parents=True)
    img = Image.new("L", (300, 60), 235)
    draw = ImageDraw.Draw(img)
    draw.text((40, 15), "ab", font=font, fill=20)
    row = {"image": "images/p.png", "width": 300, "height": 60,
           "regions": [_box(*draw.textbbox((40, 15), "ab", font=font), "ab")]}
    img.save(pages / "images" / "p.png")
    (pages / "gt.jsonl").write_text(json.dumps(row) + "\n")
    page_set, word_set = build_crop_set(pages), build_crop_set(_crop_set(tmp_path / "words"))
    stage = RecognitionStage(lambda b: np.zeros((b.shape[0], b.shape[3] // 4, 4), np.float32),
                             {"charset": {"chars": "abc"}})
    standard, tight = (validation_line(stage, page_set, 0, t) for t in (False, True))
    cut = tight[:, :-TRAILING_PAD]  # the background a tight crop is read with after it
    assert tight.shape[0] == standard.shape[0] and cut.shape[1] < standard.shape[1]
    assert (tight[:, -TRAILING_PAD:] == tight[0, -1]).all()
    metrics = score_stage(stage, [page_set, word_set], tight=True)
    sets = sorted({k.split("/")[0] for k in metrics})
    assert sets == ["pages", "pages_tight", "words"]
    assert metrics["pages_tight/cer"] == 1.0  # the stub model reads nothing
    assert total_cer(metrics) == 3.0 and total_cer(metrics, tight=False) == 2.0
    assert sorted({k.split("/")[0] for k in score_stage(stage, [page_set])}) == ["pages"]


def test_end_to_end_page_validation_reads_only_the_held_out_pages(tmp_path: Path) -> None:
    """--val-pages: the Reader (shipped detector, the recognizer being validated) reads the
    held-out pages of a page set and is scored as `ocrtool eval` scores it. Of ten pages
    the tenth is held out: it holds the words, the others are blank."""
    from PIL import Image, ImageDraw

    from ocrtool.recognition.charset import Charset
    from ocrtool.runtime.torch_backend import load_recognizer
    from ocrtool.training.recognizer import validate_pages

    font = dejavu_sans(32)
    pages = tmp_path / "data" / "shop_train"
    (pages / "images").mkdir(parents=True)
    rows = []
    for i in range(10):
        img = Image.new("RGB", (420, 120), "white")
        draw, regions, x = ImageDraw.Draw(img), [], 30
        for word in ("TOTAL", "12.50") if i == 9 else ():
            box = draw.textbbox((x, 40), word, font=font)
            draw.text((x, 40), word, font=font, fill="black")
            regions.append(_box(*box, word))
            x = box[2] + 40
        img.save(pages / "images" / f"p{i}.png")
        rows.append({"image": f"images/p{i}.png", "width": 420, "height": 120,
                     "regions": regions or [_box(0, 0, 1, 1, "x") | {"ignore": True}]})
    (pages / "gt.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    model, meta = load_recognizer(Path(__file__).parents[1] / "weights" / "recognizer.pt")
    cfg = RecognizerConfig(data_root=str(tmp_path / "data"), val_pages=5,
                           page_sets={"shop_train": "word", "absent_train": "word"})
    torch.set_num_threads(1)
    out = validate_pages(model, Charset.from_dict(meta["charset"]), cfg, "cpu")
    assert out == {"shop_train/pages_word_f1_ci": 1.0, "shop_train/pages_det_hmean": 1.0}
    assert model.training  # handed back in training mode


def test_word_runs_option_names_page_sets_with_weights(tmp_path: Path, monkeypatch):
    from click.testing import CliRunner

    import ocrtool.training.recognizer as training
    from ocrtool.cli import main

    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "gt.jsonl").write_text("")
    seen = []
    monkeypatch.setattr(training, "train_recognizer", lambda cfg, log: seen.append(cfg))
    runner = CliRunner()
    args = ["train", "recognizer", "--data-root", str(tmp_path)]
    ok = runner.invoke(main, [*args, "--word-runs", "pages=0.1"])
    assert ok.exit_code == 0, ok.output
    assert seen[0].word_run_sets == {"pages": 0.1}
    bad = runner.invoke(main, [*args, "--word-runs", "pages=0"])
    assert bad.exit_code == 2 and "SET=WEIGHT" in bad.output and "--word-runs" in bad.output
    missing = runner.invoke(main, [*args, "--word-runs", "absent=1"])
    assert missing.exit_code == 2 and "absent: no gt.jsonl" in missing.output
    assert len(seen) == 1


def test_mix_takes_a_set_whose_crops_are_cached_without_its_pages(tmp_path: Path,
                                                                   monkeypatch) -> None:
    """On a GPU machine the pack brings crop caches, not pages (`bench/gpu_pack.py`): a
    --mix naming such a set is trained on; a set with neither is a usage error."""
    from click.testing import CliRunner

    import ocrtool.training.recognizer as training
    from ocrtool.cli import main
    from ocrtool.training.datasets import crop_cache_path

    monkeypatch.chdir(tmp_path)
    cache = crop_cache_path("packed", training.RecognizerConfig().cache_dir)
    cache.parent.mkdir()
    cache.write_bytes(b"")
    seen = []
    monkeypatch.setattr(training, "train_recognizer", lambda cfg, log: seen.append(cfg))
    args = ["train", "recognizer", "--data-root", str(tmp_path / "data")]
    ok = CliRunner().invoke(main, [*args, "--mix", "packed=0.2"])
    assert ok.exit_code == 0, ok.output
    assert seen[0].real_sets["packed"] == 0.2
    missing = CliRunner().invoke(main, [*args, "--mix", "absent=0.2"])
    assert missing.exit_code == 2 and "absent: no gt.jsonl" in missing.output


def test_face_variation_and_weight_average_options_reach_the_training(
        tmp_path: Path, monkeypatch) -> None:
    """--no-vary-faces, --ema, --eval-every and --freeze reach the config, and the synthetic lines
    are then drawn with the faces as designed (`render_line(vary_faces=False)`)."""
    import random

    from click.testing import CliRunner

    import ocrtool.training.recognizer as training
    from ocrtool.cli import main
    from ocrtool.recognition.charset import Charset

    seen = []
    monkeypatch.setattr(training, "train_recognizer", lambda cfg, log: seen.append(cfg))
    runner = CliRunner()
    args = ["train", "recognizer", "--data-root", str(tmp_path)]
    assert runner.invoke(main, args).exit_code == 0
    teacher = tmp_path / "teacher.pt"
    teacher.write_bytes(b"")
    assert runner.invoke(main, [*args, "--no-vary-faces", "--ema", "0.998",
                                "--val-pages", "5", "--distill", str(teacher),
                                "--distill-weight", "0.5", "--eval-every", "700",
                                "--freeze", "features", "--freeze", "rnn",
                                "--typeset-share", "0.4", "--math-share", "0.1",
                                "--width-jitter", "0.5"]).exit_code == 0
    assert (seen[0].typeset_share, seen[1].typeset_share) == (training.TYPESET_TEXT, 0.4)
    assert (seen[0].width_jitter, seen[1].width_jitter) == (0.0, 0.5)
    assert (seen[0].math_share, seen[1].math_share) == (0.0, 0.1)
    assert (seen[0].vary_faces, seen[0].ema, seen[0].val_pages, seen[0].distill) == \
        (True, 0.0, 0, None)
    assert seen[0].freeze == () and seen[1].freeze == ("features", "rnn")
    assert seen[0].eval_every == training.RecognizerConfig().eval_every
    assert (seen[1].vary_faces, seen[1].ema, seen[1].val_pages) == (False, 0.998, 5)
    assert seen[1].eval_every == 700
    assert (seen[1].distill, seen[1].distill_weight) == (str(teacher), 0.5)
    bad = runner.invoke(main, [*args, "--ema", "1"])
    assert bad.exit_code == 2 and "--ema" in bad.output
    for option in ("--typeset-share", "--math-share"):
        bad = runner.invoke(main, [*args, option, "1.5"])
        assert bad.exit_code == 2 and option in bad.output
    bad = runner.invoke(main, [*args, "--freeze", "head"])
    assert bad.exit_code == 2 and "--freeze" in bad.output
    bad = runner.invoke(main, [*args, "--freeze", "known"])  # whose outputs? no --init
    assert bad.exit_code == 2 and "--init" in bad.output and len(seen) == 2
    assert runner.invoke(main, [*args, "--freeze", "known", "--init", str(teacher)]
                         ).exit_code == 0 and seen[2].freeze == ("known",)
    bad = runner.invoke(main, [*args, "--eval-every", "0"])
    assert bad.exit_code == 2 and "--eval-every" in bad.output

    calls = []
    real = training.render_line
    monkeypatch.setattr(training, "render_line",
                        lambda *a, **k: calls.append(k) or real(*a, **k))
    for flag in (False, True):
        cfg = RecognizerConfig(synth_fraction=1.0, vary_faces=flag)
        lines = training.MixedLines(cfg, Charset(training.get_language("en").chars), [], [])
        lines.sample(random.Random(0))
    assert [k["vary_faces"] for k in calls] == [False, True]


def _page_with_one_glyph():
    """A light page with one dark 20 x 30 block, boxed as a one-character word, and an
    ignored region boxed around a second block."""
    from ocrtool.training.detector import Page

    img = np.full((200, 300, 3), 230, np.uint8)
    img[60:90, 100:120] = 20
    img[150:170, 200:260] = 20
    glyph = np.array([[[100, 60], [120, 60], [120, 90], [100, 90]]], np.float32)
    ignored = np.array([[200, 150], [260, 150], [260, 170], [200, 170]], np.float32)
    return Page(img, [glyph], [0.8], [ignored])


def _mean_inside(img: np.ndarray, quad: np.ndarray, shrink: float = 0.25) -> float:
    """Mean grey level inside `quad` pulled towards its centre (edges blur in a turn)."""
    import cv2

    centre = quad.mean(axis=0)
    inner = centre + (quad - centre) * (1 - shrink)
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(inner).astype(np.int32)], 1)
    return float(img[..., 0][mask > 0].mean())


@pytest.mark.parametrize("degrees", [30.0, -20.0, 90.0])
def test_a_turned_page_keeps_its_boxes_on_their_ink(degrees: float) -> None:
    from ocrtool.training.detector import rotate_page

    page = _page_with_one_glyph()
    turned = rotate_page(page, degrees)
    h, w = turned.image.shape[:2]
    # the canvas grows to hold the whole page: no ink is cut off by the turn
    assert (h, w) != (200, 300)
    assert (turned.image[..., 0] < 60).sum() == pytest.approx((page.image[..., 0] < 60).sum(),
                                                               rel=0.1)
    glyph, ignored = turned.words[0][0], turned.ignore[0]
    assert _mean_inside(turned.image, glyph) < 40 and _mean_inside(turned.image, ignored) < 40
    # the quad turned: its top edge leans by the angle (counter-clockwise is up, in pixels)
    top = glyph[1] - glyph[0]
    lean = np.degrees(np.arctan2(-top[1], top[0]))
    assert lean == pytest.approx(degrees, abs=0.5)
    assert turned.weights == page.weights


def test_rotation_is_off_unless_asked_and_reaches_the_config(tmp_path: Path, monkeypatch):
    from click.testing import CliRunner

    import ocrtool.training.detector as training
    from ocrtool.cli import main

    assert training.DetectorConfig().rotate_fraction == 0.0
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "gt.jsonl").write_text("")
    seen = []
    monkeypatch.setattr(training, "train_detector", lambda cfg, log: seen.append(cfg))
    args = ["train", "detector", "--data-root", str(tmp_path)]
    ok = CliRunner().invoke(main, [*args, "--rotate-fraction", "0.3", "--max-rotation", "20"])
    assert ok.exit_code == 0, ok.output
    assert (seen[0].rotate_fraction, seen[0].max_rotation) == (0.3, 20.0)
    bad = CliRunner().invoke(main, [*args, "--rotate-fraction", "1.5"])
    assert bad.exit_code == 2 and "--rotate-fraction" in bad.output


def test_a_teacher_with_another_charset_is_a_one_line_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ocrtool.cli import main
    from ocrtool.recognition.charset import Charset
    from ocrtool.recognition.model import CRNN
    from ocrtool.training.recognizer import recognizer_meta

    data = _crop_set(tmp_path / "mine")
    small = Charset("abc")
    teacher = tmp_path / "teacher.pt"
    torch.save({"model": CRNN(small.num_classes, hidden=32).state_dict(),
                "meta": recognizer_meta(small, hidden=32)}, teacher)
    result = CliRunner().invoke(main, [
        "train", "recognizer", "--train-set", str(data), "--val-set", str(data),
        "--distill", str(teacher), "--steps", "1", "--out-dir", str(tmp_path / "run"),
        "--weights-out", str(tmp_path / "r.pt")])
    assert result.exit_code == 1, result.output
    assert "does not begin with the teacher's" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "r.pt").exists()
