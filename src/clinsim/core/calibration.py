"""Virtual-population calibration: plausible patients, weighted to match trial figures.

The method follows Allen, Rieger & Musante 2016 (CPT Pharmacometrics Syst Pharmacol 5:140): draw *plausible*
patients from literature parameter ranges, simulate each under the trial's regimens, then select the virtual
population so that its outcomes match the trial's. Instead of acceptance-rejection on a continuous observable,
the trial figures here are rates (objective response, complete response, grade >= 3 toxicity, mortality), so
the selection is a weighting: the maximum-entropy weights (closest to uniform in Kullback-Leibler divergence)
under which every target's weighted mean matches the trial (the "prevalence weighting" of Schmidt et al. 2013,
BMC Bioinformatics 14:221, solved in its convex dual). Several arms of the same trial are fitted jointly by
simulating every plausible patient under every arm (paired), one feature column per figure and arm.

A :class:`VirtualPopulation` is the result: the plausible patients' columns with their weights and the
metadata that makes it reproducible (priors and their sources, targets and their citations, the achieved
values, seed and command). It is package data; environments draw their patients from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp


class CalibrationError(ValueError):
    """The targets cannot be met by any weighting of the plausible patients."""


@dataclass(frozen=True)
class Target:
    """One trial figure: a rate (0-1) with its acceptance band, its citation and verification status."""

    name: str
    value: float
    tolerance: float
    source: str
    verified: str = "primary"

    def __post_init__(self) -> None:
        if not 0.0 <= self.value <= 1.0:
            raise ValueError(f"target {self.name!r}: value {self.value} is not a rate in [0, 1]")
        if self.tolerance <= 0.0:
            raise ValueError(f"target {self.name!r}: tolerance must be > 0, got {self.tolerance}")

    def met(self, achieved: float) -> bool:
        """Whether ``achieved`` lies inside the acceptance band."""
        return abs(achieved - self.value) <= self.tolerance


@dataclass(frozen=True)
class Weighting:
    """Maximum-entropy weights (sum 1) on the plausible patients, and what they achieve."""

    weights: np.ndarray
    achieved: np.ndarray

    @property
    def effective_size(self) -> float:
        """Kish's effective sample size, 1 / sum(w^2): how many equally weighted patients it is worth."""
        return float(1.0 / np.sum(self.weights**2))


def maxent_weights(features: np.ndarray, targets: Sequence[Target], *, tolerance: float = 1e-6) -> Weighting:
    """Weights closest to uniform under which ``features.T @ w`` equals every target's value.

    ``features``: (patients, targets) per-patient outcome indicators or probabilities, one column per target.
    The dual (minimise ``logsumexp(F @ lam) - lam @ t``) is smooth and convex; its optimum gives
    ``w ~ exp(F @ lam)``. Raises :class:`CalibrationError` naming the targets outside the features' range (no
    weighting can reach them) or missed at the optimum.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[1] != len(targets):
        raise ValueError(f"features must be (patients, {len(targets)}), got shape {f.shape}")
    t = np.array([target.value for target in targets])
    unreachable = [tg.name for j, tg in enumerate(targets) if not f[:, j].min() <= tg.value <= f[:, j].max()]
    if unreachable:
        raise CalibrationError(f"no plausible patient mix reaches {', '.join(unreachable)}: widen the priors")
    centred = f - t

    def dual(lam: np.ndarray) -> tuple[float, np.ndarray]:
        z = centred @ lam
        value = logsumexp(z)
        w = np.exp(z - value)
        return float(value), centred.T @ w

    result = minimize(dual, np.zeros(len(targets)), jac=True, method="BFGS", options={"gtol": 1e-10, "maxiter": 10_000})
    z = centred @ result.x
    weights = np.exp(z - logsumexp(z))
    achieved = f.T @ weights
    if not (np.isfinite(weights).all() and np.isfinite(achieved).all() and np.isclose(weights.sum(), 1.0)):
        raise CalibrationError(f"the weighting diverged (no finite solution) for the targets "
                               f"{', '.join(t.name for t in targets)}: they cannot all be met by these patients")
    missed = [tg.name for tg, a in zip(targets, achieved, strict=True) if abs(a - tg.value) > tolerance]
    if missed:
        raise CalibrationError(f"the targets {', '.join(missed)} cannot be met together (achieved "
                               f"{np.round(achieved, 4).tolist()}): they conflict for these plausible patients")
    return Weighting(weights, achieved)


class VirtualPopulation:
    """Weighted plausible patients: named columns (one value per patient), weights and metadata.

    Stored as ``<path>.npz`` (columns and weights) beside ``<path>.json`` (metadata, human-readable).
    """

    def __init__(self, columns: Mapping[str, np.ndarray], weights: np.ndarray, metadata: Mapping | None = None):
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1 or len(w) == 0 or (w < 0).any() or not np.isclose(w.sum(), 1.0):
            raise ValueError("weights must be a non-empty vector of non-negative numbers summing to 1")
        self.columns = {k: np.asarray(v, dtype=np.float64) for k, v in columns.items()}
        bad = [k for k, v in self.columns.items() if v.shape != w.shape]
        if bad:
            raise ValueError(f"columns {bad} do not have one value per patient ({len(w)})")
        self.weights = w / w.sum()
        self.metadata = dict(metadata or {})
        self._cdf = np.cumsum(self.weights)

    def __len__(self) -> int:
        return len(self.weights)

    def column(self, name: str) -> np.ndarray:
        """One column (a clear error naming the columns otherwise)."""
        try:
            return self.columns[name]
        except KeyError:
            raise KeyError(f"virtual population has no column {name!r}; columns: {', '.join(self.columns)}") from None

    def draw(self, rng: np.random.Generator) -> int:
        """Index of one patient drawn with probability equal to its weight (one uniform from ``rng``)."""
        return int(min(np.searchsorted(self._cdf, rng.random(), side="right"), len(self) - 1))

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path.with_suffix(".npz"), weights=self.weights, **self.columns)
        path.with_suffix(".json").write_text(json.dumps(self.metadata, indent=1, default=_json_default) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> VirtualPopulation:
        path = Path(path)
        with np.load(path.with_suffix(".npz")) as data:
            columns = {k: data[k] for k in data.files if k != "weights"}
            weights = data["weights"]
        metadata = json.loads(path.with_suffix(".json").read_text())
        return cls(columns, weights, metadata)


def target_rows(targets: Sequence[Target], simulated: Sequence[float]) -> list[dict]:
    """Trial-vs-simulated rows (what ``clinsim calibrate`` prints and the metadata stores)."""
    return [{"target": t.name, "trial": t.value, "simulated": float(s), "tolerance": t.tolerance,
             "met": t.met(float(s)), "source": t.source, "verified": t.verified}
            for t, s in zip(targets, simulated, strict=True)]


def _json_default(value: object) -> object:
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
