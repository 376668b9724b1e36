"""Pack training data small enough to travel to a lent GPU machine, and unpack it there.

Only the working tree (64 MiB with carried folders) reaches the device machine; the shared
data (~160 MB of scans) and the fonts stay behind. `pack` writes `.gpu/` (git-ignored):

- recognizer crops as WebP (the crop cache's 48-px crops; lossy compression is one more
  augmentation) for every training set, a subset of SROIE lines, and the dev crops;
- detector pages (WebP, grayscale SROIE scans downscaled) with their regions rescaled;
- a subset of the fonts and the synthetic text's word list (the device has no wordfreq);
- the rapidfuzz wheel for the device's Python (its only missing dependency).

`unpack` (on the device) rebuilds the crop caches, installs the fonts under ~/.fonts and a
stand-in `wordfreq` module, so `ocrtool train ... --data-root .gpu/data` runs unchanged.

    python bench/gpu_pack.py pack            # here
    python bench/gpu_pack.py unpack          # there, before training

Mind the limit: the tracked files (22 MiB in November 2026) plus `.gpu/` (40.8 MiB) must
stay under the device tool's 64 MiB; lower CROP_SETS["sroie_train"] when the tree grows.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
import sys
import tarfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtool.training.datasets import CropSet, cached_crop_set, read_jsonl  # noqa: E402

OUT = Path(".gpu")
SHARED = Path("../shared/data")
CROP_SETS = {"sroie_train": 10000, "born_digital_train": None, "ic15_words_train": None,
             "iiit5k_train": None, "sroie_dev": 800, "born_digital_dev": None}
PAGE_SETS = {"sroie_train": (260, 0.75), "born_digital_train": (None, 1.0),
             "sroie_dev": (30, 0.75), "born_digital_dev": (30, 1.0)}
FONT_MAX_BYTES = 170_000
WEBP_QUALITY = 72


def pack_crops(name: str, limit: int | None, rng: random.Random) -> None:
    cs = cached_crop_set(SHARED / name)
    idx = list(range(len(cs.images)))
    if limit and limit < len(idx):
        idx = sorted(rng.sample(idx, limit)) if not name.endswith("_dev") else idx[:limit]
    blobs = [cv2.imencode(".webp", cs.images[i], [cv2.IMWRITE_WEBP_QUALITY, WEBP_QUALITY])[1]
             .tobytes() for i in idx]
    packed = {"name": name, "ci": cs.case_insensitive, "webp": blobs,
              "texts": [cs.texts[i] for i in idx]}
    (OUT / "crops").mkdir(parents=True, exist_ok=True)
    with open(OUT / "crops" / f"{name}.pkl", "wb") as f:
        pickle.dump(packed, f, protocol=pickle.HIGHEST_PROTOCOL)


def pack_pages(name: str, limit: int | None, scale: float, rng: random.Random) -> None:
    rows = read_jsonl(SHARED / name / "gt.jsonl")
    if limit and limit < len(rows):
        rows = rows[:limit] if name.endswith("_dev") else rng.sample(rows, limit)
    dst = OUT / "data" / name
    (dst / "images").mkdir(parents=True, exist_ok=True)
    out_rows = []
    for row in rows:
        img = cv2.imread(str(SHARED / name / row["image"]), cv2.IMREAD_COLOR)
        if name.startswith("sroie"):  # grey scans: one channel is a third of the bytes
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        if scale != 1.0:
            img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        rel = f"images/{Path(row['image']).stem}.webp"
        cv2.imwrite(str(dst / rel), img, [cv2.IMWRITE_WEBP_QUALITY, 60])
        regions = [{**r, "points": (np.asarray(r["points"], float) * scale).tolist()}
                   for r in row["regions"]]
        out_rows.append({"image": rel, "width": img.shape[1], "height": img.shape[0],
                         "regions": regions})
    with open(dst / "gt.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in out_rows)


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
        cs = CropSet(images, packed["texts"], packed["ci"], packed["name"], source="")
        Path("cache").mkdir(exist_ok=True)
        with open(Path("cache") / f"crops_{packed['name']}.pkl", "wb") as f:
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
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                    "--only-binary=:all:", "--python-version", "3.12", "--implementation",
                    "cp", "--platform", "manylinux_2_28_x86_64", "--platform",
                    "manylinux_2_17_x86_64", "-d", str(OUT / "whl"), "rapidfuzz"], check=True)


def pack() -> None:
    rng = random.Random(0)
    OUT.mkdir(exist_ok=True)
    download_wheels()
    for name, limit in CROP_SETS.items():
        pack_crops(name, limit, rng)
    for name, (limit, scale) in PAGE_SETS.items():
        pack_pages(name, limit, scale, rng)
    pack_fonts_and_words()
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"{OUT}: {total / 1e6:.1f} MB")


if __name__ == "__main__":
    {"pack": pack, "unpack": unpack}[sys.argv[1]]()
