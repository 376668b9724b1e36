"""`ocrtool train detector`: the CRAFT-like net on real pages (+ synthetic pages).

Real sets only have word or line boxes, so each box is split into pseudo character boxes
by its text length (receipts are mostly monospaced, which makes this close to exact);
regions marked ignore are masked out of the loss. With `weak_supervision`, the words of
the word-boxed sets are split by the model being trained instead (CRAFT's weak
supervision, training/pseudo_chars.py), weighted by how well its split agrees with the
text. The loss is CRAFT's: per-pixel MSE with online hard-negative mining at 1 positive :
3 negatives. With `distill`, a teacher's maps are a second target on the pages it should
keep (`distillation_loss`).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from ..detection.model import MEAN, STD, STRIDE, CraftNet
from ..detection.postprocess import training_scale
from ..detection.targets import (
    ink_split_line_quad,
    ink_split_word_quad,
    region_and_affinity_maps,
    split_line_quad,
    split_word_quad,
)
from ..detection.widen import CraftArch, widen
from ..geometry import figure_quad, order_clockwise
from .checkpoints import BestWeights, PeriodicCheckpoint, TeacherMismatch, load_checkpoint
from .datasets import load_rgb, read_jsonl, training_rows, validation_rows
from .pseudo_chars import LABELS_FILE, LabelFile, PageLabels, label_sets, save_labels
from .recognizer import lr_at, progress

SYNTHETIC = "synthetic"  # the source of rendered pages


@dataclass
class DetectorConfig:
    data_root: str = "../shared/data"
    # scene photos (ic15, ic03) and printed papers (docbank) joined the mix in session 8
    # (that run was not shipped: the model card says why; v0.2 trained on sroie 0.6,
    # born_digital 0.4); ic03 leaves some words unboxed (taught as background), so it gets
    # a small share
    real_sets: dict[str, float] = field(
        default_factory=lambda: {"sroie_train": 0.3, "born_digital_train": 0.25,
                                 "ic15_pages_train": 0.25, "docbank_pages_train": 0.1,
                                 "ic03_pages_train": 0.1})
    # validation: the held-out tenth of these training sets (never trained on), scored at
    # the level their boxes are annotated; the dev sets are for reporting only
    val_sets: dict[str, str] = field(
        default_factory=lambda: {"sroie_train": "line", "born_digital_train": "word",
                                 "ic15_pages_train": "word", "docbank_pages_train": "word"})
    init: str | None = None  # weights to start from (a fresh run otherwise)
    # with `init`: every width of its network times this before training (`detection.
    # widen`: the wider net starts out computing what `init` computes); 1: as it is
    widen: float = 1.0
    synth_fraction: float = 0.25
    crop: int = 384
    batch_size: int = 8
    steps: int = 100000
    minutes: float = 60.0
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    eval_every: int = 300
    checkpoint_minutes: float = 5.0
    out_dir: str = "runs/detector"
    weights_out: str = "weights/detector.pt"
    workers: int = 1
    val_limit: int = 30
    pseudo_weight: float = 0.8  # confidence of split-box pseudo characters
    # share of pages turned by up to `max_rotation` degrees either way before cropping:
    # scene words are photographed at a slant (3 in 10 of ic15_pages_train's words lean
    # more than 10 degrees) and v0.3, trained on level text only, missed most of those.
    # Off: session 16's fine-tune of v0.3 with 0.3 read every held-out set worse (model card)
    rotate_fraction: float = 0.0
    max_rotation: float = 35.0
    # CRAFT's weak supervision: the words of `weak_sets` (name -> at most that many
    # training pages, 0: all) that the ink rule cannot split are split by the model being
    # trained, before training and every `relabel_every` steps (0: only before); the
    # labels go to out_dir/pseudo_chars.pkl, which the loader's worker re-reads. On one
    # CPU thread the shipped detector labels ic15_pages_train in ~4 s, all four sets in ~50 s.
    # From a fresh model most words fall back to equal slices (weight 0.5): use --init.
    weak_supervision: bool = False
    relabel_every: int = 0
    weak_sets: dict[str, int] = field(
        default_factory=lambda: {"born_digital_train": 0, "ic15_pages_train": 0,
                                 "ic03_pages_train": 0, "docbank_pages_train": 0})
    # a teacher's weights (e.g. the shipped detector): on synthetic pages and the
    # `distill_sets` pages the model is also pulled toward the teacher's maps
    # (`distillation_loss`, weighted by `distill_weight`); the other sets learn from their
    # boxes alone. Every fine-tune of v0.3 gained on web graphics and lost on scene photos
    # (model card): this is the way to learn one set without drifting on the rest. By
    # default web graphics learn freely and the rest (receipts, photos, papers) is held.
    distill: str | None = None
    distill_weight: float = 1.0
    distill_sets: tuple[str, ...] = ("sroie_train", "ic15_pages_train", "ic03_pages_train",
                                     "docbank_pages_train")


@dataclass
class Page:
    image: np.ndarray  # RGB uint8
    words: list[np.ndarray]  # per word: (n_chars, 4, 2) character quads
    weights: list[float]
    ignore: list[np.ndarray]  # ignored polygons
    source: str = SYNTHETIC  # the set it comes from


def real_page(root: Path, row: dict, pseudo_weight: float,
              model_chars: PageLabels | None = None) -> Page:
    """Load one annotated page and turn its boxes into pseudo character quads.

    `model_chars` (region index -> character quads, confidence) holds the model's split of
    some of its words (weak supervision): those words take it, weighted by its
    confidence; the other boxes are split by their ink or into equal slices."""
    img = load_rgb(root / row["image"])
    model_chars = model_chars or {}
    words, weights, ignore = [], [], []
    for i, r in enumerate(row["regions"]):
        quad = order_clockwise(np.array(r["points"], np.float32))
        text = r.get("text", "")
        if r.get("ignore") or not text.strip():
            ignore.append(quad)
            continue
        if i in model_chars:
            chars, confidence = model_chars[i]
            words.append(np.asarray(chars, np.float32))
            weights.append(float(confidence))
            continue
        if " " in text.strip():
            # words placed on their own ink when the gaps allow (receipts print fields
            # apart with runs of spaces the label writes as one), else equal slices
            slots = ink_split_line_quad(img, quad, text) or split_line_quad(quad, text)
            parts = [(c, pseudo_weight) for c in slots]
        else:
            chars = ink_split_word_quad(img, quad, len(text.strip()))
            parts = [(chars, 1.0) if chars is not None else
                     (split_word_quad(quad, len(text.strip())), pseudo_weight)]
        for chars, weight in parts:
            words.append(np.asarray(chars, np.float32))
            weights.append(weight)
    # figures whose inner text is not annotated (docbank): neither text nor background
    ignore += [figure_quad(box) for box in row.get("figures", [])]
    return Page(img, words, weights, ignore, source=root.name)


def synth_page(rng: random.Random) -> Page:
    from ..synth.pages import render_page

    img, regions = render_page(rng)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    words = [np.asarray(w["chars"], np.float32) for r in regions for w in r.get("words", [])
             if len(w.get("chars", []))]
    return Page(img, words, [1.0] * len(words), [])


def rotate_page(page: Page, degrees: float) -> Page:
    """The page turned by `degrees` (counter-clockwise) about its centre, on a canvas that
    holds all of it; its character quads and ignored regions turn with it. The corners
    the turn uncovers are filled with the page's median colour."""
    h, w = page.image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    fill = [float(c) for c in np.median(page.image[::8, ::8].reshape(-1, 3), axis=0)]
    image = cv2.warpAffine(page.image, m, (nw, nh), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=fill)

    def turn(pts: np.ndarray) -> np.ndarray:
        flat = pts.reshape(-1, 2).astype(np.float32)
        return (flat @ m[:, :2].T.astype(np.float32) + m[:, 2].astype(np.float32)) \
            .reshape(pts.shape)

    return Page(image, [turn(wq) for wq in page.words], page.weights,
                [turn(q) for q in page.ignore], page.source)


def sample_crop(rng: random.Random, page: Page, size: int):
    """Random scale + crop; returns the image crop, region/affinity targets, loss weights.

    The window is cut from the original image before resizing, so a 2000 px scan costs
    no more than a small one.
    """
    h, w = page.image.shape[:2]
    scale = training_scale(h, w) * rng.uniform(0.5, 1.4)
    nh, nw = max(int(h * scale), 1), max(int(w * scale), 1)
    x0 = rng.randint(0, max(nw - size, 0))
    y0 = rng.randint(0, max(nh - size, 0))
    sx0, sy0 = int(x0 / scale), int(y0 / scale)
    sx1, sy1 = min(int((x0 + size) / scale) + 1, w), min(int((y0 + size) / scale) + 1, h)
    window = page.image[sy0:sy1, sx0:sx1]
    tw, th = int(round((sx1 - sx0) * scale)), int(round((sy1 - sy0) * scale))
    tw, th = min(max(tw, 1), size), min(max(th, 1), size)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    patch = cv2.resize(window, (tw, th), interpolation=interp)
    canvas = np.empty((size, size, 3), np.uint8)
    canvas[:] = np.median(patch[::8, ::8].reshape(-1, 3), axis=0)
    canvas[:th, :tw] = patch
    to_crop = lambda pts: (pts - np.array([sx0, sy0], np.float32)) * scale  # noqa: E731
    words, keep = [], []
    for i, wq in enumerate(page.words):
        c = to_crop(wq)
        if c[..., 0].max() > 0 and c[..., 1].max() > 0 and c[..., 0].min() < size and \
                c[..., 1].min() < size:
            words.append(c)
            keep.append(i)
    region, affinity = region_and_affinity_maps((size, size), words, scale=0.5)
    weight = np.ones((size // 2, size // 2), np.float32)
    for c, i in zip(words, keep):
        if page.weights[i] != 1.0:
            hull = cv2.convexHull((c.reshape(-1, 2) / 2).astype(np.float32)).astype(np.int32)
            cv2.fillPoly(weight, [hull], float(page.weights[i]))
    for quad in page.ignore:
        cv2.fillPoly(weight, [(to_crop(quad) / 2).astype(np.int32)], 0.0)
    return _photometric(rng, canvas), region, affinity, weight


def _photometric(rng: random.Random, img: np.ndarray) -> np.ndarray:
    f = img.astype(np.float32)
    if rng.random() < 0.5:
        f = (f - 128) * rng.uniform(0.7, 1.3) + 128 + rng.uniform(-25, 25)
    if rng.random() < 0.2:
        f = cv2.GaussianBlur(f, (3, 3), rng.uniform(0.3, 1.0))
    if rng.random() < 0.2:
        f += np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 10), f.shape)
    if rng.random() < 0.2:
        f = f[..., rng.sample(range(3), 3)]
    return np.clip(f, 0, 255).astype(np.uint8)


class PageCrops(torch.utils.data.IterableDataset):
    def __init__(self, cfg: DetectorConfig) -> None:
        self.cfg = cfg
        root = Path(cfg.data_root)
        self.sets = []
        for name, weight in cfg.real_sets.items():
            if (root / name).exists():
                rows = training_rows(read_jsonl(root / name / "gt.jsonl"))
                self.sets.append((root / name, rows, weight))
        self._boxes: dict[tuple[str, str], tuple] = {}
        # the model's character splits (weak supervision), rewritten by the training loop
        self.labels = LabelFile(Path(cfg.out_dir) / LABELS_FILE) if cfg.weak_supervision \
            else None

    def page(self, rng: random.Random) -> Page:
        if not self.sets or rng.random() < self.cfg.synth_fraction:
            try:
                return synth_page(rng)
            except Exception:  # synthetic pages are optional: fall back to real pages
                if not self.sets:
                    raise
        root, rows, _ = rng.choices(self.sets, weights=[s[2] for s in self.sets])[0]
        row = rng.choice(rows)
        key = (str(root), row["image"])
        if self.labels is not None and self.labels.refresh():
            self._boxes.clear()  # relabelled: the pages' boxes change
        if key not in self._boxes:  # image decoded every time, boxes parsed once
            model_chars = self.labels.page(root.name, row["image"]) if self.labels else None
            page = real_page(root, row, self.cfg.pseudo_weight, model_chars)
            self._boxes[key] = (page.words, page.weights, page.ignore)
            return page
        return Page(load_rgb(root / row["image"]), *self._boxes[key], source=root.name)

    def anchored(self, page: Page) -> bool:
        """Whether `distill` pulls this page toward the teacher: synthetic pages and the
        `distill_sets` pages."""
        return page.source == SYNTHETIC or page.source in self.cfg.distill_sets

    def turned(self, rng: random.Random, page: Page) -> Page:
        """`rotate_fraction` of the pages turned by a random angle (`rotate_page`)."""
        if rng.random() >= self.cfg.rotate_fraction:
            return page
        return rotate_page(page, rng.uniform(-self.cfg.max_rotation, self.cfg.max_rotation))

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = random.Random(self.cfg.seed * 1000 + (info.id if info else 0) + int(time.time()))
        mean = np.array(MEAN, np.float32)
        std = np.array(STD, np.float32)
        while True:
            pages = [self.turned(rng, self.page(rng)) for _ in range(self.cfg.batch_size)]
            items = [sample_crop(rng, page, self.cfg.crop) for page in pages]
            x = np.stack([(i[0].astype(np.float32) / 255 - mean) / std for i in items])
            yield (
                torch.from_numpy(x.transpose(0, 3, 1, 2).copy()),
                torch.from_numpy(np.stack([i[1] for i in items])),
                torch.from_numpy(np.stack([i[2] for i in items])),
                torch.from_numpy(np.stack([i[3] for i in items])),
                torch.tensor([self.anchored(page) for page in pages]),
            )


def ohem_mse(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
             neg_ratio: int = 3) -> torch.Tensor:
    """Pixel MSE on all positives plus the hardest `neg_ratio` x as many negatives."""
    loss = (pred - target) ** 2 * weight
    b = pred.shape[0]
    loss, target, weight = loss.reshape(b, -1), target.reshape(b, -1), weight.reshape(b, -1)
    total = pred.new_zeros(())
    for i in range(b):
        pos = target[i] > 0.1
        n_pos = int(pos.sum())
        neg_loss = loss[i][(~pos) & (weight[i] > 0)]
        k = min(max(neg_ratio * n_pos, 500), neg_loss.numel())
        hard = neg_loss.topk(k).values.mean() if k > 0 else total
        total = total + (loss[i][pos].mean() if n_pos else 0.0) + hard
    return total / b


def distillation_loss(pred: torch.Tensor, teacher_pred: torch.Tensor,
                      mask: torch.Tensor) -> torch.Tensor:
    """`ohem_mse` of the region and affinity maps against the teacher's, as if its maps
    were the labels, on the crops in `mask` (averaged over the whole batch: the anchored
    share sets its weight). The teacher's text pixels and the model's hardest false
    alarms carry it, not the empty background."""
    if not mask.any():
        return pred.new_zeros(())
    p, t = pred[mask], teacher_pred[mask]
    ones = torch.ones_like(p[:, 0])
    share = float(mask.sum()) / len(mask)
    return share * (ohem_mse(p[:, 0], t[:, 0], ones) + ohem_mse(p[:, 1], t[:, 1], ones))


def load_teacher(path: str, device: str) -> CraftNet:
    """A frozen detector to distill from."""
    from ..runtime.torch_backend import load_detector

    try:
        teacher, _ = load_detector(Path(path))
    except (KeyError, RuntimeError, TypeError) as e:  # another model's weights
        raise TeacherMismatch(f"{path}: not a detector's weights, it cannot --distill "
                              f"this detector ({type(e).__name__})") from None
    return teacher.to(device).eval().requires_grad_(False)


def validate(model: CraftNet, data_root: str, limit: int, device: str,
             recognizer=None, meta: dict | None = None,
             val_sets: dict[str, str] | None = None) -> dict[str, float]:
    """Detection H-mean on the validation pages of the training sets (`val_sets`: name ->
    scoring level) of the pipeline `ocrtool read` runs, with this detector in it: the same
    image loading, second pass, faint glyphs, layout, recognition and receipt rules,
    scored as `ocrtool eval` scores it. `recognizer` is a RecognitionStage (default: the
    shipped recognizer)."""
    from ..detection.stage import DetectionStage
    from ..reader import Reader

    model.eval()
    detection = DetectionStage.from_module(model, meta or detector_meta(), device)
    reader = Reader.from_stages(detection, recognizer or shipped_recognizer(device))
    out = score_held_out_pages(reader, data_root, val_sets or DetectorConfig().val_sets,
                               limit, ("det_precision", "det_recall", "det_hmean"))
    model.train()
    return out


def score_held_out_pages(reader, data_root: str, val_sets: dict[str, str], limit: int,
                         scores: tuple[str, ...], prefix: str = "") -> dict[str, float]:
    """`ocrtool eval`'s `scores` for `reader` on at most `limit` held-out pages of each
    training set in `val_sets` (name -> scoring level), as `{name}/{prefix}{score}`."""
    from ..evaluation import evaluate_pages, load_ground_truth, predict_with_reader

    out = {}
    for name, level in val_sets.items():
        root = Path(data_root) / name
        if not root.exists():
            continue
        rows = validation_rows(load_ground_truth(root))[:limit]
        rep = evaluate_pages(rows, predict_with_reader(reader, root, rows), level=level)
        out.update({f"{name}/{prefix}{k}": rep[k] for k in scores})
    return out


def shipped_detector(device: str = "cpu"):
    """The shipped detector as a detection stage (the Reader's default parameters)."""
    from ..detection.stage import DetectionStage
    from ..runtime.base import DETECTOR, model_path
    from ..runtime.torch_backend import load_detector

    model, meta = load_detector(model_path(DETECTOR, ".pt"))
    model.to(device).eval()
    return DetectionStage.from_module(model, meta, device)


def detector_meta(arch: CraftArch | None = None) -> dict:
    """The metadata a detector's weights carry: what the detection stage reads, and the
    network's shape for the loaders."""
    args = {} if arch is None or arch == CraftArch() else arch.as_args()
    return {"arch": "craftnet", "arch_args": args, "normalize": "rgb (x/255-mean)/std",
            "mean": list(MEAN), "std": list(STD), "input_stride": STRIDE, "output_stride": 2}


def shipped_recognizer(device: str = "cpu"):
    """The shipped recognizer as a recognition stage (greedy, the Reader's defaults)."""
    from ..recognition.stage import RecognitionStage
    from ..runtime.base import RECOGNIZER, model_path
    from ..runtime.torch_backend import load_recognizer

    model, meta = load_recognizer(model_path(RECOGNIZER, ".pt"))
    return RecognitionStage.from_module(model.to(device), meta, device)


def relabel_words(model: CraftNet, cfg: DetectorConfig, device: str, log=print) -> None:
    """CRAFT's interim pseudo labels: the model as it is now splits the word boxes of the
    word-boxed training sets; the loader's worker reads the new file on its next page."""
    from ..runtime.torch_backend import module_forward

    sets = {name: limit for name, limit in cfg.weak_sets.items() if name in cfg.real_sets}
    model.eval()
    labels = label_sets(module_forward(model, device), cfg.data_root, sets, log)
    save_labels(labels, Path(cfg.out_dir) / LABELS_FILE)
    model.train()


def initial_detector(cfg: DetectorConfig, log=print) -> tuple[CraftNet, CraftArch]:
    """The network training starts from: fresh, `cfg.init`'s weights, or those widened by
    `cfg.widen` (the same shape again on resume, which then loads its checkpoint)."""
    from ..runtime.torch_backend import load_detector

    if not cfg.init:
        return CraftNet(), CraftArch()
    model, meta = load_detector(cfg.init)
    arch = CraftArch.from_args(meta.get("arch_args"))
    log(f"initialised from {cfg.init}")
    if cfg.widen != 1.0:
        arch = arch.scaled(cfg.widen)
        model = widen(model, arch)
        log(f"widened {cfg.widen}x: widths {arch.widths}, up widths {arch.up_widths}")
    return model, arch


def train_detector(cfg: DetectorConfig, log=print) -> dict[str, float]:
    torch.manual_seed(cfg.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, arch = initial_detector(cfg, log)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    out_dir = Path(cfg.out_dir)
    step = 0
    if (out_dir / "last.ckpt").exists():
        step = load_checkpoint(out_dir / "last.ckpt", model, opt)
        log(f"resumed at step {step}")
    teacher = load_teacher(cfg.distill, device) if cfg.distill else None
    if cfg.weak_supervision:  # before the loader's worker starts reading the labels
        relabel_words(model, cfg, device, log)
    loader = torch.utils.data.DataLoader(PageCrops(cfg), batch_size=None,
                                         num_workers=cfg.workers,
                                         persistent_workers=cfg.workers > 0)
    meta = detector_meta(arch)
    t0 = time.time()
    best = BestWeights(cfg.weights_out, meta, higher_is_better=True, log=log,
                       keep_dir=out_dir / "validated")
    checkpoint = PeriodicCheckpoint(out_dir / "last.ckpt", cfg.checkpoint_minutes)
    metrics, running = {}, 0.0
    model.train()
    for x, region, affinity, weight, anchored in loader:
        frac = progress(step, time.time() - t0, cfg.steps, cfg.minutes)
        if frac >= 1.0:
            break
        lr = lr_at(frac, step, cfg.lr, warmup=100)
        for g in opt.param_groups:
            g["lr"] = lr
        x = x.to(device)
        pred = model(x)
        weight = weight.to(device)
        loss = ohem_mse(pred[:, 0], region.to(device), weight) + ohem_mse(
            pred[:, 1], affinity.to(device), weight)
        if teacher is not None and anchored.any():
            with torch.no_grad():
                teacher_pred = teacher(x)
            loss = loss + cfg.distill_weight * distillation_loss(
                pred, teacher_pred, anchored.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        if cfg.weak_supervision and cfg.relabel_every and step % cfg.relabel_every == 0:
            relabel_words(model, cfg, device, log)
        running = 0.95 * running + 0.05 * loss.item() if step > 1 else loss.item()
        if step % 25 == 0:
            log(f"step {step} loss {running:.5f} lr {lr:.2e} {(time.time() - t0) / 60:.1f} min")
        final = progress(step, time.time() - t0, cfg.steps, cfg.minutes) >= 1.0
        if step % cfg.eval_every == 0 or final:
            metrics = validate(model, cfg.data_root, cfg.val_limit, device,
                               val_sets=cfg.val_sets)
            hmeans = [v for k, v in metrics.items() if k.endswith("hmean")]
            best.update(model, step, metrics, float(np.mean(hmeans or [0.0])))
        checkpoint.maybe_save(model, opt, step)
    checkpoint.maybe_save(model, opt, step, force=True)
    return metrics
