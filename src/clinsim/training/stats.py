"""Summary statistics over training seeds (mean, standard deviation, 95 % bootstrap confidence interval) and the
non-dominated set of a multi-objective comparison."""

from __future__ import annotations

import numpy as np
from scipy import stats


def summarize(values: np.ndarray, confidence: float = 0.95, n_resamples: int = 10_000) -> dict[str, float | None]:
    """Mean, sample SD and percentile-bootstrap CI of the mean (SD and CI are None, JSON null, for
    one value: undefined, and NaN is not JSON)."""
    values = np.asarray(values, dtype=np.float64)
    several = len(values) > 1
    out: dict[str, float | None] = {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if several else None,
                                    "n": int(len(values)), "ci_low": None, "ci_high": None}
    if several and np.ptp(values) > 0:
        res = stats.bootstrap((values,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                              method="percentile", random_state=np.random.default_rng(0))
        out["ci_low"], out["ci_high"] = float(res.confidence_interval.low), float(res.confidence_interval.high)
    elif several:
        out["ci_low"] = out["ci_high"] = out["mean"]
    return out


def non_dominated(points: np.ndarray) -> np.ndarray:
    """Mask of the rows of ``points`` (one vector return per policy, every objective maximised) that no other row
    dominates (>= in every objective and > in at least one): the empirical Pareto front. O(n^2) comparisons,
    for the handful of policies of a weight sweep."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2:
        raise ValueError(f"points must be a (policies, objectives) array, got shape {points.shape}")
    at_least = (points[None, :, :] >= points[:, None, :]).all(axis=2)  # [i, j]: j >= i everywhere
    better = (points[None, :, :] > points[:, None, :]).any(axis=2)  # [i, j]: j > i somewhere
    return ~(at_least & better).any(axis=1)
