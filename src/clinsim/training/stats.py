"""Summary statistics over training seeds: mean, standard deviation, 95 % bootstrap confidence interval."""

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
