"""FluidResuscitation-v0, VasopressorTitration-v0, SepsisManagement-v0: hourly sepsis decisions over 72 h."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from clinsim.core.batch import AFTER_INTEGRATION, BEFORE_INTEGRATION, FUSED, BatchKernel
from clinsim.core.env import TaskEnv, TaskVectorEnv
from clinsim.core.jit import jit
from clinsim.core.render import Panel
from clinsim.core.task import State, Task, patient_labels
from clinsim.sepsisim import models as mdl

HOURS_PER_STEP = 1.0
# DOP853 steps per hour: relative error <= 1e-8 against scipy over one decision step on the hardest states
# recorded from every SepsiSim env (tests/test_integration.py), <= 6e-7 in the first hour of infection
# under maximal treatment (tests/sepsisim/test_models.py); 4 steps would miss the latter.
STEPS_PER_HOUR = 6
HORIZON_HOURS = 72
# Death criterion on Reynolds' damage scale. Untreated, the curated health scenario peaks at D ~3.3 and
# resolves; the death states of the model sit at D ~17.4 (aseptic) and ~17.5 (septic). In a sweep of the
# coupled model (initial loads 0.5-3, 3-12 h before treatment, with and without antibiotics, k_pg 0.3 and
# 0.6, 600 h) every trajectory that recovered peaked below D = 3.5, and no trajectory that crossed D = 10
# ever came back below it: D >= 10 is past the point of no return, on the way to a death state, and is
# reached hours to days before D ~17 (the paper's "damage >= 0.9" on a unit scale would be ~16).
DEATH_DAMAGE = 10.0
MAX_FLUID_ML_PER_H = 1000.0
MAX_NOREPINEPHRINE = 1.0  # ug/kg/min; dose range of the titration (higher doses: refractory shock)
MAX_DOSE_CHANGE = 0.1  # ug/kg/min per hour
# SIMPLIFICATION: patients present 6 h (+-20 %) after infection onset, the untreated course integrated
# at reset, so the inflammatory response is under way (Reynolds' model starts from N* = D = 0).
PRESENTATION_DELAY_H = 6.0  # untreated hours between infection onset and the first decision
INITIAL_VARIATION = 0.2  # +-20 % uniform variation of the initial state (paper sec. 5)
# DOP853 steps over the presentation delay, the same number for every patient (so that new patients
# integrate together in SIMD blocks). The untreated course is smoother than a treated hour: 3 steps per
# hour at the longest delay keep it within 1e-8 of scipy (tests/test_integration.py).
PRESENTATION_STEPS_PER_HOUR = 3
PRESENTATION_STEPS = int(np.ceil(PRESENTATION_DELAY_H * (1.0 + INITIAL_VARIATION) * PRESENTATION_STEPS_PER_HOUR))
MAP_NOISE_MMHG = 2.0
URINE_NOISE_ML_PER_KG_H = 0.05

# Rewards (paper sec. 4 components, per hour).
# CORRECTION: the published weights let a death (-50) end a costly course and outscore a survivor.
# Here a living hour earns 1 (alive) + 0.5 [MAP in 65-90 mmHg] + 0.25 [lactate < 2 mmol/L]
# + 0.25 [urine >= 0.5 mL/kg/h] - penalties (capped at 1), i.e. between 0 and 2; death costs 50 plus
# the best possible reward of a whole episode (2 x 72 h, and the one-off stabilisation bonus), so any
# death scores below any survival and dying early forfeits the remaining hours.
ALIVE_REWARD = 1.0
MAP_REWARD = 0.5
LACTATE_REWARD = 0.25
URINE_REWARD = 0.25
MAX_HOURLY_REWARD = ALIVE_REWARD + MAP_REWARD + LACTATE_REWARD + URINE_REWARD
OVERLOAD_PENALTY_PER_L = 0.25  # per litre of intravascular volume above 4 L (paper: 1 per L above 4 L)
OVERLOAD_VOLUME_L = 4.0
VASOPRESSOR_PENALTY = 0.5  # per ug/kg/min above 0.5 (paper: vasoconstriction stewardship)
HIGH_DOSE = 0.5
LATE_ANTIBIOTIC_PENALTY = 1.0  # per hour without antibiotics after hour 3 (paper sec. 4.3)
ANTIBIOTIC_GRACE_H = 3
STABILISATION_BONUS = 10.0  # once: MAP >= 65, lactate < 2, SOFA <= 3 after >= 6 h (paper sec. 4.3)
STABILISATION_MIN_H = 6
DEATH_PENALTY = 50.0

OUTCOMES = ("in_progress", "survived", "died")
IN_PROGRESS, SURVIVED, DIED = range(len(OUTCOMES))
OUTCOME_NAMES = np.array(OUTCOMES)
TIERS = ("easy", "medium", "hard")

# DOP853 steps per decision (an integer step count for the compiled integrator)
N_STEPS = int(STEPS_PER_HOUR * HOURS_PER_STEP)

# The patient's clinical state besides the model state ``y``, packed by type so that a step allocates and
# passes three arrays: ``state["reals"]``, ``state["counts"]`` and ``state["flags"]`` (batch, columns below).
REALS = ("dose", "fluid_total_l", "peak_dose", "urine", "map_mmhg", "map_measured", "urine_measured")
COUNTS = ("hour", "antibiotic_hour", "hours_on_vasopressor", "hours_map_ok", "death_hour", "sofa", "sofa_cv",
          "sofa_renal", "sofa_metabolic", "outcome")
FLAGS = ("antibiotic", "dead", "stabilised")
DOSE, FLUID_TOTAL_L, PEAK_DOSE, URINE, MAP_MMHG, MAP_MEASURED, URINE_MEASURED = range(len(REALS))
(HOUR, ANTIBIOTIC_HOUR, HOURS_ON_VASOPRESSOR, HOURS_MAP_OK, DEATH_HOUR, SOFA, SOFA_CV, SOFA_RENAL, SOFA_METABOLIC,
 OUTCOME) = range(len(COUNTS))
ANTIBIOTIC, DEAD, STABILISED = range(len(FLAGS))

# Observation columns (each task observes a subset, ``obs_names``)
OBSERVATIONS = ("map", "lactate", "urine", "damage", "volume", "pathogen", "sofa", "vasopressor",
                "hours_on_vasopressor", "antibiotic", "time")
(OBS_MAP, OBS_LACTATE, OBS_URINE, OBS_DAMAGE, OBS_VOLUME, OBS_PATHOGEN, OBS_SOFA, OBS_VASOPRESSOR,
 OBS_HOURS_ON_VASOPRESSOR, OBS_ANTIBIOTIC, OBS_TIME) = range(len(OBSERVATIONS))

# The info besides the patient and the outcome: (key, state array, column) per entry, real-valued entries
# first, then counts, then the flag; the batched ``info`` and the single env's fused path both read these.
INFO_REALS = (("map_mmhg", "reals", MAP_MMHG), ("map_measured_mmhg", "reals", MAP_MEASURED),
              ("lactate_mmol_per_l", "y", mdl.LACTATE), ("urine_ml_per_kg_h", "reals", URINE),
              ("urine_measured_ml_per_kg_h", "reals", URINE_MEASURED), ("volume_l", "y", mdl.VOLUME_L),
              ("interstitial_fluid_l", "y", mdl.INTERSTITIAL_L), ("fluid_total_l", "reals", FLUID_TOTAL_L),
              ("norepinephrine_ug_per_kg_min", "reals", DOSE),
              ("peak_norepinephrine_ug_per_kg_min", "reals", PEAK_DOSE), ("pathogen", "y", mdl.PATHOGEN),
              ("damage", "y", mdl.DAMAGE))
INFO_COUNTS = (("hour", HOUR), ("sofa", SOFA), ("sofa_cardiovascular", SOFA_CV), ("sofa_renal", SOFA_RENAL),
               ("sofa_metabolic", SOFA_METABOLIC), ("hours_on_vasopressor", HOURS_ON_VASOPRESSOR),
               ("hours_map_at_least_65", HOURS_MAP_OK), ("antibiotic_hour", ANTIBIOTIC_HOUR),
               ("death_hour", DEATH_HOUR))
INFO_FLAG = ("antibiotics_given", ANTIBIOTIC)
_INFO_REAL_FROM_Y = np.array([src == "y" for _, src, _ in INFO_REALS])
_INFO_REAL_COLUMNS = np.array([col for _, _, col in INFO_REALS], dtype=np.int64)
_INFO_COUNT_COLUMNS = np.array([col for _, col in INFO_COUNTS], dtype=np.int64)

# What the agent decides (see ``_decode``): the tasks differ only there and in ``_extra_penalty``.
FLUID_TASK, VASOPRESSOR_TASK, MANAGEMENT_TASK = range(3)


def patient_names(patient_ids: list[int]) -> np.ndarray:
    """SepsiSim's patient labels: ``patient-<id>`` or ``reference``."""
    return patient_labels(patient_ids, "patient")


@jit
def protocol_fluid_ml(hour, body_weight):  # pragma: no cover - compiled
    """Background crystalloid: 30 mL/kg over the first 3 h (SSC 2021), then 1.5 mL/kg/h maintenance.

    CORRECTION: the paper's fixed 250 mL/h would give 18 L in 72 h, itself a harmful fluid overload.
    """
    return (10.0 if hour < 3 else 1.5) * body_weight


@jit(inline="always")
def _decode(task, action, hour, dose, antibiotic, body_weight):  # pragma: no cover - compiled
    """Fluid (mL over the hour), norepinephrine dose (ug/kg/min) and antibiotic flag for the next hour."""
    if task == FLUID_TASK:
        return action[0], 0.0, True
    if task == VASOPRESSOR_TASK:
        return protocol_fluid_ml(hour, body_weight), min(max(dose + action[0], 0.0), MAX_NOREPINEPHRINE), True
    return action[0], min(max(dose + action[1], 0.0), MAX_NOREPINEPHRINE), antibiotic or action[2] > 0.5


@jit(inline="always")
def _extra_penalty(task, hour, dose, antibiotic):  # pragma: no cover - compiled
    """Task-specific hourly penalties: vasopressor stewardship, late antibiotics (SepsisManagement)."""
    if task == FLUID_TASK:
        return 0.0
    penalty = VASOPRESSOR_PENALTY * max(dose - HIGH_DOSE, 0.0)
    if task == MANAGEMENT_TASK:
        penalty += LATE_ANTIBIOTIC_PENALTY * (not antibiotic and hour >= ANTIBIOTIC_GRACE_H)
    return penalty


@jit
def _vitals(y, p, z_map, z_urine, horizon, reals, counts):  # pragma: no cover - compiled
    """What the monitors and the score show for one patient's current state, computed once per step.

    True MAP (mmHg); monitored MAP (noise sigma 2 mmHg, monitor range 0-200) and hourly urine
    (noise sigma 0.05 mL/kg/h, range 0-4); the modified SOFA and its components from the measurements.
    """
    hour = min(counts[HOUR], horizon)
    mean_ap = mdl.patient_map(y, reals[DOSE], p)
    map_meas = min(max(mean_ap + MAP_NOISE_MMHG * z_map[hour], 0.0), 200.0)
    urine_meas = min(max(reals[URINE] + URINE_NOISE_ML_PER_KG_H * z_urine[hour], 0.0), 4.0)
    cv = mdl.sofa_cardiovascular_score(map_meas, reals[DOSE])
    renal = mdl.sofa_renal_score(urine_meas, p[mdl.BODY_WEIGHT])
    metabolic = mdl.sofa_metabolic_score(y[mdl.LACTATE])
    reals[MAP_MMHG] = mean_ap
    reals[MAP_MEASURED] = map_meas
    reals[URINE_MEASURED] = urine_meas
    counts[SOFA] = cv + renal + metabolic
    counts[SOFA_CV] = cv
    counts[SOFA_RENAL] = renal
    counts[SOFA_METABOLIC] = metabolic


_integrate = mdl.SepsisModel.integrate_patient


@jit
def _step(b, phase, task, action, y0, p, z_map, z_urine, reals0, counts0, flags0, horizon, stabilisation_bonus,
          death_penalty, u, decided, y, reals, counts, flags, reward):  # pragma: no cover - compiled
    """One hour of one patient: the task's decision, dynamics, vitals, reward.

    ``phase``: a ``clinsim.core.batch`` phase; between the two halves the caller integrates ``y`` with the
    inputs ``u``; ``decided`` carries the decision (fluid mL, norepinephrine dose, antibiotic 0/1)."""
    hour = counts0[b, HOUR]
    yb = y[b]
    if phase != AFTER_INTEGRATION:
        fluid_ml, dose, antibiotic = _decode(task, action[b], hour, reals0[b, DOSE], flags0[b, ANTIBIOTIC],
                                             p[b, mdl.BODY_WEIGHT])
        decided[b, 0], decided[b, 1], decided[b, 2] = fluid_ml, dose, 1.0 if antibiotic else 0.0
        yb[:] = y0[b]
        yb[mdl.URINE_ML_PER_KG] = 0.0
        u[b, mdl.FLUID_L_PER_H] = fluid_ml / 1000.0 / HOURS_PER_STEP
        u[b, mdl.NOREPINEPHRINE] = dose
        u[b, mdl.ANTIBIOTIC] = 1.0 if antibiotic else 0.0
    if phase == FUSED:
        _integrate(yb, u[b], p[b], HOURS_PER_STEP, N_STEPS)
    if phase == BEFORE_INTEGRATION:
        return
    for i in range(yb.shape[0]):
        yb[i] = max(yb[i], 0.0)
    fluid_ml, dose, antibiotic = decided[b, 0], decided[b, 1], decided[b, 2] > 0.0
    urine = yb[mdl.URINE_ML_PER_KG] / HOURS_PER_STEP
    next_hour = hour + 1
    dead = yb[mdl.DAMAGE] >= DEATH_DAMAGE

    rb, cb = reals[b], counts[b]
    cb[HOUR] = next_hour
    rb[DOSE] = dose
    flags[b, ANTIBIOTIC] = antibiotic
    cb[ANTIBIOTIC_HOUR] = hour if antibiotic and not flags0[b, ANTIBIOTIC] else counts0[b, ANTIBIOTIC_HOUR]
    cb[HOURS_ON_VASOPRESSOR] = counts0[b, HOURS_ON_VASOPRESSOR] + (dose > 0)
    rb[FLUID_TOTAL_L] = reals0[b, FLUID_TOTAL_L] + fluid_ml / 1000.0
    rb[URINE] = urine
    flags[b, DEAD] = dead
    cb[DEATH_HOUR] = next_hour if dead else -1
    _vitals(yb, p[b], z_map[b], z_urine[b], horizon, rb, cb)
    mean_ap = rb[MAP_MMHG]
    cb[HOURS_MAP_OK] = counts0[b, HOURS_MAP_OK] + (mean_ap >= 65.0 and not dead)
    rb[PEAK_DOSE] = max(reals0[b, PEAK_DOSE], dose)
    lactate = yb[mdl.LACTATE]
    bonus = (MAP_REWARD * (mean_ap >= 65.0 and mean_ap <= 90.0) + LACTATE_REWARD * (lactate < 2.0)
             + URINE_REWARD * (urine >= 0.5))
    penalty = (OVERLOAD_PENALTY_PER_L * max(yb[mdl.VOLUME_L] - OVERLOAD_VOLUME_L, 0.0)
               + _extra_penalty(task, hour, dose, antibiotic))
    r = ALIVE_REWARD + bonus - min(penalty, 1.0)
    stabilised = flags0[b, STABILISED]
    if stabilisation_bonus:
        stable = next_hour >= STABILISATION_MIN_H and mean_ap >= 65.0 and lactate < 2.0 and cb[SOFA] <= 3
        earn = stable and not stabilised and not dead
        r = r + stabilisation_bonus * earn
        stabilised = stabilised or earn
    flags[b, STABILISED] = stabilised
    reward[b] = -death_penalty if dead else r
    cb[OUTCOME] = DIED if dead else SURVIVED if next_hour >= horizon else IN_PROGRESS


@jit
def _observe(b, columns, y, reals, counts, flags, horizon, obs):  # pragma: no cover - compiled
    # every column is in [0, 2] by construction (see the Observation Space table); clip is a last guard
    for i in range(columns.shape[0]):
        k = columns[i]
        if k == OBS_MAP:
            v = reals[b, MAP_MEASURED] / 100.0
        elif k == OBS_LACTATE:
            v = min(y[b, mdl.LACTATE], 20.0) / 10.0
        elif k == OBS_URINE:
            v = reals[b, URINE_MEASURED] / 2.0
        elif k == OBS_DAMAGE:
            v = min(y[b, mdl.DAMAGE], 2.0 * DEATH_DAMAGE) / DEATH_DAMAGE
        elif k == OBS_VOLUME:
            v = y[b, mdl.VOLUME_L] / 10.0
        elif k == OBS_PATHOGEN:
            v = y[b, mdl.PATHOGEN] / 20.0
        elif k == OBS_SOFA:
            v = counts[b, SOFA] / 12.0
        elif k == OBS_VASOPRESSOR:
            v = reals[b, DOSE] / MAX_NOREPINEPHRINE
        elif k == OBS_HOURS_ON_VASOPRESSOR:
            v = counts[b, HOURS_ON_VASOPRESSOR] / horizon
        elif k == OBS_ANTIBIOTIC:
            v = 1.0 if flags[b, ANTIBIOTIC] else 0.0
        else:
            v = counts[b, HOUR] / horizon
        obs[b, i] = min(max(v, 0.0), 2.0)


@jit
def _refused(counts, flags, horizon):  # pragma: no cover - compiled
    """Whether any patient is past the horizon or dead (then ``step`` raises)."""
    for b in range(counts.shape[0]):
        if counts[b, HOUR] >= horizon or flags[b, DEAD]:
            return True
    return False


@jit
def _present(b, phase, y, u, p, presentation_h, z_map, z_urine, horizon, controls_antibiotic, reals, counts,
             flags):  # pragma: no cover - compiled
    """A new patient at the first decision: the infection has run untreated (inputs ``u`` = 0) for
    ``presentation_h``; ``phase`` as in :func:`_step`."""
    yb = y[b]
    if phase == FUSED:
        _integrate(yb, u[b], p[b], presentation_h[b], PRESENTATION_STEPS)
    if phase == BEFORE_INTEGRATION:
        return
    yb[mdl.URINE_ML_PER_KG] = 0.0
    reals[b, URINE] = mdl.patient_urine_rate(yb, 0.0, p[b])
    flags[b, ANTIBIOTIC] = not controls_antibiotic
    counts[b, ANTIBIOTIC_HOUR] = -1 if controls_antibiotic else 0
    counts[b, DEATH_HOUR] = -1
    _vitals(yb, p[b], z_map[b], z_urine[b], horizon, reals[b], counts[b])


@jit
def _single_view(columns, horizon, y, reals, counts, flags, obs, info_reals,
                 info_counts):  # pragma: no cover - compiled
    """One patient's observation ``obs`` and info values: ``info_reals`` (:data:`INFO_REALS`, then a slot for the
    reward), ``info_counts`` (:data:`INFO_COUNTS`, then :data:`INFO_FLAG` as 0/1 and the outcome code)."""
    _observe(0, columns, y, reals, counts, flags, horizon, obs.reshape((1, obs.shape[0])))
    for j in range(_INFO_REAL_COLUMNS.shape[0]):
        column = _INFO_REAL_COLUMNS[j]
        info_reals[j] = y[0, column] if _INFO_REAL_FROM_Y[j] else reals[0, column]
    n_counts = _INFO_COUNT_COLUMNS.shape[0]
    for j in range(n_counts):
        info_counts[j] = counts[0, _INFO_COUNT_COLUMNS[j]]
    info_counts[n_counts] = flags[0, INFO_FLAG[1]]
    info_counts[n_counts + 1] = counts[0, OUTCOME]


def _fused_single_step(task_code: int, horizon: int, stabilisation_bonus: float, death_penalty: float,
                       columns: np.ndarray, low: np.ndarray, high: np.ndarray):
    """A task's single-env step in one compiled call: ``fused(action, <state arrays>, <next state arrays>, obs,
    info_reals, info_counts) -> bool``, False (nothing written) for a non-finite action or a finished
    episode. The action is clipped to ``[low, high]`` as ``Task.check_actions`` does, the transition is
    :func:`_step` on a batch of one, the views :func:`_single_view`."""

    @jit(key=f"{task_code}|{horizon}|{stabilisation_bonus!r}|{death_penalty!r}|{columns.tolist()}|{low.tolist()}|"
             f"{high.tolist()}")
    def fused(action, y0, p, z_map, z_urine, reals0, counts0, flags0, y, reals, counts, flags, obs, info_reals,
              info_counts):  # pragma: no cover - compiled
        if _refused(counts0, flags0, horizon):
            return False
        clipped = np.empty((1, low.shape[0]))
        for j in range(low.shape[0]):
            x = np.float64(action[j])
            if not np.isfinite(x):
                return False
            clipped[0, j] = min(max(x, low[j]), high[j])
        scratch = np.empty((2, 3))  # the model inputs and the decision (see _step)
        _step(0, FUSED, task_code, clipped, y0, p, z_map, z_urine, reals0, counts0, flags0, horizon,
              stabilisation_bonus, death_penalty, scratch[0:1], scratch[1:2], y, reals, counts, flags,
              info_reals[info_reals.shape[0] - 1:])
        _single_view(columns, horizon, y, reals, counts, flags, obs, info_reals, info_counts)
        return True

    return fused


STEP_KERNEL = BatchKernel(_step)
PRESENT_KERNEL = BatchKernel(_present, parallel_from=8)  # ~30 us per patient: threads pay off early
OBSERVE_KERNEL = BatchKernel(_observe)


class _SepsisTask(Task):
    """Shared patient, dynamics, observations and reward of the three sepsis tasks."""

    horizon: ClassVar[int] = HORIZON_HOURS
    step_unit: ClassVar[str] = "hour"
    render_panels: ClassVar[tuple[Panel, ...]] = (
        Panel("Mean arterial pressure", ("map_mmhg",), "mmHg"),
        Panel("Lactate", ("lactate_mmol_per_l",), "mmol/L"),
        Panel("Urine output", ("urine_ml_per_kg_h",), "mL/kg/h"),
        Panel("Inflammation", ("pathogen", "damage"), "Reynolds units"),
        Panel("Fluids", ("volume_l", "fluid_total_l"), "L"),
        Panel("Norepinephrine", ("norepinephrine_ug_per_kg_min",), "ug/kg/min"),
    )
    # initial pathogen load (Reynolds units) per tier, around the recovery threshold of the task
    pathogen_by_tier: ClassVar[dict[str, float]]
    obs_names: ClassVar[tuple[str, ...]]
    task_code: ClassVar[int]  # FLUID_TASK, VASOPRESSOR_TASK or MANAGEMENT_TASK
    controls_antibiotic: ClassVar[bool] = False
    stabilisation_bonus: ClassVar[float] = 0.0

    parameter_set = mdl.SEPSIS_PARAMETERS

    def __init__(self, tier: str = "medium", patient: str = "cohort", parameters: dict[str, float] | None = None,
                 allow_out_of_range: bool = False) -> None:
        if tier not in self.pathogen_by_tier:
            raise ValueError(f"{self.env_id}: unknown tier {tier!r}; valid tiers: {', '.join(self.pathogen_by_tier)}")
        super().__init__(patient, parameters, allow_out_of_range)
        self.tier = tier
        self.observation_space = spaces.Box(0.0, 2.0, shape=(len(self.obs_names),), dtype=np.float32)
        self.death_penalty = DEATH_PENALTY + MAX_HOURLY_REWARD * self.horizon + self.stabilisation_bonus
        self._obs_columns = np.array([OBSERVATIONS.index(k) for k in self.obs_names], dtype=np.int64)
        self._info_keys = ("patient", *(key for key, _, _ in INFO_REALS), *(key for key, _ in INFO_COUNTS))

    # ------------------------------------------------------------------ patients
    def sample_patients(self, rngs) -> State:
        n, pset = len(rngs), mdl.SEPSIS_PARAMETERS
        reference = self.patient == "reference"  # published parameters, no initial variation
        z = np.zeros((n, len(pset)))
        uniform = np.empty((n, 4))  # initial pathogen, C_A, lactate and presentation delay, on [0, 1)
        z_noise = np.empty((n, 2 * (self.horizon + 1)))  # MAP and urine measurement noise per hour
        ids = []
        # each patient's draws, in order, from its own generator (merged calls, drawn into the rows: the same numbers)
        for i, rng in enumerate(rngs):
            if not reference:
                rng.standard_normal(out=z[i])
                rng.random(out=uniform[i])
            rng.standard_normal(out=z_noise[i])
            ids.append(-1 if reference else int(rng.integers(0, 2**31 - 1)))
        z_map, z_urine = z_noise[:, :self.horizon + 1].copy(), z_noise[:, self.horizon + 1:].copy()
        low, high = 1.0 - INITIAL_VARIATION, 1.0 + INITIAL_VARIATION
        vary = np.ones((n, 4)) if reference else low + (high - low) * uniform  # Generator.uniform's arithmetic
        params = self.patient_parameters(np.tile(pset.defaults, (n, 1)) if reference else pset.from_standard_normal(z))
        y = np.zeros((n, len(mdl.SepsisModel.state_names)))
        y[:, mdl.PATHOGEN] = self.pathogen_by_tier[self.tier] * vary[:, 0]
        y[:, mdl.ANTI_INFLAMMATORY] = 0.125 * vary[:, 1]
        y[:, mdl.LACTATE] = params[:, mdl.LAC0] * vary[:, 2]
        presentation_h = PRESENTATION_DELAY_H * vary[:, 3]
        reals = np.zeros((n, len(REALS)))
        counts = np.zeros((n, len(COUNTS)), dtype=np.int64)
        flags = np.zeros((n, len(FLAGS)), dtype=bool)
        untreated = np.zeros((n, len(mdl.SepsisModel.input_names)))
        PRESENT_KERNEL.around_integration(
            n, lambda: mdl.SepsisModel.integrate(y, untreated, params, presentation_h, PRESENTATION_STEPS),
            y, untreated, params, presentation_h, z_map, z_urine, self.horizon, self.controls_antibiotic, reals,
            counts, flags)
        return {"y": y, "params": params, "reals": reals, "counts": counts, "flags": flags, "z_map": z_map,
                "z_urine": z_urine, "patient": patient_names(ids)}

    def elapsed(self, state: State) -> np.ndarray:
        return state["counts"][:, HOUR]

    # ------------------------------------------------------------------ dynamics
    def step(self, state: State, action: np.ndarray) -> tuple[State, np.ndarray, np.ndarray]:
        reals0, counts0, flags0 = state["reals"], state["counts"], state["flags"]
        if _refused(counts0, flags0, self.horizon):
            self.check_running(state)
            raise RuntimeError(f"{self.env_id}: the patient died; call reset()")
        n = len(action)
        new = dict(state)
        y = new["y"] = np.empty_like(state["y"])
        reals = new["reals"] = np.empty_like(reals0)
        counts = new["counts"] = np.empty_like(counts0)
        flags = new["flags"] = np.empty_like(flags0)
        reward = np.empty(n)
        u, decided = np.empty((n, 3)), np.empty((n, 3))
        args = (self.task_code, action, state["y"], state["params"], state["z_map"], state["z_urine"], reals0, counts0,
                flags0, self.horizon, self.stabilisation_bonus, self.death_penalty, u, decided, y, reals, counts, flags,
                reward)
        STEP_KERNEL.around_integration(n, lambda: mdl.SepsisModel.integrate(
            y, u, state["params"], HOURS_PER_STEP, N_STEPS), *args)
        return new, reward, flags[:, DEAD]

    # ------------------------------------------------------------------ views
    def observe(self, state: State) -> np.ndarray:
        y = state["y"]
        n = len(y)
        obs = np.empty((n, len(self._obs_columns)), dtype=np.float32)
        OBSERVE_KERNEL(n, self._obs_columns, y, state["reals"], state["counts"], state["flags"], self.horizon, obs)
        return obs

    def info(self, state: State) -> dict[str, np.ndarray]:
        info = {"patient": state["patient"]}
        info.update((key, state[src][:, col]) for key, src, col in INFO_REALS)
        info.update((key, state["counts"][:, col]) for key, col in INFO_COUNTS)
        info[INFO_FLAG[0]] = state["flags"][:, INFO_FLAG[1]]
        info["outcome"] = OUTCOME_NAMES[state["counts"][:, OUTCOME]]
        return info

    # ------------------------------------------------------------------ one patient, fused
    def view_single(self, state: State) -> tuple[np.ndarray, dict[str, Any]]:
        obs = np.empty(len(self._obs_columns), dtype=np.float32)
        reals, counts = self._info_values
        _single_view(self._obs_columns, self.horizon, state["y"], state["reals"], state["counts"], state["flags"],
                     obs, reals, counts)
        return obs, self._single_info(state, reals, counts)[0]

    def step_single(self, state: State, action: Any, env_name: str) -> tuple[State, np.ndarray, float, bool,
                                                                               dict[str, Any]]:
        """One compiled call: the action check, :func:`_step` (the vector env's transition), observation and
        info values; anything unusual (an action to convert, a bad action, a finished episode) takes the
        batched path, which converts or raises."""
        if not (type(action) is np.ndarray and action.shape == self.action_space.shape and action.dtype.char in "fd"):
            return super().step_single(state, action, env_name)  # float32 or float64 arrays only
        obs = np.empty(len(self._obs_columns), dtype=np.float32)
        reals, counts = self._info_values
        y0, reals0, counts0, flags0 = state["y"], state["reals"], state["counts"], state["flags"]
        new = dict(state)
        # the next state's arrays (copies: numpy's fastest allocation of a small array), overwritten
        y = new["y"] = y0.copy()
        new_reals = new["reals"] = reals0.copy()
        new_counts = new["counts"] = counts0.copy()
        flags = new["flags"] = flags0.copy()
        if not self._fused_step(action, y0, state["params"], state["z_map"], state["z_urine"], reals0, counts0, flags0,
                                y, new_reals, new_counts, flags, obs, reals, counts):
            return super().step_single(state, action, env_name)
        info, reward, terminated = self._single_info(new, reals, counts)
        return new, obs, reward, terminated, info

    def _single_info(self, state: State, reals: np.ndarray, counts: np.ndarray) -> tuple[dict[str, Any], float, bool]:
        """The info of :meth:`info` for a batch of one (Python scalars), the reward and whether the patient
        died, from the values :func:`_single_view` gathered."""
        reals, counts = reals.tolist(), counts.tolist()
        reward, outcome, antibiotic = reals.pop(), counts.pop(), counts.pop()
        # the values match the keys one for one (strict=False only skips the length check)
        info = dict(zip(self._info_keys, [state["patient"].item(), *reals, *counts], strict=False))
        info["antibiotics_given"] = antibiotic > 0
        info["outcome"] = OUTCOMES[outcome]
        return info, reward, outcome == DIED

    @functools.cached_property
    def _info_values(self) -> tuple[np.ndarray, np.ndarray]:
        """Scratch for one patient's info values (read into Python scalars at once, never handed out): the
        reals end with the reward, the counts with the flag and the outcome code."""
        return np.empty(len(INFO_REALS) + 1), np.empty(len(INFO_COUNTS) + 2, dtype=np.int64)

    @functools.cached_property
    def _fused_step(self):
        low, high = self._flat_bounds
        return _fused_single_step(self.task_code, self.horizon, self.stabilisation_bonus, self.death_penalty,
                                  self._obs_columns, low, high)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_fused_step", None)  # compiled code: rebuilt (from the cache) on first use
        return state

    def clinical_metrics(self, final_info: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """72 h survival, hours with MAP >= 65 mmHg, lactate < 2 mmol/L at the end, fluids, peak vasopressor."""
        return {
            "survival_72h": (final_info["outcome"] != "died").astype(float),
            "hours_map_at_least_65": final_info["hours_map_at_least_65"].astype(float),
            "lactate_below_2_at_end": (final_info["lactate_mmol_per_l"] < 2.0).astype(float),
            "total_fluid_l": final_info["fluid_total_l"].astype(float),
            "peak_norepinephrine_ug_per_kg_min": final_info["peak_norepinephrine_ug_per_kg_min"].astype(float),
            "final_sofa": final_info["sofa"].astype(float),
        }


class FluidResuscitationTask(_SepsisTask):
    env_id = "sepsisim/FluidResuscitation-v0"
    pathogen_by_tier = {"easy": 0.9, "medium": 1.1, "hard": 1.3}
    obs_names = ("map", "lactate", "urine", "damage", "volume", "pathogen", "sofa")
    task_code = FLUID_TASK

    def __init__(self, tier: str = "medium", patient: str = "cohort", parameters: dict[str, float] | None = None,
                 allow_out_of_range: bool = False) -> None:
        super().__init__(tier, patient, parameters, allow_out_of_range)
        self.action_space = spaces.Box(0.0, MAX_FLUID_ML_PER_H, shape=(1,), dtype=np.float32)


class VasopressorTitrationTask(_SepsisTask):
    env_id = "sepsisim/VasopressorTitration-v0"
    pathogen_by_tier = {"easy": 0.95, "medium": 1.15, "hard": 1.35}
    # The paper's 8-D observation: the fluid observation without the volume (fluids follow the protocol;
    # the volume is in the info) plus the dose and the hours on vasopressor.
    obs_names = ("map", "lactate", "urine", "damage", "pathogen", "sofa", "vasopressor", "hours_on_vasopressor")
    task_code = VASOPRESSOR_TASK

    def __init__(self, tier: str = "medium", patient: str = "cohort", parameters: dict[str, float] | None = None,
                 allow_out_of_range: bool = False) -> None:
        super().__init__(tier, patient, parameters, allow_out_of_range)
        self.action_space = spaces.Box(-MAX_DOSE_CHANGE, MAX_DOSE_CHANGE, shape=(1,), dtype=np.float32)


class SepsisManagementTask(_SepsisTask):
    env_id = "sepsisim/SepsisManagement-v0"
    pathogen_by_tier = {"easy": 0.95, "medium": 1.15, "hard": 1.35}
    obs_names = ("map", "lactate", "urine", "damage", "volume", "pathogen", "sofa", "vasopressor", "antibiotic",
                 "time")
    task_code = MANAGEMENT_TASK
    controls_antibiotic = True
    stabilisation_bonus = STABILISATION_BONUS

    def __init__(self, tier: str = "medium", patient: str = "cohort", parameters: dict[str, float] | None = None,
                 allow_out_of_range: bool = False) -> None:
        super().__init__(tier, patient, parameters, allow_out_of_range)
        self.action_space = spaces.Box(np.array([0.0, -MAX_DOSE_CHANGE, 0.0], dtype=np.float32),
                                       np.array([MAX_FLUID_ML_PER_H, MAX_DOSE_CHANGE, 1.0], dtype=np.float32),
                                       dtype=np.float32)



_COMMON_DOC = """
    ## Rewards (per hour; paper sec. 4 components with a survival term)
    A living hour earns ``1`` (alive) ``+ 0.5`` if 65 <= MAP <= 90 mmHg ``+ 0.25`` if lactate < 2 mmol/L
    ``+ 0.25`` if urine >= 0.5 mL/kg/h, minus penalties capped at 1 in total: ``0.25`` per litre of
    intravascular volume above 4 L (overload){extra_penalties}. A living hour therefore scores 0 to 2.{bonus}
    Death (terminal) scores ``-{death:g}`` = -(50 + 2 x 72{bonus_term}): it forfeits the remaining hours and is
    worse than any surviving course.

    ## Starting State
    A virtual patient: Reynolds pathogen growth rate, baseline MAP and body weight log-normal around the
    published values (CVs in the parameter table); initial pathogen load ``{loads}`` (easy/medium/hard,
    Reynolds units, around the recovery threshold), anti-inflammatory mediator and lactate, each with
    +-20 % uniform variation; the infection then runs untreated for 6 h (+-20 %) before the first decision.
    All randomness of the episode (patient and measurement noise) is drawn from ``self.np_random`` at reset.
    ``patient="reference"``: published parameters and the tier's nominal initial state.

    ## Episode End
    Termination: death, Reynolds damage D >= 10 (organ failure; the model's death states sit at D ~17).
    Truncation: 72 hourly decisions through the registration's ``TimeLimit``.

    ## Info
    ``patient``, ``hour``, ``map_mmhg`` (true) and ``map_measured_mmhg``, ``lactate_mmol_per_l``,
    ``urine_ml_per_kg_h`` (true, last hour) and ``urine_measured_ml_per_kg_h``, ``sofa`` (0-12) with
    ``sofa_cardiovascular``, ``sofa_renal``, ``sofa_metabolic`` (0-4 each), ``volume_l`` (intravascular
    excess), ``interstitial_fluid_l``, ``fluid_total_l``, ``norepinephrine_ug_per_kg_min``,
    ``hours_on_vasopressor``, ``peak_norepinephrine_ug_per_kg_min``, ``hours_map_at_least_65`` (h),
    ``pathogen``, ``damage`` (Reynolds units), ``antibiotics_given``,
    ``antibiotic_hour`` (-1 = not given), ``outcome`` (in_progress / survived / died), ``death_hour`` (-1 alive).

    ## Arguments
    ``gym.make(ID, tier="easy" | "medium" | "hard", patient="cohort" | "reference")`` (default medium;
    the IDs ``...Easy-v0``, ``...Medium-v0``, ``...Hard-v0`` fix the tier; ``patient="reference"`` uses
    the published parameters without initial variation); ``gym.make_vec(ID, num_envs=n,
    vectorization_mode="vector_entry_point")`` for the native batched version.
"""

_OBS_ROWS = {
    "map": "mean arterial pressure, monitored (noise sigma 2 mmHg) | mmHg / 100",
    "lactate": "plasma lactate | mmol/L / 10 (analyser range 0-20)",
    "urine": "urine output over the last hour, measured (noise sigma 0.05) | mL/kg/h / 2 (range 0-4)",
    "damage": "tissue damage D (Reynolds) | D / 10 (1 = death threshold)",
    "volume": "intravascular volume excess | L / 10 (at most 6.7 L: 1 L/h infusion vs 0.15/h redistribution)",
    "pathogen": "pathogen load P (Reynolds) | P / 20 (carrying capacity)",
    "sofa": "modified SOFA (cardiovascular + renal + metabolic) | score / 12",
    "vasopressor": "norepinephrine dose | ug/kg/min / 1.0 (maximum)",
    "hours_on_vasopressor": "hours with norepinephrine running | h / 72",
    "antibiotic": "antibiotics given | 0 / 1",
    "time": "elapsed time | h / 72",
}


def _obs_table(task: type[_SepsisTask]) -> str:
    rows = [f"    ``Box(0, 2, ({len(task.obs_names)},), float32)``:", "",
            "    | index | observation | unit / normalisation |", "    |---|---|---|"]
    rows += [f"    | {i} | {_OBS_ROWS[k]} |" for i, k in enumerate(task.obs_names)]
    return "\n".join(rows) + "\n"


def _common(task: type[_SepsisTask], extra_penalties: str = "", bonus: str = "") -> str:
    loads = " / ".join(f"{v:g}" for v in task.pathogen_by_tier.values())
    return _COMMON_DOC.format(extra_penalties=extra_penalties, bonus=bonus, loads=loads,
                              death=DEATH_PENALTY + MAX_HOURLY_REWARD * HORIZON_HOURS + task.stabilisation_bonus,
                              bonus_term=" + 10" if task.stabilisation_bonus else "")


class FluidResuscitationEnv(TaskEnv):
    __doc__ = """Hourly crystalloid resuscitation of a septic patient (antibiotics given from the start).

    ## Description
    Inflammation follows Reynolds et al. 2006 (pathogen, activated phagocytes, damage D, anti-inflammatory
    mediator; published parameters, hours) with antibiotic killing. MAP is the paper's eq. 5: damage-driven
    vasoplegia, infused volume with Frank-Starling saturation (8 mmHg/L) and norepinephrine (none here).
    Infused volume redistributes to the interstitium at 0.15/h. Hypoperfusion (MAP < 65 mmHg) adds damage,
    interstitial fluid above 5 L (oedema) adds damage: too little fluid and too much both kill.

    ## Action Space
    ``Box(0, 1000, (1,), float32)``; out-of-range finite values are clipped:

    | index | action | unit |
    |---|---|---|
    | 0 | crystalloid bolus infused over the next hour | mL |

    ## Observation Space
""" + _obs_table(FluidResuscitationTask) + _common(FluidResuscitationTask)
    task_class = FluidResuscitationTask


class VasopressorTitrationEnv(TaskEnv):
    __doc__ = """Hourly norepinephrine titration with protocol fluids and antibiotics.

    ## Description
    As FluidResuscitation-v0, but fluids follow the SSC protocol (30 mL/kg over the first 3 h, then
    1.5 mL/kg/h) and the agent titrates norepinephrine (MAP gain 15 mmHg per ug/kg/min, paper eq. 5).
    Doses above 0.5 ug/kg/min cause ischaemic injury (added damage), too little pressure causes
    hypoperfusion injury.

    ## Action Space
    ``Box(-0.1, 0.1, (1,), float32)``; out-of-range finite values are clipped:

    | index | action | unit |
    |---|---|---|
    | 0 | norepinephrine dose change for the next hour (dose kept within 0-1) | ug/kg/min |

    ## Observation Space
""" + _obs_table(VasopressorTitrationTask) + _common(
        VasopressorTitrationTask, extra_penalties=", and 0.5 per ug/kg/min of norepinephrine above 0.5")
    task_class = VasopressorTitrationTask


class SepsisManagementEnv(TaskEnv):
    __doc__ = """Combined sepsis management: fluids, norepinephrine and antibiotic timing.

    ## Description
    The full model of FluidResuscitation-v0 and VasopressorTitration-v0; antibiotics must be started by the
    agent (irreversible). Without antibiotics the pathogen is cleared by the immune response only.

    ## Action Space
    ``Box([0, -0.1, 0], [1000, 0.1, 1], (3,), float32)``:

    | index | action | unit |
    |---|---|---|
    | 0 | crystalloid over the next hour | mL |
    | 1 | norepinephrine dose change (dose kept in 0-1) | ug/kg/min |
    | 2 | antibiotics: > 0.5 starts them (irreversible once given) | flag |

    ## Observation Space
""" + _obs_table(SepsisManagementTask) + _common(
        SepsisManagementTask,
        extra_penalties=", 0.5 per ug/kg/min of norepinephrine above 0.5, and 1 per hour without antibiotics "
                        "after hour 3",
        bonus=" Once, after >= 6 h: ``+10`` for MAP >= 65 mmHg, lactate < 2 mmol/L and SOFA <= 3 (stabilisation).")
    task_class = SepsisManagementTask


class FluidResuscitationVectorEnv(TaskVectorEnv):
    """Native vector version of :class:`FluidResuscitationEnv`."""

    task_class = FluidResuscitationTask


class VasopressorTitrationVectorEnv(TaskVectorEnv):
    """Native vector version of :class:`VasopressorTitrationEnv`."""

    task_class = VasopressorTitrationTask


class SepsisManagementVectorEnv(TaskVectorEnv):
    """Native vector version of :class:`SepsisManagementEnv`."""

    task_class = SepsisManagementTask
