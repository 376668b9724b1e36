"""Pack training data small enough to travel to a lent GPU machine, and unpack it there.

Only the working tree (64 MiB with carried folders) reaches the device machine; the shared
data (~300 MB of scans) and the fonts stay behind. `pack` writes `.gpu/` (git-ignored):

- recognizer crops as WebP (the crop cache's 48-px crops; lossy compression is one more
  augmentation) for every set of the recognizer's built-in mix (`RecognizerConfig
  .real_sets`), SROIE and DocBank subsampled by whole pages so that the held-out tenth
  (`datasets.held_out`) stays the validation there too;
- the first VAL_PAGES held-out pages of each page set (original image files; gt.jsonl
  keeps every row's place, so the same pages are held out), so `--val-pages` reads them
  end to end on the device with the shipped detector: session 24 chose a step by crops
  alone, and it lost scene words end to end;
- the fonts (those under FONT_MAX_BYTES), the synthetic text's English word list (the device has no
  wordfreq) and the top of the Latin-language word lists (`OCRTOOL_CORPORA`);
- the rapidfuzz wheel for the device's Python (its only missing dependency).

`pack-detector` packs the detector's training instead (the tracked tree leaves no room for
both): the pages of every set of its built-in mix (`DetectorConfig.real_sets`) as WebP
(DocBank's 4-grey PNGs as they are), SROIE, ic03 and DocBank subsampled (DET_PAGE_LIMITS
training pages; ic03 has a tenth of the mix), the first VAL_PAGES held-out pages of each
kept for validation, each set's gt.jsonl with every row in its place (rows not packed
are stubs the trainers skip), plus the fonts, words and wheel for synthetic pages.
Session 25 measured why: on ic15_pages_train, 430 of 985 words have no predicted box
near them at all, and the recognizer reads 74% of the boxes it gets.

`unpack` (on the device) rebuilds the crop caches, installs the fonts under ~/.fonts and a
stand-in `wordfreq` module, so `ocrtool train recognizer --data-root .gpu/data` runs
unchanged.

    python bench/gpu_pack.py pack            # here (recognizer)
    python bench/gpu_pack.py pack-detector   # here (detector; TRAIN=detector on the device)
    python bench/gpu_pack.py unpack          # there, before training

Mind the limit: the tracked files (56 MB in December 2026, 43 MB of it weights and
language models that training does not read) plus `.gpu/` (51.2 MB) exceed the
device tool's 64 MiB (67.1 MB); lower PAGE_LIMITS when the tree grows. `python
bench/gpu_pack.py travel-light` stops tracking those files in the index only (and
ignores them locally) so they stay behind, 12.8 + 51.2 MB travel; `python
bench/gpu_pack.py travel-restore` puts them back. Run the device call between the two.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtool.synth.text import LATIN_LANGUAGES  # noqa: E402
from ocrtool.training.datasets import (  # noqa: E402
    CropSet,
    cached_crop_set,
    crop_cache_path,
    held_out,
    read_jsonl,
)
from ocrtool.training.detector import DetectorConfig  # noqa: E402
from ocrtool.training.recognizer import RecognizerConfig  # noqa: E402

OUT = Path(".gpu")
SHARED = Path("../shared/data")
# pages kept of the largest sets (None: all); every set of the built-in mix travels
PAGE_LIMITS = {"sroie_train": 100, "docbank_pages_train": 26}
VAL_PAGES = 25  # held-out pages per page set that travel (gpu_train.sh: --val-pages 25)
FONT_MAX_BYTES = 1_000_000  # all of this machine's 69 faces (6 MB as xz)
WEBP_QUALITY = 65
# training pages of the detector's sets kept (None: all), and their pages' WebP quality
DET_PAGE_LIMITS = {"sroie_train": 80, "ic03_pages_train": 120, "docbank_pages_train": 30}
PAGE_WEBP_QUALITY = 80
CORPUS_WORDS = 30000  # synth.text reads this many words of each language's list
# tracked files that training on the device never reads (travel-light leaves them here)
STAY_BEHIND = ["weights/recognizer_ko.pt", "weights/recognizer_ko.onnx",
               "weights/recognizer_ko.int8.onnx", "weights/recognizer.onnx",
               "weights/recognizer.int8.onnx", "weights/detector.onnx",
               "bench/candidates", "ocrtool/data/korean_jamo_lm.json.gz",
               "ocrtool/data/korean_words.txt.gz", "docs"]


def pack_crops(name: str, page_limit: int | None, rng: random.Random) -> None:
    """The set's cached crops as WebP, `page_limit` pages of them kept whole."""
    cs = cached_crop_set(SHARED / name)
    pages = cs.pages or list(range(len(cs.images)))
    keep_pages = set(pages)
    if page_limit and page_limit < len(keep_pages):
        keep_pages = set(rng.sample(sorted(keep_pages), page_limit))
    idx = [i for i, p in enumerate(pages) if p in keep_pages]
    blobs = [cv2.imencode(".webp", cs.images[i], [cv2.IMWRITE_WEBP_QUALITY, WEBP_QUALITY])[1]
             .tobytes() for i in idx]
    packed = {"name": name, "ci": cs.case_insensitive, "webp": blobs,
              "texts": [cs.texts[i] for i in idx],
              "pages": [cs.pages[i] for i in idx] if cs.pages else [],
              "whole_images": cs.whole_images}
    (OUT / "crops").mkdir(parents=True, exist_ok=True)
    with open(OUT / "crops" / f"{name}.pkl", "wb") as f:
        pickle.dump(packed, f, protocol=pickle.HIGHEST_PROTOCOL)
    print(f"{name}: {len(idx)} crops of {len(cs.images)}, {sum(map(len, blobs)) / 1e6:.1f} MB")


def pack_pages(name: str, train_pages: int | None, rng: random.Random,
               recompress: bool) -> None:
    """The set's first VAL_PAGES held-out pages and `train_pages` of its training pages
    (None: all), and a gt.jsonl with every row in its place: a row not packed is a stub
    the trainers skip, so the same pages stay held out. With `recompress`, a page travels
    as WebP where that is smaller (photos, scans, web graphics; DocBank's 4-grey PNGs are
    smaller as they are); without, as its own file bytes (the same pages as here)."""
    rows = read_jsonl(SHARED / name / "gt.jsonl")
    train = [i for i in range(len(rows)) if not held_out(i)]
    if train_pages is not None and train_pages < len(train):
        train = rng.sample(train, train_pages)
    val = [i for i in range(len(rows)) if held_out(i)][:VAL_PAGES]
    keep = set(train) | set(val)
    dst = OUT / "data" / name
    dst.mkdir(parents=True, exist_ok=True)
    size = 0
    with open(dst / "gt.jsonl", "w", encoding="utf-8") as f:
        for i, row in enumerate(rows):
            if i not in keep:
                f.write(json.dumps({"image": row["image"], "not_packed": True}) + "\n")
                continue
            src = SHARED / name / row["image"]
            image, blob = row["image"], src.read_bytes()
            if recompress:
                webp = cv2.imencode(".webp", cv2.imread(str(src), cv2.IMREAD_UNCHANGED),
                                    [cv2.IMWRITE_WEBP_QUALITY, PAGE_WEBP_QUALITY])[1].tobytes()
                if len(webp) < len(blob):
                    image, blob = str(Path(image).with_suffix(".webp")), webp
            (dst / image).parent.mkdir(parents=True, exist_ok=True)
            (dst / image).write_bytes(blob)
            size += len(blob)
            f.write(json.dumps({**row, "image": image}) + "\n")
    print(f"{name}: {len(train)} training + {len(val)} held-out pages, {size / 1e6:.1f} MB")


def pack_corpora() -> None:
    """The top CORPUS_WORDS of each Latin language's word list (synth.foreign_text)."""
    dst = OUT / "corpora"
    dst.mkdir(parents=True, exist_ok=True)
    for lang in LATIN_LANGUAGES:
        with open(SHARED / "text_corpora" / f"{lang}.wordlist", encoding="utf-8") as f:
            lines = [line for line, _ in zip(f, range(CORPUS_WORDS))]
        (dst / f"{lang}.wordlist").write_text("".join(lines), encoding="utf-8")


def pack_fonts_and_words() -> None:
    from ocrtool.synth.fonts import discover_fonts
    from ocrtool.synth.text import _vocabulary

    fonts = [f.path for f in discover_fonts() if os.path.getsize(f.path) <= FONT_MAX_BYTES]
    with tarfile.open(OUT / "fonts.tar.xz", "w:xz") as tar:
        for p in fonts:
            tar.add(p, arcname=Path(p).name)
    words, freqs = _vocabulary()
    with open(OUT / "words.json", "w", encoding="utf-8") as f:
        json.dump({"words": words, "freqs": freqs}, f)
    print(f"{len(fonts)} fonts, {len(words)} words")


WORDFREQ_STANDIN = '''"""wordfreq stand-in on the GPU machine (see bench/gpu_pack.py)."""
import json, os
_D = json.load(open(os.path.join(os.path.dirname(__file__), "words.json")))
_F = dict(zip(_D["words"], _D["freqs"]))
def top_n_list(lang, n):
    return _D["words"][:n]
def word_frequency(word, lang):
    return _F.get(word, 0.0) ** 2  # packed values are already square roots
'''


def unpack() -> None:
    for p in sorted((OUT / "crops").glob("*.pkl")):
        with open(p, "rb") as f:
            packed = pickle.load(f)
        images = [cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_GRAYSCALE)
                  for b in packed["webp"]]
        cs = CropSet(images, packed["texts"], packed["ci"], packed["name"], source="",
                     pages=packed["pages"], whole_images=packed["whole_images"])
        cache = crop_cache_path(packed["name"])
        cache.parent.mkdir(exist_ok=True)
        with open(cache, "wb") as f:
            pickle.dump(cs, f, protocol=pickle.HIGHEST_PROTOCOL)
        (OUT / "data" / packed["name"]).mkdir(parents=True, exist_ok=True)
        print(f"{packed['name']}: {len(images)} crops")
    fonts = Path.home() / ".fonts"
    fonts.mkdir(exist_ok=True)
    with tarfile.open(OUT / "fonts.tar.xz") as tar:
        tar.extractall(fonts)
    site = OUT / "site" / "wordfreq"
    site.mkdir(parents=True, exist_ok=True)
    (site / "__init__.py").write_text(WORDFREQ_STANDIN)
    shutil.copy(OUT / "words.json", site / "words.json")
    print(f"fonts in {fonts}; PYTHONPATH={OUT / 'site'} gives the word list")


def download_wheels() -> None:
    """rapidfuzz (the only dependency the device's image lacks) for its Python 3.12."""
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                    "--only-binary=:all:", "--python-version", "3.12", "--implementation",
                    "cp", "--platform", "manylinux_2_28_x86_64", "--platform",
                    "manylinux_2_17_x86_64", "-d", str(OUT / "whl"), "rapidfuzz"], check=True)


def fresh_pack(fill) -> None:
    """`.gpu/` emptied, then the wheel, `fill(rng)`'s data, the word lists and the fonts."""
    rng = random.Random(0)
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    download_wheels()
    fill(rng)
    pack_corpora()
    pack_fonts_and_words()
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"{OUT}: {total / 1e6:.1f} MB")


def pack() -> None:
    """The recognizer's crops and the held-out pages its validation reads end to end."""
    def fill(rng: random.Random) -> None:
        cfg = RecognizerConfig()
        for name in cfg.real_sets:
            pack_crops(name, PAGE_LIMITS.get(name), rng)
        for name in cfg.page_sets:
            pack_pages(name, 0, rng, recompress=False)
    fresh_pack(fill)


def pack_detector() -> None:
    """The detector's training and held-out pages."""
    def fill(rng: random.Random) -> None:
        for name in DetectorConfig().real_sets:
            pack_pages(name, DET_PAGE_LIMITS.get(name), rng, recompress=True)
    fresh_pack(fill)


def travel_light() -> None:
    """Untrack STAY_BEHIND in the index (the files stay on disk) and ignore them locally."""
    subprocess.run(["git", "rm", "-r", "-q", "--cached", *STAY_BEHIND], check=True)
    with open(".git/info/exclude", "a") as f:
        f.writelines(f"/{p}\n" for p in STAY_BEHIND)
    print("the index now drops those files (they stay on disk): run `python "
          "bench/gpu_pack.py travel-restore` after the device call and before any commit")


def travel_restore() -> None:
    """Undo travel_light: the index as HEAD has it, the local ignores removed."""
    subprocess.run(["git", "reset", "-q", "--", *STAY_BEHIND], check=True)
    exclude = Path(".git/info/exclude")
    drop = {f"/{p}" for p in STAY_BEHIND}
    exclude.write_text("".join(line + "\n" for line in exclude.read_text().splitlines()
                               if line not in drop))


if __name__ == "__main__":
    {"pack": pack, "pack-detector": pack_detector, "unpack": unpack,
     "travel-light": travel_light, "travel-restore": travel_restore}[sys.argv[1]]()
