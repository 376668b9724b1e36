"""Fit the word-link model of ocrtool/layout/line_links.py on annotated line boxes.

Words come from the Reader's detection stage with the shipped detector (cached in
runs/line_links/; delete the cache after changing the detector or its box fitting); the
candidate pairs are those the layout stage lets the model judge (faint glyphs stand alone),
and a pair is labelled 1 when both words lie in the same annotated line box. It is fitted
on sroie_train's training pages and scored on its held-out tenth (`training.datasets`),
never on the dev set. The tree ensemble is fitted with scikit-learn (a tool for this
script only: `pip install scikit-learn`) and written, flattened, to
ocrtool/data/line_links.npz, which the package evaluates with numpy alone.

    python bench/fit_line_links.py [--data-root ../shared/data] [--seed 0]
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtool import Reader  # noqa: E402
from ocrtool.detection.postprocess import DetectParams  # noqa: E402
from ocrtool.evaluation import overlap, read_jsonl_rows  # noqa: E402
from ocrtool.layout import lay_out  # noqa: E402
from ocrtool.layout.line_links import MODEL_PATH, TreeEnsemble  # noqa: E402
from ocrtool.layout.lines import (  # noqa: E402
    candidate_links,
    group_lines,
    line_boxes,
    padded_line_box,
    page_boxes,
)
from ocrtool.training.datasets import held_out  # noqa: E402

CACHE = Path("runs/line_links")
WEIGHTS: str | None = None  # --weights: a model folder other than the shipped one


def detected_words(data: Path, name: str) -> list[tuple[list[np.ndarray], list[float]]]:
    """The Reader's detected words and their scores for every page of a set (cached)."""
    cache = CACHE / f"detections_{name}.pkl"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    reader = Reader(backend="onnx", weights=WEIGHTS, threads=1)
    rows = read_jsonl_rows(data / name / "gt.jsonl")
    from ocrtool.imageio import load_image

    out = [reader.detect(load_image(data / name / row["image"])) for row in rows]
    CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(out))
    return out


def linkable(words: list[np.ndarray], scores: list[float]) -> list[np.ndarray]:
    """The words the layout stage links into lines: faint glyphs stand alone (lay_out)."""
    threshold = DetectParams().text_threshold
    return [w for w, s in zip(words, scores) if s >= threshold]


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


def pages(data: Path, name: str, validation: bool):
    """(gt row, (words, scores)) of a set's training pages, or of its held-out pages."""
    rows = read_jsonl_rows(data / name / "gt.jsonl")
    return [(row, det) for i, (row, det) in enumerate(zip(rows, detected_words(data, name)))
            if held_out(i) == validation]


def pairs_of_set(data: Path, name: str, validation: bool) -> tuple[np.ndarray, np.ndarray]:
    feats, labels = [], []
    for row, (words, scores) in pages(data, name, validation):
        words = linkable(words, scores)
        if len(words) < 2:
            continue
        owner = line_of_each_word(words, row)
        for a, b, f in candidate_links(words, page_boxes(words)):
            if owner[a] < 0 or owner[b] < 0:
                continue
            feats.append(f)
            labels.append(float(owner[a] == owner[b]))
    return np.array(feats), np.array(labels)


def grouping_hmean(data: Path, name: str, validation: bool) -> dict[str, float]:
    """Line H-mean of the cached detector words grouped three ways: the gap rule, the
    link model (as `group_lines` runs it) and an oracle that groups words by their
    annotated line (the best any grouping of these words can do)."""
    from ocrtool.evaluation import Region, gt_regions, match_detections

    def oracle(words, row):
        groups: dict[int, list[int]] = {}
        for i, owner in enumerate(line_of_each_word(words, row)):
            groups.setdefault(owner if owner >= 0 else -1 - i, []).append(i)
        return list(groups.values())

    ways = {"rule": lambda w, r: group_lines(w, learned=False),
            "model": lambda w, r: group_lines(w), "oracle": oracle}
    pad = DetectParams().line_pad
    out = {}
    for way, group in ways.items():
        hits = gt = preds = 0
        for row, (words, scores) in pages(data, name, validation):
            if way == "model":  # exactly the layout stage's lines
                boxes = lay_out(words, scores, DetectParams().text_threshold).lines
            else:
                boxes = line_boxes(words, group(words, row))
            m = match_detections(gt_regions(row), [Region(padded_line_box(b, pad), "")
                                                   for b in boxes])
            hits, gt, preds = hits + m.hits, gt + m.gt, preds + m.predictions
        p, r = hits / max(preds, 1), hits / max(gt, 1)
        out[way] = 2 * p * r / max(p + r, 1e-9)
    return out


def flatten(model) -> dict[str, np.ndarray]:
    """The arrays of `TreeEnsemble` from a fitted HistGradientBoostingClassifier."""
    parts, roots, offset = [], [], 0
    for (tree,) in model._predictors:
        nodes = tree.nodes
        roots.append(offset)
        parts.append({
            "feature": nodes["feature_idx"], "threshold": nodes["num_threshold"],
            "left": nodes["left"] + offset, "right": nodes["right"] + offset,
            "value": nodes["value"], "is_leaf": nodes["is_leaf"],
            "nan_left": nodes["missing_go_to_left"], "depth": nodes["depth"],
        })
        offset += len(nodes)
    flat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return {
        "feature": flat["feature"].astype(np.int16),
        "threshold": flat["threshold"].astype(np.float64),
        "left": flat["left"].astype(np.int32), "right": flat["right"].astype(np.int32),
        "value": flat["value"].astype(np.float32), "is_leaf": flat["is_leaf"].astype(bool),
        "nan_left": flat["nan_left"].astype(bool), "roots": np.array(roots, np.int32),
        "bias": np.array(float(np.ravel(model._baseline_prediction)[0])),
        "depth": np.array(int(flat["depth"].max()) + 1),
    }


def main() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    ap = argparse.ArgumentParser()
    ap.add_argument("--data-root", default="../shared/data")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--weights", default=None,
                    help="model folder whose detector gives the words (default: shipped); "
                         "its detections are cached in runs/line_links_<folder name>/")
    args = ap.parse_args()
    if args.weights:
        global CACHE, WEIGHTS
        WEIGHTS, CACHE = args.weights, Path(f"runs/line_links_{Path(args.weights).name}")
    data = Path(args.data_root)
    x, y = pairs_of_set(data, "sroie_train", validation=False)
    model = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05,
                                           max_leaf_nodes=31, random_state=args.seed)
    model.fit(x, y)
    arrays = flatten(model)
    xd, yd = pairs_of_set(data, "sroie_train", validation=True)
    ours = 1 / (1 + np.exp(-TreeEnsemble(arrays).raw_score(xd)))
    drift = float(np.abs(ours - model.predict_proba(xd)[:, 1]).max())
    rule = (xd[:, 0] < 1.2).astype(float)
    print(f"train pairs {len(y)} (joined {y.mean():.2f}); validation pairs {len(yd)}")
    print(f"validation pair accuracy: model {np.mean((ours > 0.5) == yd):.4f}, "
          f"gap < 1.2 rule {np.mean(rule == yd):.4f}; numpy vs sklearn max diff {drift:.1e}")
    np.savez_compressed(MODEL_PATH, **arrays)
    print(f"wrote {MODEL_PATH} ({MODEL_PATH.stat().st_size / 1024:.0f} KiB)")
    scores = grouping_hmean(data, "sroie_train", validation=True)
    print("sroie_train validation line H-mean of the detector's words (no recognition): " +
          ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))


if __name__ == "__main__":
    main()
