"""FluidResuscitation-v1, VasopressorTitration-v1, SepsisManagement-v1: hourly sepsis decisions over 72 h."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import ClassVar

import numpy as np
from gymnasium import spaces

from clinsim.core import clinical, safety
from clinsim.core.batch import PARALLEL_MIN_BATCH, BatchKernel
from clinsim.core.calibration import VirtualPopulation
from clinsim.core.env import TaskEnv, TaskVectorEnv
from clinsim.core.jit import jit
from clinsim.core.measurement import Measured
from clinsim.core.render import Panel
from clinsim.core.state import Field, State
from clinsim.core.task import FixedStep, Task
from clinsim.core.views import Info, Observation
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
# SIMPLIFICATION: patients present hours after infection onset (the tier's virtual population gives the
# delay, 3-12 h), the untreated course integrated at reset, so the inflammatory response is under way
# (Reynolds' model starts from N* = D = 0). patient="reference" presents after PRESENTATION_DELAY_H.
PRESENTATION_DELAY_H = 6.0  # untreated hours between infection onset and the first decision (reference)
MAX_PRESENTATION_H = 36.0
# DOP853 steps over the presentation delay, the same number for every patient (so that new patients
# integrate together in SIMD blocks): 6 steps per hour of the longest delay (the decision steps' rate; the fast
# lactate kinetics need it) keep the untreated course within 1e-8 of scipy (tests/test_integration.py).
PRESENTATION_STEPS_PER_HOUR = 6
PRESENTATION_STEPS = int(np.ceil(MAX_PRESENTATION_H * PRESENTATION_STEPS_PER_HOUR))
# Day-28 outcome: after the 72 decision hours the course continues under a standard-of-care continuation
# (antibiotics, no further bolus fluid, norepinephrine titrated to MAP 65-75 mmHg every block) to day 28,
# the trials' mortality horizon (ARISE 28-day mortality; ProCESS 60 d, ARISE/ProMISe 90 d primary).
DAY_28_H = 28 * 24
CONTINUATION_BLOCK_H = 2.0  # hours per titration block (one DOP853 step of the course model)
CONTINUATION_BLOCKS = int((DAY_28_H - 72) / CONTINUATION_BLOCK_H)
CONTINUATION_DOSE_STEP = 0.05  # ug/kg/min per block
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
# Safety costs (clinsim.core.safety), per hour: MAP < 65 mmHg (SSC target; Maheshwari 2018: harm below 65);
# fluid overload, a positive balance (here: the model's intravascular plus interstitial excess) above 10 % of
# body weight (the definitions run 5-10 %: Frontiers review PMC8275824); high-dose norepinephrine above
# 1 ug/kg/min (Auchet et al. 2017 Ann Intensive Care 7:43, 28-day mortality 60 % above it; Martin et al. 2015
# Shock 44:305, ICU mortality 90 %).
FLUID_OVERLOAD_FRACTION_OF_WEIGHT = 0.10  # L per kg
HIGH_DOSE_VASOPRESSOR_UG_PER_KG_MIN = 1.0

# survived: alive at day 28; died: within the 72 decision hours; died_by_day_28: in the continuation
OUTCOMES = ("in_progress", "survived", "died", "died_by_day_28")
IN_PROGRESS, SURVIVED, DIED, DIED_BY_DAY_28 = range(len(OUTCOMES))
TIERS = ("easy", "medium", "hard")
# a virtual patient: initial pathogen load and anti-inflammatory mediator (Reynolds units), hours from infection
# onset to presentation, and the parameters that vary between patients (the rest at their published values)
PATIENT_PARAMETERS = ("k_pg", "map0", "body_weight", "d50_map", "mu_d", "k_nd")
PATIENT_COLUMNS = ("pathogen", "anti_inflammatory", "presentation_h", *PATIENT_PARAMETERS)
# the state at presentation, stored with the population (the untreated course is deterministic given the
# columns): a reset then integrates nothing unless the env's ``parameters`` override the population's
PRESENTED_COLUMNS = tuple(f"presented_{name}" for name in mdl.SepsisModel.state_names)
COHORT_DIR = Path(__file__).parent / "cohorts"


@functools.cache
def cohort(tier: str) -> VirtualPopulation:
    """The tier's calibrated virtual population (package data, written by clinsim.sepsisim.calibration)."""
    return VirtualPopulation.load(COHORT_DIR / f"sepsis-{tier}")

# DOP853 steps per decision (an integer step count for the compiled integrator)
N_STEPS = int(STEPS_PER_HOUR * HOURS_PER_STEP)

# What the agent decides (see ``_decode``): the tasks differ only there, in ``_extra_penalty``, in the
# stabilisation bonus and in who gives the antibiotics.
FLUID_TASK, VASOPRESSOR_TASK, MANAGEMENT_TASK = range(3)


HYPOTENSION_MMHG = 65.0
HIGH_LACTATE = 4.0  # mmol/L: the SSC bundle's trigger of the 30 mL/kg bolus (Levy 2018 hour-1 bundle)
BOLUS_STARTED_L = 0.4  # intravascular excess after an hour of bolus


@jit
def protocol_fluid_ml(hour, body_weight, mean_ap, lactate, volume):  # pragma: no cover - compiled
    """Background crystalloid: 30 mL/kg over the first 3 h for hypotension or lactate >= 4 mmol/L (the SSC
    bundle's indication; SSC 2021 rec. 5: >= 30 mL/kg within 3 h for sepsis-induced hypoperfusion), completed
    once started (intravascular excess >= BOLUS_STARTED_L), then 250 mL per hour for persistent hypoperfusion
    while the intravascular excess is below 2 L, otherwise none (the model takes maintenance intake as balanced
    by the basal output).

    CORRECTION: the paper's fixed 250 mL/h would give 18 L in 72 h, itself a harmful fluid overload.
    """
    hypoperfused = mean_ap < HYPOTENSION_MMHG or lactate >= HIGH_LACTATE
    if hour < 3 and (hypoperfused or volume >= BOLUS_STARTED_L):
        return 10.0 * body_weight
    return 250.0 if hypoperfused and volume < 2.0 else 0.0


@jit
def protocol_norepinephrine(dose, mean_ap, hour, volume):  # pragma: no cover - compiled
    """Background norepinephrine (FluidResuscitation): titrated hourly towards MAP 65-75 mmHg (SSC 2021 target;
    +0.1 below 60, +0.05 below 65, -0.05 above 75, -0.1 above 85 ug/kg/min), started for hypotension that
    persists after 3 h or 1 L of fluid (septic shock, Sepsis-3: vasopressor need after fluid resuscitation)."""
    if dose <= 0.0 and hour < 3 and volume < 1.0:
        return 0.0
    if mean_ap < 60.0:
        change = 0.1
    elif mean_ap < 65.0:
        change = 0.05
    elif mean_ap > 85.0:
        change = -0.1
    elif mean_ap > 75.0:
        change = -0.05
    else:
        change = 0.0
    return min(max(dose + change, 0.0), MAX_NOREPINEPHRINE)


@jit(inline="always")
def _decode(task, action, s, body_weight):  # pragma: no cover - compiled
    """Fluid (mL over the hour), norepinephrine dose (ug/kg/min) and antibiotic flag for the next hour."""
    dose, antibiotic = s.norepinephrine, s.antibiotic
    if task == FLUID_TASK:
        return action[0], protocol_norepinephrine(dose, s.map_measured, s.elapsed, s.y[mdl.VOLUME_L]), True
    if task == VASOPRESSOR_TASK:
        fluid = protocol_fluid_ml(s.elapsed, body_weight, s.map_measured, s.y[mdl.LACTATE],
                                  s.y[mdl.VOLUME_L])
        return fluid, min(max(dose + action[0], 0.0), MAX_NOREPINEPHRINE), True
    return action[0], min(max(dose + action[1], 0.0), MAX_NOREPINEPHRINE), antibiotic or action[2] > 0.5


@jit(inline="always")
def _extra_penalty(task, hour, dose, antibiotic):  # pragma: no cover - compiled
    """Task-specific hourly penalties: vasopressor stewardship (the agent's doses), late antibiotics
    (SepsisManagement)."""
    if task == FLUID_TASK:
        return 0.0
    penalty = VASOPRESSOR_PENALTY * max(dose - HIGH_DOSE, 0.0)
    if task == MANAGEMENT_TASK:
        penalty += LATE_ANTIBIOTIC_PENALTY * (not antibiotic and hour >= ANTIBIOTIC_GRACE_H)
    return penalty


@jit
def _vitals(c, t, hour):  # pragma: no cover - compiled
    """What the monitors and the score show for a patient's state ``t`` at decision ``hour``: true MAP
    (mmHg); monitored MAP (noise sigma 2 mmHg, monitor range 0-200) and hourly urine (noise sigma
    0.05 mL/kg/h, range 0-4); the modified SOFA and its components from the measurements."""
    hour = min(hour, HORIZON_HOURS)
    y, p, dose = t.y, c.params, t.norepinephrine
    mean_ap = mdl.patient_map(y, dose, p)
    map_measured = clinical.sensor(mean_ap, MAP_NOISE_MMHG, c.z_map[hour], 0.0, 200.0)
    urine_measured = clinical.sensor(t.urine, URINE_NOISE_ML_PER_KG_H, c.z_urine[hour], 0.0, 4.0)
    cv = mdl.sofa_cardiovascular_score(map_measured, dose)
    renal = mdl.sofa_renal_score(urine_measured, p[mdl.BODY_WEIGHT])
    metabolic = mdl.sofa_metabolic_score(y[mdl.LACTATE])
    t.map_mmhg = mean_ap
    t.map_measured = map_measured
    t.urine_measured = urine_measured
    t.sofa = cv + renal + metabolic
    t.sofa_cardiovascular = cv
    t.sofa_renal = renal
    t.sofa_metabolic = metabolic


_integrate_patient = mdl.SepsisModel.integrate_patient


@jit
def _untreated_course(b, y, u, p, hours):  # pragma: no cover - compiled
    """Patient ``b``'s untreated course before presentation (the per-patient integrator)."""
    _integrate_patient(y[b], u[b], p[b], hours[b], PRESENTATION_STEPS)


# A few new patients integrate one by one (~20 us each; threads pay off early): a SIMD block costs the
# same for 1 patient as for 64 (a short block fills its lanes), as the engine's step does below 64.
UNTREATED_COURSE = BatchKernel(_untreated_course, parallel_from=8)


@jit
def _presented(c, s):  # pragma: no cover - compiled
    """The first decision's view of new patients whose untreated course has been integrated: urine rate
    (no urine collected yet) and vitals."""
    for b in range(s.shape[0]):
        cb, sb = c[b], s[b]
        sb.y[mdl.URINE_ML_PER_KG] = 0.0
        sb.urine = mdl.patient_urine_rate(sb.y, 0.0, cb.params)
        _vitals(cb, sb, 0)


_advance_course = mdl.CourseModel.integrate_patient
N_COURSE = len(mdl.CourseModel.state_names)
N_INPUTS = len(mdl.SepsisModel.input_names)


@jit
def continue_to_day_28(y, dose, p):  # pragma: no cover - compiled
    """Hour of death (> 72) under the standard-of-care continuation from the state ``y`` at hour 72 with the
    norepinephrine ``dose`` running, or -1 if alive at day 28. Antibiotics are given (by the ward if the
    agent did not), no further bolus fluid (maintenance balanced by output), norepinephrine titrated by
    0.05 ug/kg/min every 2 h towards MAP 65-75 mmHg (SSC 2021 target; at most 1 ug/kg/min)."""
    z = np.empty(N_COURSE)
    for i in range(N_COURSE):
        z[i] = y[i]
    u = np.zeros(N_INPUTS)
    u[mdl.ANTIBIOTIC] = 1.0
    for block in range(CONTINUATION_BLOCKS):
        mean_ap = mdl.patient_map(z, dose, p)
        if mean_ap < 65.0:
            dose = min(dose + CONTINUATION_DOSE_STEP, MAX_NOREPINEPHRINE)
        elif mean_ap > 75.0:
            dose = max(dose - CONTINUATION_DOSE_STEP, 0.0)
        u[mdl.NOREPINEPHRINE] = dose
        _advance_course(z, u, p, CONTINUATION_BLOCK_H, 1)
        if z[mdl.DAMAGE] >= DEATH_DAMAGE:
            return int(HORIZON_HOURS + (block + 1) * CONTINUATION_BLOCK_H)
    return -1


def _dynamics(task: int, stabilisation_bonus: float, death_penalty: float):
    """A task's compiled ``before(a, c, s, t)`` (the hour's decision and the model inputs) and
    ``after(a, c, s, t)`` (bookkeeping, vitals, reward, death)."""
    key = f"{task}|{stabilisation_bonus!r}|{death_penalty!r}"

    @jit(key=key)
    def before(a, c, s, t):  # pragma: no cover - compiled
        fluid_ml, dose, antibiotic = _decode(task, a, s, c.params[mdl.BODY_WEIGHT])
        t.norepinephrine = dose
        t.antibiotic = antibiotic
        t.fluid_total_l = s.fluid_total_l + fluid_ml / 1000.0
        t.y[mdl.URINE_ML_PER_KG] = 0.0  # the hour's urine is collected anew
        t.inputs[mdl.FLUID_L_PER_H] = fluid_ml / 1000.0 / HOURS_PER_STEP
        t.inputs[mdl.NOREPINEPHRINE] = dose
        t.inputs[mdl.ANTIBIOTIC] = 1.0 if antibiotic else 0.0
        return HOURS_PER_STEP

    @jit(key=key)
    def after(a, c, s, t):  # pragma: no cover - compiled
        hour = s.elapsed
        y = t.y
        dose, antibiotic = t.norepinephrine, t.antibiotic
        urine = y[mdl.URINE_ML_PER_KG] / HOURS_PER_STEP
        next_hour = hour + 1
        dead = y[mdl.DAMAGE] >= DEATH_DAMAGE
        t.antibiotic_hour = hour if antibiotic and not s.antibiotic else s.antibiotic_hour
        t.hours_on_vasopressor = s.hours_on_vasopressor + (dose > 0)
        t.urine = urine
        t.death_hour = next_hour if dead else -1
        _vitals(c, t, next_hour)
        mean_ap = t.map_mmhg
        t.hours_map_ok = s.hours_map_ok + (mean_ap >= 65.0 and not dead)
        t.peak_norepinephrine = max(s.peak_norepinephrine, dose)
        lactate = y[mdl.LACTATE]
        bonus = (MAP_REWARD * (mean_ap >= 65.0 and mean_ap <= 90.0) + LACTATE_REWARD * (lactate < 2.0)
                 + URINE_REWARD * (urine >= 0.5))
        overload = OVERLOAD_PENALTY_PER_L * max(y[mdl.VOLUME_L] - OVERLOAD_VOLUME_L, 0.0)
        penalty = overload + _extra_penalty(task, hour, dose, antibiotic)
        applied = min(penalty, 1.0)
        # the harm penalties (overload, vasopressor above HIGH_DOSE) are the safety objective, shared pro rata
        # when the cap applies; a late antibiotic's penalty counts towards efficacy (the infection's course)
        harmful = overload + (0.0 if task == FLUID_TASK else VASOPRESSOR_PENALTY * max(dose - HIGH_DOSE, 0.0))
        harm_term = -applied * harmful / penalty if penalty > 0.0 else 0.0
        r = ALIVE_REWARD + bonus - applied
        if stabilisation_bonus:
            stable = next_hour >= STABILISATION_MIN_H and mean_ap >= 65.0 and lactate < 2.0 and t.sofa <= 3
            earn = stable and not s.stabilised and not dead
            r = r + stabilisation_bonus * earn
            t.stabilised = s.stabilised or earn
        t.reward = -death_penalty if dead else r
        t.terminated = dead
        t.outcome = DIED if dead else IN_PROGRESS
        if next_hour >= HORIZON_HOURS and not dead:
            # the day-28 outcome: a death after the horizon costs the same as a death within it
            late_death = continue_to_day_28(y, dose, c.params)
            t.death_hour = late_death
            t.outcome = SURVIVED if late_death < 0 else DIED_BY_DAY_28
            if late_death >= 0:
                t.reward = -death_penalty
        # objectives (no drug or fluid cost in this reward: the burden objective is zero) and safety costs
        t.reward_safety = 0.0 if t.reward == -death_penalty else harm_term
        t.reward_burden = 0.0
        t.reward_efficacy = t.reward - t.reward_safety
        t.cost_hypotension = 1.0 if mean_ap < 65.0 else 0.0
        overload_l = FLUID_OVERLOAD_FRACTION_OF_WEIGHT * c.params[mdl.BODY_WEIGHT]
        t.cost_fluid_overload = 1.0 if y[mdl.VOLUME_L] + y[mdl.INTERSTITIAL_L] > overload_l else 0.0
        t.cost_high_vasopressor = 1.0 if dose > HIGH_DOSE_VASOPRESSOR_UG_PER_KG_MIN else 0.0
        t.cost = t.cost_hypotension + t.cost_fluid_overload + t.cost_high_vasopressor

    return before, after


@jit
def _measure(c, t):  # pragma: no cover - compiled
    return (t.map_measured, t.y[mdl.LACTATE], t.urine_measured, t.y[mdl.DAMAGE], t.y[mdl.VOLUME_L],
            t.y[mdl.PATHOGEN], float(t.sofa), t.norepinephrine, float(t.hours_on_vasopressor),
            1.0 if t.antibiotic else 0.0, float(t.elapsed))


# every observation is in [0, 2] (the Observation Space tables): lactate and damage are clipped at twice the
# scale (the analyser's range, twice the death threshold)
_OBSERVATIONS = {
    "map": Observation("map", "mean arterial pressure, monitored (noise sigma 2 mmHg)", "mmHg", 100.0),
    "lactate": Observation("lactate", "plasma lactate (analyser range 0-20)", "mmol/L", 10.0),
    "urine": Observation("urine", "urine output over the last hour, measured (noise sigma 0.05, range 0-4)",
                         "mL/kg/h", 2.0),
    "damage": Observation("damage", "tissue damage D (Reynolds; 1 = death threshold)", "D", DEATH_DAMAGE),
    "volume": Observation("volume", "intravascular volume excess (at most 6.7 L: 1 L/h infusion vs 0.15/h "
                                    "redistribution)", "L", 10.0),
    "pathogen": Observation("pathogen", "pathogen load P (Reynolds; 1 = carrying capacity)", "P", 20.0),
    "sofa": Observation("sofa", "modified SOFA (cardiovascular + renal + metabolic)", "score", 12.0),
    "vasopressor": Observation("vasopressor", "norepinephrine dose (1 = maximum)", "ug/kg/min", MAX_NOREPINEPHRINE),
    "hours_on_vasopressor": Observation("hours_on_vasopressor", "hours with norepinephrine running", "h",
                                        float(HORIZON_HOURS)),
    "antibiotic": Observation("antibiotic", "antibiotics given (0 / 1)", "flag", 1.0),
    "time": Observation("time", "elapsed time", "h", float(HORIZON_HOURS)),
}
@jit
def _bedside(c, t):  # pragma: no cover - compiled
    """What the monitors, the laboratory and the chart read (observation="clinical"): the monitors' MAP and hourly
    urine readings, the true lactate (the analyser's noise is the measurement's), and the charted treatment."""
    return (t.map_measured, t.urine_measured, t.y[mdl.LACTATE], t.norepinephrine, float(t.hours_on_vasopressor),
            t.fluid_total_l, 1.0 if t.antibiotic else 0.0, float(t.elapsed))


# Clinical observation mode (docs/observations.md): the bedside schedule, turnaround and noise of each measurement.
# SIMPLIFICATION: the model has no creatinine and no heart rate, so neither is observed (renal function is read
# from the hourly urine output, as the modified SOFA does).
ARTEFACT_RATE = 0.05  # assumption: share of hourly charted a-line MAPs taken during a flush, sampling or damping
ARTEFACT_SD_MMHG = 11.2  # SD of the MAP error of under-damped/resonant lines (Romagnoli et al. 2014 Crit Care 18:644)
LACTATE_SD_MMOL_PER_L = 0.2  # 95 % limits of agreement POC vs laboratory +-0.66 mmol/L (Shapiro et al. 2010 J Emerg
# Med 39:89) split between the two methods: 0.66 / 1.96 / sqrt(2) ~ 0.24, rounded
LACTATE_EVERY_H = 6  # assumption: routine 6-hourly blood gas of a patient in shock once lactate is normal
LACTATE_EVERY_IF_RAISED_H = 2  # SSC hour-1 bundle: re-measure if > 2 mmol/L (Levy et al. 2018); every 2-4 h
LACTATE_TURNAROUND_STEPS = 1  # blood gas analyser 5-11 min (Ismail et al. 2015 SJTREM 23:68): charted next hour
_CLINICAL_OBSERVATIONS = (
    Measured(Observation("map", "mean arterial pressure, arterial line", "mmHg", 100.0),
             "hourly charting of the continuous arterial line (SSC 2021, Evans et al.: invasive arterial monitoring "
             "in septic shock); monitor noise sigma 2 mmHg (assumption); artefact rate assumption, size: Romagnoli "
             "et al. 2014 Crit Care 18:644",
             every=1, upstream="sd 2 mmHg (the monitor's)", artefact_rate=ARTEFACT_RATE, artefact_sd=ARTEFACT_SD_MMHG,
             high=200.0),
    Measured(Observation("lactate", "plasma lactate (blood gas analyser, range 0-20)", "mmol/L", 10.0),
             "SSC hour-1 bundle (Levy et al. 2018): at presentation, re-measured while > 2 mmol/L (every 2 h); "
             "otherwise every 6 h (assumption); turnaround 5-11 min (Ismail et al. 2015 SJTREM 23:68); noise from "
             "POC vs laboratory agreement (Shapiro et al. 2010 J Emerg Med 39:89)",
             every=LACTATE_EVERY_H, every_if_above=(2.0, LACTATE_EVERY_IF_RAISED_H), delay=LACTATE_TURNAROUND_STEPS,
             sd=LACTATE_SD_MMOL_PER_L, high=20.0),
    Measured(Observation("urine", "urine output over the last hour (urometer, range 0-4)", "mL/kg/h", 2.0),
             "hourly urometer reading from hour 1 (KDIGO 2012 urine-output criterion, < 0.5 mL/kg/h over 6 h, is "
             "read hourly); noise sigma 0.05 mL/kg/h (assumption)", at=(1,), every=1, high=4.0,
             upstream="sd 0.05 mL/kg/h (the urometer's)"),
    Observation("vasopressor", "norepinephrine dose running (charted; 1 = maximum)", "ug/kg/min",
                MAX_NOREPINEPHRINE),
    Observation("hours_on_vasopressor", "hours with norepinephrine running (charted)", "h", float(HORIZON_HOURS)),
    Observation("fluid_total", "crystalloid given so far (charted)", "L", 10.0),
    Observation("antibiotic", "antibiotics given (0 / 1, charted)", "flag", 1.0),
    Observation("time", "time since presentation", "h", float(HORIZON_HOURS)),
)

_SAFETY_FIELDS, _SAFETY_INFOS = safety.declarations(("hypotension", "fluid_overload", "high_vasopressor"))
_INFOS = (
    Info("hour", "elapsed"),
    Info("map_mmhg", "map_mmhg"),
    Info("map_measured_mmhg", "map_measured"),
    Info("lactate_mmol_per_l", "y", mdl.LACTATE),
    Info("urine_ml_per_kg_h", "urine"),
    Info("urine_measured_ml_per_kg_h", "urine_measured"),
    Info("volume_l", "y", mdl.VOLUME_L),
    Info("interstitial_fluid_l", "y", mdl.INTERSTITIAL_L),
    Info("fluid_total_l", "fluid_total_l"),
    Info("norepinephrine_ug_per_kg_min", "norepinephrine"),
    Info("peak_norepinephrine_ug_per_kg_min", "peak_norepinephrine"),
    Info("pathogen", "y", mdl.PATHOGEN),
    Info("damage", "y", mdl.DAMAGE),
    Info("sofa", "sofa"),
    Info("sofa_cardiovascular", "sofa_cardiovascular"),
    Info("sofa_renal", "sofa_renal"),
    Info("sofa_metabolic", "sofa_metabolic"),
    Info("hours_on_vasopressor", "hours_on_vasopressor"),
    Info("hours_map_at_least_65", "hours_map_ok"),
    Info("antibiotics_given", "antibiotic"),
    Info("antibiotic_hour", "antibiotic_hour"),
    Info("death_hour", "death_hour"),  # -1: alive at day 28 (or in progress); > 72: in the continuation
    Info("outcome", "outcome", names=OUTCOMES),
    *_SAFETY_INFOS,
)


class _SepsisTask(Task):
    """Shared patient, dynamics, observations and reward of the three sepsis tasks."""

    horizon: ClassVar[int] = HORIZON_HOURS
    step_unit: ClassVar[str] = "hour"
    label_prefix: ClassVar[str] = "patient"
    render_panels: ClassVar[tuple[Panel, ...]] = (
        Panel("Mean arterial pressure", ("map_mmhg",), "mmHg", span=(0.0, 150.0), thresholds=((65.0, "MAP 65"),)),
        Panel("Lactate", ("lactate_mmol_per_l",), "mmol/L", span=(0.0, 10.0),
              thresholds=((2.0, "2 mmol/L"), (4.0, "4 mmol/L"))),
        Panel("Urine output", ("urine_ml_per_kg_h",), "mL/kg/h", span=(0.0, 5.0), thresholds=((0.5, "oliguria"),)),
        Panel("Inflammation", ("pathogen", "damage"), "Reynolds units", span=(0.0, 20.0),
              thresholds=((DEATH_DAMAGE, "death"),)),
        Panel("Fluids", ("volume_l", "fluid_total_l"), "L", span=(0.0, 20.0)),
        Panel("Norepinephrine", ("norepinephrine_ug_per_kg_min",), "ug/kg/min", span=(0.0, 2.0),
              thresholds=((HIGH_DOSE_VASOPRESSOR_UG_PER_KG_MIN, "high dose"),)),
    )
    # initial pathogen load (Reynolds units) per tier, around the recovery threshold of the task
    pathogen_by_tier: ClassVar[dict[str, float]]
    controls_antibiotic: ClassVar[bool] = False  # False: antibiotics run from the start
    stabilisation_bonus: ClassVar[float] = 0.0
    death_penalty: ClassVar[float]

    parameter_set = mdl.SEPSIS_PARAMETERS
    # the monitors' pre-drawn standard normal noise, one number per decision hour (and the presentation)
    patient_fields = (Field("z_map", "f8", (HORIZON_HOURS + 1,)), Field("z_urine", "f8", (HORIZON_HOURS + 1,)))
    clinical_fields = (
        Field("y", "f8", (len(mdl.SepsisModel.state_names),)),
        Field("norepinephrine"),  # ug/kg/min, over the last hour
        Field("peak_norepinephrine"),
        Field("fluid_total_l"),
        Field("urine"),  # mL/kg/h, true, over the last hour
        Field("urine_measured"),
        Field("map_mmhg"),  # true
        Field("map_measured"),
        Field("antibiotic", "?"),
        Field("antibiotic_hour", "i8"),  # -1: not given
        Field("hours_on_vasopressor", "i8"),
        Field("hours_map_ok", "i8"),
        Field("death_hour", "i8"),  # -1: alive
        Field("sofa", "i8"),
        Field("sofa_cardiovascular", "i8"),
        Field("sofa_renal", "i8"),
        Field("sofa_metabolic", "i8"),
        Field("stabilised", "?"),
        Field("outcome", "i8"),
        *_SAFETY_FIELDS,
    )
    integration = FixedStep(mdl.SepsisModel, N_STEPS)
    measure = staticmethod(_measure)
    measurements = tuple(_OBSERVATIONS)
    infos = _INFOS
    bedside = staticmethod(_bedside)
    bedside_measurements = ("map", "urine", "lactate", "vasopressor", "hours_on_vasopressor", "fluid_total",
                            "antibiotic", "time")
    clinical_observations = _CLINICAL_OBSERVATIONS

    def __init__(self, tier: str = "medium", patient: str = "cohort", parameters: dict[str, float] | None = None,
                 allow_out_of_range: bool = False) -> None:
        if tier not in self.pathogen_by_tier:
            raise ValueError(f"{self.env_id}: unknown tier {tier!r}; valid tiers: {', '.join(self.pathogen_by_tier)}")
        self.tier = tier
        super().__init__(patient, parameters, allow_out_of_range)

    @property
    def name(self) -> str:
        """The tier's ID (e.g. ``sepsisim/FluidResuscitationEasy-v1``)."""
        return self.env_id.replace("-v1", f"{self.tier.capitalize()}-v1")

    # ------------------------------------------------------------------ patients
    def sample_patients(self, rngs) -> State:
        """Each patient drawn from the tier's calibrated virtual population (clinsim.sepsisim.calibration), then
        the monitors' noise, from the patient's own generator; ``patient="reference"``: published parameters."""
        n = len(rngs)
        reference = self.patient == "reference"
        population = None if reference else cohort(self.tier)
        rows = np.zeros(n, dtype=np.int64)
        z_noise = np.empty((n, 2 * (self.horizon + 1)))  # MAP and urine measurement noise per hour
        ids = []
        for i, rng in enumerate(rngs):
            if population is not None:
                rows[i] = population.draw(rng)
            rng.standard_normal(out=z_noise[i])
            ids.append(-1 if reference else int(rng.integers(0, 2**31 - 1)))
        if population is None:
            columns = {"pathogen": np.full(n, self.pathogen_by_tier[self.tier]),
                       "presentation_h": np.full(n, PRESENTATION_DELAY_H)}
        else:
            names = PATIENT_COLUMNS + (PRESENTED_COLUMNS if not len(self._override_index) else ())
            columns = {name: population.column(name)[rows] for name in names}
        return self.present(columns, z_noise, ids)

    def present(self, columns: dict[str, np.ndarray], z_noise: np.ndarray, ids: list[int]) -> State:
        """The patients of ``columns`` (PATIENT_COLUMNS; absent parameters at their published values) after
        their untreated course (integrated here, or taken from the PRESENTED_COLUMNS), at the first decision."""
        n, pset = len(ids), mdl.SEPSIS_PARAMETERS
        params = np.tile(pset.defaults, (n, 1))
        for name in PATIENT_PARAMETERS:
            if name in columns:
                params[:, pset.names.index(name)] = columns[name]
        params = self.patient_parameters(params)
        y = np.zeros((n, len(mdl.SepsisModel.state_names)))
        y[:, mdl.PATHOGEN] = columns["pathogen"]
        y[:, mdl.ANTI_INFLAMMATORY] = columns.get("anti_inflammatory", np.full(n, 0.125))
        y[:, mdl.LACTATE] = params[:, mdl.LAC_PROD] / params[:, mdl.LAC_CL]  # steady state before infection
        presentation_h = np.asarray(columns["presentation_h"], dtype=np.float64)
        untreated = np.zeros((n, len(mdl.SepsisModel.input_names)))
        if PRESENTED_COLUMNS[0] in columns:
            y = np.stack([columns[name] for name in PRESENTED_COLUMNS], axis=1).astype(np.float64)
        elif n < PARALLEL_MIN_BATCH:
            UNTREATED_COURSE(n, y, untreated, params, presentation_h)
        else:
            mdl.SepsisModel.integrate(y, untreated, params, presentation_h, PRESENTATION_STEPS)
        state = self.new_state(ids)
        c, s = state.patient, state.clinical
        c["params"] = params
        c["z_map"], c["z_urine"] = z_noise[:, :self.horizon + 1], z_noise[:, self.horizon + 1:]
        s["y"] = y
        s["antibiotic"] = not self.controls_antibiotic
        s["antibiotic_hour"] = -1 if self.controls_antibiotic else 0
        s["death_hour"] = -1
        _presented(c, s)
        return state

    def clinical_metrics(self, final_info: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """72-h and 28-day survival, hours with MAP >= 65 mmHg, lactate < 2 mmol/L at the end, fluids, peak
        vasopressor."""
        return {
            "survival_72h": (final_info["outcome"] != "died").astype(float),
            "survival_28d": (final_info["outcome"] == "survived").astype(float),
            "hours_map_at_least_65": final_info["hours_map_at_least_65"].astype(float),
            "lactate_below_2_at_end": (final_info["lactate_mmol_per_l"] < 2.0).astype(float),
            "total_fluid_l": final_info["fluid_total_l"].astype(float),
            "peak_norepinephrine_ug_per_kg_min": final_info["peak_norepinephrine_ug_per_kg_min"].astype(float),
            "final_sofa": final_info["sofa"].astype(float),
        }


def _death_penalty(stabilisation_bonus: float) -> float:
    """Death costs 50 plus the best possible reward of a whole episode (see the reward constants)."""
    return DEATH_PENALTY + MAX_HOURLY_REWARD * HORIZON_HOURS + stabilisation_bonus


class FluidResuscitationTask(_SepsisTask):
    env_id = "sepsisim/FluidResuscitation-v1"
    pathogen_by_tier = {"easy": 0.9, "medium": 1.1, "hard": 1.3}
    action_space = spaces.Box(0.0, MAX_FLUID_ML_PER_H, shape=(1,), dtype=np.float32)
    observations = tuple(_OBSERVATIONS[k] for k in ("map", "lactate", "urine", "damage", "volume", "pathogen",
                                                   "sofa"))
    death_penalty = _death_penalty(0.0)
    before, after = map(staticmethod, _dynamics(FLUID_TASK, 0.0, death_penalty))


class VasopressorTitrationTask(_SepsisTask):
    env_id = "sepsisim/VasopressorTitration-v1"
    pathogen_by_tier = {"easy": 0.95, "medium": 1.15, "hard": 1.35}
    action_space = spaces.Box(-MAX_DOSE_CHANGE, MAX_DOSE_CHANGE, shape=(1,), dtype=np.float32)
    # The paper's 8-D observation: the fluid observation without the volume (fluids follow the protocol;
    # the volume is in the info) plus the dose and the hours on vasopressor.
    observations = tuple(_OBSERVATIONS[k] for k in ("map", "lactate", "urine", "damage", "pathogen", "sofa",
                                                   "vasopressor", "hours_on_vasopressor"))
    death_penalty = _death_penalty(0.0)
    before, after = map(staticmethod, _dynamics(VASOPRESSOR_TASK, 0.0, death_penalty))


class SepsisManagementTask(_SepsisTask):
    env_id = "sepsisim/SepsisManagement-v1"
    pathogen_by_tier = {"easy": 0.95, "medium": 1.15, "hard": 1.35}
    action_space = spaces.Box(np.array([0.0, -MAX_DOSE_CHANGE, 0.0], dtype=np.float32),
                              np.array([MAX_FLUID_ML_PER_H, MAX_DOSE_CHANGE, 1.0], dtype=np.float32), dtype=np.float32)
    observations = tuple(_OBSERVATIONS[k] for k in ("map", "lactate", "urine", "damage", "volume", "pathogen",
                                                   "sofa", "vasopressor", "antibiotic", "time"))
    controls_antibiotic = True
    stabilisation_bonus = STABILISATION_BONUS
    death_penalty = _death_penalty(STABILISATION_BONUS)
    before, after = map(staticmethod, _dynamics(MANAGEMENT_TASK, STABILISATION_BONUS, death_penalty))


_COMMON_DOC = """
    ## Rewards (per hour; paper sec. 4 components with a survival term)
    A living hour earns ``1`` (alive) ``+ 0.5`` if 65 <= MAP <= 90 mmHg ``+ 0.25`` if lactate < 2 mmol/L
    ``+ 0.25`` if urine >= 0.5 mL/kg/h, minus penalties capped at 1 in total: ``0.25`` per litre of
    intravascular volume above 4 L (overload){extra_penalties}. A living hour therefore scores 0 to 2.{bonus}
    Death (terminal, or by day 28 in the continuation after the last decision) scores ``-{death:g}``
    = -(50 + 2 x 72{bonus_term}): it forfeits the remaining hours and is worse than any surviving course.

    ## Starting State
    A virtual patient drawn from the tier's trial-calibrated virtual population (``cohorts/sepsis-<tier>``,
    docs/sepsisim.md "Tiers"): initial pathogen load, anti-inflammatory mediator, pathogen growth rate, damage
    repair and damage-driven activation, vasoplegic susceptibility, baseline MAP and body weight, and the
    untreated course up to presentation (easy: sepsis without shock; medium: MAP < 65 mmHg or lactate >= 4
    mmol/L, the ProCESS/ARISE/ProMISe enrolment; hard: Sepsis-3 septic shock). All randomness of the episode
    (patient and measurement noise) is drawn from ``self.np_random`` at reset. ``patient="reference"``:
    published parameters, the nominal initial load ``{loads}`` (easy/medium/hard, Reynolds units) and 6 h
    of untreated course.

    ## Episode End
    Termination: death, Reynolds damage D >= 10 (organ failure; the model's death states sit at D ~17).
    Truncation: 72 hourly decisions through the registration's ``TimeLimit``. At the last decision the
    patient's course continues under a standard-of-care continuation to day 28 (antibiotics, no further
    bolus, norepinephrine titrated to MAP 65-75 mmHg) in the same compiled step: a death by day 28 scores
    the death penalty at the last step.

    ## Info
    ``patient``, ``hour``, ``map_mmhg`` (true) and ``map_measured_mmhg``, ``lactate_mmol_per_l``,
    ``urine_ml_per_kg_h`` (true, last hour) and ``urine_measured_ml_per_kg_h``, ``sofa`` (0-12) with
    ``sofa_cardiovascular``, ``sofa_renal``, ``sofa_metabolic`` (0-4 each), ``volume_l`` (intravascular
    excess), ``interstitial_fluid_l``, ``fluid_total_l``, ``norepinephrine_ug_per_kg_min``,
    ``hours_on_vasopressor``, ``peak_norepinephrine_ug_per_kg_min``, ``hours_map_at_least_65`` (h),
    ``pathogen``, ``damage`` (Reynolds units), ``antibiotics_given``,
    ``antibiotic_hour`` (-1 = not given), ``outcome`` (in_progress / survived (alive at day 28) / died
    (within 72 h) / died_by_day_28), ``death_hour`` (-1 alive at day 28; > 72: in the continuation).

    ## Arguments
    ``gym.make(ID, tier="easy" | "medium" | "hard", patient="cohort" | "reference")`` (default medium;
    the IDs ``...Easy-v1``, ``...Medium-v1``, ``...Hard-v1`` fix the tier; ``patient="reference"`` uses
    the published parameters without initial variation); ``gym.make_vec(ID, num_envs=n,
    vectorization_mode="vector_entry_point")`` for the native batched version.
"""


def _common(task: type[_SepsisTask], extra_penalties: str = "", bonus: str = "") -> str:
    loads = " / ".join(f"{v:g}" for v in task.pathogen_by_tier.values())
    return _COMMON_DOC.format(extra_penalties=extra_penalties, bonus=bonus, loads=loads, death=task.death_penalty,
                              bonus_term=" + 10" if task.stabilisation_bonus else "")


class FluidResuscitationEnv(TaskEnv):
    __doc__ = """Hourly crystalloid resuscitation of a septic patient (antibiotics given from the start).

    ## Description
    Inflammation follows Reynolds et al. 2006 (pathogen, activated phagocytes, damage D, anti-inflammatory
    mediator; published parameters, hours) with antibiotic killing. MAP is the paper's eq. 5: damage-driven
    vasoplegia, infused volume with Frank-Starling saturation (8 mmHg/L) and norepinephrine (titrated in the
    background to MAP 65-75 mmHg once 3 h or 1 L of fluid have passed). Infused volume redistributes to the
    interstitium at 0.15/h. Hypoperfusion (MAP < 60 mmHg) adds damage, interstitial fluid above 5 L (oedema)
    adds damage: too little fluid and too much both kill.

    ## Action Space
    ``Box(0, 1000, (1,), float32)``; out-of-range finite values are clipped:

    | index | action | unit |
    |---|---|---|
    | 0 | crystalloid bolus infused over the next hour | mL |

    ## Observation Space
""" + FluidResuscitationTask.observation_table.markdown() + _common(FluidResuscitationTask)
    task_class = FluidResuscitationTask


class VasopressorTitrationEnv(TaskEnv):
    __doc__ = """Hourly norepinephrine titration with protocol fluids and antibiotics.

    ## Description
    As FluidResuscitation-v1, but fluids follow the SSC protocol (30 mL/kg over the first 3 h for hypotension
    or lactate >= 4 mmol/L, then 250 mL/h for persistent hypoperfusion while the volume is low) and the agent
    titrates norepinephrine (MAP gain 40 mmHg per ug/kg/min).
    Doses above 0.5 ug/kg/min cause ischaemic injury (added damage), too little pressure causes
    hypoperfusion injury.

    ## Action Space
    ``Box(-0.1, 0.1, (1,), float32)``; out-of-range finite values are clipped:

    | index | action | unit |
    |---|---|---|
    | 0 | norepinephrine dose change for the next hour (dose kept within 0-1) | ug/kg/min |

    ## Observation Space
""" + VasopressorTitrationTask.observation_table.markdown() + _common(
        VasopressorTitrationTask, extra_penalties=", and 0.5 per ug/kg/min of norepinephrine above 0.5")
    task_class = VasopressorTitrationTask


class SepsisManagementEnv(TaskEnv):
    __doc__ = """Combined sepsis management: fluids, norepinephrine and antibiotic timing.

    ## Description
    The full model of FluidResuscitation-v1 and VasopressorTitration-v1; antibiotics must be started by the
    agent (irreversible). Without antibiotics the pathogen is cleared by the immune response only.

    ## Action Space
    ``Box([0, -0.1, 0], [1000, 0.1, 1], (3,), float32)``:

    | index | action | unit |
    |---|---|---|
    | 0 | crystalloid over the next hour | mL |
    | 1 | norepinephrine dose change (dose kept in 0-1) | ug/kg/min |
    | 2 | antibiotics: > 0.5 starts them (irreversible once given) | flag |

    ## Observation Space
""" + SepsisManagementTask.observation_table.markdown() + _common(
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
