"""`ocrtool train recognizer`: CRNN + CTC on real crops mixed with synthetic lines.

Real data sets whose labels ignore case (SROIE, IIIT5K) are trained with a case-merged CTC
loss: the probability of 'a' is added onto 'A' before the loss, so a capital label never
teaches that a printed lower-case letter is a capital, and case comes from the sets that
keep it (synthetic lines, born-digital, ICDAR15).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from ..languages import DEFAULT_LANG, Language, get_language
from ..recognition.assemble import read_whole_crops
from ..recognition.charset import DEFAULT_CHARS, Charset
from ..recognition.model import (
    CRNN,
    INPUT_HEIGHT,
    crnn_from_meta,
    default_channels,
    meta_channels,
)
from ..recognition.preprocess import CROP_CONTEXT, FRAME_STRIDE, pad_batch, resize_line
from ..recognition.widths import REREAD_WIDTHS, widened
from ..synth.fonts import discover_fonts, hangul_fonts
from ..synth.korean import korean_text
from ..synth.lines import render_line
from ..synth.text import (
    MATH_SYMBOLS,
    TYPESET_MARKS,
    foreign_text,
    math_symbols_missing,
    math_text,
    random_text,
    typeset_text,
)
from .checkpoints import (
    BestWeights,
    PeriodicCheckpoint,
    TeacherMismatch,
    load_checkpoint,
    weight_average,
)
from .datasets import CROP_MARGIN, CropSet, cached_crop_set, split_validation, strip_margin

MAX_TRAIN_WIDTH = 640
TIGHT_CROPS = 0.35  # share of real crops cut with no margin (v0.5: 0.25)
FOREIGN_TEXT = 0.3  # share of synthetic lines drawn from the Latin-script word lists
TYPESET_TEXT = 0.15  # share of book and paper print, with ’ “ ” – — (synth.text.typeset_text)
KOREAN_TEXT = 0.9  # Korean model: the rest are the English model's lines, in Korean fonts


@dataclass
class RecognizerConfig:
    data_root: str = "../shared/data"
    real_sets: dict[str, float] = field(
        default_factory=lambda: {
            # receipts are upper-case-labelled (case-merged loss); mixed-case print
            # (papers, typewritten French, printed lines) and scene words were where v0.4
            # was weak. v0.6: receipts and web graphics back up (v0.5 lost 0.01 word F1 on
            # receipts and read tight born-digital crops worse), printed lines down (uw3
            # reads at 0.6% CER)
            "sroie_train": 0.2, "born_digital_train": 0.18, "ic15_words_train": 0.12,
            "ic15_pages_train": 0.04, "ic03_pages_train": 0.05, "iiit5k_train_cs": 0.08,
            "svt_words_train": 0.03, "docbank_pages_train": 0.1, "uw3_lines_train": 0.05,
            "fr_typewritten_lines_train": 0.15,
        }
    )
    # word-boxed page sets whose neighbouring words are also cut as one crop
    # (`datasets.word_runs`), with their sampling weights; off by default (session 12's
    # run with it did not pass its shipping rule: model card)
    word_run_sets: dict[str, float] = field(default_factory=dict)
    synth_fraction: float = 0.5
    # share of the synthetic lines that are book and paper print with typeset marks
    typeset_share: float = TYPESET_TEXT
    # share of the synthetic lines that are inline mathematics (`synth.text.math_text`);
    # above 0 the charset also gets every `MATH_SYMBOLS` character it lacks (new outputs)
    math_share: float = 0.0
    # share of the real crops read at another width (`jitter_width`): scaled by 0.77-1.3x
    # and shifted by 0-3 columns. Reading doubtful lines again at other widths and letting
    # the readings vote gained on scene crops (recognition/widths.py): the model's reading
    # moves with where its frames fall, and real crops were only ever seen at their own
    # width; 0 = off
    width_jitter: float = 0.0
    lang: str = DEFAULT_LANG  # the language's charset, fonts and synthetic text
    batch_size: int = 48
    steps: int = 6000
    minutes: float = 0.0  # time budget; when set, the schedule follows elapsed time
    lr: float = 1.5e-3
    weight_decay: float = 1e-2
    seed: int = 0
    width: int = 1
    hidden: int = 128
    eval_every: int = 500
    checkpoint_minutes: float = 5.0
    out_dir: str = "runs/recognizer"
    weights_out: str = "weights/recognizer.pt"
    init: str | None = None
    extra_chars: str = ""  # characters to add to the charset (new output rows)
    workers: int = 1
    val_limit: int = 300
    # your own data (folders in the shared JSON-lines format, pages or crops): when given,
    # these replace real_sets (equal weights) and the dev sets under data_root
    train_sets: list[str] = field(default_factory=list)
    val_sets: list[str] = field(default_factory=list)
    cache_dir: str = "cache"
    log_every: int = 50
    # exponential moving average of the weights (BatchNorm statistics too), validated and
    # shipped instead of the raw weights; 0 = off. A fine-tune's checkpoints swing by more
    # than the gains being looked for (model card, sessions 12-17); the average of the
    # trajectory does not.
    ema: float = 0.0
    # synthetic lines with their stroke weight and set width varied (`synth.lines.vary_face`)
    vary_faces: bool = True
    # also read this many held-out pages of each `page_sets` set end to end at every
    # validation (the shipped detector, the Reader's whole path), reported and kept with
    # each validated model, not in the selection score; 0 = off. Crops cut around
    # ground-truth boxes do not show how a model reads the detector's (session 20).
    val_pages: int = 0
    page_sets: dict[str, str] = field(
        default_factory=lambda: {"sroie_train": "line", "born_digital_train": "word",
                                 "ic15_pages_train": "word", "ic03_pages_train": "word",
                                 "docbank_pages_train": "word"})
    # a teacher's weights (e.g. the shipped recognizer): on the synthetic lines and the
    # `distill_sets` crops, the model is also pulled toward the teacher's per-frame
    # distributions (`distillation_loss`, weighted by `distill_weight`). Every fine-tune
    # since session 10 drifted toward capitals on print while it learned scene text;
    # this keeps print read as the teacher reads it and leaves the other sets free.
    distill: str | None = None
    distill_weight: float = 1.0
    distill_sets: tuple[str, ...] = ("sroie_train", "docbank_pages_train", "uw3_lines_train",
                                     "fr_typewritten_lines_train")
    # parts of the model kept as they are ("features": the convolutions, "rnn": the BiLSTM;
    # their BatchNorm statistics too; "known": the output rows of the characters the --init
    # model already writes, and the blank): a fine-tune that only has to map what the model
    # already sees onto new outputs (’ where it wrote ') moves nothing else
    freeze: tuple[str, ...] = ()


def jitter_crop(rng: random.Random, crop: np.ndarray, margin: float = CROP_MARGIN,
                whole_image: bool = False) -> np.ndarray:
    """Cut the box out of a cached crop with each edge moved like a detector's would be.

    A `whole_image` crop (a crop set's image is its box) is never cut inside: its label
    covers everything up to the image's edge, and a cut there took marks off ("SAFER."
    cut to "SAFER" under a label that keeps the stop; session 36 counted 2% of draws)."""
    h, w = crop.shape
    p = h * margin / (1 + 2 * margin)
    box_h = h - 2 * p

    def edge(lo: float, hi: float) -> int:
        outward = rng.uniform(lo, hi)
        return int(round(p - box_h * (max(outward, 0.0) if whole_image else outward)))

    # TIGHT_CROPS of them are cut on the box itself (users and benchmarks give tight crops)
    (vlo, vhi), (hlo, hhi) = ((-0.03, 0.03), (-0.02, 0.03)) if rng.random() < TIGHT_CROPS \
        else ((-0.06, 0.2), (-0.05, 0.4))
    top, bottom = max(edge(vlo, vhi), 0), h - max(edge(vlo, vhi), 0)
    left, right = max(edge(hlo, hhi), 0), w - max(edge(hlo, hhi), 0)
    out = crop[top:bottom, left:right]
    return out if out.shape[0] > 4 and out.shape[1] > 4 else crop


def photometric(rng: random.Random, img: np.ndarray) -> np.ndarray:
    """Cheap contrast, blur, noise and inversion changes for real crops."""
    f = img.astype(np.float32)
    if rng.random() < 0.5:
        f = (f - f.mean()) * rng.uniform(0.6, 1.3) + f.mean() + rng.uniform(-30, 30)
    if rng.random() < 0.2:
        f = cv2.GaussianBlur(f, (3, 3), rng.uniform(0.3, 1.0))
    if rng.random() < 0.2:
        f += np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 10), f.shape)
    if rng.random() < 0.05:
        f = 255 - f
    return np.clip(f, 0, 255).astype(np.uint8)


def jitter_width(rng: random.Random, line: np.ndarray) -> np.ndarray:
    """A prepared line scaled to a random width between the narrowest and widest of
    REREAD_WIDTHS (log-uniform) and shifted right by 0-3 columns of its own edge colour,
    so its glyphs meet the frames at another phase."""
    low, high = math.log(min(REREAD_WIDTHS)), math.log(max(REREAD_WIDTHS))
    line = widened(line, math.exp(rng.uniform(low, high)))
    shift = rng.randrange(FRAME_STRIDE)
    if shift:
        line = np.concatenate([np.repeat(line[:, :1], shift, axis=1), line], axis=1)
    return line[:, :MAX_TRAIN_WIDTH]


def prepare_line(img: np.ndarray) -> np.ndarray:
    line = resize_line(img, INPUT_HEIGHT)
    if line.shape[1] > MAX_TRAIN_WIDTH:
        line = cv2.resize(line, (MAX_TRAIN_WIDTH, INPUT_HEIGHT), interpolation=cv2.INTER_AREA)
    return line


class MixedLines(torch.utils.data.IterableDataset):
    """Endless stream of width-bucketed batches: (images, targets, lengths, frames, case
    flags, teacher-anchored flags)."""

    def __init__(self, cfg: RecognizerConfig, charset: Charset, crop_sets: list[CropSet],
                 weights: list[float], start_step: int = 0) -> None:
        self.cfg, self.charset = cfg, charset
        self.start_step = start_step  # a resumed run draws new lines, not the first ones
        self.crop_sets, self.weights = crop_sets, weights
        self.language = get_language(cfg.lang)
        self.fonts = hangul_fonts() if self.language.script == "hangul" else discover_fonts()

    def sample(self, rng: random.Random) -> tuple[np.ndarray, str, bool, bool]:
        """A prepared line, its text, whether its label ignores case, and whether it is
        anchored to the teacher (synthetic lines and `distill_sets` crops)."""
        if not self.crop_sets or rng.random() < self.cfg.synth_fraction:
            img, text = render_line(rng, self._synthetic_text(rng), self.fonts,
                                    vary_faces=self.cfg.vary_faces)
            return prepare_line(img), text, False, self._teacher_knows(text)
        cs = rng.choices(self.crop_sets, weights=self.weights)[0]
        i = rng.randrange(len(cs.images))
        text = cs.texts[i]
        line = prepare_line(photometric(
            rng, jitter_crop(rng, cs.images[i], whole_image=cs.whole_images)))
        if self.cfg.width_jitter and rng.random() < self.cfg.width_jitter:
            line = jitter_width(rng, line)
        return line, text, cs.case_insensitive, \
            cs.name in self.cfg.distill_sets and self._teacher_knows(text)

    def _teacher_knows(self, text: str) -> bool:
        """`teacher_knows` of the text as this charset writes it: a sign it drops (a Greek
        letter in a run without --math-share) is no reason to let a line go."""
        return teacher_knows(self.charset.canonical(text))

    def _synthetic_text(self, rng: random.Random) -> str:
        """Random text; with --extra-chars, a third of it has a few letters swapped for
        them, so new characters are seen in every font that has them."""
        if self.language.code == "ko":  # kept to the charset: Hanja and rarer marks go
            text = self.charset.canonical(korean_text(rng)) if rng.random() < KOREAN_TEXT \
                else random_text(rng)
        elif self.cfg.math_share and rng.random() < self.cfg.math_share:
            text = math_text(rng)  # drawn only when asked: other runs repeat as before
        elif rng.random() < self.cfg.typeset_share:
            text = typeset_text(rng)
        else:
            text = foreign_text(rng) if rng.random() < FOREIGN_TEXT else random_text(rng)
        extra = self.cfg.extra_chars
        if extra and rng.random() < 0.33:
            chars = list(text)
            letters = [i for i, c in enumerate(chars) if c.isalpha()]
            for i in rng.sample(letters, min(len(letters), rng.randint(1, 3))):
                chars[i] = rng.choice(extra)
            text = "".join(chars)
        return text

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        # the seed (and the step a run resumes at) fix the lines drawn: a run repeats
        seed = (self.cfg.seed * 1000 + (info.id if info else 0)) * 1_000_003 + self.start_step
        rng = random.Random(seed)
        bs = self.cfg.batch_size
        while True:
            pool = []
            while len(pool) < 4 * bs:
                line, text, ci, anchored = self.sample(rng)
                labels = self.charset.encode(text)
                if labels and ctc_fits(labels, line.shape[1] // FRAME_STRIDE):
                    pool.append((line, labels, ci, anchored))
            pool.sort(key=lambda s: s[0].shape[1])
            chunks = [pool[i : i + bs] for i in range(0, len(pool), bs)]
            rng.shuffle(chunks)
            for chunk in chunks:
                lines = [c[0] for c in chunk]
                yield (
                    torch.from_numpy(pad_batch(lines)),
                    torch.tensor([x for c in chunk for x in c[1]], dtype=torch.long),
                    torch.tensor([len(c[1]) for c in chunk], dtype=torch.long),
                    torch.tensor([c[0].shape[1] // FRAME_STRIDE for c in chunk], dtype=torch.long),
                    torch.tensor([c[2] for c in chunk], dtype=torch.bool),
                    torch.tensor([c[3] for c in chunk], dtype=torch.bool),
                )


# what the shipped recognizer (the usual --distill teacher) does not write as printed
TEACHER_UNKNOWN = frozenset(TYPESET_MARKS) | (frozenset(MATH_SYMBOLS) - frozenset(DEFAULT_CHARS))


def teacher_knows(text: str) -> bool:
    """Whether a line may be anchored to the teacher (`--distill`): not when it holds a
    typeset mark (`TYPESET_MARKS`), which v0.6 reads as its ASCII look-alike (the teacher
    would pull the model back to "don't" where the label says "don’t"), or a Greek letter
    or mathematical sign (`MATH_SYMBOLS`) the shipped charset lacks, which v0.6 cannot
    write."""
    return not any(c in TEACHER_UNKNOWN for c in text)


def math_chars(cfg: RecognizerConfig) -> str:
    """The `MATH_SYMBOLS` a run with `math_share` adds to its charset: those not already
    in the language's characters or in `extra_chars`."""
    if not cfg.math_share:
        return ""
    return math_symbols_missing(get_language(cfg.lang).chars + cfg.extra_chars)


# `freeze` parts that are submodules of the CRNN; "known" is rows of its output layer
FROZEN_MODULES = ("features", "rnn")


def freeze_parts(model: CRNN, parts: Sequence[str]) -> None:
    """Stop training `parts` of the model: its submodules "features" and "rnn"."""
    for name in parts:
        if name in FROZEN_MODULES:
            for p in getattr(model, name).parameters():
                p.requires_grad_(False)


def train_mode(model: CRNN, frozen: Sequence[str]) -> None:
    """Training mode, except for the frozen parts: their BatchNorm layers keep normalising
    with their running statistics and do not update them."""
    model.train()
    for name in frozen:
        if name in FROZEN_MODULES:
            getattr(model, name).eval()


class KeptRows:
    """Output rows held at their starting values through a fine-tune (`--freeze known`).

    With the features and the BiLSTM frozen too, the characters the --init model writes
    keep exactly its logits, so new outputs (mathematical signs) are learnt without moving
    how anything else is read: whole-model fine-tunes that learnt new signs lost scene
    words (sessions 28-30, model card). Their gradient is zeroed so clipping and Adam see
    only the rows that learn, and after each step the rows are written back, undoing
    AdamW's weight decay.
    """

    def __init__(self, head: nn.Linear, rows: Sequence[int]):
        self.head = head
        self.rows = torch.as_tensor(list(rows), dtype=torch.long, device=head.weight.device)
        self.weight = head.weight.detach()[self.rows].clone()
        self.bias = head.bias.detach()[self.rows].clone()
        for p in (head.weight, head.bias):
            p.register_hook(lambda g: g.index_fill(0, self.rows, 0.0))

    def restore(self) -> None:
        with torch.no_grad():
            self.head.weight[self.rows] = self.weight
            self.head.bias[self.rows] = self.bias


def carried_rows(old_chars: str, new: Charset) -> list[tuple[int, int]]:
    """(row in `new`, row in the old model) of the blank and of every character of the old
    charset that `new` keeps: output rows follow their characters."""
    return [(0, 0)] + [(new.indices_of(c)[0], i + 1) for i, c in enumerate(old_chars)
                       if c in new.chars]


def ctc_fits(labels: list[int], frames: int) -> bool:
    """CTC needs one frame per label plus a blank between repeated labels, and a little
    slack (a Hangul syllable is 2-3 labels on about 7 frames)."""
    repeats = sum(a == b for a, b in zip(labels, labels[1:]))
    return len(labels) + repeats + 1 <= frames


def case_merged_log_probs(log_probs: torch.Tensor, charset: Charset) -> torch.Tensor:
    """Add each lower-case letter's probability onto its capital (for case-free labels)."""
    upper, lower = charset.case_pairs()
    merged = log_probs.clone()
    merged[..., upper] = torch.logaddexp(log_probs[..., upper], log_probs[..., lower])
    return merged


def ctc_loss(logits: torch.Tensor, targets, target_lengths, input_lengths, ci_mask,
             charset: Charset) -> torch.Tensor:
    log_probs = logits.float().log_softmax(-1)  # (B, T, C)
    if ci_mask.any():
        merged = case_merged_log_probs(log_probs, charset)
        log_probs = torch.where(ci_mask[:, None, None], merged, log_probs)
    loss = nn.functional.ctc_loss(
        log_probs.permute(1, 0, 2), targets, input_lengths, target_lengths,
        blank=0, reduction="none", zero_infinity=True,
    )
    return (loss / target_lengths.to(loss.device).clamp(min=1)).mean()


def distillation_loss(logits: torch.Tensor, teacher_logits: torch.Tensor,
                      input_lengths: torch.Tensor, target_lengths: torch.Tensor,
                      mask: torch.Tensor) -> torch.Tensor:
    """KL(teacher || model) summed over each line's frames, per label like `ctc_loss`, on
    the lines in `mask` (averaged over the whole batch: the anchored share sets its weight).
    A teacher with fewer outputs (the model's charset extended past the teacher's) is
    compared on its own outputs, the model's first ones: mass the model puts on a new
    character where the teacher reads one of its own is a loss like any other."""
    log_p = logits.float().log_softmax(-1)[..., : teacher_logits.shape[-1]]
    log_q = teacher_logits.float().log_softmax(-1)
    kl = (log_q.exp() * (log_q - log_p)).sum(-1)  # (B, T)
    frames = torch.arange(kl.shape[1], device=kl.device)[None, :] < input_lengths[:, None]
    per_line = (kl * frames).sum(1) / target_lengths.to(kl.device).clamp(min=1)
    return (per_line * mask.to(kl.device)).sum() / max(len(per_line), 1)


def load_teacher(path: str, charset: Charset, device: str) -> CRNN:
    """A frozen recognizer whose outputs line up row by row with this run's first ones: the
    same charset, or the one this run extends (`--init` it with --extra-chars or
    --math-share: its characters come first, `training_charset`)."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    meta = state.get("meta", {})
    chars = meta.get("charset", {}).get("chars")
    if not chars or not charset.chars.startswith(chars):
        raise TeacherMismatch(f"{path}: the model's charset does not begin with the "
                              "teacher's (another language, or not --init from it): it "
                              "cannot --distill it")
    teacher = crnn_from_meta(meta)
    teacher.load_state_dict(state["model"])
    return teacher.to(device).eval().requires_grad_(False)


# suffix of the validation sets whose page boxes are cut with no margin (`score_stage`)
TIGHT = "_tight"


@torch.no_grad()
def validation_line(stage, cs: CropSet, i: int, tight: bool = False) -> np.ndarray:
    """Crop `i` of `cs` as the Reader would feed it to the model: cut as the Reader cuts a
    box (a whole image, as `--no-detect` reads it: as it is; with `tight`, exactly on the
    box, as users and benchmarks hand over word crops) and prepared as it prepares a crop
    (gray, contrast stretched, at the input height)."""
    keep = (0.0, 0.0) if cs.whole_images or tight else CROP_CONTEXT
    return stage.prepare(strip_margin(cs.images[i], keep=keep), tight_ends=keep[0] == 0)


def validate(model: CRNN, charset: Charset, crop_sets: list[CropSet], device: str,
             limit: int = 800, lang: str = DEFAULT_LANG) -> dict[str, float]:
    """Greedy CER (case-insensitive for case-free sets) and word accuracy, on the boxes cut
    as the Reader cuts them and, for page sets, cut exactly on the box too (`SET_tight`).

    The crops are batched, run and decoded by the recognition stage the Reader uses. Why
    the tight crops: session 20's candidate read the page sets' crops with the Reader's
    margin better than v0.6 and tight ones (and the detector's) worse; only the first was
    validated, so the selection could not see it."""
    from ..recognition.stage import RecognitionStage

    model.eval()
    stage = RecognitionStage.from_module(model, recognizer_meta(charset, lang=lang), device,
                                         batch_size=64)
    out = score_stage(stage, crop_sets, limit, tight=True)
    model.train()
    return out


def validate_pages(model: CRNN, charset: Charset, cfg: RecognizerConfig, device: str,
                   detection=None) -> dict[str, float]:
    """Word F1 (ci) and detection H-mean of the Reader with this recognizer and
    `detection` (default: the shipped detector, loaded) on `cfg.val_pages` held-out pages
    per page set (`SET/pages_...`)."""
    from ..reader import Reader
    from ..recognition.stage import RecognitionStage
    from .detector import score_held_out_pages, shipped_detector

    model.eval()
    recognition = RecognitionStage.from_module(
        model, recognizer_meta(charset, lang=cfg.lang), device)
    reader = Reader.from_stages(detection or shipped_detector(device), recognition)
    out = score_held_out_pages(reader, cfg.data_root, cfg.page_sets, cfg.val_pages,
                               ("word_f1_ci", "det_hmean"), prefix="pages_")
    model.train()
    return out


def score_stage(stage, crop_sets: list[CropSet], limit: int = 800,
                tight: bool = False) -> dict[str, float]:
    """`validate`'s metrics for a ready recognition stage (its decoder settings as set);
    with `tight`, also those of the page sets' boxes cut with no margin (`SET_tight/...`).
    A whole-image crop set is read as `ocrtool read --no-detect` reads a crop
    (`assemble.read_whole_crops`: slanted text read along its slant)."""
    out = {}
    for cs in crop_sets:
        if cs.whole_images:
            idx = spread_over(cs, limit)
            images = [strip_margin(cs.images[i], keep=(0.0, 0.0)) for i in idx]
            preds = [line.text for line in read_whole_crops(stage, images)]
            out.update(_crop_scores(cs.name, preds, canonical_labels(stage, cs, idx),
                                    cs.case_insensitive))
            continue
        for name, _, lines, truths in validation_lines(stage, [cs], limit, tight):
            preds = [stage.text(d) for d in stage.recognize_prepared(lines)]
            out.update(_crop_scores(name, preds, truths, cs.case_insensitive))
    return out


def validation_lines(stage, crop_sets: list[CropSet], limit: int = 800, tight: bool = False):
    """(name, crop set, prepared lines, canonical labels) of up to `limit` crops spread over
    each validation set, as the Reader feeds them to `stage` (`validation_line`); with
    `tight`, each page set's boxes cut with no margin too (named `SET_tight`)."""
    for cs in crop_sets:
        idx = spread_over(cs, limit)
        truths = canonical_labels(stage, cs, idx)
        for cut_tight in (False, True) if tight and not cs.whole_images else (False,):
            yield (cs.name + (TIGHT if cut_tight else ""), cs,
                   [validation_line(stage, cs, i, cut_tight) for i in idx], truths)


def spread_over(cs: CropSet, limit: int) -> np.ndarray:
    """Indices of up to `limit` crops spread evenly over a validation set."""
    return np.linspace(0, len(cs.images) - 1, min(limit, len(cs.images))).astype(int)


def canonical_labels(stage, cs: CropSet, idx) -> list[str]:
    """The labels of crops `idx` of `cs` as the stage's charset writes them."""
    return [stage.charset.canonical(cs.texts[i]) for i in idx]


def _crop_scores(name: str, preds: list[str], truths: list[str],
                 case_insensitive: bool) -> dict[str, float]:
    from ..evaluation.metrics import edit_distance

    errs = sum(edit_distance(p.upper(), t.upper()) for p, t in zip(preds, truths))
    errs_cs = sum(edit_distance(p, t) for p, t in zip(preds, truths))
    total = max(sum(len(t) for t in truths), 1)
    out = {f"{name}/cer_ci": errs / total, f"{name}/cer": errs_cs / total,
           f"{name}/word_acc": float(np.mean([p == t for p, t in zip(preds, truths)]))}
    out[f"{name}/cer_select"] = out[f"{name}/cer_ci" if case_insensitive else f"{name}/cer"]
    return out


def recognizer_meta(charset: Charset, **extra) -> dict:
    """The metadata a recognizer's weights carry: what a stage needs to read with it."""
    return {"charset": charset.to_dict(), "input_height": INPUT_HEIGHT,
            "frame_stride": FRAME_STRIDE, "normalize": "x/127.5-1", **extra}


def progress(step: int, elapsed: float, steps: int, minutes: float) -> float:
    """Fraction of the run done: by steps, or by wall time when a time budget is set."""
    frac = step / max(steps, 1)
    if minutes > 0:
        frac = max(frac, elapsed / (minutes * 60))
    return min(frac, 1.0)


def total_cer(metrics: dict[str, float], tight: bool = True) -> float:
    """Model selection score: summed CER over the validation sets, case-sensitive where
    the labels keep case (a capital read for a lower-case letter is an error there); the
    tight-cut page sets count too unless `tight` is False (the sum of sessions up to 20)."""
    return sum(v for k, v in metrics.items() if k.endswith("/cer_select")
               and (tight or not k.split("/")[0].endswith(TIGHT)))


def lr_at(frac: float, step: int, base_lr: float, warmup: int = 300) -> float:
    """Linear warm-up, then cosine decay to 2% of the base rate."""
    if step < warmup:
        return base_lr * (step + 1) / warmup
    return base_lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac)))


def load_crop_sets(cfg: RecognizerConfig) -> tuple[list[CropSet], list[float], list[CropSet]]:
    """Training crop sets with their sampling weights, and the validation crop sets.

    Without --val-set, validation is carved from the training sets (every tenth page held
    out): the dev sets are for reporting, never for choosing checkpoints.
    """
    root = Path(cfg.data_root)
    if cfg.train_sets:
        train = [Path(p) for p in cfg.train_sets]
        weights = [1.0] * len(train)
    else:
        # the built-in real sets are Latin script: other languages train on their own
        # synthetic lines (or on --train-set folders)
        names = [n for n in cfg.real_sets if (root / n).exists()] \
            if cfg.lang == DEFAULT_LANG else []
        train, weights = [root / n for n in names], [cfg.real_sets[n] for n in names]
    sets = [cached_crop_set(d, cfg.cache_dir) for d in train]
    for name, weight in cfg.word_run_sets.items():
        sets.append(cached_crop_set(root / name, cfg.cache_dir, runs=True))
        weights.append(weight)
    if cfg.val_sets:
        return sets, weights, [cached_crop_set(Path(p), cfg.cache_dir) for p in cfg.val_sets]
    pairs = [split_validation(cs) for cs in sets]
    return [t for t, _ in pairs], weights, [v for _, v in pairs if v.images]

def training_charset(language: Language, init_chars: str | None = None,
                     extra: str = "") -> Charset:
    """The charset of the model being trained: the initial model's characters in their own
    order (so their output rows carry over, rows follow their characters in any case), then
    any of the language's or extra ones it lacks."""
    base = init_chars or ""
    chars = base + "".join(dict.fromkeys(c for c in language.chars + extra if c not in base))
    return Charset(chars, language.form)


def load_with_charset(model: CRNN, state: dict, old: Charset, new: Charset) -> None:
    """Load weights trained with charset `old` into a model built for charset `new`.

    Everything but the output layer loads as is; its rows follow their characters. A new
    character's row starts from the model's own fresh initialisation, with its bias at the
    old layer's lowest so it is not emitted before it has been trained.
    """
    state = dict(state)
    weight, bias = state.pop("head.weight"), state.pop("head.bias")
    model.load_state_dict(state, strict=False)
    with torch.no_grad():
        model.head.bias.fill_(float(bias[1:].min()))
        for dst, src in carried_rows(old.chars, new):
            model.head.weight[dst] = weight[src]
            model.head.bias[dst] = bias[src]


def model_channels(cfg: RecognizerConfig, init_meta: dict) -> tuple[int, int, int, int]:
    """The stage widths of the model a run trains: a fine-tune keeps its --init model's
    (a slimmed one's too, `training.prune`), a fresh run has `cfg.width`'s."""
    return meta_channels(init_meta) if init_meta else default_channels(cfg.width)


def train_recognizer(cfg: RecognizerConfig, log=print) -> dict[str, float]:
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    init_state = torch.load(cfg.init, map_location="cpu", weights_only=False) if cfg.init else None
    init_meta = init_state.get("meta", {}) if init_state else {}
    init_chars = init_meta.get("charset", {}).get("chars")
    language = get_language(cfg.lang)
    # a model of another language lends its features, not its character order
    same_lang = init_meta.get("lang", DEFAULT_LANG) == language.code
    charset = training_charset(language, init_chars if same_lang else None,
                               cfg.extra_chars + math_chars(cfg))
    model = CRNN(charset.num_classes, hidden=init_meta.get("hidden", cfg.hidden),
                 channels=model_channels(cfg, init_meta)).to(device)
    teacher = load_teacher(cfg.distill, charset, device) if cfg.distill else None
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    out_dir = Path(cfg.out_dir)
    step = 0
    if (out_dir / "last.ckpt").exists():
        step = load_checkpoint(out_dir / "last.ckpt", model, opt)
        log(f"resumed from {out_dir / 'last.ckpt'} at step {step}")
    elif init_state is not None:
        load_with_charset(model, init_state["model"], Charset(init_chars or language.chars),
                          charset)
        added = "".join(c for c in charset.chars if c not in (init_chars or ""))
        log(f"initialised from {cfg.init}" + (f" (new characters: {added})" if added else ""))

    # the average starts from the starting weights (the --init model in a fine-tune)
    ema = weight_average(model, cfg.ema, out_dir / "last.ckpt") if cfg.ema else None
    shipped = ema.module if ema is not None else model
    crop_sets, weights, val_sets = load_crop_sets(cfg)
    ds = MixedLines(cfg, charset, crop_sets, weights, start_step=step)
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=cfg.workers,
                                         persistent_workers=cfg.workers > 0)
    use_amp = device == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    freeze_parts(model, cfg.freeze)
    train_mode(model, cfg.freeze)
    kept = None
    if "known" in cfg.freeze:
        if init_state is None:
            raise ValueError("freezing the known outputs needs an --init model")
        kept = KeptRows(model.head, [row for row, _ in carried_rows(
            init_chars or language.chars, charset)])
    t0 = time.time()
    meta = recognizer_meta(charset, arch="crnn", channels=list(model.channels),
                           hidden=model.rnn.hidden_size, lang=language.code)
    best = BestWeights(cfg.weights_out, meta, higher_is_better=False, log=log,
                       keep_dir=out_dir / "validated")
    checkpoint = PeriodicCheckpoint(out_dir / "last.ckpt", cfg.checkpoint_minutes)
    metrics, recent = {}, []

    # the end-to-end pages are read with the shipped detector, loaded once for the run
    detection = None
    if cfg.val_pages and cfg.lang == DEFAULT_LANG and not cfg.train_sets:
        from .detector import shipped_detector

        detection = shipped_detector(device)

    def validation(module: CRNN) -> dict[str, float]:
        out = validate(module, charset, val_sets, device, cfg.val_limit, cfg.lang)
        if detection is not None:
            out.update(validate_pages(module, charset, cfg, device, detection))
        train_mode(model, cfg.freeze)  # validation leaves the whole model training
        return out

    for images, targets, tlens, ilens, ci, anchored in loader:
        frac = progress(step, time.time() - t0, cfg.steps, cfg.minutes)
        if frac >= 1.0:
            break
        lr = lr_at(frac, step, cfg.lr)
        for g in opt.param_groups:
            g["lr"] = lr
        images = images.to(device, non_blocking=True)
        with torch.autocast(device_type=device, enabled=use_amp):
            logits = model(images)
        ilens = ilens.clamp(max=logits.shape[1])
        loss = ctc_loss(logits, targets, tlens, ilens, ci.to(device), charset)
        if teacher is not None and anchored.any():
            with torch.no_grad(), torch.autocast(device_type=device, enabled=use_amp):
                teacher_logits = teacher(images)
            loss = loss + cfg.distill_weight * distillation_loss(
                logits, teacher_logits, ilens.to(device), tlens, anchored)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        scaler.step(opt)
        scaler.update()
        if kept is not None:
            kept.restore()
        if ema is not None:
            ema.update_parameters(model)
        step += 1
        recent.append(loss.item())
        if step % cfg.log_every == 0:  # the mean loss since the last report
            log(f"step {step} loss {np.mean(recent):.4f} lr {lr:.2e} "
                f"{(time.time() - t0) / 60:.1f} min")
            recent = []
        if step % cfg.eval_every == 0:
            metrics = validation(shipped)
            best.update(shipped, step, metrics, total_cer(metrics))
        checkpoint.maybe_save(model, opt, step, average=ema)
    checkpoint.maybe_save(model, opt, step, force=True, average=ema)
    metrics = validation(shipped)
    best.update(shipped, step, metrics, total_cer(metrics))
    return metrics
