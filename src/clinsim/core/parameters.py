"""Literature parameters: one source of truth per parameter, with unit, range and source.

A :class:`ParameterSet` is an ordered, immutable table of :class:`Parameter` entries. Dynamics take
parameters as a float64 vector (one row per patient), indexed by :meth:`ParameterSet.index`, so the
same table feeds the compiled batch integrator, the scipy reference solve, the cohort sampler and
the documentation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np


class ParameterRangeError(ValueError):
    """A parameter value lies outside its literature range."""


@dataclass(frozen=True)
class Parameter:
    """One model parameter.

    Attributes:
        name: identifier used in code (``snake_case`` with the unit where it helps).
        value: published (reference-patient) value.
        unit: physical unit, e.g. ``"1/day"``.
        low, high: literature range; values outside it are rejected unless explicitly allowed.
        source: citation the value and range come from.
        description: what the parameter means.
        cv: between-patient coefficient of variation used by the cohort sampler (0 = fixed).
    """

    name: str
    value: float
    unit: str
    low: float
    high: float
    source: str
    description: str
    cv: float = 0.0

    def __post_init__(self) -> None:
        if not (self.low <= self.value <= self.high):
            raise ParameterRangeError(
                f"parameter {self.name!r}: published value {self.value} outside its range "
                f"[{self.low}, {self.high}] {self.unit}"
            )
        if self.cv < 0:
            raise ValueError(f"parameter {self.name!r}: cv must be >= 0, got {self.cv}")


@dataclass(frozen=True)
class Constraint:
    """A relation between parameters that the model needs (checked like a range)."""

    description: str
    holds: Callable[[Mapping[str, np.ndarray]], np.ndarray]  # columns by name -> bool per row


class ParameterSet:
    """Ordered immutable collection of parameters for one model, with optional joint constraints."""

    def __init__(self, name: str, parameters: Iterable[Parameter], constraints: Iterable[Constraint] = ()) -> None:
        self.name = name
        self.constraints = tuple(constraints)
        self._params: tuple[Parameter, ...] = tuple(parameters)
        self._index = {p.name: i for i, p in enumerate(self._params)}
        if len(self._index) != len(self._params):
            raise ValueError(f"{name}: duplicate parameter names")
        self.defaults = np.array([p.value for p in self._params], dtype=np.float64)
        self.defaults.setflags(write=False)
        self.low = np.array([p.low for p in self._params], dtype=np.float64)
        self.high = np.array([p.high for p in self._params], dtype=np.float64)
        self._cv = np.array([p.cv for p in self._params], dtype=np.float64)
        self._sigma = np.sqrt(np.log1p(self._cv**2))  # log-normal sigma of each between-patient CV

    def __len__(self) -> int:
        return len(self._params)

    def __iter__(self):
        return iter(self._params)

    def __getitem__(self, name: str) -> Parameter:
        return self._params[self.index(name)]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self._params)

    def index(self, name: str) -> int:
        """Column of ``name`` in a parameter vector."""
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"{self.name}: unknown parameter {name!r}; valid: {', '.join(self.names)}") from None

    def vector(self, overrides: Mapping[str, float] | None = None, *, allow_out_of_range: bool = False) -> np.ndarray:
        """Parameter vector with the published values, optionally overridden, validated."""
        values = self.defaults.copy()
        for key, val in (overrides or {}).items():
            values[self.index(key)] = float(val)
        self.validate(values, allow_out_of_range=allow_out_of_range)
        return values

    def violations(self, values: np.ndarray) -> list[str]:
        """Human-readable list of values outside their literature range (empty if all valid)."""
        values = np.asarray(values, dtype=np.float64)
        if values.shape[-1] != len(self):
            raise ValueError(f"{self.name}: expected {len(self)} parameters, got shape {values.shape}")
        flat = values.reshape(-1, len(self))
        out = []
        for j, p in enumerate(self._params):
            col = flat[:, j]
            bad = ~np.isfinite(col) | (col < p.low) | (col > p.high)
            if bad.any():
                v = col[bad][0]
                out.append(f"{p.name}={v:g} {p.unit} outside [{p.low:g}, {p.high:g}] ({p.source})")
        columns = {p.name: flat[:, j] for j, p in enumerate(self._params)}
        for c in self.constraints:
            if not np.all(c.holds(columns)):
                out.append(f"constraint violated: {c.description}")
        return out

    def validate(self, values: np.ndarray, *, allow_out_of_range: bool = False) -> None:
        """Raise :class:`ParameterRangeError` if any value is non-finite or outside its range."""
        bad = self.violations(values)
        if not bad:
            return
        values = np.asarray(values, dtype=np.float64)
        if allow_out_of_range and np.isfinite(values).all():
            return
        raise ParameterRangeError(f"{self.name}: " + "; ".join(bad) + " (pass allow_out_of_range=True to override)")

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """One virtual patient: log-normal around the published value (median) with each ``cv``,
        truncated to the literature range by clipping."""
        return self.from_standard_normal(rng.standard_normal(len(self._params)))

    def from_standard_normal(self, z: np.ndarray) -> np.ndarray:
        """Virtual patients from standard-normal draws ``z`` (..., n_parameters), as :meth:`sample` does."""
        values = self.defaults * np.exp(self._sigma * z)
        return np.minimum(np.maximum(values, self.low), self.high)

    def markdown_table(self) -> str:
        """Documentation table: name, value, unit, range, between-patient CV, source."""
        rows = [
            f"### {self.name}",
            "",
            "| parameter | value | unit | range | CV | meaning | source |",
            "|---|---|---|---|---|---|---|",
        ]
        for p in self._params:
            rows.append(
                f"| `{p.name}` | {p.value:g} | {p.unit} | {p.low:g} - {p.high:g} | {p.cv:g} | "
                f"{p.description} | {p.source} |"
            )
        rows += [""] + [f"Constraint: {c.description}" for c in self.constraints]
        return "\n".join(rows) + "\n"
