"""Are '<' and '>' read as themselves, or as the signs ≤ ≥ a math-aware model also writes?

A recognizer that learnt mathematics on frozen features (session 31, model card) wrote ≥
for > in DejaVu where an LM that knows the signs re-read the line. This draws short lines
holding < and > in every synthetic font face at 20 and 32 px and counts, over all of them,
the brackets read right, read as ≤ ≥, and lost.

    python bench/angle_brackets.py [--weights DIR] [--pages]

--pages reads each drawing as a page (detection first), else as a crop (`--no-detect`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtool.reader import Reader  # noqa: E402
from ocrtool.synth.fonts import discover_fonts  # noqa: E402

TEXTS = ["if x < 5", "Next >", "a > b", "n <= 3", "<html>"]
SIZES = (20, 32)


def drawn(text: str, font: ImageFont.FreeTypeFont, size: int) -> np.ndarray:
    img = Image.new("RGB", (int(font.getlength(text)) + 2 * size, int(size * 1.8)), "white")
    ImageDraw.Draw(img).text((size, size // 3), text, font=font, fill="black")
    return np.array(img)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", help="folder with the model files (default: shipped)")
    ap.add_argument("--pages", action="store_true", help="detect first, as `ocrtool read`")
    a = ap.parse_args()
    reader = Reader(threads=2, **({"weights": a.weights} if a.weights else {}))
    right = signs = lost = 0
    for face in discover_fonts():
        for size in SIZES:
            font = ImageFont.truetype(face.path, size, index=face.index)
            for text in TEXTS:
                out = reader.read(drawn(text, font, size), recognize_only=not a.pages).text
                seen = [c for c in out if c in "<>≤≥"]
                right += sum(c in "<>" for c in seen)
                signs += sum(c in "≤≥" for c in seen)
                lost += text.count("<") + text.count(">") - len(seen)
    print(f"< > read right {right}, read as ≤ ≥ {signs}, lost or other {lost}")


if __name__ == "__main__":
    main()
