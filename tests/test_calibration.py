"""Calibration: ECE on hand-made numbers, and fitted maps that are monotone and help."""

from __future__ import annotations

import numpy as np
import pytest

from ocrtool.recognition.calibration import (
    Calibrator,
    bin_index,
    calibration_report,
    expected_calibration_error,
    fit_isotonic,
    reliability_table,
)


def test_ece_perfectly_calibrated_is_zero():
    # bin [0.8, 0.9): confidence 0.8 five times, four right -> accuracy 0.8
    conf = [0.8] * 5
    correct = [1, 1, 1, 1, 0]
    assert expected_calibration_error(conf, correct, n_bins=10) == pytest.approx(0.0)


def test_ece_hand_computed():
    # 10 bins. Bin 9 ([0.9, 1]): conf 0.95, 0.95, 1.0, 1.0 -> mean 0.975, right 2 of 4
    # -> |0.5 - 0.975| = 0.475, weight 4/6. Bin 2 ([0.2, 0.3)): 0.25 twice, both wrong
    # -> |0 - 0.25| = 0.25, weight 2/6. ECE = 0.31667 + 0.08333 = 0.4.
    conf = [0.95, 0.95, 1.0, 1.0, 0.25, 0.25]
    correct = [1, 0, 1, 0, 0, 0]
    expected = 4 / 6 * 0.475 + 2 / 6 * 0.25
    assert expected_calibration_error(conf, correct, n_bins=10) == pytest.approx(expected)
    assert expected == pytest.approx(0.4)


def test_ece_all_wrong_at_full_confidence_is_one():
    assert expected_calibration_error([1.0, 1.0], [0, 0], n_bins=15) == pytest.approx(1.0)
    assert expected_calibration_error([], []) == 0.0


def test_bins_edges_and_table():
    assert bin_index(np.array([0.0, 0.0999, 0.1, 0.5, 0.999, 1.0]), 10).tolist() == [
        0, 0, 1, 5, 9, 9]
    rows = reliability_table([0.05, 0.95, 0.97], [0, 1, 1], n_bins=10)
    assert [(r["count"], r["accuracy"]) for r in rows] == [(1, 0.0), (2, 1.0)]
    assert rows[1]["confidence"] == pytest.approx(0.96)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        expected_calibration_error([0.5, 0.6], [1])


def test_isotonic_pools_violators():
    # sorted by confidence, correctness 1, 0, 1, 1: only the first two violate the order
    # and pool to accuracy 0.5 at their mean confidence 0.15
    x, y = fit_isotonic([0.3, 0.1, 0.4, 0.2], [1, 1, 1, 0])
    assert y == pytest.approx([0.5, 1.0, 1.0])
    assert x == pytest.approx([0.15, 0.3, 0.4])


def overconfident_sample(n=4000, seed=0):
    """Raw confidences whose true accuracy is conf ** 3 (much lower than claimed)."""
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.5, 1.0, n)
    correct = (rng.uniform(size=n) < conf ** 3).astype(float)
    return conf, correct


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_fit_lowers_ece_and_stays_monotone(method):
    conf, correct = overconfident_sample()
    cal = Calibrator.fit(conf, correct, method)
    before = expected_calibration_error(conf, correct)
    after = expected_calibration_error(cal.apply(conf), correct)
    assert before > 0.1 and after < 0.03
    grid = np.linspace(0, 1, 101)
    assert np.all(np.diff(cal.apply(grid)) >= -1e-12)
    again = Calibrator.from_dict(cal.to_dict())
    assert np.allclose(again.apply(grid), cal.apply(grid))
    assert isinstance(cal.apply(0.9), float)
    report = calibration_report(conf, correct, cal)
    assert report["ece_calibrated"] == pytest.approx(after)


def test_identity_and_unknown_method():
    assert Calibrator.from_dict(None).apply(0.7) == pytest.approx(0.7)
    with pytest.raises(ValueError):
        Calibrator.fit([0.5], [1], method="magic")


def test_platt_is_finite_when_every_crop_is_right():
    cal = Calibrator.fit([0.6, 0.8, 0.9, 0.99], [1, 1, 1, 1], "platt")
    out = cal.apply(np.array([0.6, 0.99]))
    assert np.all(np.isfinite(out)) and out[1] >= out[0]
