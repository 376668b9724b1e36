"""The link model (tree ensemble in numpy) and the grouping rules around it."""

from __future__ import annotations

import numpy as np

from ocrtool.detection.postprocess import (
    DENSE_PAGE_WORDS,
    candidate_links,
    group_lines,
    line_boxes,
    page_boxes,
)
from ocrtool.layout.line_links import FEATURES, TreeEnsemble, link_features


def _box(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def _one_tree() -> TreeEnsemble:
    """x0 <= 0.5 -> -1.0; else x1 <= 2.0 (NaN goes right) -> 0.5, else 2.0; bias 0.25."""
    return TreeEnsemble({
        "feature": np.array([0, 0, 1, 0, 0]), "threshold": np.array([0.5, 0, 2.0, 0, 0]),
        "left": np.array([1, 0, 3, 0, 0]), "right": np.array([2, 0, 4, 0, 0]),
        "value": np.array([0, -1.0, 0, 0.5, 2.0]),
        "is_leaf": np.array([False, True, False, True, True]),
        "nan_left": np.array([True, False, False, False, False]),
        "roots": np.array([0]), "bias": np.array(0.25), "depth": np.array(3),
    })


def test_tree_ensemble_follows_thresholds_exactly():
    x = np.array([[0.5, 9.0], [0.6, 2.0], [0.6, 2.1], [np.nan, 9.0], [0.6, np.nan]])
    assert _one_tree().raw_score(x).tolist() == [-0.75, 0.75, 2.25, -0.75, 2.25]


def test_two_trees_add_up():
    model = _one_tree()
    both = {k: getattr(model, k) for k in ("feature", "threshold", "value", "is_leaf",
                                           "nan_left")}
    arrays = {k: np.concatenate([v, v]) for k, v in both.items()}
    arrays["left"] = np.concatenate([model.left, model.left + 5])
    arrays["right"] = np.concatenate([model.right, model.right + 5])
    arrays.update(roots=np.array([0, 5]), bias=np.array(0.25), depth=np.array(3))
    assert TreeEnsemble(arrays).raw_score(np.array([[0.6, 2.0]])).tolist() == [1.25]


def test_link_features_describe_the_gap_and_the_row():
    words = [_box(0, 0, 40, 20), _box(50, 0, 90, 20), _box(130, 0, 170, 20)]
    boxes = page_boxes(words)
    feats = link_features(boxes, [(0, 1), (1, 2)])
    assert feats.shape == (2, len(FEATURES))
    named = [dict(zip(FEATURES, f)) for f in feats]
    assert np.isclose(named[0]["gap"], 0.5) and np.isclose(named[1]["gap"], 2.0)
    assert named[0]["words_in_row"] == 3 and named[1]["words_right_of_b"] == 0
    assert np.isclose(named[1]["gap_vs_row_max"], 1.0)  # the row's widest gap


def test_sparse_page_never_joins_wider_than_the_gap_rule():
    # 1.5 text heights apart: the rule (1.2) keeps them apart, and with 2 words on the
    # page the link model may only veto
    words = [_box(10, 10, 80, 30), _box(110, 10, 180, 30)]
    assert 2 < DENSE_PAGE_WORDS
    assert sorted(map(sorted, group_lines(words))) == [[0], [1]]


def test_a_narrow_glyph_joins_its_row_and_is_boxed_along_it():
    # a receipt row "Coffee 1" where the "1" is taller than wide (8 x 20 px)
    words = [_box(10, 10, 90, 30), _box(100, 10, 108, 30)]
    links = candidate_links(words, page_boxes(words))
    assert [(a, b) for a, b, _ in links] == [(0, 1)]
    # alone on its row, a glyph's line box runs with the page, not along its long side
    page = [_box(10, 60 + 30 * r, 120, 80 + 30 * r) for r in range(4)]
    lone = page + [_box(300, 10, 308, 30)]
    boxes = line_boxes(lone, [[i] for i in range(len(lone))])
    top_edge = boxes[-1][1] - boxes[-1][0]
    assert abs(top_edge[1]) < 1e-4 and top_edge[0] > 0


def test_words_marked_alone_stay_lines_of_their_own():
    words = [_box(10, 10, 80, 30), _box(84, 10, 92, 30), _box(96, 10, 170, 30)]
    assert group_lines(words) == [[0, 1, 2]]
    # the others are grouped as if the lone one were not there
    assert sorted(map(sorted, group_lines(words, alone=[False, True, False]))) == [
        [0, 2], [1]]


def test_dense_two_column_page_keeps_columns_apart_and_lines_whole():
    # 15 rows of two 300 px columns of words 7 px apart, columns 1.5 text heights apart:
    # dense enough for the link model to decide every pair
    rng = np.random.default_rng(0)
    words, where = [], []
    for row in range(15):
        y = 20 + row * 30
        for column, start in enumerate((10, 340)):
            x = start
            while (width := int(rng.integers(25, 70))) + x <= start + 300:
                words.append(_box(x, y, x + width, y + 20))
                where.append((row, column))
                x += width + 7
    assert len(words) >= DENSE_PAGE_WORDS
    expected = sorted(sorted(i for i, w in enumerate(where) if w == key)
                      for key in set(where))
    assert sorted(map(sorted, group_lines(words))) == expected
