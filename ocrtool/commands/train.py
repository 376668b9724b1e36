"""`ocrtool train recognizer|detector`: the commands that make the shipped weights."""

from __future__ import annotations

from pathlib import Path

import click

from ..languages import DEFAULT_LANG, LANGUAGES


def _require_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise click.ClickException("training needs PyTorch: pip install 'ocrtool[train]'") from None


@click.group()
def train() -> None:
    """Train or fine-tune the models (resumes from OUT_DIR/last.ckpt when present)."""


@train.command()
@click.option("--data-root", default="../shared/data", show_default=True,
              help="Folder with the JSON-lines data sets.")
@click.option("--steps", type=int, default=None,
              help="Training steps [default: the config's, see training/*.py].")
@click.option("--minutes", type=float, default=0.0, help="Time budget; 0 = steps only.")
@click.option("--batch-size", type=int, default=48, show_default=True)
@click.option("--lr", type=float, default=1.5e-3, show_default=True)
@click.option("--synth-fraction", type=float, default=0.5, show_default=True)
@click.option("--typeset-share", type=click.FloatRange(0.0, 1.0), default=None, metavar="SHARE",
              help="Share of the synthetic lines that are book and paper print with "
                   "’ “ ” – — inside them [default: the config's, training/recognizer.py].")
@click.option("--math-share", type=click.FloatRange(0.0, 1.0), default=None, metavar="SHARE",
              help="Share of the synthetic lines that are inline mathematics (Greek letters, "
                   "− × ≤ ∈ ∂ ...); above 0 those characters join the charset as new "
                   "outputs [default: 0].")
@click.option("--width-jitter", type=click.FloatRange(0.0, 1.0), default=None, metavar="SHARE",
              help="Share of the real crops seen at another width (0.77-1.3x) and shifted "
                   "by up to 3 columns, so that a reading does not hang on where the "
                   "frames fall [default: 0].")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out-dir", default="runs/recognizer", show_default=True)
@click.option("--weights-out", default="weights/recognizer.pt", show_default=True)
@click.option("--init", help="Start from these weights (fine-tuning).")
@click.option("--width", type=click.IntRange(1, 4), default=None,
              help="A fresh model's CNN width: channels (32, 64, 128, 192) times this "
                   "[default: 1]. Teach it with --distill weights/recognizer.pt --distill-set "
                   "all to start from the shipped model's reading.")
@click.option("--hidden", type=click.IntRange(16, 1024), default=None,
              help="A fresh model's BiLSTM units per direction [default: 128].")
@click.option("--extra-chars", default="", metavar="CHARS",
              help="Characters to add to the charset (e.g. 'ðþÐÞ'); the --init model's "
                   "characters keep what they learned, the new ones get fresh outputs.")
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--lang", default=DEFAULT_LANG, show_default=True, type=click.Choice(list(LANGUAGES)),
              help="Language: its charset, fonts and synthetic text (a model of another "
                   "language given to --init lends its features).")
@click.option("--train-set", "train_sets", multiple=True, metavar="DIR",
              help="Your own folder (shared JSON-lines format, pages or crops); repeatable. "
                   "Replaces the built-in mix of ../shared/data sets.")
@click.option("--val-set", "val_sets", multiple=True, metavar="DIR",
              help="Validation folder(s) for model selection [default: the held-out "
                   "tenth of each training set].")
@click.option("--mix", "mix", multiple=True, metavar="SET=WEIGHT",
              help="Real crop or page sets under --data-root and their sampling weights, "
                   "repeatable (e.g. --mix iiit5k_train_cs=0.16) [default: the config's]; "
                   "the sets not named keep their weights.")
@click.option("--word-runs", "word_runs", multiple=True, metavar="SET=WEIGHT",
              help="Also cut runs of 2-4 neighbouring words of this word-boxed page set "
                   "under --data-root as one crop (their texts joined by spaces), sampled "
                   "at WEIGHT; repeatable. Teaches the space between words in that set's "
                   "type; its held-out runs join the validation.")
@click.option("--ema", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0,
              show_default=True, metavar="DECAY",
              help="Validate and ship an exponential moving average of the weights, "
                   "e.g. 0.998 (0: the weights as trained). Steadier than any one step "
                   "in a short fine-tune.")
@click.option("--val-pages", type=click.IntRange(min=0), default=0, show_default=True,
              metavar="N",
              help="Also read N held-out pages of each built-in page set end to end at "
                   "every validation (the shipped detector and the Reader's whole path): "
                   "word F1 (ci) and H-mean in the log and each validated model, not in "
                   "the selection score.")
@click.option("--eval-every", type=click.IntRange(min=1), default=None, metavar="STEPS",
              help="Validate (and keep the model as OUT_DIR/validated/step_N.pt) every "
                   "STEPS steps [default: the config's, see training/recognizer.py].")
@click.option("--vary-faces/--no-vary-faces", default=True, show_default=True,
              help="Thicken, thin and stretch the synthetic lines' glyphs sometimes "
                   "(unseen faces look like seen ones).")
@click.option("--distill", type=click.Path(exists=True, dir_okay=False), metavar="WEIGHTS",
              help="Teacher weights (e.g. weights/recognizer.pt): on synthetic lines and "
                   "printed sets the model is also pulled toward the teacher's reading, "
                   "so a fine-tune on scene text keeps print as the teacher reads it.")
@click.option("--distill-weight", type=click.FloatRange(min=0.0), default=1.0,
              show_default=True, help="Weight of the pull toward the --distill teacher.")
@click.option("--distill-set", "distill_sets", multiple=True, metavar="SET",
              help="With --distill: the real sets pulled toward the teacher besides the "
                   "synthetic lines, repeatable, or `all` [default: the printed sets and "
                   "receipts]; `all` to slim a model (`ocrtool train prune`).")
@click.option("--freeze", multiple=True, type=click.Choice(["features", "rnn", "known"]),
              help="Keep this part of the --init model as it is (the convolutions, the "
                   "BiLSTM, the outputs of the characters it already writes); "
                   "repeatable. Teaches new outputs for what the model already sees "
                   "without moving the rest.")
def recognizer(train_sets, val_sets, mix, word_runs, distill_sets, **kw) -> None:
    """Train the CRNN recognizer on real crops plus on-the-fly synthetic lines.

    Fine-tune the shipped model on your data:
    ocrtool train recognizer --init weights/recognizer.pt --train-set my/train
    --val-set my/dev --minutes 20 --lr 3e-4 --out-dir runs/mine --weights-out my/recognizer.pt
    """
    _require_torch()
    from ..training.recognizer import RecognizerConfig, TeacherMismatch, train_recognizer

    if kw["lang"] != DEFAULT_LANG and not val_sets:  # no real sets to carve it from
        raise click.UsageError(
            f"--lang {kw['lang']} needs --val-set: e.g. `ocrtool synth lines --lang "
            f"{kw['lang']} --seed 1 --count 400 --out data/{kw['lang']}_lines_val`")
    if kw.get("init") and (kw.get("width") or kw.get("hidden")):
        raise click.UsageError("--width and --hidden shape a fresh model; an --init model "
                               "keeps its own shape")
    if "known" in kw["freeze"] and not kw.get("init"):
        raise click.UsageError("--freeze known keeps the outputs of an --init model: "
                               "give --init WEIGHTS")
    for folder in (*train_sets, *val_sets):
        if not (Path(folder) / "gt.jsonl").is_file():
            raise click.BadParameter(f"{folder}: no gt.jsonl there (see the data format "
                                     "in README.md)")
    kw = {k: v for k, v in kw.items() if v is not None}  # unset: the config's default
    if mix:
        kw["real_sets"] = {**RecognizerConfig().real_sets,
                           **_set_weights(mix, kw["data_root"], "--mix",
                                          kw.get("cache_dir", RecognizerConfig().cache_dir))}
    if word_runs:
        kw["word_run_sets"] = _set_weights(word_runs, kw["data_root"], "--word-runs")
    if distill_sets:
        kw["distill_sets"] = _known_sets(distill_sets, kw.get("real_sets")
                                         or RecognizerConfig().real_sets)
    try:
        train_recognizer(RecognizerConfig(train_sets=list(train_sets),
                                          val_sets=list(val_sets), **kw),
                         log=lambda m: click.echo(m))
    except TeacherMismatch as e:
        raise click.ClickException(str(e)) from None


def _known_sets(names: tuple[str, ...], trained) -> tuple[str, ...]:
    """The --distill-set names ("all": every set trained on), or a usage error naming
    those not among the sets trained on."""
    if "all" in names:
        return tuple(trained)
    unknown = [name for name in names if name not in trained]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}: not among the sets trained on "
                                 f"({', '.join(trained)})", param_hint="--distill-set")
    return names


def _set_weights(items: tuple[str, ...], data_root: str, hint: str,
                 crops_cached_in: str | None = None) -> dict[str, float]:
    """['name=0.4', ...] -> {'name': 0.4, ...} for page sets under `data_root` (or, given
    `crops_cached_in`, sets whose crops are cached there: a GPU pack carries crops, not
    pages), or a usage error naming `hint` (the option)."""
    from ..training.datasets import crop_cache_path

    out = {}
    for item in items:
        name, _, weight = item.partition("=")
        try:
            value = float(weight)
        except ValueError:
            value = -1.0
        if not name or value <= 0:
            raise click.BadParameter(f"{item!r}: expected SET=WEIGHT with a positive weight",
                                     param_hint=hint)
        cached = crops_cached_in is not None and crop_cache_path(name, crops_cached_in).is_file()
        if not cached and not (Path(data_root) / name / "gt.jsonl").is_file():
            raise click.BadParameter(f"{name}: no gt.jsonl under --data-root",
                                     param_hint=hint)
        out[name] = value
    return out


@train.command()
@click.option("--data-root", default="../shared/data", show_default=True)
@click.option("--steps", type=int, default=None,
              help="Training steps [default: the config's, see training/*.py].")
@click.option("--minutes", type=float, default=60.0, show_default=True)
@click.option("--batch-size", type=int, default=8, show_default=True)
@click.option("--crop", type=int, default=384, show_default=True)
@click.option("--lr", type=float, default=2e-3, show_default=True)
@click.option("--synth-fraction", type=float, default=0.25, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out-dir", default="runs/detector", show_default=True)
@click.option("--weights-out", default="weights/detector.pt", show_default=True)
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--init", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Start from these weights (e.g. weights/detector.pt) [default: fresh].")
@click.option("--widen", type=click.FloatRange(min=1.0, max=4.0), default=None,
              help="With --init: every layer that many times wider, starting out computing "
                   "exactly what --init computes (more capacity, nothing learned lost) "
                   "[default: 1, as it is].")
@click.option("--eval-every", type=int, default=None,
              help="Validate every N steps [default: the config's].")
@click.option("--val-limit", type=int, default=None,
              help="Validation pages per set [default: the config's].")
@click.option("--weak-supervision/--no-weak-supervision", default=None,
              help="Split the word boxes of the word-boxed sets by the model's own region "
                   "scores, weighted by their agreement with the text (CRAFT) [default: "
                   "off]; best with --init.")
@click.option("--relabel-every", type=int, default=None,
              help="With --weak-supervision: split the words again every N steps "
                   "[default: 0, once before training].")
@click.option("--rotate-fraction", type=click.FloatRange(0, 1), default=None,
              help="Share of training pages turned by a random angle up to "
                   "--max-rotation either way (slanted scene text) [default: the config's].")
@click.option("--max-rotation", type=click.FloatRange(0, 90), default=None,
              help="Largest turn, in degrees, of --rotate-fraction's pages.")
@click.option("--mix", "mix", multiple=True, metavar="SET=WEIGHT",
              help="Real page sets under --data-root and their shares, repeatable "
                   "(e.g. --mix sroie_train=0.4 --mix my_pages=0.6) [default: the config's].")
@click.option("--weak-set", "weak_sets", multiple=True, metavar="SET",
              help="With --weak-supervision: only these sets' words are split by the model, "
                   "repeatable [default: every word-boxed set].")
@click.option("--distill", type=click.Path(exists=True, dir_okay=False), metavar="WEIGHTS",
              help="Teacher weights (e.g. weights/detector.pt): on synthetic pages and the "
                   "--distill-set pages the model is also pulled toward the teacher's maps, "
                   "so a fine-tune on one kind of page keeps the others as the teacher "
                   "finds them.")
@click.option("--distill-weight", type=click.FloatRange(min=0.0), default=1.0,
              show_default=True, help="Weight of the pull toward the --distill teacher.")
@click.option("--distill-set", "distill_sets", multiple=True, metavar="SET",
              help="With --distill: the sets pulled toward the teacher, repeatable, or "
                   "`all` [default: every built-in set but born_digital_train].")
def detector(mix: tuple[str, ...], weak_sets: tuple[str, ...], distill_sets: tuple[str, ...],
             **kw) -> None:
    """Train the CRAFT-like detector on real pages (pseudo characters) and synthetic pages."""
    _require_torch()
    from ..training.checkpoints import TeacherMismatch
    from ..training.detector import DetectorConfig, train_detector

    kw = {k: v for k, v in kw.items() if v is not None}  # unset: the config's default
    if kw.get("widen", 1.0) != 1.0 and not kw.get("init"):
        raise click.BadParameter("widens the --init weights: give --init", param_hint="--widen")
    if mix:
        kw["real_sets"] = _set_weights(mix, kw["data_root"], "--mix")
        # validate on the held-out tenth of the sets trained on, at their own level
        kw["val_sets"] = {name: "auto" for name in kw["real_sets"]}
    if weak_sets:
        kw["weak_sets"] = {name: 0 for name in weak_sets}
    if distill_sets:
        kw["distill_sets"] = _known_sets(distill_sets,
                                         kw.get("real_sets") or DetectorConfig().real_sets)
    try:
        train_detector(DetectorConfig(**kw), log=lambda m: click.echo(m))
    except TeacherMismatch as e:
        raise click.ClickException(str(e)) from None


@train.command()
@click.option("--weights", default="weights/recognizer.pt", show_default=True,
              type=click.Path(exists=True, dir_okay=False))
@click.option("--data-root", default="../shared/data", show_default=True)
@click.option("--sets", default=None,
              help="Training sets whose held-out pages are read "
                   "[default: sroie_train,born_digital_train,docbank_pages_train,"
                   "ic15_pages_train].")
@click.option("--method", type=click.Choice(["platt", "isotonic"]), default="platt",
              show_default=True)
def calibrate(weights: str, data_root: str, sets: str | None, method: str) -> None:
    """Fit the confidence calibration on the held-out pages of training sets and store it
    in the weight file."""
    _require_torch()
    from pathlib import Path

    from ..training.calibrate import CALIBRATION_SETS
    from ..training.calibrate import calibrate as run

    run(Path(weights), Path(data_root), tuple(sets.split(",")) if sets else CALIBRATION_SETS,
        method, log=lambda m: click.echo(m))


@train.command()
@click.option("--weights", default="weights/recognizer.pt", show_default=True,
              type=click.Path(exists=True, dir_okay=False), help="Recognizer to slim.")
@click.option("--channels", required=True, metavar="C1,C2,C3,C4",
              help="Channels of the four CNN stages (the shipped model: 32,64,128,192).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Weight file to write: --init it, --distill the original.")
def prune(weights: str, channels: str, out: str) -> None:
    """Slim a recognizer to fewer channels per stage, keeping its strongest ones.

    The slim model reads worse until it is fine-tuned from the original:
    ocrtool train recognizer --init SLIM --distill weights/recognizer.pt --distill-set ...
    """
    _require_torch()
    from ..training.prune import prune_weights

    try:
        widths = tuple(int(c) for c in channels.split(","))
    except ValueError:
        widths = ()
    if len(widths) != 4 or min(widths) < 1:
        raise click.BadParameter(f"{channels!r}: expected four positive channel counts",
                                 param_hint="--channels")
    try:
        prune_weights(weights, widths, out)
    except ValueError as e:  # more channels than the model has
        raise click.ClickException(str(e)) from None
    click.echo(f"wrote {out}: channels {','.join(map(str, widths))} from {weights}")
