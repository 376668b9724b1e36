"""Fit the word-link model of ocrtool/detection/line_links.py on annotated line boxes.

Words come from the shipped detector (cached in runs/line_links/); a candidate pair (two
words the geometric rule could join) is labelled 1 when both words lie in the same
annotated line box. The coefficients are printed in the form line_links.py holds them.

    python bench/fit_line_links.py [--data-root ../shared/data]
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtool import Reader  # noqa: E402
from ocrtool.detection.line_links import FEATURES  # noqa: E402
from ocrtool.detection.postprocess import candidate_links, page_boxes  # noqa: E402
from ocrtool.evaluation import overlap, read_jsonl_rows  # noqa: E402

CACHE = Path("runs/line_links")


def detected_words(data: Path, name: str) -> list[list[np.ndarray]]:
    """The shipped detector's word boxes for every page of a set (cached)."""
    cache = CACHE / f"words_{name}.pkl"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    reader = Reader(backend="onnx")
    rows = read_jsonl_rows(data / name / "gt.jsonl")
    from ocrtool.imageio import load_image

    out = [reader.detect(load_image(data / name / row["image"]))[0] for row in rows]
    CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(out))
    return out


def line_of_each_word(words: list[np.ndarray], row: dict) -> list[int]:
    """Index of the annotated line holding most of each word, or -1 (none / ignored)."""
    regions = [np.asarray(r["points"], np.float32) for r in row["regions"]]
    out = []
    for w in words:
        w = np.asarray(w, np.float32)
        best, best_cov = -1, 0.5
        for k, r in enumerate(regions):
            cov = overlap(w, r)[1]
            if cov > best_cov:
                best, best_cov = k, cov
        if best >= 0 and row["regions"][best].get("ignore"):
            best = -1
        out.append(best)
    return out


def pairs_of_set(data: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    feats, labels = [], []
    rows = read_jsonl_rows(data / name / "gt.jsonl")
    for row, words in zip(rows, detected_words(data, name)):
        if len(words) < 2:
            continue
        owner = line_of_each_word(words, row)
        boxes = page_boxes(words)
        for a, b, f in candidate_links(words, boxes):
            if owner[a] < 0 or owner[b] < 0:
                continue
            feats.append(f)
            labels.append(float(owner[a] == owner[b]))
    return np.array(feats), np.array(labels)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, iters: int = 50):
    """Newton's method on the L2-regularised log loss (standardised features)."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    reg = l2 * np.eye(z.shape[1])
    reg[-1, -1] = 0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-z @ w))
        grad = z.T @ (p - y) + reg @ w
        hess = (z * (p * (1 - p))[:, None]).T @ z + reg
        w -= np.linalg.solve(hess, grad)
    return mean, scale, w[:-1], float(w[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-root", default="../shared/data")
    args = ap.parse_args()
    data = Path(args.data_root)
    x, y = pairs_of_set(data, "sroie_train")
    mean, scale, coef, bias = fit_logistic(x, y)
    xd, yd = pairs_of_set(data, "sroie_dev")
    pd = 1 / (1 + np.exp(-(((xd - mean) / scale) @ coef + bias)))
    rule = (xd[:, 0] < 1.2).astype(float)
    print(f"train pairs {len(y)} (joined {y.mean():.2f}); dev pairs {len(yd)}")
    print(f"dev pair accuracy: model {np.mean((pd > 0.5) == yd):.4f}, "
          f"gap < 1.2 rule {np.mean(rule == yd):.4f}")
    fmt = lambda v: "np.array([" + ", ".join(f"{t:.4f}" for t in v) + "])"  # noqa: E731
    print(f"# features: {FEATURES}")
    print(f"MEAN = {fmt(mean)}\nSCALE = {fmt(scale)}\nCOEF = {fmt(coef)}\nBIAS = {bias:.4f}")


if __name__ == "__main__":
    main()
