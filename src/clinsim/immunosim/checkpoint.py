"""CheckpointInhibitor-v0 and CombinationTherapy-v0: weekly checkpoint-blockade decisions over 180 days."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from gymnasium import spaces

from clinsim.core.batch import AFTER_INTEGRATION, BEFORE_INTEGRATION, FUSED, BatchKernel
from clinsim.core.env import TaskEnv, TaskVectorEnv
from clinsim.core.jit import jit
from clinsim.core.render import Panel
from clinsim.core.task import State, Task, patient_labels
from clinsim.immunosim import models as mdl

DAYS_PER_STEP = 7.0
# DOP853 steps per week: relative error <= 1e-7 against scipy over one week on states recorded from both
# checkpoint envs (tests/test_integration.py)
STEPS_PER_WEEK = 4
HORIZON_WEEKS = 26  # 182 days: the paper's 180-day course in whole weeks
# Escape threshold: above the untreated saddle (2.7e8) and below the escape state (4.5e8 for the reference
# patient, > 3.8e8 within +-3 SD of the cohort; tests/immunosim/test_kuznetsov.py).
LETHAL_TUMOUR_CELLS = 3.5e8
ELIMINATED_TUMOUR_CELLS = 1.0  # fewer than one cell: extinct
DOSE_LEVELS_MG_PER_KG = np.array([0.0, 1.0, 3.0])  # none / low / high (nivolumab 3 mg/kg = label dose)

# Reward weights (paper eq. 1 structure, per week).
# CORRECTION: the published reward lets an early escape or a grade-4 event end a costly course and
# score better than a controlled patient. Here every week alive earns ALIVE_BONUS, so ending early
# forfeits the remaining weeks on top of the -50 escape penalty; toxicity never terminates.
ALIVE_BONUS = 1.0
TUMOUR_LOG10_WEIGHT = 5.0  # alpha_T: per log10 change of tumour cells
REDUCTION_BONUS = 1.0  # per week with >= 30 % shrinkage in diameter (RECIST partial response)
TOXICITY_PENALTY = np.array([0.0, 0.5, 2.0, 8.0, 20.0])  # by irAE grade 0-4
DRUG_COST_PER_MG_PER_KG = 0.1
ESCAPE_PENALTY = -50.0
ELIMINATION_BONUS = 100.0
# Clinical irAE management (ASCO 2018 guideline, simplified): weeks of held doses by grade,
# grade 4 = permanent discontinuation of all checkpoint inhibitors.
HOLD_WEEKS_BY_GRADE = np.array([0, 0, 1, 3, 0])
STEROID_WEEKS_BY_GRADE = np.array([0, 0, 0, 4, 4])  # high-dose corticosteroid course with taper

OUTCOMES = ("controlled", "escaped", "eliminated", "stopped_for_toxicity")
# observation scales: the published EC50s (population values, not the patient's)
EC50_PD1_MG_PER_L = mdl.CHECKPOINT_PARAMETERS["ec50_pd1"].value
EC50_CTLA4_MG_PER_L = mdl.CHECKPOINT_PARAMETERS["ec50_ctla4"].value
RECIST = ("CR", "PR", "SD", "PD")


OUTCOME_NAMES = np.array(OUTCOMES)
RECIST_NAMES = np.array(RECIST)


def patient_names(patient_ids: list[int]) -> np.ndarray:
    """ImmunoSim's patient labels: ``cohort-<id>`` or ``reference``."""
    return patient_labels(patient_ids, "cohort")

# Bounds of the uniform presentation draws (log10 cells): an established tumour between the dormant
# and the escape basins, with exhausted effectors, so that the untreated course mostly escapes and
# treatment decides.
LOG_TUMOUR_RANGE = (np.log10(1.0e8), np.log10(3.0e8))
LOG_EFFECTOR_RANGE = (np.log10(1.5e5), np.log10(8.0e5))


@jit
def recist_category(tumour: float, baseline: float, nadir: float) -> int:
    """RECIST 1.1 category (index into ``RECIST``) from tumour cells, diameter proportional to cells^(1/3).

    CR: eliminated; PR: diameter <= -30 % from baseline; PD: diameter >= +20 % from nadir; else SD.
    """
    if tumour < ELIMINATED_TUMOUR_CELLS:
        return 0
    if np.cbrt(tumour / nadir) >= 1.2:
        return 3
    return 1 if np.cbrt(tumour / baseline) <= 0.7 else 2


_integrate = mdl.CheckpointModel.integrate_patient


@jit
def _step(b, phase, action, y0, p, week0, baseline, nadir0, u_event, u_grade, tox0, hold0, steroid0, disc0,
          severe0, cum_nivo0, cum_ipi0, tox_params, horizon, u, c_start,
          y, week, nadir, tox, hold, steroid, disc, severe, cum_nivo, cum_ipi, dose_nivo, dose_ipi, withheld,
          outcome, recist, reward, terminated):  # pragma: no cover - compiled
    """One week of one patient (see the env docstring): dosing, dynamics, irAEs, reward.

    ``phase``: a ``clinsim.core.batch`` phase; between the two halves the caller integrates ``y`` with
    the steroid input ``u``; ``c_start`` carries the drug concentrations after dosing."""
    yb = y[b]
    if phase != AFTER_INTEGRATION:
        weight = p[b, mdl.BODY_WEIGHT]
        nivo_asked = DOSE_LEVELS_MG_PER_KG[action[b, 0]]
        ipi_asked = DOSE_LEVELS_MG_PER_KG[action[b, 1]] if action.shape[1] > 1 else 0.0
        allowed = not disc0[b] and hold0[b] == 0
        dose_nivo[b] = nivo_asked if allowed else 0.0
        dose_ipi[b] = ipi_asked if allowed else 0.0
        withheld[b] = not allowed and (nivo_asked > 0 or ipi_asked > 0)
        yb[:] = y0[b]
        yb[mdl.NIVO_CENTRAL_MG] += dose_nivo[b] * weight
        yb[mdl.IPI_MG] += dose_ipi[b] * weight
        c_start[b, 0] = yb[mdl.NIVO_CENTRAL_MG] / p[b, mdl.NIVO_VC]
        c_start[b, 1] = yb[mdl.IPI_MG] / p[b, mdl.IPI_V]
        u[b, mdl.STEROID] = 1.0 if steroid0[b] > 0 else 0.0
    if phase == FUSED:
        _integrate(yb, u[b], p[b], DAYS_PER_STEP, STEPS_PER_WEEK)
    if phase == BEFORE_INTEGRATION:
        return
    for i in range(yb.shape[0]):  # amounts below zero are integration round-off
        yb[i] = max(yb[i], 0.0)
    nivo, ipi = dose_nivo[b], dose_ipi[b]

    # irAEs: weekly event drawn from the patient's pre-drawn uniforms (mean exposure of the week)
    w = week0[b]
    c_nivo = 0.5 * (c_start[b, 0] + yb[mdl.NIVO_CENTRAL_MG] / p[b, mdl.NIVO_VC])
    c_ipi = 0.5 * (c_start[b, 1] + yb[mdl.IPI_MG] / p[b, mdl.IPI_V])
    event = u_event[b, w] < mdl.irae_probability(c_nivo, c_ipi, tox_params)
    grade = mdl.irae_grade(u_grade[b, w]) if event else 0
    tox[b], hold[b], steroid[b], disc[b] = mdl.manage_irae(grade, tox0[b], hold0[b], steroid0[b], disc0[b],
                                                           HOLD_WEEKS_BY_GRADE, STEROID_WEEKS_BY_GRADE)

    tumour_before = y0[b, mdl.T_CELLS]
    tumour = yb[mdl.T_CELLS]
    escaped = tumour >= LETHAL_TUMOUR_CELLS
    eliminated = tumour < ELIMINATED_TUMOUR_CELLS
    terminated[b] = escaped or eliminated
    week[b] = w + 1
    remaining = horizon - (w + 1)
    shrunk = np.cbrt(tumour / baseline[b]) <= 0.7
    r = (ALIVE_BONUS * (not escaped)
         - TUMOUR_LOG10_WEIGHT * (np.log10(tumour + 1.0) - np.log10(tumour_before + 1.0))
         + REDUCTION_BONUS * shrunk
         - TOXICITY_PENALTY[grade]
         - DRUG_COST_PER_MG_PER_KG * (nivo + ipi))
    if escaped:
        r += ESCAPE_PENALTY
    elif eliminated:
        r += ELIMINATION_BONUS + (ALIVE_BONUS + REDUCTION_BONUS) * remaining
    reward[b] = r

    nadir[b] = min(nadir0[b], tumour)
    severe[b] = severe0[b] + (grade >= 3)
    cum_nivo[b] = cum_nivo0[b] + nivo
    cum_ipi[b] = cum_ipi0[b] + ipi
    recist[b] = recist_category(tumour, baseline[b], nadir[b])
    outcome[b] = 1 if escaped else 2 if eliminated else 3 if disc[b] else 0


@jit
def _observe(b, y, p, tox, cum_ipi, week, horizon, uses_ipilimumab, obs):  # pragma: no cover - compiled
    values = [np.log10(y[b, mdl.T_CELLS] + 1.0) / 9.0,
              np.log10(y[b, mdl.E_CELLS] + 1.0) / 9.0,
              np.log1p(y[b, mdl.NIVO_CENTRAL_MG] / p[b, mdl.NIVO_VC] / EC50_PD1_MG_PER_L) / np.log1p(100.0)]
    if uses_ipilimumab:
        values.append(np.log1p(y[b, mdl.IPI_MG] / p[b, mdl.IPI_V] / EC50_CTLA4_MG_PER_L) / np.log1p(100.0))
    values.append(tox[b] / 4.0)
    if uses_ipilimumab:
        values.append(min(cum_ipi[b] / 24.0, 1.0))
    values.append(week[b] / horizon)
    for i, v in enumerate(values):
        obs[b, i] = min(max(v, 0.0), 2.0)


STEP_KERNEL = BatchKernel(_step)
OBSERVE_KERNEL = BatchKernel(_observe)


class _CheckpointTask(Task):
    """Shared dynamics and reward of the two checkpoint-inhibitor tasks."""

    horizon: ClassVar[int] = HORIZON_WEEKS
    step_unit: ClassVar[str] = "week"
    step_key: ClassVar[str] = "week"
    uses_ipilimumab: ClassVar[bool]
    render_panels: ClassVar[tuple[Panel, ...]] = (
        Panel("Cells", ("tumour_cells", "effector_cells"), "cells", log=True),
        Panel("Drug concentration", ("nivolumab_mg_per_l", "ipilimumab_mg_per_l"), "mg/L"),
        Panel("irAE grade", ("toxicity_grade",), "grade"),
        Panel("Cumulative dose", ("cumulative_nivolumab_mg_per_kg", "cumulative_ipilimumab_mg_per_kg"), "mg/kg"),
    )

    parameter_set = mdl.CHECKPOINT_PARAMETERS

    def __init__(self, patient: str = "cohort", parameters: dict[str, float] | None = None,
                 allow_out_of_range: bool = False) -> None:
        super().__init__(patient, parameters, allow_out_of_range)
        self.action_space = spaces.MultiDiscrete([3, 3]) if self.uses_ipilimumab else spaces.Discrete(3)
        n_obs = 7 if self.uses_ipilimumab else 5
        self.observation_space = spaces.Box(0.0, 2.0, shape=(n_obs,), dtype=np.float32)
        self.toxicity = mdl.TOXICITY_PARAMETERS.defaults

    # ------------------------------------------------------------------ patients
    def sample_patients(self, rngs) -> State:
        n, pset = len(rngs), mdl.CHECKPOINT_PARAMETERS
        z = np.zeros((n, len(pset)))
        uniform = np.empty((n, 2))  # tumour and effector presentation, on [0, 1)
        u_events = np.empty((n, 2 * self.horizon))  # irAE event and grade draws per week
        ids = []
        # each patient's draws, in order, from its own generator (merged calls, drawn into the rows: the same numbers)
        for i, rng in enumerate(rngs):
            if self.patient == "reference":
                ids.append(-1)
            else:
                rng.standard_normal(out=z[i])
                rng.random(out=uniform[i])
                ids.append(int(rng.integers(0, 2**31 - 1)))
            rng.random(out=u_events[i])
        u_event, u_grade = u_events[:, :self.horizon].copy(), u_events[:, self.horizon:].copy()
        if self.patient == "reference":
            params = np.tile(pset.defaults, (n, 1))
            tumour, effector = np.full(n, 2.0e8), np.full(n, 3.0e5)
        else:
            params = pset.from_standard_normal(z)
            (t_low, t_high), (e_low, e_high) = LOG_TUMOUR_RANGE, LOG_EFFECTOR_RANGE
            tumour = 10 ** (t_low + (t_high - t_low) * uniform[:, 0])  # Generator.uniform's arithmetic
            effector = 10 ** (e_low + (e_high - e_low) * uniform[:, 1])
        y = np.zeros((n, len(mdl.CheckpointModel.state_names)))
        y[:, mdl.E_CELLS], y[:, mdl.T_CELLS] = effector, tumour
        zeros, no = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
        return {
            "y": y,
            "params": self.patient_parameters(params),
            "week": zeros.copy(),
            "baseline_cells": tumour,
            "nadir_cells": tumour.copy(),
            "u_event": u_event,
            "u_grade": u_grade,
            "tox_grade": zeros.copy(),
            "hold_weeks": zeros.copy(),
            "steroid_weeks": zeros.copy(),
            "discontinued": no.copy(),
            "severe_events": zeros.copy(),
            "cum_nivo_mg_per_kg": np.zeros(n),
            "cum_ipi_mg_per_kg": np.zeros(n),
            "dose_nivo_mg_per_kg": np.zeros(n),
            "dose_ipi_mg_per_kg": np.zeros(n),
            "withheld": no.copy(),
            "outcome": zeros.copy(),
            "recist": np.where(tumour >= ELIMINATED_TUMOUR_CELLS, 2, 0),
            "patient": patient_names(ids),
        }

    # ------------------------------------------------------------------ dynamics
    def step(self, state: State, action: np.ndarray) -> tuple[State, np.ndarray, np.ndarray]:
        self.check_running(state)
        n = len(action)
        new = dict(state)
        changed = ("y", "week", "nadir_cells", "tox_grade", "hold_weeks", "steroid_weeks", "discontinued",
                   "severe_events", "cum_nivo_mg_per_kg", "cum_ipi_mg_per_kg", "dose_nivo_mg_per_kg",
                   "dose_ipi_mg_per_kg", "withheld", "outcome", "recist")
        for k in changed:
            new[k] = state[k].copy()  # every entry is overwritten; copy() allocates fastest
        reward = np.empty(n)
        terminated = np.empty(n, dtype=bool)
        u, c_start = np.empty((n, 1)), np.empty((n, 2))
        args = (action.reshape(n, -1), state["y"], state["params"], state["week"], state["baseline_cells"],
                state["nadir_cells"], state["u_event"], state["u_grade"], state["tox_grade"], state["hold_weeks"],
                state["steroid_weeks"], state["discontinued"], state["severe_events"], state["cum_nivo_mg_per_kg"],
                state["cum_ipi_mg_per_kg"], self.toxicity, self.horizon, u, c_start, *(new[k] for k in changed),
                reward, terminated)
        STEP_KERNEL.around_integration(n, lambda: mdl.CheckpointModel.integrate(
            new["y"], u, state["params"], DAYS_PER_STEP, STEPS_PER_WEEK), *args)
        return new, reward, terminated

    # ------------------------------------------------------------------ views
    def concentrations(self, state: State) -> tuple[np.ndarray, np.ndarray]:
        """Nivolumab and ipilimumab plasma concentrations (mg/L)."""
        y, p = state["y"], state["params"]
        return y[:, mdl.NIVO_CENTRAL_MG] / p[:, mdl.NIVO_VC], y[:, mdl.IPI_MG] / p[:, mdl.IPI_V]

    def observe(self, state: State) -> np.ndarray:
        n = len(state["week"])
        obs = np.empty((n, self.observation_space.shape[0]), dtype=np.float32)
        OBSERVE_KERNEL(n, state["y"], state["params"], state["tox_grade"], state["cum_ipi_mg_per_kg"], state["week"],
                       self.horizon, self.uses_ipilimumab, obs)
        return obs

    def info(self, state: State) -> dict[str, np.ndarray]:
        y = state["y"]
        c_nivo, c_ipi = self.concentrations(state)
        info = {
            "patient": state["patient"],
            "day": state["week"] * DAYS_PER_STEP,
            "tumour_cells": y[:, mdl.T_CELLS],
            "effector_cells": y[:, mdl.E_CELLS],
            "baseline_tumour_cells": state["baseline_cells"],
            "nadir_tumour_cells": state["nadir_cells"],
            "nivolumab_mg_per_l": c_nivo,
            "toxicity_grade": state["tox_grade"],
            "severe_irae_count": state["severe_events"],
            "treatment_held": state["hold_weeks"] > 0,
            "on_corticosteroids": state["steroid_weeks"] > 0,
            "treatment_discontinued": state["discontinued"],
            "dose_withheld": state["withheld"],
            "cumulative_nivolumab_mg_per_kg": state["cum_nivo_mg_per_kg"],
            "recist": RECIST_NAMES[state["recist"]],
            "outcome": OUTCOME_NAMES[state["outcome"]],
        }
        if self.uses_ipilimumab:
            info["ipilimumab_mg_per_l"] = c_ipi
            info["cumulative_ipilimumab_mg_per_kg"] = state["cum_ipi_mg_per_kg"]
        return info

    def clinical_metrics(self, final_info: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Tumour control, best response, escape, severe toxicity, stopped therapy and cumulative dose."""
        outcome = final_info["outcome"]
        best_ratio = np.cbrt(final_info["nadir_tumour_cells"] / final_info["baseline_tumour_cells"])
        metrics = {
            "tumour_control": (outcome != "escaped").astype(float),
            "objective_response": (best_ratio <= 0.7).astype(float),
            "escape": (outcome == "escaped").astype(float),
            "elimination": (outcome == "eliminated").astype(float),
            "severe_irae": (final_info["severe_irae_count"] > 0).astype(float),
            "stopped_for_toxicity": final_info["treatment_discontinued"].astype(float),
            "cumulative_nivolumab_mg_per_kg": final_info["cumulative_nivolumab_mg_per_kg"].astype(float),
        }
        if self.uses_ipilimumab:
            metrics["cumulative_ipilimumab_mg_per_kg"] = final_info["cumulative_ipilimumab_mg_per_kg"].astype(float)
        return metrics


class CheckpointInhibitorTask(_CheckpointTask):
    env_id = "immunosim/CheckpointInhibitor-v0"
    uses_ipilimumab = False


class CombinationTherapyTask(_CheckpointTask):
    env_id = "immunosim/CombinationTherapy-v0"
    uses_ipilimumab = True


_COMMON_DOC = """
    ## Starting State
    ``patient="cohort"`` (default) draws a virtual patient from ``self.np_random``: Kuznetsov, PK and
    body-weight parameters log-normal around the published values (CVs in the parameter table), tumour
    log-uniform in 1e8-3e8 cells and effectors in 1.5e5-8e5 cells, i.e. between the dormant and the
    escape basins. ``patient="reference"`` uses the published parameters, 2e8 tumour and 3e5 effector cells.

    ## Rewards (per week; paper eq. 1 with a survival term)
    ``+1`` alive, ``-5 * delta log10(tumour cells)``, ``+1`` while the diameter is >= 30 % below baseline
    (RECIST PR), ``-[0, 0.5, 2, 8, 20]`` for a new irAE of grade 0-4, ``-0.1`` per mg/kg given.
    Terminal: ``-50`` on escape; ``+100`` on elimination plus the weekly bonuses of the remaining weeks.

    ## Episode End
    Termination: escape (tumour >= 3.5e8 cells, below the untreated escape state ~4.5e8) or elimination
    (< 1 cell). Truncation: 26 weekly decisions (182 days) through the registration's ``TimeLimit``.
    Toxicity never ends an episode: grade 2 holds doses 1 week, grade 3 3 weeks, grade 4 stops all
    checkpoint inhibitors for good (the patient's course continues untreated).

    ## Info
    ``patient``, ``day``, ``tumour_cells``, ``effector_cells``, ``baseline_tumour_cells`` (cells),
    ``nivolumab_mg_per_l`` (mg/L), ``toxicity_grade`` (0-4), ``severe_irae_count``, ``treatment_held``,
    ``treatment_discontinued``, ``dose_withheld``, ``cumulative_nivolumab_mg_per_kg`` (mg/kg), ``recist``
    (CR/PR/SD/PD, diameter ~ cells^(1/3)), ``outcome`` (controlled/escaped/eliminated/stopped_for_toxicity).

    ## Arguments
    ``gym.make(ID, patient="cohort" | "reference")``; ``gym.make_vec(ID, num_envs=n,
    vectorization_mode="vector_entry_point")`` for the native batched version.
"""


class CheckpointInhibitorEnv(TaskEnv):
    __doc__ = """Anti-PD-1 (nivolumab) monotherapy scheduling on Kuznetsov tumour-immune dynamics.

    ## Description
    Effector (E) and tumour (T) cells follow Kuznetsov et al. 1994 (BCL1 lymphoma, published
    parameters). Nivolumab (two-compartment PK, Bajaj 2017) raises the tumour-kill rate
    n -> n (1 + 0.8 C/(5 mg/L + C)); its concentration is integrated with the cells. The system is
    bistable: treatment pulls tumours from the escape basin into immune-controlled dormancy.
    Immune-related adverse events occur with a flat weekly probability under PD-1 exposure (Shulgin 2020).

    ## Action Space
    ``Discrete(3)``, given at the start of each week:

    | action | nivolumab dose |
    |---|---|
    | 0 | none |
    | 1 | 1 mg/kg |
    | 2 | 3 mg/kg (label dose) |

    ## Observation Space
    ``Box(0, 2, (5,), float32)``:

    | index | observation | unit / normalisation |
    |---|---|---|
    | 0 | tumour burden | log10(cells + 1) / 9 |
    | 1 | effector cells | log10(cells + 1) / 9 |
    | 2 | nivolumab concentration | log(1 + C / 5 mg/L) / log(101) |
    | 3 | active irAE grade | grade / 4 |
    | 4 | time | week / 26 |
""" + _COMMON_DOC
    task_class = CheckpointInhibitorTask


class CombinationTherapyEnv(TaskEnv):
    __doc__ = """Dual checkpoint blockade (nivolumab + ipilimumab) with asymmetric toxicity.

    ## Description
    As CheckpointInhibitor-v0, plus ipilimumab (one-compartment PK) which amplifies effector priming
    s -> s (1 + 2 C/(10 mg/L + C)). The two mechanisms act synergistically (more primed effectors, each
    killing harder under PD-1 blockade; Nikolopoulou 2021). irAE probability is flat for PD-1 and rises
    with ipilimumab concentration, doubled under combination (Shulgin 2020, CheckMate-067).

    ## Action Space
    ``MultiDiscrete([3, 3])``: ``[nivolumab level, ipilimumab level]``, each 0 = none, 1 = 1 mg/kg,
    2 = 3 mg/kg, given at the start of each week.

    ## Observation Space
    ``Box(0, 2, (7,), float32)``:

    | index | observation | unit / normalisation |
    |---|---|---|
    | 0 | tumour burden | log10(cells + 1) / 9 |
    | 1 | effector cells | log10(cells + 1) / 9 |
    | 2 | nivolumab concentration | log(1 + C / 5 mg/L) / log(101) |
    | 3 | ipilimumab concentration | log(1 + C / 10 mg/L) / log(101) |
    | 4 | active irAE grade | grade / 4 |
    | 5 | cumulative ipilimumab | mg/kg / 24, capped at 1 |
    | 6 | time | week / 26 |

    The info also carries ``ipilimumab_mg_per_l`` and ``cumulative_ipilimumab_mg_per_kg``.
""" + _COMMON_DOC
    task_class = CombinationTherapyTask


class CheckpointInhibitorVectorEnv(TaskVectorEnv):
    """Native vector version of :class:`CheckpointInhibitorEnv`."""

    task_class = CheckpointInhibitorTask


class CombinationTherapyVectorEnv(TaskVectorEnv):
    """Native vector version of :class:`CombinationTherapyEnv`."""

    task_class = CombinationTherapyTask
