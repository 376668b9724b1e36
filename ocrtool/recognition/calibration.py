"""Confidence calibration: make "0.9 confident" mean "right about 9 times in 10".

A recognizer's raw confidence (the weakest character's probability) ranks crops well but
is usually over-confident. A monotone mapping fitted on dev data fixes the scale without
changing the ranking:
- "platt" (default): sigmoid(a * logit(raw) + b), two parameters fitted by Newton's
  method on the log-loss; smooth, and hard to over-fit with a few thousand crops;
- "isotonic": pool-adjacent-violators on sorted confidences, then linear interpolation
  between the fitted steps; more flexible, needs more data.
Expected calibration error (ECE) reports how far confidence and accuracy are apart.

Numpy only, so the ONNX path can use it; the fitted mapping is a small dict that travels
in the weight file's metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_EPS = 1e-6


def _as_arrays(conf, correct) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(conf, dtype=float).ravel()
    y = np.asarray(correct, dtype=float).ravel()
    if c.shape != y.shape:
        raise ValueError("confidences and correctness flags differ in length")
    return c, y


def bin_index(conf: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bins over [0, 1]: bin i holds [i/n, (i+1)/n), and 1.0 goes to the last."""
    return np.clip((np.asarray(conf, float) * n_bins).astype(int), 0, n_bins - 1)


def reliability_table(conf, correct, n_bins: int = 15) -> list[dict]:
    """Per non-empty bin: its range, count, mean confidence and accuracy (for a report)."""
    c, y = _as_arrays(conf, correct)
    idx = bin_index(c, n_bins)
    rows = []
    for b in range(n_bins):
        sel = idx == b
        if sel.any():
            rows.append({
                "lo": b / n_bins, "hi": (b + 1) / n_bins, "count": int(sel.sum()),
                "confidence": float(c[sel].mean()), "accuracy": float(y[sel].mean()),
            })
    return rows


def expected_calibration_error(conf, correct, n_bins: int = 15) -> float:
    """ECE = sum over bins of (bin size / N) * |accuracy - mean confidence|."""
    c, y = _as_arrays(conf, correct)
    if c.size == 0:
        return 0.0
    return float(sum(
        r["count"] / c.size * abs(r["accuracy"] - r["confidence"])
        for r in reliability_table(c, y, n_bins)
    ))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free form


def fit_platt(conf, correct, iterations: int = 50, l2: float = 1e-3) -> tuple[float, float]:
    """(a, b) minimising log-loss of sigmoid(a * logit(conf) + b); a tiny L2 keeps it finite
    when the data are separable (e.g. every crop right)."""
    c, y = _as_arrays(conf, correct)
    x = _logit(c)
    a, b = 1.0, 0.0
    for _ in range(iterations):
        p = _sigmoid(a * x + b)
        w = p * (1 - p)
        r = p - y
        grad = np.array([(r * x).sum() + l2 * (a - 1.0), r.sum() + l2 * b])
        hess = np.array([[(w * x * x).sum() + l2, (w * x).sum()],
                         [(w * x).sum(), w.sum() + l2]])
        step = np.linalg.solve(hess + 1e-9 * np.eye(2), grad)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    return float(a), float(b)


def fit_isotonic(conf, correct) -> tuple[list[float], list[float]]:
    """Pool-adjacent-violators: knots (x, y) of a non-decreasing step fit of accuracy."""
    c, y = _as_arrays(conf, correct)
    order = np.argsort(c, kind="stable")
    xs, ys = c[order], y[order]
    blocks: list[list[float]] = []  # [sum_y, count, sum_x]
    for xv, yv in zip(xs.tolist(), ys.tolist()):
        blocks.append([yv, 1.0, xv])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, n, sx = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += n
            blocks[-1][2] += sx
    return [sx / n for _, n, sx in blocks], [s / n for s, n, _ in blocks]


@dataclass
class Calibrator:
    """A monotone map from raw to calibrated confidence; identity until fitted."""

    method: str = "identity"
    params: dict = field(default_factory=dict)

    @classmethod
    def fit(cls, conf, correct, method: str = "platt") -> Calibrator:
        """Fit on dev-set confidences and 0/1 correctness flags."""
        if method == "platt":
            a, b = fit_platt(conf, correct)
            return cls("platt", {"a": a, "b": b})
        if method == "isotonic":
            x, y = fit_isotonic(conf, correct)
            return cls("isotonic", {"x": x, "y": y})
        raise ValueError(f"unknown calibration method {method!r} (use 'platt' or 'isotonic')")

    def apply(self, raw):
        """Calibrated confidence(s): a float for a float, an array for an array."""
        r = np.asarray(raw, dtype=float)
        if self.method == "identity":
            out = r
        elif self.method == "platt":
            out = _sigmoid(self.params["a"] * _logit(r) + self.params["b"])
        elif self.method == "isotonic":
            out = np.interp(r, self.params["x"], self.params["y"])
        else:
            raise ValueError(f"unknown calibration method {self.method!r}")
        return float(out) if out.ndim == 0 else out

    def to_dict(self) -> dict:
        return {"method": self.method, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, d: dict | None) -> Calibrator:
        """None or {} gives the identity, so old weight files keep working."""
        if not d:
            return cls()
        return cls(d["method"], dict(d.get("params", {})))


def calibration_report(conf, correct, calibrator: Calibrator, n_bins: int = 15) -> dict:
    """ECE before and after calibration, for the model card."""
    c, y = _as_arrays(conf, correct)
    return {
        "n": int(c.size),
        "accuracy": float(y.mean()) if c.size else 0.0,
        "ece_raw": expected_calibration_error(c, y, n_bins),
        "ece_calibrated": expected_calibration_error(calibrator.apply(c), y, n_bins),
        "bins": n_bins,
        "calibrator": calibrator.to_dict(),
    }
