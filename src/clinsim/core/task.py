"""Pure, batched task definitions (the "task" half of a physics/task split).

A :class:`Task` turns a model into a decision problem. It never holds per-episode state: the
environment adapters in :mod:`clinsim.core.env` keep a ``State`` (a dict of arrays with a leading
batch axis) and call the task's pure functions on it. All randomness of an episode (the patient and
every stochastic event) is drawn from the environment's generator in :meth:`Task.sample_patients`, so
the single environment and the vector environment give identical trajectories for the same seeds.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from clinsim.core.jit import jit
from clinsim.core.parameters import ParameterRangeError, ParameterSet
from clinsim.core.render import Panel

State = dict[str, np.ndarray]


class InvalidActionError(ValueError):
    """An action that is not a member of the environment's action space."""


PATIENT_LABEL_DTYPE = "U24"  # "<prefix>-" + a 31-bit id, or "reference"


def patient_labels(patient_ids: Sequence[int], prefix: str) -> np.ndarray:
    """The info's patient labels (``reference`` for id -1, else ``<prefix>-<id>``), fixed-width so that a
    vector env can store later patients' labels in the same array."""
    return np.array(["reference" if i < 0 else f"{prefix}-{i}" for i in patient_ids], dtype=PATIENT_LABEL_DTYPE)


def single_info(info: dict[str, np.ndarray]) -> dict[str, Any]:
    """A batch-of-one info as Python scalars (arrays for entries that are arrays per patient)."""
    return {k: v.item() if v.size == 1 else v[0] for k, v in info.items()}


def take(state: State, index: np.ndarray) -> State:
    """Sub-batch of ``state`` (fancy indexing: a copy)."""
    return {k: v[index] for k, v in state.items()}


def put(state: State, index: np.ndarray, values: State, copy: Collection[str] | None = None) -> None:
    """Write a sub-batch into ``state``. The entries named in ``copy`` (default: all) become updated
    copies, so that arrays already handed out (the previous step's infos) never change; the others are
    updated in place."""
    for k, v in values.items():
        if copy is None or k in copy:
            state[k] = state[k].copy()
        state[k][index] = v


class Task(ABC):
    """One treatment-decision problem, as pure functions over a batch of patients.

    Subclasses define the spaces, ``horizon`` (decisions per episode, used by the registration's
    time limit), ``step_unit``, ``render_panels`` (which ``info`` keys the dashboard plots), plus the
    abstract methods below.
    """

    env_id: ClassVar[str]
    horizon: ClassVar[int]
    step_unit: ClassVar[str]
    step_key: ClassVar[str] = "step"
    no_treatment_action: ClassVar[Any] = 0  # the action that gives nothing (baseline "none")
    render_panels: ClassVar[tuple[Panel, ...]]
    observation_space: spaces.Box
    action_space: spaces.Space

    patients: ClassVar[tuple[str, ...]] = ("cohort", "reference")
    parameter_set: ClassVar[ParameterSet]  # the per-patient parameter vector ``state["params"]``

    def __init__(self, patient: str = "cohort", parameters: Mapping[str, float] | None = None,
                 allow_out_of_range: bool = False) -> None:
        """``patient``: "cohort" (a virtual patient per reset) or "reference" (published values).
        ``parameters``: values fixed for every patient (e.g. a parameter sweep), validated against the
        literature ranges unless ``allow_out_of_range``."""
        if patient not in self.patients:
            raise ValueError(f"{self.env_id}: unknown patient {patient!r}; valid: {', '.join(self.patients)}")
        self.patient = patient
        pset = self.parameter_set
        unknown = sorted(set(parameters or {}) - set(pset.names))
        if unknown:
            raise ValueError(f"{self.env_id}: unknown parameter(s) {', '.join(unknown)}; "
                             f"valid: {', '.join(pset.names)}")
        self._override_index = np.array([pset.index(k) for k in parameters or {}], dtype=np.int64)
        self._override_value = np.array([float(v) for v in (parameters or {}).values()], dtype=np.float64)
        fixed = pset.defaults.copy()
        fixed[self._override_index] = self._override_value
        try:
            pset.validate(fixed, allow_out_of_range=allow_out_of_range)
        except ParameterRangeError as exc:
            raise ParameterRangeError(f"{self.env_id}: {exc}") from None

    def patient_parameters(self, params: np.ndarray) -> np.ndarray:
        """Apply the constructor's fixed ``parameters`` to freshly drawn parameter vectors (..., n)."""
        params[..., self._override_index] = self._override_value
        return params

    def check_running(self, state: State) -> None:
        """Refuse to step an episode past its horizon (its random numbers are drawn for the horizon)."""
        if self.elapsed(state).max() >= self.horizon:
            raise RuntimeError(f"{self.env_id}: episode is over ({self.horizon} {self.step_unit} steps); "
                               f"call reset()")

    @abstractmethod
    def sample_patients(self, rngs: Sequence[np.random.Generator]) -> State:
        """Initial states of a batch of patients, patient ``i`` drawn from ``rngs[i]`` alone, including every
        random number its episode uses (so a patient does not depend on the batch it is drawn in)."""

    @abstractmethod
    def step(self, state: State, action: np.ndarray) -> tuple[State, np.ndarray, np.ndarray]:
        """Advance one decision step. Returns ``(next_state, reward, terminated)``; never mutates ``state``."""

    @abstractmethod
    def observe(self, state: State) -> np.ndarray:
        """Normalised observations, float32 (batch, obs_dim)."""

    @abstractmethod
    def info(self, state: State) -> dict[str, np.ndarray]:
        """Clinical state and outcome per patient, arrays with a leading batch axis."""

    def elapsed(self, state: State) -> np.ndarray:
        """Decisions taken so far in each patient's episode."""
        return state[self.step_key]

    # ------------------------------------------------------------------ one patient (the single env)
    def view_single(self, state: State) -> tuple[np.ndarray, dict[str, Any]]:
        """Observation and info (Python scalars) of a batch of one, as the single env returns them."""
        return self.observe(state)[0], single_info(self.info(state))

    def step_single(self, state: State, action: Any, env_name: str) -> tuple[State, np.ndarray, float, bool,
                                                                               dict[str, Any]]:
        """The single env's step: ``(next_state, observation, reward, terminated, info)`` for a batch of one.

        The batched functions on one patient; a task may override it with a fused compiled path (its
        results must stay identical, tested for every environment against the vector env).
        """
        actions = self.check_actions(np.asarray(action)[None], 1, env_name)
        state, reward, terminated = self.step(state, actions)
        obs, info = self.view_single(state)
        return state, obs, float(reward[0]), bool(terminated[0]), info

    def clinical_metrics(self, final_info: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-patient clinical outcomes at the end of an episode (numbers, for evaluation tables).

        The default reports each outcome category as a 0/1 indicator; tasks add their own metrics.
        """
        return {f"outcome_{o}": (final_info["outcome"] == o).astype(float) for o in np.unique(final_info["outcome"])}

    # ------------------------------------------------------------------ actions
    @functools.cached_property
    def _integer_bounds(self) -> tuple[Any, Any] | None:
        """(low, high) of a Discrete or MultiDiscrete action space (high exclusive); None otherwise."""
        space = self.action_space
        if isinstance(space, spaces.Discrete):
            return space.start, space.start + space.n
        if isinstance(space, spaces.MultiDiscrete):
            return space.start, space.start + space.nvec
        return None

    @functools.cached_property
    def _flat_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The action space's bounds per action component, flat (int64 [low, high) or float64 [low, high])."""
        space = self.action_space
        if isinstance(space, spaces.Box):
            return space.low.astype(np.float64).ravel(), space.high.astype(np.float64).ravel()
        low, high = self._integer_bounds
        size = int(np.prod(space.shape))
        return (np.broadcast_to(np.asarray(low, dtype=np.int64), space.shape).reshape(size).copy(),
                np.broadcast_to(np.asarray(high, dtype=np.int64), space.shape).reshape(size).copy())

    def check_actions(self, actions: Any, n_batch: int, env_name: str | None = None) -> np.ndarray:
        """Validate a batch of actions against ``action_space`` and return them as an array.

        Rule for continuous (Box) actions: non-finite values raise, finite values outside the bounds
        are clipped to the bounds (the documented out-of-bounds rule). Discrete actions must be members.
        """
        space = self.action_space
        bounds = self._integer_bounds
        if type(actions) is np.ndarray and actions.shape == (n_batch, *space.shape):
            # the common cases first, in one compiled pass: an int64 batch for a discrete space, a float
            # batch for a Box (anything else, or a bad action, takes the checks below)
            low, high = self._flat_bounds
            if actions.dtype == np.int64 and bounds is not None:
                if _integers_within(actions.reshape(n_batch, -1), low, high):
                    return actions
            elif actions.dtype in (np.float32, np.float64) and bounds is None:
                clipped = np.empty((n_batch, len(low)))
                if _finite_clipped(actions.reshape(n_batch, -1), low, high, clipped):
                    return clipped.reshape(actions.shape)
        name = env_name or type(self).env_id
        try:
            arr = np.asarray(actions)
        except Exception as exc:  # noqa: BLE001 - any conversion failure is the caller's bad input
            raise InvalidActionError(f"{name}: action {actions!r} is not array-like; valid space: {space}") from exc
        expected = (n_batch, *space.shape)
        if arr.shape != expected:
            raise InvalidActionError(
                f"{name}: action {actions!r} has shape {arr.shape}, expected {expected} for space {space}"
            )
        if isinstance(space, spaces.Box):
            if arr.dtype.kind not in "fiu":
                raise InvalidActionError(f"{name}: action {actions!r} must be real numbers; valid space: {space}")
            arr = arr.astype(np.float64)
            if not np.isfinite(arr).all():
                raise InvalidActionError(f"{name}: action {actions!r} contains NaN or infinity; valid space: {space}")
            return np.minimum(np.maximum(arr, space.low), space.high)
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
            if np.issubdtype(arr.dtype, np.floating) and np.isfinite(arr).all() and (arr == np.round(arr)).all():
                arr = arr.astype(np.int64)
            else:
                raise InvalidActionError(f"{name}: action {actions!r} must be integers; valid space: {space}")
        arr = arr.astype(np.int64)
        if bounds is None:  # pragma: no cover - only Box, Discrete and MultiDiscrete are used
            raise TypeError(f"unsupported action space {space}")
        low, high = bounds
        if ((arr < low) | (arr >= high)).any():
            raise InvalidActionError(f"{name}: action {actions!r} outside the valid space {space}")
        return arr


@jit
def _integers_within(actions, low, high):  # pragma: no cover - compiled
    """Whether every ``low[j] <= actions[i, j] < high[j]``."""
    for i in range(actions.shape[0]):
        for j in range(actions.shape[1]):
            if actions[i, j] < low[j] or actions[i, j] >= high[j]:
                return False
    return True


@jit
def _finite_clipped(actions, low, high, out):  # pragma: no cover - compiled
    """``out = actions`` clipped to ``[low, high]`` per component; False if any action is not finite."""
    for i in range(actions.shape[0]):
        for j in range(actions.shape[1]):
            x = np.float64(actions[i, j])
            if not np.isfinite(x):
                return False
            out[i, j] = min(max(x, low[j]), high[j])
    return True
