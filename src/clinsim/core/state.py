"""Named per-patient state: fields declared once, stored as numpy record arrays that compiled kernels address by name.

A task declares two lists of :class:`Field`:

* the **patient** record: what is drawn at reset and never changes during an episode (model parameters,
  pre-drawn random numbers, the baseline tumour);
* the **clinical** record: what a step advances (model state, counters, grades, the last reward).

Each becomes a record dtype; a batch of patients is an array of records, and a compiled kernel receives
one patient's record (``c[b]``, ``s[b]``) and reads or writes its fields as attributes (``s.y[0]``,
``t.week = s.week + 1``). A misspelt field fails when numba compiles the kernel; a field declared twice
fails at import. One array per record keeps a kernel's argument list short (measured: a record costs
0.4 us per call against 2.2 us for a named tuple of 39 arrays).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Field:
    """One per-patient field: ``name``, numpy ``dtype`` and per-patient ``shape`` (``()``: a scalar)."""

    name: str
    dtype: str = "f8"
    shape: tuple[int, ...] = ()


def record_dtype(fields: Iterable[Field]) -> np.dtype:
    """The aligned record dtype of ``fields`` (names must be unique Python identifiers)."""
    fields = tuple(fields)
    seen: set[str] = set()
    for f in fields:
        if not f.name.isidentifier() or f.name in seen:
            raise ValueError(f"field name {f.name!r} is {'declared twice' if f.name in seen else 'not an identifier'}")
        seen.add(f.name)
    return np.dtype([(f.name, f.dtype, f.shape) for f in fields], align=True)


def scalar_view(dtype: np.dtype, names: Iterable[str]) -> np.dtype:
    """A dtype that views only the scalar fields ``names`` of a record (same offsets and item size), so that
    ``record.view(...)[i].item()`` reads them as one tuple of Python scalars."""
    names = tuple(names)
    return np.dtype({"names": list(names), "formats": [dtype.fields[n][0] for n in names],
                     "offsets": [dtype.fields[n][1] for n in names], "itemsize": dtype.itemsize})


class State:
    """A batch of patients: the ``patient`` and ``clinical`` record arrays and the patients' labels.

    ``state["name"]`` is the field ``name`` of either record (a view, one row per patient). Treated as
    immutable (a step returns a new one); a plain class because the single env makes one per step.
    """

    __slots__ = ("clinical", "label", "patient")

    def __init__(self, patient: np.ndarray, clinical: np.ndarray, label: np.ndarray) -> None:
        self.patient = patient
        self.clinical = clinical
        self.label = label

    def __getstate__(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.patient, self.clinical, self.label

    def __setstate__(self, state: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        self.patient, self.clinical, self.label = state

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self.clinical.dtype.names:
            return self.clinical[name]
        if name in self.patient.dtype.names:
            return self.patient[name]
        fields = self.clinical.dtype.names + self.patient.dtype.names
        raise KeyError(f"no state field {name!r}; fields: {', '.join(fields)}")

    def __len__(self) -> int:
        return len(self.clinical)

    def take(self, index: np.ndarray) -> State:
        """Sub-batch (fancy indexing: a copy)."""
        return State(rows(self.patient)[index].view(self.patient.dtype),
                     rows(self.clinical)[index].view(self.clinical.dtype), self.label[index])

    def put(self, index: np.ndarray, values: State) -> None:
        """Write a sub-batch into this batch's arrays, in place."""
        rows(self.patient)[index] = rows(values.patient)
        rows(self.clinical)[index] = rows(values.clinical)
        self.label[index] = values.label


def rows(records: np.ndarray) -> np.ndarray:
    """Records as opaque rows: copies and row assignments at memcpy speed (numpy copies structured arrays
    field by field, ~7x slower)."""
    return records.view(np.dtype((np.void, records.dtype.itemsize)))
