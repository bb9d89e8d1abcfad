"""Tasks: a model turned into a decision problem, written as per-patient pieces that the engine composes.

A task declares, once:

* its state (:mod:`clinsim.core.state`): ``patient_fields`` (drawn at reset, constant during an episode;
  the parameter vector ``params`` is added) and ``clinical_fields`` (advanced by a step; the engine adds
  ``elapsed`` decisions, the last ``reward``, ``terminated`` and, with an integration, the model ``inputs``);
* its views (:mod:`clinsim.core.views`): ``measurements`` and ``observations``, ``infos``;
* its dynamics: ``integration`` (a :class:`FixedStep` of its ODE model, or None), and two compiled
  per-patient pieces ``before(a, c, s, t) -> duration`` (decide the model inputs from the action row
  ``a``, the patient record ``c`` and the current clinical record ``s``; ``t`` starts as a copy of ``s``)
  and ``after(a, c, s, t)`` (bookkeeping, grades, ``t.reward``, ``t.terminated``), plus
  ``measure(c, t)`` (the raw measurements, floats).

The engine (:class:`Task`) owns everything else: the record arrays, the integration between the two
pieces (per patient for small batches; for large ones every patient's ``before``, the whole batch in
SIMD blocks, then every ``after``: the same arithmetic), the fused single-env step, action checks,
refusing finished episodes, observations and infos. A task never holds per-episode state: the
environment adapters in :mod:`clinsim.core.env` keep a :class:`~clinsim.core.state.State` and call the
task's pure functions on it. All randomness of an episode is drawn from the environment's generator in
:meth:`Task.sample_patients`, so the single and the vector environment give identical trajectories.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np
from gymnasium import spaces

from clinsim.core.batch import AFTER_INTEGRATION, BEFORE_INTEGRATION, FUSED, BatchKernel
from clinsim.core.jit import jit
from clinsim.core.measurement import Measured, clinical_task
from clinsim.core.parameters import ParameterRangeError, ParameterSet
from clinsim.core.render import Panel
from clinsim.core.state import Field, State, record_dtype
from clinsim.core.views import Info, InfoTable, Observation, ObservationTable


class InvalidActionError(ValueError):
    """An action that is not a member of the environment's action space."""


class EpisodeOverError(RuntimeError):
    """A step after the episode ended (terminated, or at the task's horizon): call ``reset()``."""


class NonFiniteStateError(RuntimeError):
    """The model gave NaN or infinity for a patient (parameters far outside their literature range, or an
    adaptive integration over its step budget): the error names the patient's parameters."""


PATIENT_LABEL_DTYPE = "U24"  # "<prefix>-" + a 31-bit id, or "reference"


def patient_labels(patient_ids: Sequence[int], prefix: str) -> np.ndarray:
    """The info's patient labels (``reference`` for id -1, else ``<prefix>-<id>``), fixed-width so that a
    vector env can store later patients' labels in the same array."""
    return np.array(["reference" if i < 0 else f"{prefix}-{i}" for i in patient_ids], dtype=PATIENT_LABEL_DTYPE)


class FixedStep(NamedTuple):
    """Integrate the clinical field ``y`` with the model ``inputs`` and the patient's ``params`` between
    ``before`` and ``after``: ``n_steps`` DOP853 steps over the duration ``before`` returns.
    ``nonnegative``: every model state is an amount, so values below zero are round-off and are
    floored at zero after the integration."""

    model: type
    n_steps: int
    nonnegative: bool = True


ENGINE_FIELDS = (Field("elapsed", "i8"), Field("reward"), Field("terminated", "?"))


class Task(ABC):
    """One treatment-decision problem over a batch of patients (see the module docstring).

    Subclasses set the class attributes below; concrete tasks (with an ``env_id``) get their record
    dtypes, tables and compiled kernels when the class is created.
    """

    env_id: ClassVar[str]
    horizon: ClassVar[int]
    step_unit: ClassVar[str]
    no_treatment_action: ClassVar[Any] = 0  # the action that gives nothing (baseline "none")
    render_panels: ClassVar[tuple[Panel, ...]]
    action_space: ClassVar[spaces.Space]
    label_prefix: ClassVar[str] = "patient"

    patients: ClassVar[tuple[str, ...]] = ("cohort", "reference")
    parameter_set: ClassVar[ParameterSet]  # the per-patient parameter vector ``params``
    patient_fields: ClassVar[tuple[Field, ...]] = ()
    clinical_fields: ClassVar[tuple[Field, ...]]
    measurements: ClassVar[tuple[str, ...]]
    observations: ClassVar[tuple[Observation, ...]]
    infos: ClassVar[tuple[Info, ...]]
    # the bedside view (observation="clinical", :mod:`clinsim.core.measurement`); none declared: state mode only
    bedside_measurements: ClassVar[tuple[str, ...]] = ()
    bedside: ClassVar[Any]  # compiled bedside(c, t) -> tuple of floats
    clinical_observations: ClassVar[tuple[Observation | Measured, ...]] = ()
    clinical: ClassVar[type[Task] | None] = None  # the clinical-mode class, made by the engine
    integration: ClassVar[FixedStep | None] = None
    # declared lower bound of each model state (None: all 0, amounts); the numerics sweep checks it
    state_low: ClassVar[tuple[float, ...] | None] = None
    before: ClassVar[Any]  # compiled before(a, c, s, t) -> float (the integration's duration)
    after: ClassVar[Any]  # compiled after(a, c, s, t)
    measure: ClassVar[Any]  # compiled measure(c, t) -> tuple of floats

    # made by the engine
    patient_dtype: ClassVar[np.dtype]
    clinical_dtype: ClassVar[np.dtype]
    observation_table: ClassVar[ObservationTable]
    info_table: ClassVar[InfoTable]
    observation_space: ClassVar[spaces.Box]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "env_id" in cls.__dict__:
            _compose(cls)

    def __init__(self, patient: str = "cohort", parameters: Mapping[str, float] | None = None,
                 allow_out_of_range: bool = False) -> None:
        """``patient``: "cohort" (a virtual patient per reset) or "reference" (published values).
        ``parameters``: values fixed for every patient (e.g. a parameter sweep), validated against the
        literature ranges unless ``allow_out_of_range``."""
        if patient not in self.patients:
            raise ValueError(f"{self.name}: unknown patient {patient!r}; valid: {', '.join(self.patients)}")
        self.patient = patient
        pset = self.parameter_set
        unknown = sorted(set(parameters or {}) - set(pset.names))
        if unknown:
            raise ValueError(f"{self.name}: unknown parameter(s) {', '.join(unknown)}; "
                             f"valid: {', '.join(pset.names)}")
        values = []
        for key, value in (parameters or {}).items():
            if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating) \
                    or not np.isfinite(value):
                raise ValueError(f"{self.name}: parameter {key!r} must be a finite real number, got {value!r} "
                                 f"({pset[key].unit}, literature range {pset[key].low:g}-{pset[key].high:g})")
            values.append(float(value))
        self._override_index = np.array([pset.index(k) for k in parameters or {}], dtype=np.int64)
        self._override_value = np.array(values, dtype=np.float64)
        fixed = pset.defaults.copy()
        fixed[self._override_index] = self._override_value
        try:
            pset.validate(fixed, allow_out_of_range=allow_out_of_range)
        except ParameterRangeError as exc:
            raise ParameterRangeError(f"{self.name}: {exc}") from None

    @property
    def name(self) -> str:
        """The environment this task is, for messages (a tiered task names its tier's ID)."""
        return self.env_id

    # ------------------------------------------------------------------ patients
    def new_state(self, patient_ids: Sequence[int]) -> State:
        """Zeroed records for a batch of patients with these ids (-1: the reference patient)."""
        n = len(patient_ids)
        return State(np.zeros(n, self.patient_dtype), np.zeros(n, self.clinical_dtype),
                     patient_labels(patient_ids, self.label_prefix))

    def patient_parameters(self, params: np.ndarray) -> np.ndarray:
        """Apply the constructor's fixed ``parameters`` to freshly drawn parameter vectors (..., n)."""
        params[..., self._override_index] = self._override_value
        return params

    @abstractmethod
    def sample_patients(self, rngs: Sequence[np.random.Generator]) -> State:
        """Initial states of a batch of patients, patient ``i`` drawn from ``rngs[i]`` alone, including every
        random number its episode uses (so a patient does not depend on the batch it is drawn in)."""

    # ------------------------------------------------------------------ dynamics
    def step(self, state: State, actions: np.ndarray, env_name: str | None = None) -> tuple[State, np.ndarray,
                                                                                               np.ndarray]:
        """Advance one decision step (``actions`` checked, see :meth:`check_actions`). Returns
        ``(next_state, reward, terminated)``; never mutates ``state``. Raises :class:`EpisodeOverError`
        for a patient whose episode has ended."""
        if _refused(state.clinical, self.horizon):
            self._refuse(state, env_name)
        n = len(state)
        new = np.empty(n, self.clinical_dtype)
        durations = np.empty(n)
        action_rows = actions.reshape(n, -1)
        if self.integration is None or n < self._kernel.parallel_from:
            self._kernel(n, FUSED, action_rows, state.patient, state.clinical, new, durations)
        else:
            self._kernel(n, BEFORE_INTEGRATION, action_rows, state.patient, state.clinical, new, durations)
            self.integration.model.integrate(new["y"], new["inputs"], state.patient["params"], durations,
                                             self.integration.n_steps)
            self._kernel(n, AFTER_INTEGRATION, action_rows, state.patient, state.clinical, new, durations)
        if not _finite(new):
            self._non_finite(state, new, env_name)
        return State(state.patient, new, state.label), new["reward"].copy(), new["terminated"].copy()

    def _non_finite(self, state: State, new: np.ndarray, env_name: str | None) -> None:
        bad = int(np.flatnonzero(~(np.isfinite(new["reward"]) & np.isfinite(new["y"]).all(axis=1)))[0])
        why = self._parameters_text(state.patient["params"][bad])
        raise NonFiniteStateError(f"{env_name or self.name}: patient {state.label[bad]}: the model gave NaN or "
                                  f"infinity at step {int(state.clinical['elapsed'][bad]) + 1} ({why}); "
                                  f"call reset(), with parameters in range")

    def _parameters_text(self, params: np.ndarray) -> str:
        """A patient's parameters for an error: those outside their literature range, else all of them."""
        pset = self.parameter_set
        outside = [f"{p.name}={v:g} (range {p.low:g}-{p.high:g} {p.unit})" for p, v in zip(pset, params, strict=True)
                   if not p.low <= v <= p.high]
        if outside:
            more = f" and {len(outside) - 6} more" if len(outside) > 6 else ""
            return "parameters outside their literature range: " + ", ".join(outside[:6]) + more
        return "parameters: " + ", ".join(f"{k}={v:g}" for k, v in zip(pset.names, params, strict=True))

    def integration_intervals(self, state: State, actions: np.ndarray) -> tuple[np.ndarray, ...]:
        """``(y, inputs, params, durations)``: the model integration a step from ``state`` would do (for the
        accuracy checks against scipy; a task with an ``integration``)."""
        n = len(state)
        new, durations = np.empty(n, self.clinical_dtype), np.empty(n)
        self._kernel(n, BEFORE_INTEGRATION, actions.reshape(n, -1), state.patient, state.clinical, new, durations)
        return new["y"].copy(), new["inputs"].copy(), state.patient["params"].copy(), durations

    def _refuse(self, state: State, env_name: str | None) -> None:
        name = env_name or self.name
        ended = state.clinical["terminated"]
        if ended.any():
            outcome = self.info(state.take(np.flatnonzero(ended)[:1])).get("outcome", ["terminated"])[0]
            raise EpisodeOverError(f"{name}: the episode has ended (terminated: {outcome}); call reset()")
        raise EpisodeOverError(f"{name}: the episode is over ({self.horizon} {self.step_unit} steps); call reset()")

    def elapsed(self, state: State) -> np.ndarray:
        """Decisions taken so far in each patient's episode."""
        return state.clinical["elapsed"]

    # ------------------------------------------------------------------ views
    def observe(self, state: State) -> np.ndarray:
        """Normalised observations, float32 (batch, obs_dim)."""
        n = len(state)
        obs = np.empty((n, len(self.observation_table)), dtype=np.float32)
        self._observe(n, state.patient, state.clinical, obs)
        if not _finite_values(obs):
            bad = np.flatnonzero(~np.isfinite(obs).all(axis=1))[0]
            raise NonFiniteStateError(f"{self.name}: patient {state.label[bad]}: a NaN observation "
                                      f"({self._parameters_text(state.patient['params'][bad])}); call reset(), "
                                      f"with parameters in range")
        return obs

    def info(self, state: State) -> dict[str, np.ndarray]:
        """Clinical state and outcome per patient, arrays with a leading batch axis."""
        return {"patient": state.label, **self.info_table.batch(state.patient, state.clinical)}

    def decode(self, obs: np.ndarray, measurement: str) -> np.ndarray:
        """One observation of a batch in its clinical unit (see :meth:`ObservationTable.decode`)."""
        return self.observation_table.decode(obs, measurement)

    def clinical_metrics(self, final_info: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-patient clinical outcomes at the end of an episode (numbers, for evaluation tables).

        The default reports each outcome category as a 0/1 indicator; tasks add their own metrics.
        """
        return {f"outcome_{o}": (final_info["outcome"] == o).astype(float) for o in np.unique(final_info["outcome"])}

    # ------------------------------------------------------------------ one patient (the single env)
    def step_single(self, patient: np.ndarray, clinical: np.ndarray, out: np.ndarray, action: Any,
                    env_name: str) -> np.ndarray:
        """The single env's step of a batch of one from ``clinical`` into ``out`` (preallocated): one
        compiled call (action check, transition, observation) for the common action types; anything else,
        or a bad action, or a finished episode takes :meth:`check_actions` and :meth:`step`, which convert
        or raise. Returns the observation; reward, termination and info are read from ``out``."""
        obs = np.empty(self.observation_space.shape[0], dtype=np.float32)
        row = self._single_action_row(action)
        if row is None or self._single(row, self._checked, patient, clinical, out, self._durations, obs) != 0:
            # a batch of one (an array subclass, e.g. a masked array, stays what it is for the checks)
            batch = action[None] if isinstance(action, np.ndarray) else np.asarray(action)[None]
            actions = self.check_actions(batch, 1, env_name)
            state = State(patient, clinical, np.empty(1, dtype=PATIENT_LABEL_DTYPE))
            new, _, _ = self.step(state, actions, env_name)
            out[:] = new.clinical
            self._observe(1, patient, out, obs.reshape(1, -1))
        return obs

    def _single_action_row(self, action: Any) -> np.ndarray | None:
        """The action as a flat array the fused step checks, for the common types (None: the general path)."""
        if type(action) is np.ndarray and action.shape == self.action_space.shape and action.ndim == 1:
            if self._box:
                return action if action.dtype.char in "fd" and action.dtype.isnative else None
            return action if action.dtype == np.int64 else None
        if not self._box and self.action_space.shape == () and (
                type(action) is int or ((isinstance(action, np.integer) or type(action) is np.ndarray)
                                        and action.dtype.kind in "iu")):
            try:
                self._int_action[0] = action
            except (OverflowError, ValueError, TypeError):
                return None
            return self._int_action if self._int_action[0] == action else None
        return None

    @functools.cached_property
    def _box(self) -> bool:
        return isinstance(self.action_space, spaces.Box)

    @functools.cached_property
    def _checked(self) -> np.ndarray:
        return np.empty((1, self._flat_bounds[0].shape[0]), dtype=np.float64 if self._box else np.int64)

    @functools.cached_property
    def _int_action(self) -> np.ndarray:
        return np.empty(1, dtype=np.int64)

    @functools.cached_property
    def _durations(self) -> np.ndarray:
        return np.empty(1)

    @functools.cached_property
    def _single(self):
        low, high = self._flat_bounds
        return _single_step(type(self)._transition, type(self)._observe_fn, low, high, self._box, self.horizon)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_single", None)  # compiled code: rebuilt (from the cache) on first use
        return state

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
        name = env_name or self.name
        if isinstance(actions, np.ma.MaskedArray):
            raise InvalidActionError(f"{name}: a masked array is not an action (masked entries have no value); "
                                     f"valid space: {space}")
        try:
            arr = np.asarray(actions)
        except Exception as exc:  # noqa: BLE001 - any conversion failure is the caller's bad input
            raise InvalidActionError(f"{name}: action {actions!r} is not array-like; valid space: {space}") from exc
        expected = (n_batch, *space.shape)
        if arr.shape != expected:
            raise InvalidActionError(
                f"{name}: action {actions!r} has shape {arr.shape}, expected {expected} for space {space}"
            )
        # numbers of any byte order; never booleans, timedeltas, datetimes, strings or objects
        if isinstance(space, spaces.Box):
            if arr.dtype.kind not in "fiu":
                raise InvalidActionError(f"{name}: action {actions!r} must be real numbers; valid space: {space}")
            arr = arr.astype(np.float64)
            if not np.isfinite(arr).all():
                raise InvalidActionError(f"{name}: action {actions!r} contains NaN or infinity; valid space: {space}")
            return np.minimum(np.maximum(arr, space.low), space.high)
        if arr.dtype.kind not in "iu":
            if arr.dtype.kind == "f" and np.isfinite(arr).all() and (arr == np.round(arr)).all():
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




def _compose(cls: type[Task]) -> None:
    """Give a concrete task its record dtypes, tables, spaces and compiled kernels."""
    n_params = len(cls.parameter_set.names)
    cls.patient_dtype = record_dtype((Field("params", "f8", (n_params,)), *cls.patient_fields))
    inputs = ((Field("inputs", "f8", (len(cls.integration.model.input_names),)),) if cls.integration else ())
    cls.clinical_dtype = record_dtype((*ENGINE_FIELDS, *inputs, *cls.clinical_fields))
    cls.observation_table = ObservationTable(cls.observations, cls.measurements)
    cls.observation_space = spaces.Box(0.0, float(cls.observation_table.highs.max()),
                                       shape=(len(cls.observation_table),), dtype=np.float32)
    cls.info_table = InfoTable(cls.infos, cls.patient_dtype, cls.clinical_dtype)
    cls._transition = _transition(cls.before, cls.after, cls.integration)
    cls._kernel = BatchKernel(cls._transition)
    cls._observe_fn = cls.observation_table.kernel(cls.measure, cls.__qualname__)
    cls._observe = BatchKernel(cls._observe_fn)
    if cls.clinical_observations and "clinical" not in cls.__dict__:
        cls.clinical = clinical_task(cls)


def _transition(before: Any, after: Any, integration: FixedStep | None):
    """The per-patient transition ``fn(b, phase, action, c, s, t, durations)`` (phases: ``clinsim.core.batch``):
    ``t[b]`` starts as a copy of ``s[b]``; ``before`` decides (and returns the integration's duration),
    the engine integrates (FUSED: here, per patient; otherwise the caller integrates the batch between
    BEFORE_INTEGRATION and AFTER_INTEGRATION), ``after`` keeps the books, and a decision is counted."""
    if integration is None:
        @jit(key=f"{before.clinsim_key}|{after.clinsim_key}")
        def transition(b, phase, action, c, s, t, durations):  # pragma: no cover - compiled
            t[b] = s[b]
            cb, sb, tb = c[b], s[b], t[b]
            durations[b] = before(action[b], cb, sb, tb)
            after(action[b], cb, sb, tb)
            tb.elapsed = sb.elapsed + 1

        return transition

    advance, n_steps, nonnegative = integration.model.integrate_patient, integration.n_steps, integration.nonnegative

    @jit(key=f"{before.clinsim_key}|{after.clinsim_key}|{advance.clinsim_key}|{n_steps}|{nonnegative}")
    def transition(b, phase, action, c, s, t, durations):  # pragma: no cover - compiled
        cb, sb, tb = c[b], s[b], t[b]
        if phase != AFTER_INTEGRATION:
            t[b] = s[b]
            durations[b] = before(action[b], cb, sb, tb)
        if phase == FUSED:
            advance(tb.y, tb.inputs, cb.params, durations[b], n_steps)
        if phase == BEFORE_INTEGRATION:
            return
        if nonnegative:
            y = tb.y
            for i in range(y.shape[0]):  # amounts below zero are integration round-off
                y[i] = max(y[i], 0.0)
        after(action[b], cb, sb, tb)
        tb.elapsed = sb.elapsed + 1

    return transition


@jit
def _finite_patient(t):  # pragma: no cover - compiled
    """Whether a patient's reward and model state are finite."""
    if not np.isfinite(t.reward):
        return False
    for v in t.y:
        if not np.isfinite(v):
            return False
    return True


@jit
def _finite_values(values):  # pragma: no cover - compiled
    """Whether every entry of a 2-D array is finite (a compiled loop: numpy's ufunc costs more on a few values)."""
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if not np.isfinite(values[i, j]):
                return False
    return True


@jit
def _finite(clinical):  # pragma: no cover - compiled
    """Whether every patient's reward and model state are finite."""
    for b in range(clinical.shape[0]):
        if not _finite_patient(clinical[b]):
            return False
    return True


@jit
def _refused(clinical, horizon):  # pragma: no cover - compiled
    """Whether any patient's episode has ended (terminated, or at the horizon)."""
    for b in range(clinical.shape[0]):
        if clinical[b].terminated or clinical[b].elapsed >= horizon:
            return True
    return False


def _single_step(transition: Any, observe: Any, low: np.ndarray, high: np.ndarray, box: bool, horizon: int):
    """A single env's step in one compiled call: ``single(action, checked, c, s, t, durations, obs) -> status``
    (``action``: flat; ``obs``: one patient's row)
    (0: done; 1: an action outside the space, or not finite; 2: the episode has ended; 3: the model gave
    NaN or infinity), the episode's state unchanged unless 0. ``checked`` receives the action as
    :meth:`Task.check_actions` would return it (clipped to a Box, or a member of a discrete space)."""

    @jit(key=f"{transition.clinsim_key}|{observe.clinsim_key}|{low.tolist()}|{high.tolist()}|{box}|{horizon}")
    def single(action, checked, c, s, t, durations, obs):  # pragma: no cover - compiled
        if s[0].terminated or s[0].elapsed >= horizon:
            return 2
        for j in range(low.shape[0]):
            x = action[j]
            if box:
                x = np.float64(x)
                if not np.isfinite(x):
                    return 1
                checked[0, j] = min(max(x, low[j]), high[j])
            else:
                if x < low[j] or x >= high[j]:
                    return 1
                checked[0, j] = x
        transition(0, FUSED, checked, c, s, t, durations)
        if not _finite_patient(t[0]):
            return 3
        observe(0, c, t, obs.reshape((1, obs.shape[0])))
        for v in obs:
            if not np.isfinite(v):
                return 3
        return 0

    return single


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
