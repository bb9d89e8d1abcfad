"""AdaptiveDosing-v1: response-adapted nivolumab over 52 weeks with scans read by RECIST 1.1 / iRECIST."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import ClassVar

import numpy as np
from gymnasium import spaces

from clinsim.core import clinical, safety
from clinsim.core.calibration import VirtualPopulation
from clinsim.core.clinical import ICPD, ICR, IPR, IRECIST, ISD, IUPD, NONE  # noqa: F401 - the observation's codes
from clinsim.core.env import TaskEnv, TaskVectorEnv
from clinsim.core.jit import jit
from clinsim.core.measurement import Measured
from clinsim.core.render import Panel
from clinsim.core.state import Field, State
from clinsim.core.task import FixedStep, Task
from clinsim.core.views import Info, Observation
from clinsim.immunosim import adaptive_models as am
from clinsim.immunosim import models as mdl
from clinsim.immunosim.models import (
    ELIMINATED_TUMOUR_CELLS,
    HOLD_WEEKS_BY_GRADE,
    LETHAL_TUMOUR_CELLS,
    STEROID_WEEKS_BY_GRADE,
    TOXICITY_PENALTY,
)

DAYS_PER_STEP = 14.0  # one decision per q2w treatment visit
# DOP853 steps per visit: relative error <= 2e-7 against scipy over one visit on states recorded from
# the env (tests/test_integration.py)
STEPS_PER_VISIT = 7
HORIZON_VISITS = 26  # 364 days: the paper's 360-day course in whole 2-week cycles
DOSE_LEVELS_MG_PER_KG = np.array([0.0, 1.0, 3.0, 10.0])  # holiday / reduced / label / escalated
START_LEVEL = 2
CONTINUE, ESCALATE, REDUCE, HOLIDAY = range(4)
ACTIONS = ("continue", "escalate", "reduce", "holiday")

# Imaging: baseline scan at day 0; restaging every 8 weeks from day 56 (Butner 2020: first restaging at
# a median 53 days); after unconfirmed progression the confirmation scan comes 4 weeks later (iRECIST:
# 4-8 weeks). Sum of diameters ~ (tumour + infiltrate)^(1/3) with multiplicative reader noise, read with
# ``clinsim.core.clinical.irecist_category``.
FIRST_SCAN_VISIT = 4
SCAN_INTERVAL_VISITS = 4
CONFIRM_INTERVAL_VISITS = 2
SCAN_NOISE_SD = 0.05  # log-scale SD of a sum-of-diameters measurement (RECIST inter-reader variability)
SCAN_REFERENCE_DIAMETER = float(np.cbrt(LETHAL_TUMOUR_CELLS))  # lesion of the lethal tumour burden

# Reward per visit (paper eq. 1 with a survival term; weights as CheckpointInhibitor-v1 per week).
# CORRECTION: escape forfeits the remaining visits' bonuses on top of the -50; toxicity never terminates.
ALIVE_BONUS = 2.0
TUMOUR_LOG10_WEIGHT = 5.0
REDUCTION_BONUS = 2.0  # per visit with the true tumour diameter >= 30 % below baseline
DRUG_COST_PER_MG_PER_KG = 0.1
ESCAPE_PENALTY = -50.0
ELIMINATION_BONUS = 100.0

OUTCOMES = ("controlled", "escaped", "eliminated", "progressing")
CONTROLLED, ESCAPED, ELIMINATED, PROGRESSING = range(len(OUTCOMES))
TOXICITY = mdl.TOXICITY_PARAMETERS.defaults

# Butner's per-patient axes: between-patient CVs (log-normal around the shared published values,
# clipped to the shared literature ranges). The shared tables keep k_pd1 fixed (CheckpointInhibitor);
# here mu varies, as Butner's fitted mu spans responders and non-responders.
BUTNER_ALPHA_CV = 0.25
BUTNER_MU_CV = 0.5
# Presentation tumour burden (cells, log-uniform; CheckpointInhibitor: 1e8-3e8); effectors as there.
PRESENTATION_TUMOUR_CELLS = (1.0e8, 3.5e8)


def _weeks_to_visits(weeks: np.ndarray) -> np.ndarray:
    return np.ceil(np.asarray(weeks) / 2.0).astype(np.int64)


# Clinical irAE management (ASCO 2018 guideline, simplified; CheckpointInhibitor-v1's weeks, in whole
# visits): held doses by grade, grade 4 = permanent discontinuation; high-dose corticosteroids by grade.
HOLD_VISITS_BY_GRADE = _weeks_to_visits(HOLD_WEEKS_BY_GRADE)
STEROID_VISITS_BY_GRADE = _weeks_to_visits(STEROID_WEEKS_BY_GRADE)


def read_scan(diameter, baseline, nadir, previous, upd_diameter) -> np.ndarray:
    """:func:`clinsim.core.clinical.irecist_category` over arrays (broadcast)."""
    return np.vectorize(clinical.irecist_category, otypes=[np.int64])(diameter, baseline, nadir, previous,
                                                                       upd_diameter)


COHORT_PATH = Path(__file__).parent / "cohorts" / "adaptive_melanoma"


@functools.cache
def cohort() -> VirtualPopulation:
    """The calibrated virtual population (``clinsim calibrate adaptive_melanoma`` rebuilds it)."""
    return VirtualPopulation.load(COHORT_PATH)


def noise_draws(rng: np.random.Generator, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """One patient's scan reader noise (standard normal, horizon + 1: the last is the baseline scan's) and
    irAE event and grade uniforms (2 * horizon)."""
    return rng.standard_normal(horizon + 1), rng.random(2 * horizon)


def seeded_noise(seeds: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`noise_draws` of each virtual patient from its stored seed: (n, horizon + 1), (n, 2 * horizon)."""
    draws = [noise_draws(np.random.default_rng(int(seed)), horizon) for seed in seeds]
    return (np.array([d[0] for d in draws]).reshape(-1, horizon + 1),
            np.array([d[1] for d in draws]).reshape(-1, 2 * horizon))


@jit
def outcome_code(tumour: float, baseline_cells: float) -> int:  # pragma: no cover - compiled
    """Index into ``OUTCOMES``: escaped, eliminated, progressing (true tumour above baseline) or controlled."""
    if tumour >= LETHAL_TUMOUR_CELLS:
        return ESCAPED
    if tumour < ELIMINATED_TUMOUR_CELLS:
        return ELIMINATED
    return PROGRESSING if tumour > baseline_cells else CONTROLLED


@jit
def _before(a, c, s, t):  # pragma: no cover - compiled
    """The visit's dose level (the action), dosing (held or stopped doses are withheld), the steroid input."""
    lv = s.level
    action = a[0]
    if action == ESCALATE:
        lv = min(lv + 1, 3)
    elif action == REDUCE:
        lv = max(lv - 1, 1) if lv > 0 else 0
    elif action == HOLIDAY:
        lv = 0
    t.level = lv
    asked = DOSE_LEVELS_MG_PER_KG[lv]
    t.dose_level_mg_per_kg = asked
    allowed = not s.discontinued and s.hold_visits == 0
    t.dose_mg_per_kg = asked if allowed else 0.0
    t.withheld = not allowed and asked > 0
    y = t.y
    y[am.NIVO_CENTRAL_MG] += t.dose_mg_per_kg * c.params[mdl.BODY_WEIGHT]
    t.start_nivolumab_mg_per_l = y[am.NIVO_CENTRAL_MG] / c.params[mdl.NIVO_VC]
    t.inputs[am.STEROID] = 1.0 if s.steroid_visits > 0 else 0.0
    return DAYS_PER_STEP


_SAFETY_FIELDS, _SAFETY_INFOS = safety.declarations(("severe_irae",))

@jit
def _after(a, c, s, t):  # pragma: no cover - compiled
    """irAEs and their management, the restaging scan, tumour outcome and the visit's reward."""
    y, p = t.y, c.params
    dose = t.dose_mg_per_kg

    # irAEs (flat PD-1 incidence, Shulgin 2020): two weekly chances per visit under exposure
    v = s.elapsed
    c_mean = 0.5 * (t.start_nivolumab_mg_per_l + y[am.NIVO_CENTRAL_MG] / p[mdl.NIVO_VC])
    weekly = mdl.irae_probability(c_mean, 0.0, TOXICITY)
    event = c.u_event[v] < 1.0 - (1.0 - weekly) ** 2
    grade = mdl.irae_grade(c.u_grade[v]) if event else 0
    tox, hold, steroid, disc = clinical.manage_toxicity(grade, s.tox_grade, s.hold_visits, s.steroid_visits,
                                                        s.discontinued, HOLD_VISITS_BY_GRADE, STEROID_VISITS_BY_GRADE)
    t.tox_grade, t.hold_visits, t.steroid_visits, t.discontinued = tox, hold, steroid, disc

    tumour_before = s.y[am.T_CELLS]
    tumour = y[am.T_CELLS]
    next_visit = v + 1

    # restaging scan at the end of this cycle (before the next decision)
    cat = s.irecist
    new_upd = False
    if next_visit == s.next_scan:
        lesion_diam = np.cbrt(tumour + y[am.INFILTRATE])
        measured = lesion_diam * np.exp(SCAN_NOISE_SD * c.scan_noise[v])
        cat = clinical.irecist_category(measured, c.baseline_scan, s.nadir_scan, s.irecist, s.upd_scan)
        new_upd = cat == IUPD and s.irecist != IUPD
        t.nadir_scan = min(s.nadir_scan, measured)
        t.last_scan = measured
        if new_upd:
            t.upd_scan = measured
        t.next_scan = next_visit + (CONFIRM_INTERVAL_VISITS if cat == IUPD else SCAN_INTERVAL_VISITS)
    t.irecist = cat
    tumour_diam = np.cbrt(tumour)
    t.nadir_tumour_diam = min(s.nadir_tumour_diam, tumour_diam)
    truly_growing = tumour_diam >= clinical.PD_DIAMETER_RATIO * s.nadir_tumour_diam

    escaped = tumour >= LETHAL_TUMOUR_CELLS
    eliminated = tumour < ELIMINATED_TUMOUR_CELLS
    t.terminated = escaped or eliminated
    remaining = HORIZON_VISITS - next_visit
    shrunk = np.cbrt(tumour / c.baseline_cells) <= clinical.PR_DIAMETER_RATIO
    harm, burden = -TOXICITY_PENALTY[grade], -DRUG_COST_PER_MG_PER_KG * dose
    r = (ALIVE_BONUS * (not escaped)
         - TUMOUR_LOG10_WEIGHT * (np.log10(tumour + 1.0) - np.log10(tumour_before + 1.0))
         + REDUCTION_BONUS * shrunk
         + harm
         + burden)
    if escaped:
        r += ESCAPE_PENALTY
    elif eliminated:
        r += ELIMINATION_BONUS + (ALIVE_BONUS + REDUCTION_BONUS) * remaining
    t.reward = r
    t.reward_efficacy, t.reward_safety, t.reward_burden = r - harm - burden, harm, burden
    t.cost_severe_irae = 1.0 if grade >= 3 else 0.0
    t.cost = t.cost_severe_irae

    t.day = next_visit * DAYS_PER_STEP
    t.cum_mg_per_kg = s.cum_mg_per_kg + dose
    t.pseudo_progression = s.pseudo_progression or (new_upd and not truly_growing)
    t.true_progression = s.true_progression or (new_upd and truly_growing)
    if new_upd and s.first_iupd_day < 0:
        t.first_iupd_day = next_visit * DAYS_PER_STEP
    t.outcome = outcome_code(tumour, c.baseline_cells)
    t.nivolumab_mg_per_l = y[am.NIVO_CENTRAL_MG] / p[mdl.NIVO_VC]
    t.on_corticosteroids = steroid > 0
    t.scan_sum_ratio = t.last_scan / c.baseline_scan
    t.lesion_volume_ratio = (tumour + y[am.INFILTRATE]) / c.baseline_cells


@jit
def _measure(c, t):  # pragma: no cover - compiled
    return (t.last_scan, t.scan_sum_ratio, float(t.irecist), float(t.level), float(t.tox_grade), float(t.elapsed))


@jit
def _bedside(c, t):  # pragma: no cover - compiled
    """What the clinic reads (observation="clinical"): this task's scans are already read by the protocol's schedule
    with reader noise, so the bedside adds the scan's age; the scan is reported at the visits that brought one
    (NaN otherwise), the other values are those of the state observation (all clinical)."""
    visit = round(t.day / DAYS_PER_STEP)  # (``elapsed`` is advanced after the measurements are recorded)
    interval = CONFIRM_INTERVAL_VISITS if t.irecist == IUPD else SCAN_INTERVAL_VISITS
    scanned = t.next_scan - interval == visit
    return (t.last_scan if scanned else np.nan, t.scan_sum_ratio, float(t.irecist), float(t.level),
            float(t.tox_grade), float(t.elapsed))


class AdaptiveDosingTask(Task):
    env_id: ClassVar[str] = "immunosim/AdaptiveDosing-v1"
    horizon: ClassVar[int] = HORIZON_VISITS
    step_unit: ClassVar[str] = "2 weeks"
    no_treatment_action: ClassVar[int] = HOLIDAY
    action_space = spaces.Discrete(len(ACTIONS))
    label_prefix: ClassVar[str] = "cohort"
    render_panels: ClassVar[tuple[Panel, ...]] = (
        Panel("Lesion composition", ("tumour_cells", "infiltrate_cells", "effector_cells"), "cells", log=True,
              floor=1.0, span=(1e4, 1e9), thresholds=((LETHAL_TUMOUR_CELLS, "escape"),)),
        Panel("Scan (sum of diameters)", ("scan_sum_ratio", "lesion_diameter_ratio"), "ratio to baseline",
              span=(0.0, 1.5), thresholds=((0.7, "RECIST PR (-30 %)"), (1.2, "+20 % (PD if from the nadir)"))),
        Panel("Nivolumab", ("nivolumab_mg_per_l",), "mg/L", span=(0.0, 100.0)),
        Panel("Dose and toxicity", ("dose_mg_per_kg", "toxicity_grade"), "mg/kg | grade", span=(0.0, 10.0),
              thresholds=((3.0, "severe irAE"),)),
    )

    parameter_set = am.ADAPTIVE_PARAMETERS
    patient_fields = (
        Field("baseline_cells"),
        Field("baseline_scan"),  # sum of diameters of the baseline scan
        Field("scan_noise", "f8", (HORIZON_VISITS,)),  # standard normal reader noise of a scan after each visit
        Field("u_event", "f8", (HORIZON_VISITS,)),
        Field("u_grade", "f8", (HORIZON_VISITS,)),
    )
    clinical_fields = (
        *_SAFETY_FIELDS,
        Field("y", "f8", (len(am.AdaptiveDosingModel.state_names),)),
        Field("day"),
        Field("level", "i8"),  # index into DOSE_LEVELS_MG_PER_KG
        Field("dose_level_mg_per_kg"),
        Field("dose_mg_per_kg"),  # given at this visit
        Field("withheld", "?"),
        Field("cum_mg_per_kg"),
        Field("start_nivolumab_mg_per_l"),  # after the visit's dose
        Field("nivolumab_mg_per_l"),
        Field("tox_grade", "i8"),
        Field("hold_visits", "i8"),
        Field("steroid_visits", "i8"),
        Field("discontinued", "?"),
        Field("on_corticosteroids", "?"),
        Field("next_scan", "i8"),  # the visit whose end brings the next scan
        Field("last_scan"),
        Field("nadir_scan"),
        Field("upd_scan"),  # the scan that read iUPD
        Field("irecist", "i8"),
        Field("scan_sum_ratio"),  # last scan / baseline scan
        Field("lesion_volume_ratio"),  # (tumour + infiltrate) / baseline tumour: the true lesion's cube
        Field("nadir_tumour_diam"),  # true tumour, cells^(1/3)
        Field("pseudo_progression", "?"),
        Field("true_progression", "?"),
        Field("first_iupd_day"),  # -1: none yet
        Field("outcome", "i8"),
    )
    integration = FixedStep(am.AdaptiveDosingModel, STEPS_PER_VISIT)
    before, after, measure = staticmethod(_before), staticmethod(_after), staticmethod(_measure)
    measurements = ("scan", "scan_ratio", "irecist", "dose_level", "toxicity", "time")
    bedside = staticmethod(_bedside)
    bedside_measurements = measurements
    observations = (
        Observation("scan", "last scan sum of diameters (at reset: the baseline scan), vs a lesion of 3.5e8 cells",
                    "cells^(1/3)", SCAN_REFERENCE_DIAMETER),
        Observation("scan_ratio", "last scan vs baseline scan", "ratio", 2.0),
        Observation("irecist", "iRECIST category of the last scan (none, iCR, iPR, iSD, iUPD, iCPD)", "index", 5.0),
        Observation("dose_level", "current dose level (0, 1, 3, 10 mg/kg)", "level", 3.0),
        Observation("toxicity", "active irAE grade", "grade", 4.0),
        Observation("time", "time", "visit", float(HORIZON_VISITS)),
    )
    # the scans as the state observation has them, reported with their age (FIRST_SCAN_VISIT, SCAN_INTERVAL_VISITS,
    # CONFIRM_INTERVAL_VISITS, SCAN_NOISE_SD above: Butner 2020, iRECIST)
    clinical_observations = (
        Measured(observations[0], "baseline, first restaging at visit 4 (Butner et al. 2020: median 53 days), then "
                                  "every 8 weeks, confirmation 4 weeks after iUPD (iRECIST, Seymour et al. 2017); "
                                  "reader noise: the task's (RECIST inter-reader variability)", at=(), reported=True,
                 upstream=f"x exp(N(0, {SCAN_NOISE_SD:g})) (the reader's)"),
        *observations[1:],
    )
    infos = (
        Info("day", "day"),
        Info("tumour_cells", "y", am.T_CELLS),
        Info("infiltrate_cells", "y", am.INFILTRATE),
        Info("effector_cells", "y", am.E_CELLS),
        Info("baseline_tumour_cells", "baseline_cells"),
        # numpy's cbrt (the compiled one rounds differently)
        Info("lesion_diameter_ratio", "lesion_volume_ratio", ufunc=np.cbrt),
        Info("scan_sum_ratio", "scan_sum_ratio"),
        Info("recist", "irecist", names=clinical.RECIST_OF_IRECIST),
        Info("irecist", "irecist", names=IRECIST),
        Info("nivolumab_mg_per_l", "nivolumab_mg_per_l"),
        Info("dose_level_mg_per_kg", "dose_level_mg_per_kg"),
        Info("dose_mg_per_kg", "dose_mg_per_kg"),
        Info("cumulative_nivolumab_mg_per_kg", "cum_mg_per_kg"),
        Info("dose_withheld", "withheld"),
        Info("toxicity_grade", "tox_grade"),
        Info("on_corticosteroids", "on_corticosteroids"),
        Info("treatment_discontinued", "discontinued"),
        Info("pseudo_progression", "pseudo_progression"),
        Info("true_progression", "true_progression"),
        Info("first_iupd_day", "first_iupd_day"),
        Info("butner_alpha_per_day", "params", am.ALPHA_BUTNER),
        Info("butner_lambda", "params", am.LAMBDA_INF),
        Info("butner_mu", "params", am.MU_BUTNER),
        Info("outcome", "outcome", names=OUTCOMES),
        *_SAFETY_INFOS,
    )

    # ------------------------------------------------------------------ patients
    def sample_patients(self, rngs) -> State:
        n, h = len(rngs), self.horizon
        if self.patient == "reference":
            draws = [noise_draws(rng, h) for rng in rngs]
            z_scan = np.array([d[0] for d in draws]).reshape(n, h + 1)
            u_events = np.array([d[1] for d in draws]).reshape(n, 2 * h)
            params = np.tile(am.ADAPTIVE_PARAMETERS.defaults, (n, 1))
            return self.patient_state([-1] * n, params, np.full(n, 2.0e8), np.full(n, 3.0e5), z_scan, u_events)
        population = cohort()
        # one weighted draw per patient from its own generator; scan noise and irAE draws from the virtual
        # patient's stored seed (part of what the calibration simulated)
        ids = np.array([population.draw(rng) for rng in rngs], dtype=np.int64)
        params = np.stack([population.column(name)[ids] for name in am.ADAPTIVE_PARAMETERS.names], axis=-1)
        z_scan, u_events = seeded_noise(population.column("noise_seed")[ids], h)
        return self.patient_state(ids.tolist(), params, population.column("tumour_cells")[ids],
                                  population.column("effector_cells")[ids], z_scan, u_events)

    def patient_state(self, ids, params: np.ndarray, tumour: np.ndarray, effector: np.ndarray, z_scan: np.ndarray,
                      u_events: np.ndarray) -> State:
        """Initial records from parameters, presentation (cells), scan noise (n, h + 1) and irAE draws (n, 2h)."""
        h = self.horizon
        params = self.patient_parameters(np.array(params, dtype=np.float64))
        # untreated quasi-steady infiltrate at presentation
        infiltrate = params[:, am.LAMBDA_INF] * params[:, mdl.N] * effector * tumour / params[:, am.DELTA_INF]
        baseline_scan = np.cbrt(tumour + infiltrate) * np.exp(SCAN_NOISE_SD * z_scan[:, -1])

        state = self.new_state(ids)
        c, s = state.patient, state.clinical
        c["params"] = params
        c["baseline_cells"] = tumour
        c["baseline_scan"] = baseline_scan
        c["scan_noise"] = z_scan[:, :-1]
        c["u_event"], c["u_grade"] = u_events[:, :h], u_events[:, h:]
        y = s["y"]
        y[:, am.E_CELLS], y[:, am.T_CELLS], y[:, am.INFILTRATE] = effector, tumour, infiltrate
        s["level"] = START_LEVEL
        s["dose_level_mg_per_kg"] = DOSE_LEVELS_MG_PER_KG[START_LEVEL]
        s["next_scan"] = FIRST_SCAN_VISIT
        s["last_scan"] = s["nadir_scan"] = baseline_scan
        s["irecist"] = NONE
        s["scan_sum_ratio"] = baseline_scan / baseline_scan
        s["lesion_volume_ratio"] = (tumour + infiltrate) / tumour
        s["nadir_tumour_diam"] = np.cbrt(tumour)
        s["first_iupd_day"] = -1.0
        s["outcome"] = np.select([tumour >= LETHAL_TUMOUR_CELLS, tumour < ELIMINATED_TUMOUR_CELLS],
                                 [ESCAPED, ELIMINATED], CONTROLLED)  # outcome_code(tumour, tumour)
        return state

    def clinical_metrics(self, final_info: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Tumour control, escape, pseudo-progression, iRECIST response, toxicity, cumulative dose."""
        outcome = final_info["outcome"]
        return {
            "tumour_control": np.isin(outcome, ("controlled", "eliminated")).astype(float),
            "escape": (outcome == "escaped").astype(float),
            "pseudo_progression": final_info["pseudo_progression"].astype(float),
            "response_irecist": np.isin(final_info["irecist"], ("iCR", "iPR")).astype(float),
            "stopped_for_toxicity": final_info["treatment_discontinued"].astype(float),
            "cumulative_nivolumab_mg_per_kg": final_info["cumulative_nivolumab_mg_per_kg"].astype(float),
        }


class AdaptiveDosingEnv(TaskEnv):
    __doc__ = """Response-adapted anti-PD-1 (nivolumab) dosing with pseudo-progression, read by RECIST 1.1 / iRECIST.

    ## Description
    Tumour (T) and effector (E) cells follow Kuznetsov et al. 1994 with nivolumab two-compartment PK
    (Bajaj 2017) raising the kill rate n -> n (1 + mu C/(5 mg/L + C)), as in CheckpointInhibitor-v1.
    Each patient carries Butner et al. 2020's three axes: alpha (tumour proliferation = Kuznetsov's a),
    Lambda (immune infiltration = inflammatory cells recruited into the lesion per killed tumour cell)
    and mu (immunotherapy amplification = the PD-1 kill-rate gain). The scanned lesion is tumour plus
    infiltrate, so an effective treatment in a highly infiltrated patient makes the lesion grow before
    it shrinks (pseudo-progression). Stopping then removes the drug before the tumour has crossed into
    immune control, so the patient's later course is worse. Scans (sum of diameters, reader noise)
    come at day 56 and every 8 weeks, with a confirmation scan 4 weeks after an unconfirmed
    progression; they are read with RECIST 1.1 thresholds and iRECIST confirmation.

    ## Action Space
    ``Discrete(4)``, decided at each q2w treatment visit (the dose is given at that visit):

    | action | meaning |
    |---|---|
    | 0 | continue the current regimen |
    | 1 | escalate one level (holiday -> 1 -> 3 -> 10 mg/kg) |
    | 2 | reduce one level (10 -> 3 -> 1 mg/kg; not below 1) |
    | 3 | treatment holiday (0 mg/kg until escalated again) |

    Treatment starts at the label regimen (3 mg/kg q2w).

    ## Observation Space
    Only what the clinic sees, clipped to the box:

""" + AdaptiveDosingTask.observation_table.markdown() + """
    ## Starting State
    ``patient="cohort"`` (default) draws a virtual patient from the population ``immunosim/cohorts/
    adaptive_melanoma`` (``clinsim calibrate adaptive_melanoma``): candidates with Kuznetsov/PK parameters
    log-normal (CVs in the parameter tables; Butner's alpha = a with CV 0.25, mu = k_pd1 with CV 0.5, Lambda
    with CV 1.2), tumour log-uniform 1e8-3.5e8 cells, effectors 1.5e5-8e5 and their own scan-noise and irAE
    random numbers, weighted so that pseudo-progression matches Hodi 2016 (7.3 % of patients imaged >= 28
    weeks). Infiltrate at its untreated steady state. ``patient="reference"``: published values, 2e8/3e5.

    ## Rewards (per 2-week visit; CheckpointInhibitor-v1's weights per week)
    ``+2`` alive, ``-5 * delta log10(tumour cells)`` (true tumour, not the scan), ``+2`` while the true
    tumour diameter is >= 30 % below baseline, ``-[0, 0.5, 2, 8, 20]`` for a new irAE of grade 0-4,
    ``-0.1`` per mg/kg. Terminal: ``-50`` on escape; ``+100`` on elimination plus the remaining bonuses.

    ## Episode End
    Termination: escape (tumour >= 3.5e8 cells) or elimination (< 1 cell). Truncation: 26 visits (364 days).
    irAEs never end an episode: grade 2 holds one visit, grade 3 two visits with steroids, grade 4
    stops nivolumab for good.

    ## Info
    ``patient``, ``day``, ``tumour_cells``, ``infiltrate_cells``, ``effector_cells``, ``baseline_tumour_cells``
    (cells), ``lesion_diameter_ratio`` (true lesion vs baseline tumour), ``scan_sum_ratio`` (last scan vs
    baseline scan), ``irecist`` (none/iCR/iPR/iSD/iUPD/iCPD), ``nivolumab_mg_per_l``, ``dose_level_mg_per_kg``,
    ``dose_mg_per_kg``, ``cumulative_nivolumab_mg_per_kg``, ``dose_withheld``, ``toxicity_grade``,
    ``on_corticosteroids``, ``treatment_discontinued``, ``pseudo_progression`` / ``true_progression`` (an
    iUPD scan while the true tumour diameter was below / at least 1.2x its nadir), ``first_iupd_day``,
    ``butner_alpha_per_day``, ``butner_lambda``, ``butner_mu``, ``recist`` (RECIST 1.1 reading of the last
    scan: NE/CR/PR/SD/PD, PD unconfirmed), ``outcome``
    (controlled/escaped/eliminated/progressing).

    ## Arguments
    ``gym.make("immunosim/AdaptiveDosing-v1", patient="cohort" | "reference")``; ``gym.make_vec(...,
    vectorization_mode="vector_entry_point")`` for the native batched version.
"""
    task_class = AdaptiveDosingTask


class AdaptiveDosingVectorEnv(TaskVectorEnv):
    """Native vector version of :class:`AdaptiveDosingEnv`."""

    task_class = AdaptiveDosingTask
