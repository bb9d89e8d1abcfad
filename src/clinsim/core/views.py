"""Declarative observations and infos: one table per task generates the kernel, the docs and ``decode``.

An :class:`Observation` row names a raw measurement of the task (clinical units, returned by the task's
compiled ``measure``), its unit and its normalisation: ``transform(raw) / scale`` clipped to ``[0, high]``.
The same row writes the docstring's observation table and inverts the normalisation in :meth:`decode`
(heuristics read observations in clinical units through it instead of repeating the scales).

An :class:`Info` row maps an ``info`` key to a field of the patient or clinical record (or one column
of an array field, e.g. a model state), with an optional table of names for coded fields (outcome,
RECIST) or a numpy ufunc applied on reading: the info is a view of the records, so the single and the
vector env read the same values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clinsim.core.jit import jit
from clinsim.core.state import scalar_view

LINEAR, LOG10, LOG1P = range(3)
SINGLE_ENGINE_FIELDS = ("elapsed", "reward", "terminated")
TRANSFORMS = {"linear": LINEAR, "log10": LOG10, "log1p": LOG1P}


@dataclass(frozen=True)
class Observation:
    """One observation: ``measurement`` (a raw value of the task's ``measure``, in ``unit``), normalised as
    ``transform(raw) / scale`` clipped to ``[0, high]``. Transforms: ``linear`` (raw), ``log10``
    (log10(raw / ref + 1)), ``log1p`` (log(1 + raw / ref))."""

    measurement: str
    description: str
    unit: str
    scale: float
    transform: str = "linear"
    ref: float = 1.0
    high: float = 2.0

    def __post_init__(self) -> None:
        if self.transform not in TRANSFORMS:
            raise ValueError(f"{self.measurement}: unknown transform {self.transform!r}; "
                             f"valid: {', '.join(TRANSFORMS)}")

    @property
    def normalisation(self) -> str:
        """The normalisation in words, for the docstring's table."""
        ref = f" / {self.ref:g} {self.unit}" if self.ref != 1.0 else ""
        inner = {"linear": self.unit, "log10": f"log10(1 + {self.unit}{ref})" if ref else f"log10({self.unit} + 1)",
                 "log1p": f"log(1 + {self.unit}{ref})"}[self.transform]
        scale = {LOG1P: f"log(1 + {math.expm1(self.scale):.4g})"}.get(TRANSFORMS[self.transform], f"{self.scale:g}")
        clip = f", capped at {self.high:g}" if self.high != 2.0 else ""
        return f"{inner} / {scale}{clip}"


def log1p_scale(ratio: float) -> float:
    """``scale`` that maps ``log(1 + ratio)`` to 1 (libm's log1p, as the compiled kernels compute it)."""
    return math.log1p(ratio)


class ObservationTable:
    """The observations of one task, in order, over the measurements its ``measure`` returns."""

    def __init__(self, rows: Sequence[Observation], measurements: Sequence[str]) -> None:
        self.rows = tuple(rows)
        unknown = [r.measurement for r in self.rows if r.measurement not in measurements]
        if unknown:
            raise ValueError(f"observations of unknown measurements {unknown}; valid: {', '.join(measurements)}")
        self.columns = np.array([measurements.index(r.measurement) for r in self.rows], dtype=np.int64)
        self.kinds = np.array([TRANSFORMS[r.transform] for r in self.rows], dtype=np.int64)
        self.refs = np.array([r.ref for r in self.rows])
        self.scales = np.array([r.scale for r in self.rows])
        self.highs = np.array([r.high for r in self.rows])
        self.names = tuple(r.measurement for r in self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def index(self, measurement: str) -> int:
        return self.names.index(measurement)

    def decode(self, obs: np.ndarray, measurement: str) -> np.ndarray:
        """The raw value (clinical unit) of one observation column of a batch, inverting the normalisation
        (exact below the clip; a clipped value decodes to the clip)."""
        i = self.index(measurement)
        row = self.rows[i]
        v = np.asarray(obs)[..., i].astype(np.float64) * row.scale
        if row.transform == "log10":
            return (10.0**v - 1.0) * row.ref
        if row.transform == "log1p":
            return np.expm1(v) * row.ref
        return v

    def markdown(self, indent: str = "    ") -> str:
        """The docstring's observation table."""
        lines = [f"{indent}``Box(0, {max(self.highs):g}, ({len(self)},), float32)``:", "",
                 f"{indent}| index | observation | unit / normalisation |", f"{indent}|---|---|---|"]
        lines += [f"{indent}| {i} | {r.description} | {r.normalisation} |" for i, r in enumerate(self.rows)]
        return "\n".join(lines) + "\n"

    def kernel(self, measure, key: str):
        """Compiled ``observe(b, c, s, obs)``: patient ``b``'s normalised observations into ``obs[b]``."""
        columns, kinds, refs, scales, highs = self.columns, self.kinds, self.refs, self.scales, self.highs

        @jit(key=f"{measure.clinsim_key}|{key}|{columns.tolist()}|{kinds.tolist()}|{refs.tolist()}|"
                 f"{scales.tolist()}|{highs.tolist()}")
        def observe(b, c, s, obs):  # pragma: no cover - compiled
            raw = measure(c[b], s[b])
            for i in range(columns.shape[0]):
                v = raw[columns[i]]
                if kinds[i] == LOG10:
                    v = np.log10(v / refs[i] + 1.0)
                elif kinds[i] == LOG1P:
                    v = np.log1p(v / refs[i])
                obs[b, i] = min(max(v / scales[i], 0.0), highs[i])

        return observe


@dataclass(frozen=True)
class Info:
    """One ``info`` entry: ``key`` reads ``field`` (of the clinical or the patient record), or one ``column``
    of an array field; ``names`` turns a coded field into its name; ``ufunc`` (a numpy ufunc) is applied
    to the value read, for a value numpy computes differently from compiled code (numpy's vectorised
    ``cbrt`` rounds differently from the C library's, which numba calls)."""

    key: str
    field: str
    column: int | None = None
    names: tuple[str, ...] | None = None
    ufunc: Any = None


class InfoTable:
    """The info of one task as views of its records (see the module docstring)."""

    def __init__(self, rows: Sequence[Info], patient: np.dtype, clinical: np.dtype) -> None:
        self.rows = tuple(rows)
        by_record: dict[str, list[Info]] = {"patient": [], "clinical": []}
        for row in self.rows:
            record = "clinical" if row.field in clinical.names else "patient" if row.field in patient.names else None
            if record is None:
                raise ValueError(f"info {row.key!r}: no field {row.field!r}; fields: "
                                 f"{', '.join(clinical.names + patient.names)}")
            by_record[record].append(row)
        self.patient_rows, self.clinical_rows = tuple(by_record["patient"]), tuple(by_record["clinical"])
        self.patient_view = _view(patient, self.patient_rows)
        self.clinical_view = _view(clinical, self.clinical_rows)
        # a single env reads one patient's step in one ``item()``: the engine's fields, then the info's
        self.single_view = _view(clinical, (*(Info(f"_{f}", f) for f in SINGLE_ENGINE_FIELDS), *self.clinical_rows))
        self.names = {row.key: np.array(row.names) for row in self.rows if row.names is not None}
        self.ufuncs = {row.key: row.ufunc for row in self.rows if row.ufunc is not None}
        self._clinical_keys = tuple(row.key for row in self.clinical_rows)
        self._converted = tuple(row.key for row in self.clinical_rows if row.names is not None or row.ufunc is not None)
        self._coded = tuple((row.key, row.names) for row in self.clinical_rows if row.names is not None)
        self._computed = tuple((row.key, row.ufunc) for row in self.clinical_rows if row.ufunc is not None)

    def batch(self, patient: np.ndarray, clinical: np.ndarray) -> dict[str, np.ndarray]:
        """Arrays, one entry per patient: views of the clinical record (a step writes a new one), copies of
        the patient record (updated in place when a vector env replaces a patient)."""
        return {**self.patient_batch(patient), **self.clinical_batch(clinical)}

    def patient_batch(self, patient: np.ndarray) -> dict[str, np.ndarray]:
        pv = patient.view(self.patient_view)
        return {row.key: self._named(row.key, pv[row.key].copy()) for row in self.patient_rows}

    def clinical_batch(self, clinical: np.ndarray) -> dict[str, np.ndarray]:
        cv = clinical.view(self.clinical_view)
        info = {key: cv[key] for key in self._clinical_keys}
        for key in self._converted:
            info[key] = self._named(key, info[key])
        return info

    def _named(self, key: str, values: np.ndarray) -> np.ndarray:
        ufunc = self.ufuncs.get(key)
        if ufunc is not None:
            values = ufunc(values)
        names = self.names.get(key)
        return values if names is None else names[values]

    def patient_values(self, patient: np.ndarray) -> dict[str, object]:
        """One patient's (``patient``: a batch of one) patient-record entries as Python values."""
        return {k: v.item() for k, v in self.patient_batch(patient).items()}

    def single(self, single_view: np.ndarray, patient_keys: tuple[str, ...],
               patient_values: tuple[object, ...]) -> tuple[int, float, bool, dict[str, object]]:
        """One patient's ``(elapsed, reward, terminated, info)`` as Python values, from :meth:`view_of` its
        clinical record (one ``item()``) and its patient entries (fixed for the episode)."""
        values = single_view[0].item()
        info = dict(zip((*patient_keys, *self._clinical_keys), (*patient_values, *values[3:]), strict=True))
        for key, names in self._coded:
            info[key] = names[info[key]]
        for key, ufunc in self._computed:
            info[key] = ufunc(info[key]).item()
        return values[0], values[1], values[2], info

    def view_of(self, clinical: np.ndarray) -> np.ndarray:
        """The single-patient view of a clinical record (see :meth:`single`)."""
        return clinical.view(self.single_view)


def _view(dtype: np.dtype, rows: Sequence[Info]) -> np.dtype:
    """A record view with one scalar field per row (a column of an array field at its own offset)."""
    fields = {}
    for row in rows:
        base, offset = dtype.fields[row.field][:2]
        if row.column is None:
            if base.shape:
                raise ValueError(f"info {row.key!r}: field {row.field!r} has shape {base.shape}: name a column")
            fields[row.key] = (base, offset)
        else:
            fields[row.key] = (base.base, offset + row.column * base.base.itemsize)
    named = np.dtype({"names": list(fields), "formats": [f for f, _ in fields.values()],
                      "offsets": [o for _, o in fields.values()], "itemsize": dtype.itemsize})
    return named if fields else scalar_view(dtype, ())
