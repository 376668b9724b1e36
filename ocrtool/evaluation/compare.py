"""Is B really better than A? A paired bootstrap over the images of two eval reports.

The held-out page sets that choose between models are small (25 ic15 photos, 77 words):
one model reading two more words moves word F1 by 0.03, and the ship rules in the model
card compare such figures. Resampling the images (the same draw for both models, since
they read the same images) gives an interval for the difference and the share of draws
in which B comes out ahead, so a rule can tell a gain from the luck of the sample.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _words(row: dict) -> float:
    return float(row["gt_words"] + row["pred_words"])


def _regions(row: dict) -> float:
    return float(row["gt_regions"] + row["predictions"] - row["ignored_predictions"])


# score -> (its per-image true positives, its per-image truths plus counted predictions):
# the corpus score is twice the summed true positives over the summed second
PAGE_SCORES = {
    "word_f1": ("word_tp", _words),
    "word_f1_ci": ("word_tp_ci", _words),
    "det_hmean": ("hits", _regions),
}
CROP_SCORES = ("word_accuracy", "word_accuracy_ci")


def _page_counts(rows: Sequence[dict], score: str) -> tuple[np.ndarray, np.ndarray]:
    """Per image: twice the true positives, and the number of truths plus predictions."""
    hits, total = PAGE_SCORES[score]
    return np.array([2.0 * r[hits] for r in rows]), np.array([total(r) for r in rows])


def _crop_counts(rows: Sequence[dict], score: str) -> tuple[np.ndarray, np.ndarray]:
    key = "correct_ci" if score.endswith("_ci") else "correct"
    return np.array([float(r[key]) for r in rows]), np.ones(len(rows))


def paired_bootstrap(a: dict, b: dict, score: str, rounds: int = 2000,
                     seed: int = 0) -> dict[str, float]:
    """Corpus `score` of reports `a` and `b` (`ocrtool eval --out`, same data), the
    difference b - a, its 95% bootstrap interval, and the share of draws with b ahead
    (ties count half)."""
    if score not in CROP_SCORES and score not in PAGE_SCORES:
        raise ValueError(f"unknown score {score!r}: one of {[*PAGE_SCORES, *CROP_SCORES]}")
    rows_a, rows_b = _paired_rows(a, b)
    counts = _crop_counts if score in CROP_SCORES else _page_counts
    num_a, den_a = counts(rows_a, score)
    num_b, den_b = counts(rows_b, score)
    draws = np.random.default_rng(seed).integers(0, len(rows_a), (rounds, len(rows_a)))

    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return num / np.maximum(den, 1e-9)

    sa = ratio(num_a[draws].sum(1), den_a[draws].sum(1))
    sb = ratio(num_b[draws].sum(1), den_b[draws].sum(1))
    diff = sb - sa
    low, high = np.percentile(diff, [2.5, 97.5])
    score_a = float(ratio(num_a.sum(), den_a.sum()))
    score_b = float(ratio(num_b.sum(), den_b.sum()))
    return {"a": score_a, "b": score_b, "diff": score_b - score_a, "low": float(low),
            "high": float(high),
            "b_ahead": float(np.mean(diff > 0) + 0.5 * np.mean(diff == 0))}


def pool_reports(reports: Sequence[dict]) -> dict:
    """One report over the images of several (same kind: e.g. the held-out ic15 and ic03
    photos as one scene set of 50), each image named by its report's place in the list
    and its own name: a gain or loss is judged on every photo at once, not on 25."""
    kinds = {r.get("kind") for r in reports}
    if len(kinds) != 1:
        raise ValueError(f"cannot pool reports of different kinds: {sorted(map(str, kinds))}")
    rows = [{**row, "image": f"{i}:{row['image']}"}
            for i, report in enumerate(reports) for row in report["per_image"]]
    return {"kind": kinds.pop(), "per_image": rows}


def _paired_rows(a: dict, b: dict) -> tuple[list[dict], list[dict]]:
    """The two reports' per-image rows in the same order; both must cover the same images."""
    by_image = {r["image"]: r for r in b["per_image"]}
    images = [r["image"] for r in a["per_image"]]
    if set(images) != set(by_image) or len(images) != len(by_image):
        raise ValueError("the two reports do not cover the same images")
    return list(a["per_image"]), [by_image[i] for i in images]
