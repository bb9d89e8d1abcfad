"""Bedside measurement: what a clinician sees of a patient, composed by the engine into a task's clinical mode.

``gym.make(ID, observation="clinical")`` observes only what is measured at the bedside, on its clinical
schedule, with its noise and turnaround delay, instead of the model state (``observation="state"``, the
default). A task offers the mode by declaring, besides its state-mode views:

* ``bedside_measurements`` and ``bedside``: a compiled ``bedside(c, t) -> tuple of floats`` with the values
  the instruments and the chart read from the patient's state ``t`` (true values, or a task's own monitor
  reading), one per name;
* ``clinical_observations``: rows over those names. A plain :class:`~clinsim.core.views.Observation` is
  *charted*: known exactly at every decision (time, doses given). A :class:`Measured` row is sampled on a
  schedule (fixed times, then a fixed interval, shorter while the last result is abnormal) or when the task
  reports a sample (its bedside value is NaN otherwise), read with noise and artefacts, and shown after a
  turnaround delay; the observation holds the last result and its age (decision steps since the sample),
  plus a mask (1 once a result is available) when a decision can come before the first result.

:func:`clinical_task` derives the clinical task class from such a task: its records gain the held results
(clinical record) and the measurement noise (patient record, drawn at reset from each patient's own
generator after the task's draws, so single and vector envs stay identical), its ``after`` records the
step's measurements, and its observation table (the docstring's table, ``decode``) covers the columns above.
Dynamics, rewards and infos are the task's own: the info still carries the full clinical state, for
evaluation, and must not be fed to a policy that is meant to see only the bedside.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba.core.errors import NumbaExperimentalFeatureWarning

from clinsim.core.batch import BatchKernel
from clinsim.core.jit import jit
from clinsim.core.state import Field, State
from clinsim.core.views import Observation, ObservationTable

OBSERVATION_MODES = ("state", "clinical")
# A clinical task's records are its task's records with the measurement fields appended (same offsets), so numba
# runs the task's compiled helpers on them as record subtypes, correctly; its warning says only that it does.
warnings.filterwarnings("ignore", message=r"(?s).*Record\(.*has been considered a subtype of Record",
                        category=NumbaExperimentalFeatureWarning)
NEVER = -1  # step of a sample that was never taken
CHARTED, VALUE, AGE, MASK = range(4)


@dataclass(frozen=True)
class Measured:
    """A bedside measurement: ``observation`` names a value of the task's ``bedside`` and normalises it.

    Schedule (decision steps): samples at the steps ``at``, then every ``every`` steps after the last one
    (0: no more), or every ``every_if_above[1]`` steps while the last result is >= ``every_if_above[0]``;
    ``reported``: the task takes the samples itself (its bedside value is NaN except at a sample; its own
    schedule and noise). A result is shown ``delay`` steps after its sample (the turnaround rounded up to
    decision steps). Reading: ``value * exp(log_sd * z) + sd * z`` (z standard normal), and with probability
    ``artefact_rate`` an artefact adding ``artefact_sd * z'``, clipped to the instrument range ``[low, high]``.
    ``upstream``: the noise the task's own reading already put into its bedside value, in words (the docs' table).
    ``source``: where the schedule, turnaround and noise come from (the docs' table).
    """

    observation: Observation
    source: str
    at: tuple[int, ...] = (0,)
    every: int = 0
    every_if_above: tuple[float, int] | None = None
    delay: int = 0
    sd: float = 0.0
    log_sd: float = 0.0
    artefact_rate: float = 0.0
    artefact_sd: float = 0.0
    low: float = 0.0
    high: float = np.inf
    reported: bool = False
    upstream: str = ""

    def __post_init__(self) -> None:
        name = self.observation.measurement
        intervals = [self.every] + ([self.every_if_above[1]] if self.every_if_above else [])
        if self.reported and (self.at or self.every or self.every_if_above):
            raise ValueError(f"{name}: a reported measurement has no schedule (at=(), every=0)")
        if any(i < 0 for i in intervals) or self.delay < 0 or any(a < 0 for a in self.at):
            raise ValueError(f"{name}: schedule steps and delay must be >= 0")
        if list(self.at) != sorted(set(self.at)):
            raise ValueError(f"{name}: sample steps `at` must be increasing, got {self.at}")
        # one result in transit at a time: samples come at least ``delay`` steps apart
        gaps = [b - a for a, b in zip(self.at, self.at[1:], strict=False)] + [i for i in intervals if i > 0]
        if any(g < max(self.delay, 1) for g in gaps):
            raise ValueError(f"{name}: samples must be at least the delay ({self.delay} steps) apart")
        if not 0.0 <= self.artefact_rate <= 1.0:
            raise ValueError(f"{name}: artefact_rate must be a probability, got {self.artefact_rate}")

    @property
    def name(self) -> str:
        return self.observation.measurement

    @property
    def masked(self) -> bool:
        """Whether a decision can come before the first result (then the observation has a mask column)."""
        return self.reported or not self.at or self.at[0] + self.delay > 0

    def schedule_text(self, step_unit: str) -> str:
        """The schedule in words, for the docs' table."""
        if self.reported:
            return "when the protocol takes it (see the environment)"
        parts = [f"{step_unit} {', '.join(map(str, self.at))}"] if self.at else []
        if self.every:
            parts.append(f"then every {self.every}")
        if self.every_if_above:
            parts.append(f"every {self.every_if_above[1]} while >= {self.every_if_above[0]:g} {self.observation.unit}")
        return "; ".join(parts)

    def noise_text(self) -> str:
        """The reading's noise in words, for the docs' table."""
        unit = self.observation.unit
        parts = [self.upstream] if self.upstream else []
        if self.sd:
            parts.append(f"sd {self.sd:g} {unit}")
        if self.log_sd:
            parts.append(f"x exp(N(0, {self.log_sd:g}))")
        if self.artefact_rate:
            parts.append(f"artefact {100 * self.artefact_rate:g} % of readings (sd {self.artefact_sd:g} {unit})")
        return ", ".join(parts) or "exact"


def observation_modes(task_class: type) -> tuple[str, ...]:
    """The observation modes a task offers."""
    return OBSERVATION_MODES if getattr(task_class, "clinical", None) is not None else OBSERVATION_MODES[:1]


def observed_task(task_class: type, observation: str, env_name: str) -> type:
    """The task class of an observation mode (``"state"``: the task itself), else a clear error."""
    modes = observation_modes(task_class)
    if observation not in modes:
        raise ValueError(f"{env_name}: unknown observation mode {observation!r}; valid: {', '.join(modes)}")
    return task_class if observation == "state" else task_class.clinical


def table_for(task_class: type, obs: np.ndarray) -> ObservationTable:
    """The observation table (state or clinical mode) of a batch of ``task_class``'s observations, told apart by
    their width, so that a protocol decodes either mode by name."""
    width = np.shape(obs)[-1]
    for mode in observation_modes(task_class):
        table = observed_task(task_class, mode, task_class.env_id).observation_table
        if len(table) == width:
            return table
    raise ValueError(f"{task_class.env_id}: observations of width {width} are of no observation mode "
                     f"({', '.join(observation_modes(task_class))})")


def clinical_task(task: type) -> type:
    """The clinical-mode class of ``task`` (see the module docstring), bound in the task's module as
    ``<Task>Clinical`` so that it pickles by reference."""
    rows = task.clinical_observations
    names = tuple(task.bedside_measurements)
    measured = tuple(r for r in rows if isinstance(r, Measured))
    unknown = [r.measurement for r in (r.observation if isinstance(r, Measured) else r for r in rows)
               if r.measurement not in names]
    if not measured or unknown:
        raise ValueError(f"{task.env_id}: clinical observations need >= 1 Measured row and known bedside values "
                         f"(unknown: {unknown}; valid: {', '.join(names)})")
    k, steps = len(measured), task.horizon + 1
    observations, kinds, index = [], [], []
    for row in rows:
        if not isinstance(row, Measured):
            observations.append(row)
            kinds.append(CHARTED)
            index.append(names.index(row.measurement))
            continue
        i = measured.index(row)
        obs = row.observation
        observations.append(Observation(obs.measurement, f"{obs.description}, last result", obs.unit, obs.scale,
                                         obs.transform, obs.ref, obs.high))
        observations.append(Observation(f"{row.name}_age", f"time since that {row.name} sample (2 if none)",
                                        task.step_unit, float(task.horizon)))
        kinds += [VALUE, AGE]
        index += [i, i]
        if row.masked:
            observations.append(Observation(f"{row.name}_measured", f"{row.name} result available (0 / 1)", "flag",
                                            1.0, high=1.0))
            kinds.append(MASK)
            index.append(i)

    column = np.array([names.index(r.name) for r in measured], dtype=np.int64)
    n_at = max([len(r.at) for r in measured] + [1])
    at = np.full((k, n_at), NEVER, dtype=np.int64)
    for i, r in enumerate(measured):
        at[i, :len(r.at)] = r.at
    every = np.array([r.every for r in measured], dtype=np.int64)
    above = np.array([r.every_if_above[0] if r.every_if_above else np.inf for r in measured])
    every_above = np.array([r.every_if_above[1] if r.every_if_above else r.every for r in measured], dtype=np.int64)
    delay = np.array([r.delay for r in measured], dtype=np.int64)
    sd = np.array([r.sd for r in measured])
    log_sd = np.array([r.log_sd for r in measured])
    rate = np.array([r.artefact_rate for r in measured])
    artefact_sd = np.array([r.artefact_sd for r in measured])
    low = np.array([r.low for r in measured])
    high = np.array([r.high for r in measured])
    reported = np.array([r.reported for r in measured])
    kinds_a, index_a = np.array(kinds, dtype=np.int64), np.array(index, dtype=np.int64)
    bedside, after = task.bedside, task.after
    key = (f"{bedside.clinsim_key}|{column.tolist()}|{at.tolist()}|{every.tolist()}|{above.tolist()}|"
           f"{every_above.tolist()}|{delay.tolist()}|{sd.tolist()}|{log_sd.tolist()}|{rate.tolist()}|"
           f"{artefact_sd.tolist()}|{low.tolist()}|{high.tolist()}|{reported.tolist()}")

    @jit(key=key)
    def record(c, t, step):  # pragma: no cover - compiled
        """Deliver the results due at ``step``, then take the samples due at ``step`` from the state ``t``."""
        raw = bedside(c, t)
        for i in range(column.shape[0]):
            if t.m_pending_taken[i] != NEVER and t.m_pending_taken[i] + delay[i] <= step:
                t.m_value[i] = t.m_pending[i]
                t.m_taken[i] = t.m_pending_taken[i]
                t.m_pending_taken[i] = NEVER
            value = raw[column[i]]
            if reported[i]:
                due = not np.isnan(value)
            else:
                due = t.m_next[i] == step
            if not due:
                continue
            z = c.m_z[i, step]
            reading = value * np.exp(log_sd[i] * z) + sd[i] * z
            if c.m_u[i, step] < rate[i]:
                reading += artefact_sd[i] * c.m_za[i, step]
            reading = min(max(reading, low[i]), high[i])
            if delay[i] == 0:
                t.m_value[i] = reading
                t.m_taken[i] = step
            else:
                t.m_pending[i] = reading
                t.m_pending_taken[i] = step
            following = NEVER
            for j in range(at.shape[1]):
                if at[i, j] > step:
                    following = at[i, j]
                    break
            if following == NEVER:
                interval = every_above[i] if reading >= above[i] else every[i]
                following = step + interval if interval > 0 else NEVER
            t.m_next[i] = following

    @jit(key=f"{after.clinsim_key}|{record.clinsim_key}")
    def after_and_record(a, c, s, t):  # pragma: no cover - compiled
        after(a, c, s, t)
        record(c, t, s.elapsed + 1)

    @jit(key=f"{record.clinsim_key}|first")
    def first(b, c, s):  # pragma: no cover - compiled
        """A new patient's schedule and the samples of step 0."""
        sb = s[b]
        for i in range(at.shape[0]):
            sb.m_taken[i] = NEVER
            sb.m_pending_taken[i] = NEVER
            sb.m_next[i] = at[i, 0]
        record(c[b], sb, 0)

    n_out = len(kinds)

    @jit(key=f"{record.clinsim_key}|{kinds_a.tolist()}|{index_a.tolist()}")
    def measure(c, t):  # pragma: no cover - compiled
        raw = bedside(c, t)
        out = np.empty(n_out)
        for j in range(n_out):
            i, kind = index_a[j], kinds_a[j]
            taken = t.m_taken[i] if kind != CHARTED else 0
            if kind == CHARTED:
                out[j] = raw[i]
            elif kind == VALUE:
                out[j] = t.m_value[i] if taken != NEVER else 0.0
            elif kind == AGE:
                out[j] = float(t.elapsed - taken) if taken != NEVER else np.inf
            else:
                out[j] = 1.0 if taken != NEVER else 0.0
        return out

    first_kernel = BatchKernel(first)
    base_sample = task.sample_patients

    def sample_patients(self, rngs: Sequence[np.random.Generator]) -> State:
        """The task's patients, then each patient's measurement noise from its own generator (after the task's
        draws), and the measurements at presentation."""
        state = base_sample(self, rngs)
        c = state.patient
        for i, rng in enumerate(rngs):
            c["m_z"][i] = rng.standard_normal((k, steps))
            c["m_u"][i] = rng.random((k, steps))
            c["m_za"][i] = rng.standard_normal((k, steps))
        first_kernel(len(state), c, state.clinical)
        return state

    name = f"{task.__name__}Clinical"
    namespace: dict[str, Any] = {
        "__module__": task.__module__,
        "__qualname__": name,
        "__doc__": f"{task.__name__} observed at the bedside (``observation=\"clinical\"``).",
        "env_id": task.env_id,
        "clinical": None,
        "measured": measured,
        "patient_fields": (*task.patient_fields, Field("m_z", "f8", (k, steps)), Field("m_u", "f8", (k, steps)),
                           Field("m_za", "f8", (k, steps))),
        "clinical_fields": (*task.clinical_fields, Field("m_value", "f8", (k,)), Field("m_taken", "i8", (k,)),
                            Field("m_pending", "f8", (k,)), Field("m_pending_taken", "i8", (k,)),
                            Field("m_next", "i8", (k,))),
        "after": staticmethod(after_and_record),
        "measure": staticmethod(measure),
        "measurements": tuple(o.measurement for o in observations),
        "observations": tuple(observations),
        "sample_patients": sample_patients,
    }
    variant = type(task)(name, (task,), namespace)
    if len(variant.observation_table) == len(task.observation_table):  # protocols tell the modes apart by width
        raise ValueError(f"{task.env_id}: the clinical observation needs a width other than the state's "
                         f"({len(task.observation_table)}): add or drop a column")
    setattr(sys.modules[task.__module__], name, variant)
    return variant


def clinical_doc(task: type, indent: str = "    ") -> str:
    """The environment docstring's section on the clinical observation mode (empty for a task without one)."""
    if task.clinical is None:
        return ""
    return (f"\n{indent}## Clinical observation (``observation=\"clinical\"``)\n"
            f"{indent}Only what is measured at the bedside (docs/observations.md); the default,\n"
            f"{indent}``observation=\"state\"``, is the table above. A measurement shows its last result and\n"
            f"{indent}that sample's age (decision steps / horizon; 2 before any result), plus a mask where a\n"
            f"{indent}decision can come before the first result.\n\n"
            + task.clinical.observation_table.markdown(indent) + "\n" + markdown_table(task, indent))


def markdown_table(task: type, indent: str = "") -> str:
    """The clinical mode's measurements of ``task``: schedule, turnaround, noise and sources (for the docs)."""
    lines = [f"{indent}| measurement | schedule ({task.step_unit}) | result after | reading | source |",
             f"{indent}|---|---|---|---|---|"]
    for r in task.clinical.measured:
        delay = f"{r.delay} {task.step_unit}" if r.delay else "same step"
        lines.append(f"{indent}| {r.name} ({r.observation.unit}) | {r.schedule_text(task.step_unit)} | {delay} | "
                     f"{r.noise_text()} | {r.source} |")
    return "\n".join(lines) + "\n"
