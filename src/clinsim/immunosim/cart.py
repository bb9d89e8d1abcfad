"""CARTCell-v0: daily CAR-T infusion decisions over 90 days on CARTmath dynamics with CRS."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from gymnasium import spaces

from clinsim.core.batch import BatchKernel
from clinsim.core.env import TaskEnv, TaskVectorEnv
from clinsim.core.integrate import CARRY_DERIVATIVE_VALID, carry_size
from clinsim.core.jit import jit
from clinsim.core.render import Panel
from clinsim.core.task import State, Task
from clinsim.immunosim import cart_models as cm
from clinsim.immunosim.checkpoint import RECIST_NAMES, patient_names, recist_category

DAYS_PER_STEP = 1.0
HORIZON_DAYS = 90
# Doses in model cells (the xenograft scale of the HDLM-2 fit, where 1.5e6 cells clear an established
# tumour and 0.2e6 do not; Barros 2021 Fig. 4). "standard" plays the role of ZUMA-1's 2e6 cells/kg.
DOSE_LEVELS_CELLS = np.array([0.0, 2.0e5, 1.5e6, 5.0e6])  # none / low / standard / high
# A manufactured CAR-T product is one lot: infusions beyond it are not available (dose withheld).
PRODUCT_LOT_CELLS = 1.0e7  # two high doses
LETHAL_TUMOUR_CELLS = 1.0e9  # ~20-200x the presentation burden; reached untreated in 40-90 days
ELIMINATED_TUMOUR_CELLS = 1.0  # below one cell the tumour is extinct (set to 0: no regrowth from fractions)
PRESENTATION_CELLS = (5.0e6, 5.0e7)  # log-uniform; Barros 2021: 2e6 cells grow to ~2e7 by day 42

# CRS grade from the aggregate cytokine (paper eq. 10 thresholds, pg/mL) and its ASTCT reading.
CRS_THRESHOLDS_PG_PER_ML = np.array([50.0, 200.0, 500.0, 1000.0])
CRS_CHECKS_PER_DAY = 4  # cytokine checked every 6 h; the day's grade is the worst check
ASTCT_GRADE = (
    "none",
    "grade 1: fever >= 38 C",
    "grade 2: fever with hypotension not needing vasopressors and/or low-flow oxygen",
    "grade 3: fever with hypotension needing one vasopressor and/or high-flow oxygen",
    "grade 4: fever with hypotension needing several vasopressors and/or positive-pressure ventilation",
)
# CRS management (ASTCT/Lee 2019 consensus, simplified): tocilizumab from grade 2, dexamethasone from
# grade 3 (3-day course), and no further CAR-T infusion while CRS is grade >= 3.
TOCILIZUMAB_FROM_GRADE = 2
STEROID_FROM_GRADE = 3
STEROID_DAYS = 3
HOLD_INFUSION_FROM_GRADE = 3
# Grade-4 CRS can be fatal (ZUMA-1: 2 of 101 patients died of CRS/HLH; Neelapu 2017). Daily death
# probability at grade 4, drawn from pre-drawn uniforms.
CRS_DEATH_PROBABILITY_PER_GRADE4_DAY = 0.15

# ICANS grade from the neurotoxicity index E = ICE-score points lost (ASTCT, Lee et al. 2019: ICE 7-9
# grade 1, 3-6 grade 2, 0-2 grade 3; grade 4: unarousable or cerebral oedema, beyond what the
# 10-point score can measure). Management (ASTCT/CARTOX, simplified): dexamethasone from grade 3 and no
# infusion while ICANS is grade >= 3 (the CRS rules above). Tocilizumab does not treat ICANS.
ICANS_THRESHOLDS_ICE_POINTS = np.array([1.0, 4.0, 8.0, 12.0])
ICANS_READING = (
    "none",
    "grade 1: ICE score 7-9",
    "grade 2: ICE score 3-6",
    "grade 3: ICE score 0-2, or seizure/oedema on imaging",
    "grade 4: unarousable, status epilepticus or diffuse cerebral oedema",
)
# Grade-4 ICANS can be fatal through cerebral oedema (Gust et al. 2017: 4 of 133 patients; Turtle et
# al. 2016: deaths at the highest dose level). Daily death probability at grade 4.
ICANS_DEATH_PROBABILITY_PER_GRADE4_DAY = 0.1

# Reward (paper eq. 1 structure, per day).
# CORRECTION: in the published package any infusion gives grade-4 CRS on day 1 and ending the episode
# there (-60) beats surviving. Here CRS and ICANS end an episode only through death: each day costs a
# penalty by grade and triggers management (steroids dampen CAR-T expansion). The toxicity penalty
# accrues on a saturating scale, TOXICITY_CAP * (1 - exp(-burden / TOXICITY_CAP)) with burden the sum
# of the daily grade penalties: near-linear for ordinary courses, strictly increasing, and bounded, so
# surviving even weeks of grade-4 toxicity scores better than dying of it. Every day alive earns
# ALIVE_BONUS, so an early escape or death forfeits the remaining days on top of DEATH_PENALTY, and
# death also takes back the tumour-shrinkage credit and any elimination bonus already paid.
ALIVE_BONUS = 0.2
TUMOUR_LOG10_WEIGHT = 2.0
CRS_PENALTY = np.array([0.0, 0.2, 1.0, 5.0, 15.0])  # per day at CRS grade 0-4
ICANS_PENALTY = CRS_PENALTY  # per day at ICANS grade 0-4: the same severity scale
TOXICITY_CAP = 50.0  # bound of the whole course's toxicity penalty
DOSE_COST_PER_1E6_CELLS = 2.0
# Below any survivor: alive bonus >= 0, dose cost <= 20 (one lot), toxicity <= 50, so a survivor
# scores >= -70 while a death scores <= -100 + 0.2 * 89 = -82.
DEATH_PENALTY = -100.0  # escape, fatal CRS or fatal ICANS
ELIMINATION_BONUS = 100.0  # paid once, on the day the tumour becomes extinct

OUTCOMES = ("controlled", "progressing", "escaped", "eliminated", "died_of_crs", "died_of_icans")
OUTCOME_NAMES = np.array(OUTCOMES)
TUMOUR_CONTROL = ("controlled", "eliminated")


def crs_grade(cytokine_pg_per_ml: np.ndarray) -> np.ndarray:
    """Model CRS grade 0-4 from the aggregate cytokine (thresholds 50/200/500/1000 pg/mL)."""
    return np.searchsorted(CRS_THRESHOLDS_PG_PER_ML, cytokine_pg_per_ml, side="right")


def icans_grade(ice_points_lost: np.ndarray) -> np.ndarray:
    """Model ICANS grade 0-4 from the neurotoxicity index (ICE points lost; thresholds 1/4/8/12)."""
    return np.searchsorted(ICANS_THRESHOLDS_ICE_POINTS, ice_points_lost, side="right")


@jit
def threshold_grade(value: float, thresholds: np.ndarray) -> int:
    """Grade of one value: the number of ``thresholds`` (ascending) at or below it (as ``crs_grade``)."""
    grade = 0
    for threshold in thresholds:
        grade += threshold <= value
    return grade


@jit
def outcome_code(tumour: float, baseline: float, dead: bool, dead_of_icans: bool) -> int:
    """Index into ``OUTCOMES`` of a patient's current state."""
    if dead:
        return 5 if dead_of_icans else 4
    if tumour >= LETHAL_TUMOUR_CELLS:
        return 2
    if tumour <= 0.0:
        return 3
    return 0 if tumour < baseline else 1


_advance = cm.advance_patient
_ADVANCE_WORK_SHAPE = _advance.work_shape


@jit
def _step(b, action, y0, p, day0, baseline, nadir0, crs0, max_crs0, icans0, max_icans0, steroid_days0,
          steroid_total0, toci_doses0, cum_dose0, bonus_paid0, burden0, carry0, u_death, u_icans_death, inputs,
          y, day, nadir, crs, max_crs, icans, max_icans, steroid_days, steroid_total, toci_doses, dose_cells,
          cum_dose, withheld, dead, dead_of_icans, bonus_paid, burden, carry, outcome, recist,
          reward, terminated):  # pragma: no cover - compiled
    """One day of one patient (see the env docstring): infusion, dynamics, CRS/ICANS and management, reward."""
    asked = DOSE_LEVELS_CELLS[action[b]]
    left = PRODUCT_LOT_CELLS - cum_dose0[b]
    worst_toxicity = max(crs0[b], icans0[b])
    allowed = worst_toxicity < HOLD_INFUSION_FROM_GRADE and asked <= left + 1.0
    dose = asked if allowed else 0.0
    withheld[b] = not allowed and asked > 0

    yb = y[b]
    yb[:] = y0[b]
    yb[cm.INJECTED] += dose
    toci = crs0[b] >= TOCILIZUMAB_FROM_GRADE
    steroid = steroid_days0[b] > 0
    u = inputs[b]  # scratch: the day's model inputs
    u[cm.TOCILIZUMAB] = 1.0 if toci else 0.0
    u[cm.STEROID] = 1.0 if steroid else 0.0
    peak_cytokine = yb[cm.CYTOKINE]
    peak_icans = yb[cm.ICANS]
    cb = carry[b]  # the integrator's steps, continued from the day before
    cb[:] = carry0[b]
    cb[CARRY_DERIVATIVE_VALID] = 0.0  # the day's infusion and inputs change the derivative
    work = np.empty(_ADVANCE_WORK_SHAPE)  # the integrator's scratch, for the day's four intervals
    for _ in range(CRS_CHECKS_PER_DAY):  # CRS and ICANS are graded by the worst status of the day
        _advance(yb, u, p[b], DAYS_PER_STEP / CRS_CHECKS_PER_DAY, cb, work)
        for i in range(yb.shape[0]):
            if yb[i] < 0.0:
                yb[i] = 0.0
                cb[CARRY_DERIVATIVE_VALID] = 0.0
        peak_cytokine = max(peak_cytokine, yb[cm.CYTOKINE])
        peak_icans = max(peak_icans, yb[cm.ICANS])

    # fewer than one CAR-T cell in all compartments: the graft is lost (and stops setting the step)
    if yb[cm.INJECTED] + yb[cm.EFFECTOR] + yb[cm.MEMORY] < 1.0:
        yb[cm.INJECTED] = 0.0
        yb[cm.EFFECTOR] = 0.0
        yb[cm.MEMORY] = 0.0
    eliminated = yb[cm.TUMOUR] < ELIMINATED_TUMOUR_CELLS
    if eliminated:
        yb[cm.TUMOUR] = 0.0
    tumour = yb[cm.TUMOUR]
    grade = threshold_grade(peak_cytokine, CRS_THRESHOLDS_PG_PER_ML)
    neuro = threshold_grade(peak_icans, ICANS_THRESHOLDS_ICE_POINTS)
    days = max(steroid_days0[b] - 1, 0)
    steroid_days[b] = STEROID_DAYS if max(grade, neuro) >= STEROID_FROM_GRADE else days

    burden[b] = burden0[b] + CRS_PENALTY[grade] + ICANS_PENALTY[neuro]
    toxicity = 0.0  # (exactly what the formula gives on a day without toxicity)
    if burden[b] != burden0[b]:
        toxicity = TOXICITY_CAP * (np.exp(-burden0[b] / TOXICITY_CAP) - np.exp(-burden[b] / TOXICITY_CAP))
    d = day0[b]
    died_of_crs = grade >= 4 and u_death[b, d] < CRS_DEATH_PROBABILITY_PER_GRADE4_DAY
    died_of_icans = neuro >= 4 and u_icans_death[b, d] < ICANS_DEATH_PROBABILITY_PER_GRADE4_DAY
    died = died_of_crs or died_of_icans
    escaped = tumour >= LETHAL_TUMOUR_CELLS and not died
    terminated[b] = escaped or died
    tumour_before = y0[b, cm.TUMOUR]
    newly_eliminated = eliminated and tumour_before > 0 and not died
    bonus = ELIMINATION_BONUS if newly_eliminated else 0.0
    log_tumour = np.log10(tumour + 1.0)
    log_change = log_tumour - np.log10(tumour_before + 1.0)
    credit = np.log10(baseline[b] + 1.0) - log_tumour if died else 0.0  # shrinkage credit so far
    reward[b] = (
        ALIVE_BONUS * (not terminated[b])
        - TUMOUR_LOG10_WEIGHT * log_change
        - toxicity
        - DOSE_COST_PER_1E6_CELLS * dose / 1.0e6
        + bonus
        + (DEATH_PENALTY if terminated[b] else 0.0)
        - (TUMOUR_LOG10_WEIGHT * max(credit, 0.0) + bonus_paid0[b] if died else 0.0)
    )
    day[b] = d + 1
    nadir[b] = min(nadir0[b], tumour)
    crs[b] = grade
    max_crs[b] = max(max_crs0[b], grade)
    icans[b] = neuro
    max_icans[b] = max(max_icans0[b], neuro)
    steroid_total[b] = steroid_total0[b] + steroid
    toci_doses[b] = toci_doses0[b] + toci
    dose_cells[b] = dose
    cum_dose[b] = cum_dose0[b] + dose
    dead[b] = died
    dead_of_icans[b] = died_of_icans and not died_of_crs
    bonus_paid[b] = bonus_paid0[b] + bonus
    outcome[b] = outcome_code(tumour, baseline[b], died, dead_of_icans[b])
    recist[b] = recist_category(tumour, baseline[b], max(nadir[b], 1.0))


@jit
def _observe(b, y, cum_dose, day, horizon, obs):  # pragma: no cover - compiled
    values = (np.log10(y[b, cm.TUMOUR] + 1.0) / 10.0,
              np.log10(y[b, cm.EFFECTOR] + y[b, cm.INJECTED] + 1.0) / 10.0,
              np.log10(y[b, cm.MEMORY] + 1.0) / 10.0,
              np.log1p(y[b, cm.CYTOKINE] / CRS_THRESHOLDS_PG_PER_ML[0]) / np.log1p(20.0),
              np.log10(1.0 + cum_dose[b] / 1.0e5) / 3.0,
              day[b] / horizon)
    for i in range(len(values)):
        obs[b, i] = min(max(values[i], 0.0), 2.0)


@jit
def _presentation_codes(tumour, outcome, recist):  # pragma: no cover - compiled
    """Outcome and RECIST codes of new patients (tumour at its baseline and nadir)."""
    for b in range(tumour.shape[0]):
        outcome[b] = outcome_code(tumour[b], tumour[b], False, False)
        recist[b] = recist_category(tumour[b], tumour[b], max(tumour[b], 1.0))


STEP_KERNEL = BatchKernel(_step)
OBSERVE_KERNEL = BatchKernel(_observe)
# state entries the step kernel reads and (as new arrays) writes, in its argument order
_READ = ("y", "params", "day", "baseline_cells", "nadir_cells", "crs_grade", "max_crs_grade", "icans_grade",
         "max_icans_grade", "steroid_days", "steroid_days_total", "tocilizumab_doses", "cum_dose_cells", "bonus_paid",
         "toxicity_burden", "integrator_carry", "u_death", "u_icans_death")
_CHANGED = ("y", "day", "nadir_cells", "crs_grade", "max_crs_grade", "icans_grade", "max_icans_grade", "steroid_days",
            "steroid_days_total", "tocilizumab_doses", "dose_cells", "cum_dose_cells", "withheld", "dead",
            "dead_of_icans", "bonus_paid", "toxicity_burden", "integrator_carry", "outcome", "recist")


class CARTCellTask(Task):
    env_id: ClassVar[str] = "immunosim/CARTCell-v0"
    horizon: ClassVar[int] = HORIZON_DAYS
    step_unit: ClassVar[str] = "day"
    step_key: ClassVar[str] = "day"
    render_panels: ClassVar[tuple[Panel, ...]] = (
        Panel("Tumour and CAR-T cells", ("tumour_cells", "effector_cart_cells", "memory_cart_cells"), "cells",
              log=True),
        Panel("Cytokines (CRS)", ("cytokine_pg_per_ml",), "pg/mL", log=True),
        Panel("CRS and ICANS grade", ("crs_grade", "icans_grade"), "grade"),
        Panel("Cumulative CAR-T dose", ("cumulative_dose_cells",), "cells"),
    )

    parameter_set = cm.CART_PARAMETERS

    def __init__(self, patient: str = "cohort", parameters: dict[str, float] | None = None,
                 allow_out_of_range: bool = False) -> None:
        super().__init__(patient, parameters, allow_out_of_range)
        self.action_space = spaces.Discrete(4)
        self.observation_space = spaces.Box(0.0, 2.0, shape=(6,), dtype=np.float32)

    def sample_patients(self, rngs) -> State:
        n, pset, h = len(rngs), cm.CART_PARAMETERS, self.horizon
        reference = self.patient == "reference"
        z, uniform = np.zeros((n, len(pset))), np.empty(n)
        u_deaths = np.empty((n, 2 * h))  # CRS and ICANS death draws per day
        ids = []
        # each patient's draws, in order, from its own generator (merged calls, drawn into the rows: the same numbers)
        for i, rng in enumerate(rngs):
            if reference:
                ids.append(-1)
            else:
                rng.standard_normal(out=z[i])
                uniform[i] = rng.random()
                ids.append(int(rng.integers(0, 2**31 - 1)))
            rng.random(out=u_deaths[i])
        u_death, u_icans_death = u_deaths[:, :h].copy(), u_deaths[:, h:].copy()
        params = self.patient_parameters(np.tile(pset.defaults, (n, 1)) if reference else pset.from_standard_normal(z))
        low, high = np.log10(PRESENTATION_CELLS)
        tumour = np.full(n, 2.0e7) if reference else 10 ** (low + (high - low) * uniform)  # Generator.uniform
        y = np.zeros((n, len(cm.CARTModel.state_names)))
        y[:, cm.TUMOUR], y[:, cm.CYTOKINE] = tumour, params[:, cm.BASELINE_L]
        zeros, no = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
        outcome, recist = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        _presentation_codes(tumour, outcome, recist)
        return {
            "y": y,
            "params": params,
            "day": zeros.copy(),
            "baseline_cells": tumour,
            "nadir_cells": tumour.copy(),
            "crs_grade": zeros.copy(),
            "max_crs_grade": zeros.copy(),
            "icans_grade": zeros.copy(),
            "max_icans_grade": zeros.copy(),
            "steroid_days": zeros.copy(),
            "steroid_days_total": zeros.copy(),
            "tocilizumab_doses": zeros.copy(),
            "dose_cells": np.zeros(n),
            "cum_dose_cells": np.zeros(n),
            "withheld": no.copy(),
            "dead": no.copy(),
            "dead_of_icans": no.copy(),
            "bonus_paid": np.zeros(n),
            "toxicity_burden": np.zeros(n),
            # the integrator's step size (days) and last derivative; zeros: it picks its first step
            "integrator_carry": np.zeros((n, carry_size(len(cm.CARTModel.state_names)))),
            "u_death": u_death,
            "u_icans_death": u_icans_death,
            "outcome": outcome,
            "recist": recist,
            "patient": patient_names(ids),
        }

    def step(self, state: State, action: np.ndarray) -> tuple[State, np.ndarray, np.ndarray]:
        self.check_running(state)
        n = len(action)
        new = dict(state)
        for k in _CHANGED:
            new[k] = state[k].copy()  # every entry is overwritten; copy() allocates fastest
        reward = np.empty(n)
        terminated = np.empty(n, dtype=bool)
        inputs = np.empty((n, len(cm.CARTModel.input_names)))
        STEP_KERNEL(n, action, *(state[k] for k in _READ), inputs, *(new[k] for k in _CHANGED), reward, terminated)
        return new, reward, terminated

    def observe(self, state: State) -> np.ndarray:
        n = len(state["day"])
        obs = np.empty((n, 6), dtype=np.float32)
        OBSERVE_KERNEL(n, state["y"], state["cum_dose_cells"], state["day"], self.horizon, obs)
        return obs

    def info(self, state: State) -> dict[str, np.ndarray]:
        y = state["y"]
        return {
            "patient": state["patient"],
            "day": state["day"] * DAYS_PER_STEP,
            "tumour_cells": y[:, cm.TUMOUR],
            "baseline_tumour_cells": state["baseline_cells"],
            "effector_cart_cells": y[:, cm.EFFECTOR] + y[:, cm.INJECTED],
            "memory_cart_cells": y[:, cm.MEMORY],
            "cytokine_pg_per_ml": y[:, cm.CYTOKINE],
            "crs_grade": state["crs_grade"],
            "max_crs_grade": state["max_crs_grade"],
            "icans_ice_points_lost": y[:, cm.ICANS],
            "icans_grade": state["icans_grade"],
            "max_icans_grade": state["max_icans_grade"],
            "on_tocilizumab": state["crs_grade"] >= TOCILIZUMAB_FROM_GRADE,
            "on_corticosteroids": state["steroid_days"] > 0,
            "steroid_days": state["steroid_days_total"],
            "dose_cells": state["dose_cells"],
            "cumulative_dose_cells": state["cum_dose_cells"],
            "dose_withheld": state["withheld"],
            "recist": RECIST_NAMES[state["recist"]],
            "outcome": OUTCOME_NAMES[state["outcome"]],
        }

    def clinical_metrics(self, final_info: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Tumour control and elimination, escape, CRS/ICANS deaths and grades, cumulative dose."""
        outcome = final_info["outcome"]
        return {
            "tumour_control": np.isin(outcome, ("controlled", "eliminated")).astype(float),
            "elimination": (outcome == "eliminated").astype(float),
            "escape": (outcome == "escaped").astype(float),
            "died_of_crs": (outcome == "died_of_crs").astype(float),
            "crs_any_grade": (final_info["max_crs_grade"] >= 1).astype(float),
            "crs_grade_3_plus": (final_info["max_crs_grade"] >= 3).astype(float),
            "crs_grade_4": (final_info["max_crs_grade"] >= 4).astype(float),
            "died_of_icans": (outcome == "died_of_icans").astype(float),
            "icans_any_grade": (final_info["max_icans_grade"] >= 1).astype(float),
            "icans_grade_3_plus": (final_info["max_icans_grade"] >= 3).astype(float),
            "icans_grade_4": (final_info["max_icans_grade"] >= 4).astype(float),
            "cumulative_dose_cells": final_info["cumulative_dose_cells"].astype(float),
        }


class CARTCellEnv(TaskEnv):
    """CAR-T cell infusion dosing with cytokine release syndrome (CRS) on CARTmath dynamics.

    ## Description
    Effector (C_T) and memory (C_M) CAR-T cells and tumour cells (T) follow CARTmath (Barros et al. 2021,
    published HDLM-2 fit): effectors kill tumour and are exhausted by it, form long-lived memory, and
    memory cells turn back into effectors on meeting tumour antigen. Infused cells enter a pre-activation
    compartment (activation ~1 day, paper eq. 6). An aggregate cytokine L (paper eq. 10,
    dL/dt = kappa C_T T - delta_L L) measures cytokine release syndrome. CRS is managed as in clinic:
    tocilizumab from grade 2, dexamethasone from grade 3 (which also dampens CAR-T expansion), and no
    infusion while CRS is grade >= 3. Too little product lets the tumour escape, too much (or too much at
    once on a large tumour) gives severe CRS; fractionated infusions lower the CRS peak.

    CRS grade (worst of four 6-hourly cytokine checks per day) and its ASTCT reading (Lee et al. 2019):

    | grade | cytokine (pg/mL) | ASTCT | management here |
    |---|---|---|---|
    | 1 | 50-200 | fever >= 38 C | supportive |
    | 2 | 200-500 | hypotension without vasopressors and/or low-flow oxygen | tocilizumab |
    | 3 | 500-1000 | one vasopressor and/or high-flow oxygen | + dexamethasone 3 days, no infusion |
    | 4 | >= 1000 | several vasopressors and/or positive-pressure ventilation | as 3; 15 %/day death risk |

    ## Action Space
    ``Discrete(4)``, an infusion at the start of each day:

    | action | CAR-T dose (model cells) |
    |---|---|
    | 0 | none |
    | 1 | low, 2e5 |
    | 2 | standard, 1.5e6 (Barros Fig. 4a clearing dose; plays ZUMA-1's 2e6 cells/kg) |
    | 3 | high, 5e6 |

    ## Observation Space
    ``Box(0, 2, (6,), float32)``, clipped to the box:

    | index | observation | unit / normalisation |
    |---|---|---|
    | 0 | tumour burden | log10(cells + 1) / 10 |
    | 1 | circulating effector CAR-T (incl. not yet activated) | log10(cells + 1) / 10 |
    | 2 | memory CAR-T | log10(cells + 1) / 10 |
    | 3 | CRS cytokine | log(1 + L / 50 pg/mL) / log(21) |
    | 4 | cumulative CAR-T dose | log10(1 + cells / 1e5) / 3 |
    | 5 | time | day / 90 |

    ## Starting State
    ``patient="cohort"`` (default) draws a virtual patient from ``self.np_random``: alpha, r, gamma and
    kappa log-normal around their values (CVs in the parameter table), tumour burden log-uniform in
    5e6-5e7 cells, no CAR-T, cytokine at baseline. ``patient="reference"``: published values, 2e7 cells.

    ## Rewards (per day; paper eq. 1 with a survival term)
    ``+0.2`` alive, ``-2 * delta log10(tumour cells)``, ``-[0, 0.2, 1, 5, 15]`` per day at CRS grade 0-4,
    ``-2`` per 1e6 cells infused, ``+100`` once on the day the tumour becomes extinct (< 1 cell, then 0).
    Death (escape or fatal CRS): ``-50`` and the remaining days' alive bonus is lost; a fatal CRS also
    takes back the shrinkage credit and any elimination bonus already paid.

    ## Episode End
    Termination: escape (tumour >= 1e9 cells) or death from grade-4 CRS (probability 0.15 per day at
    grade 4, drawn from the patient's pre-drawn uniforms). Elimination does not end the episode (CRS
    and its management play out). Truncation: 90 daily decisions through the registration's
    ``TimeLimit``. Clinical constraints: the product is one lot of 1e7 cells (infusions beyond it are
    withheld) and no infusion is given while CRS is grade >= 3 (``dose_withheld`` in the info).

    ## Info
    ``patient``, ``day``, ``tumour_cells``, ``baseline_tumour_cells``, ``effector_cart_cells``,
    ``memory_cart_cells`` (cells), ``cytokine_pg_per_ml`` (pg/mL), ``crs_grade`` and ``max_crs_grade``
    (0-4, ASTCT reading in ``ASTCT_GRADE``), ``on_tocilizumab``, ``on_corticosteroids``, ``steroid_days``,
    ``dose_cells``, ``cumulative_dose_cells`` (cells), ``dose_withheld``, ``recist`` (CR/PR/SD/PD on
    diameter ~ cells^(1/3)), ``outcome`` (controlled: alive, below baseline; progressing: alive, at or above
    baseline; escaped; eliminated; died_of_crs).

    ## Arguments
    ``gym.make("immunosim/CARTCell-v0", patient="cohort" | "reference")``; ``gym.make_vec(...,
    vectorization_mode="vector_entry_point")`` for the native batched version.
    """

    task_class = CARTCellTask


class CARTCellVectorEnv(TaskVectorEnv):
    """Native vector version of :class:`CARTCellEnv`."""

    task_class = CARTCellTask
