"""Write synthetic data sets to disk in the shared JSON-lines format.

Sample i is drawn from its own generator seeded by (kind, seed, i), so the output is
byte-identical for a seed whatever the number of workers or the order they finish in.
Workers render and write images; the parent writes gt.jsonl in index order.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from .fonts import discover_fonts
from .text import vocabulary

KINDS = ("lines", "pages")


def sample_rng(kind: str, seed: int, index: int, lang: str = "en") -> random.Random:
    """The generator for one sample: independent of workers and of other samples."""
    kind = kind if lang == "en" else f"{kind}-{lang}"
    return random.Random(f"ocrtool-synth/{kind}/{seed}/{index}")


def render_sample(kind: str, seed: int, index: int, lang: str = "en",
                  held_out: bool = False) -> tuple[np.ndarray, dict]:
    """(image, record without the image path) for sample `index`; Korean lines (`lang`
    "ko") come from the training fonts and text, or with `held_out` from the fonts and
    text kept out of training (dev sets)."""
    rng = sample_rng(kind, seed, index, lang)
    if kind == "lines" and lang == "ko":
        from .fonts import hangul_fonts
        from .korean import korean_charset, korean_text
        from .lines import render_line

        text = korean_charset().canonical(korean_text(rng, held_out))  # only what it reads
        img, text = render_line(rng, text, hangul_fonts(held_out))
        return img, {"text": text}
    if kind == "lines":
        from .lines import render_line

        img, text = render_line(rng)
        return img, {"text": text}
    if kind == "pages":
        from .pages import render_page

        img, regions = render_page(rng)
        return img, {"regions": regions}
    raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")


def _write_one(args: tuple[str, int, int, str, str, bool]) -> str:
    kind, seed, index, out, lang, held_out = args
    img, extra = render_sample(kind, seed, index, lang, held_out)
    name = f"images/{index:07d}.png"
    bgr = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError(f"PNG encoding failed for sample {index}")
    Path(out, name).write_bytes(buf.tobytes())
    record = {"image": name, "width": int(img.shape[1]), "height": int(img.shape[0]), **extra}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _results(jobs: list[tuple[str, int, int, str, str, bool]], workers: int) -> Iterator[str]:
    if workers <= 1:
        yield from map(_write_one, jobs)
        return
    discover_fonts()  # scan fonts and load the word list once in the parent: forked
    vocabulary()  # workers inherit both instead of each paying a second or two
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with mp.get_context(method).Pool(workers) as pool:
        yield from pool.imap(_write_one, jobs, chunksize=4)


def write_dataset(
    kind: str,
    count: int,
    out: str | os.PathLike,
    seed: int = 0,
    workers: int = 1,
    progress: bool | None = None,
    on_sample: Callable[[int], None] | None = None,
    lang: str = "en",
    held_out: bool = False,
) -> Path:
    """Render `count` samples into out/images/*.png and out/gt.jsonl; returns gt.jsonl's path."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    if lang != "en" and kind != "lines":
        raise ValueError(f"only lines are rendered for language {lang!r}")
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    jobs = [(kind, seed, i, str(out), lang, held_out) for i in range(count)]
    if progress is None:
        progress = sys.stderr.isatty()
    from tqdm import tqdm

    gt = out / "gt.jsonl"
    with (
        open(gt, "w", encoding="utf-8") as f,
        tqdm(total=count, disable=not progress, unit=kind[:-1], desc=f"synth {kind}") as bar,
    ):
        for i, line in enumerate(_results(jobs, workers)):
            f.write(line + "\n")
            bar.update(1)
            if on_sample is not None:
                on_sample(i)
    return gt


def write_preview(kind: str, seed: int, path: str | os.PathLike, count: int | None = None,
                  lang: str = "en", held_out: bool = False) -> None:
    """A contact sheet of the first samples of a seed (the ones written), boxes and labels
    drawn; `count` defaults to 40 lines or 9 pages."""
    if count is not None and count <= 0:
        return
    from .preview import lines_sheet, pages_sheet, save_sheet

    if kind == "lines":
        samples = [render_sample(kind, seed, i, lang, held_out) for i in range(count or 40)]
        sheet = lines_sheet([(img, rec["text"]) for img, rec in samples])
    else:
        samples = [render_sample(kind, seed, i) for i in range(count or 9)]
        sheet = pages_sheet([(img, rec["regions"]) for img, rec in samples], tile=500)
    save_sheet(sheet, str(path), colors=256 if kind == "pages" else None)
