"""Text and detection metrics as plain functions of strings and counts.

Nothing here reads files or images: training imports these (edit distance, CER) without
the scorer or the ground-truth readers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from rapidfuzz.distance import Levenshtein


def edit_distance(a: str, b: str) -> int:
    return Levenshtein.distance(a, b)


def normalize_text(text: str) -> str:
    """Collapse whitespace runs into single spaces, so layout whitespace is not scored."""
    return " ".join(text.split())


def cer(reference: str, hypothesis: str) -> float:
    """Edit distance over reference length; an empty reference scores 0 or 1."""
    return ratio(edit_distance(reference, hypothesis), len(reference))


def ratio(errors: int, length: int) -> float:
    """errors / length, where nothing to read scores 0 if nothing was read, else 1."""
    if length == 0:
        return 0.0 if errors == 0 else 1.0
    return errors / length


def safe_div(num: float, den: float) -> float:
    """num / den with 0/0 = 1: nothing to find and nothing claimed is a perfect score."""
    return 1.0 if den == 0 else num / den


def detection_precision(hits: int, predictions: int, gt: int) -> float:
    """hits / predictions; with no predictions, 1 only if there was nothing to find.

    An engine that outputs nothing on a page with text must not get a perfect precision.
    """
    if predictions == 0:
        return 1.0 if gt == 0 else 0.0
    return hits / predictions


def hmean(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def bag_of_words(texts: Iterable[str], lower: bool = False) -> Counter:
    """Multiset of whitespace tokens of all texts."""
    words: Counter = Counter()
    for text in texts:
        words.update((text.lower() if lower else text).split())
    return words


def word_counts(gt_texts: Iterable[str], pred_texts: Iterable[str],
                lower: bool = False) -> tuple[int, int, int]:
    """(true positives, #GT tokens, #predicted tokens) of two bags of words."""
    gt, pred = bag_of_words(gt_texts, lower), bag_of_words(pred_texts, lower)
    tp = sum((gt & pred).values())
    return tp, sum(gt.values()), sum(pred.values())


def word_f1(gt_texts: Iterable[str], pred_texts: Iterable[str], lower: bool = False) -> float:
    """Order-free bag-of-words F1, so line and word granularity compare directly."""
    tp, n_gt, n_pred = word_counts(gt_texts, pred_texts, lower)
    return f1_score(tp, n_gt, n_pred)


def f1_score(tp: int, n_gt: int, n_pred: int) -> float:
    return 1.0 if n_gt + n_pred == 0 else 2 * tp / (n_gt + n_pred)
