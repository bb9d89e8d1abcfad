"""AdaptiveDosing-v0: response-adapted nivolumab over 52 weeks with scans read by RECIST 1.1 / iRECIST."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from gymnasium import spaces

from clinsim.core.batch import AFTER_INTEGRATION, BEFORE_INTEGRATION, FUSED, BatchKernel
from clinsim.core.env import TaskEnv, TaskVectorEnv
from clinsim.core.jit import jit, vectorize
from clinsim.core.render import Panel
from clinsim.core.task import State, Task
from clinsim.immunosim import adaptive_models as am
from clinsim.immunosim import models as mdl
from clinsim.immunosim.checkpoint import (
    ELIMINATED_TUMOUR_CELLS,
    HOLD_WEEKS_BY_GRADE,
    LETHAL_TUMOUR_CELLS,
    LOG_EFFECTOR_RANGE,
    STEROID_WEEKS_BY_GRADE,
    TOXICITY_PENALTY,
    patient_names,
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
# 4-8 weeks). Sum of diameters ~ (tumour + infiltrate)^(1/3) with multiplicative reader noise.
FIRST_SCAN_VISIT = 4
SCAN_INTERVAL_VISITS = 4
CONFIRM_INTERVAL_VISITS = 2
SCAN_NOISE_SD = 0.05  # log-scale SD of a sum-of-diameters measurement (RECIST inter-reader variability)
SCAN_REFERENCE_DIAMETER = float(np.cbrt(LETHAL_TUMOUR_CELLS))  # lesion of the lethal tumour burden
PR_RATIO = 0.7  # RECIST 1.1: >= 30 % decrease from baseline
PD_RATIO = 1.2  # RECIST 1.1: >= 20 % increase from nadir
ICPD_FURTHER_RATIO = 1.05  # iRECIST: further increase (>= 5 mm, ~5 % of the sum) confirms progression
CR_DIAMETER_RATIO = 0.1  # lesion below ~10 % of its baseline diameter: not measurable (complete response)
IRECIST = ("none", "iCR", "iPR", "iSD", "iUPD", "iCPD")
RECIST_OF_IRECIST = np.array(["NE", "CR", "PR", "SD", "PD", "PD"])  # RECIST 1.1 reading of the same scan
NONE, ICR, IPR, ISD, IUPD, ICPD = range(6)

# Reward per visit (paper eq. 1 with a survival term; weights as CheckpointInhibitor-v0 per week).
# CORRECTION: escape forfeits the remaining visits' bonuses on top of the -50; toxicity never terminates.
ALIVE_BONUS = 2.0
TUMOUR_LOG10_WEIGHT = 5.0
REDUCTION_BONUS = 2.0  # per visit with the true tumour diameter >= 30 % below baseline
DRUG_COST_PER_MG_PER_KG = 0.1
ESCAPE_PENALTY = -50.0
ELIMINATION_BONUS = 100.0

OUTCOMES = ("controlled", "escaped", "eliminated", "progressing")

# Butner's per-patient axes: between-patient CVs (log-normal around the shared published values,
# clipped to the shared literature ranges). The shared tables keep k_pd1 fixed (CheckpointInhibitor);
# here mu varies, as Butner's fitted mu spans responders and non-responders.
BUTNER_ALPHA_CV = 0.25
BUTNER_MU_CV = 0.5
# Presentation tumour burden (cells, log-uniform; CheckpointInhibitor: 1e8-3e8); effectors as there.
PRESENTATION_TUMOUR_CELLS = (1.0e8, 3.5e8)


def _weeks_to_visits(weeks: np.ndarray) -> np.ndarray:
    return np.ceil(np.asarray(weeks) / 2.0).astype(np.int64)


HOLD_VISITS_BY_GRADE = _weeks_to_visits(HOLD_WEEKS_BY_GRADE)
STEROID_VISITS_BY_GRADE = _weeks_to_visits(STEROID_WEEKS_BY_GRADE)


@jit
def scan_category(diameter: float, baseline: float, nadir: float, previous: int, upd_diameter: float) -> int:
    """iRECIST category of a scan (sum of diameters, same units as ``baseline``/``nadir``).

    RECIST 1.1 thresholds (PR <= -30 % from baseline, PD >= +20 % from nadir); a first PD is
    unconfirmed (iUPD); at the next scan a further increase (>= 5 %) over the iUPD scan confirms it
    (iCPD, final); otherwise the category is read afresh (iUPD persists if still >= +20 % over nadir).
    """
    if previous == ICPD:
        return ICPD
    if diameter / nadir >= PD_RATIO:
        confirmed = previous == IUPD and diameter >= ICPD_FURTHER_RATIO * upd_diameter
        return ICPD if confirmed else IUPD
    if diameter / baseline <= CR_DIAMETER_RATIO:
        return ICR
    return IPR if diameter / baseline <= PR_RATIO else ISD


def read_scan(diameter, baseline, nadir, previous, upd_diameter) -> np.ndarray:
    """:func:`scan_category` over arrays (broadcast)."""
    return np.vectorize(scan_category, otypes=[np.int64])(diameter, baseline, nadir, previous, upd_diameter)


def _outcome_code(tumour: float, baseline_cells: float) -> int:  # pragma: no cover - compiled
    """Index into ``OUTCOMES``: escaped, eliminated, progressing (true tumour above baseline) or controlled."""
    if tumour >= LETHAL_TUMOUR_CELLS:
        return 1
    if tumour < ELIMINATED_TUMOUR_CELLS:
        return 2
    return 3 if tumour > baseline_cells else 0


outcome_code = jit(_outcome_code)
outcome_codes = vectorize(["int64(float64, float64)"])(_outcome_code)  # the same, over arrays


_integrate = am.AdaptiveDosingModel.integrate_patient


@jit
def _step(b, phase, action, y0, p, visit0, level0, baseline_cells, nadir_tumour_diam0, baseline_scan, nadir_scan0,
          last_scan0, upd_scan0, irecist0, next_scan0, scan_noise, u_event, u_grade, tox0, hold0, steroid0, disc0,
          cum0, pseudo0, true0, first_upd_day0, tox_params, horizon, u, c_start,
          y, visit, level, nadir_tumour_diam, nadir_scan, last_scan, upd_scan, irecist, next_scan, tox, hold,
          steroid, disc, dose_given, cum, withheld, pseudo, true, first_upd_day, outcome,
          reward, terminated):  # pragma: no cover - compiled
    """One visit of one patient (see the env docstring): dose level, dosing, dynamics, irAEs, scan, reward.

    ``phase``: a ``clinsim.core.batch`` phase; between the two halves the caller integrates ``y`` with
    the steroid input ``u``; ``c_start`` carries the nivolumab concentration after dosing."""
    yb = y[b]
    if phase != AFTER_INTEGRATION:
        lv = level0[b]
        a = action[b]
        if a == ESCALATE:
            lv = min(lv + 1, 3)
        elif a == REDUCE:
            lv = max(lv - 1, 1) if lv > 0 else 0
        elif a == HOLIDAY:
            lv = 0
        level[b] = lv
        asked = DOSE_LEVELS_MG_PER_KG[lv]
        allowed = not disc0[b] and hold0[b] == 0
        dose_given[b] = asked if allowed else 0.0
        withheld[b] = not allowed and asked > 0
        yb[:] = y0[b]
        yb[am.NIVO_CENTRAL_MG] += dose_given[b] * p[b, mdl.BODY_WEIGHT]
        c_start[b] = yb[am.NIVO_CENTRAL_MG] / p[b, mdl.NIVO_VC]
        u[b, am.STEROID] = 1.0 if steroid0[b] > 0 else 0.0
    if phase == FUSED:
        _integrate(yb, u[b], p[b], DAYS_PER_STEP, STEPS_PER_VISIT)
    if phase == BEFORE_INTEGRATION:
        return
    for i in range(yb.shape[0]):  # amounts below zero are integration round-off
        yb[i] = max(yb[i], 0.0)
    dose = dose_given[b]

    # irAEs (flat PD-1 incidence, Shulgin 2020): two weekly chances per visit under exposure
    v = visit0[b]
    c_mean = 0.5 * (c_start[b] + yb[am.NIVO_CENTRAL_MG] / p[b, mdl.NIVO_VC])
    weekly = mdl.irae_probability(c_mean, 0.0, tox_params)
    event = u_event[b, v] < 1.0 - (1.0 - weekly) ** 2
    grade = mdl.irae_grade(u_grade[b, v]) if event else 0
    tox[b], hold[b], steroid[b], disc[b] = mdl.manage_irae(grade, tox0[b], hold0[b], steroid0[b], disc0[b],
                                                           HOLD_VISITS_BY_GRADE, STEROID_VISITS_BY_GRADE)

    tumour_before = y0[b, am.T_CELLS]
    tumour = yb[am.T_CELLS]
    next_visit = v + 1

    # restaging scan at the end of this cycle (before the next decision)
    cat = irecist0[b]
    new_upd = False
    nadir_scan[b], last_scan[b], upd_scan[b], next_scan[b] = nadir_scan0[b], last_scan0[b], upd_scan0[b], next_scan0[b]
    if next_visit == next_scan0[b]:
        lesion_diam = np.cbrt(tumour + yb[am.INFILTRATE])
        measured = lesion_diam * np.exp(SCAN_NOISE_SD * scan_noise[b, v])
        cat = scan_category(measured, baseline_scan[b], nadir_scan0[b], irecist0[b], upd_scan0[b])
        new_upd = cat == IUPD and irecist0[b] != IUPD
        nadir_scan[b] = min(nadir_scan0[b], measured)
        last_scan[b] = measured
        if new_upd:
            upd_scan[b] = measured
        next_scan[b] = next_visit + (CONFIRM_INTERVAL_VISITS if cat == IUPD else SCAN_INTERVAL_VISITS)
    irecist[b] = cat
    tumour_diam = np.cbrt(tumour)
    nadir_tumour_diam[b] = min(nadir_tumour_diam0[b], tumour_diam)
    truly_growing = tumour_diam >= PD_RATIO * nadir_tumour_diam0[b]

    escaped = tumour >= LETHAL_TUMOUR_CELLS
    eliminated = tumour < ELIMINATED_TUMOUR_CELLS
    terminated[b] = escaped or eliminated
    remaining = horizon - next_visit
    shrunk = np.cbrt(tumour / baseline_cells[b]) <= PR_RATIO
    r = (ALIVE_BONUS * (not escaped)
         - TUMOUR_LOG10_WEIGHT * (np.log10(tumour + 1.0) - np.log10(tumour_before + 1.0))
         + REDUCTION_BONUS * shrunk
         - TOXICITY_PENALTY[grade]
         - DRUG_COST_PER_MG_PER_KG * dose)
    if escaped:
        r += ESCAPE_PENALTY
    elif eliminated:
        r += ELIMINATION_BONUS + (ALIVE_BONUS + REDUCTION_BONUS) * remaining
    reward[b] = r

    visit[b] = next_visit
    cum[b] = cum0[b] + dose
    pseudo[b] = pseudo0[b] or (new_upd and not truly_growing)
    true[b] = true0[b] or (new_upd and truly_growing)
    first_upd_day[b] = next_visit * DAYS_PER_STEP if new_upd and first_upd_day0[b] < 0 else first_upd_day0[b]
    outcome[b] = outcome_code(tumour, baseline_cells[b])


@jit
def _observe(b, last_scan, baseline_scan, irecist, level, tox, visit, horizon, obs):  # pragma: no cover - compiled
    values = (last_scan[b] / SCAN_REFERENCE_DIAMETER,
              last_scan[b] / baseline_scan[b] / 2.0,
              irecist[b] / 5.0,
              level[b] / 3.0,
              tox[b] / 4.0,
              visit[b] / horizon)
    for i in range(len(values)):
        obs[b, i] = min(max(values[i], 0.0), 2.0)


STEP_KERNEL = BatchKernel(_step)
# the state arrays ``_step`` reads and writes, in its argument order
STEP_READS = ("y", "params", "visit", "level", "baseline_cells", "nadir_tumour_diam", "baseline_scan", "nadir_scan",
              "last_scan", "upd_scan", "irecist", "next_scan", "scan_noise", "u_event", "u_grade", "tox_grade",
              "hold_visits", "steroid_visits", "discontinued", "cum_mg_per_kg", "pseudo_progression",
              "true_progression", "first_iupd_day")
STEP_WRITES = ("y", "visit", "level", "nadir_tumour_diam", "nadir_scan", "last_scan", "upd_scan", "irecist",
               "next_scan", "tox_grade", "hold_visits", "steroid_visits", "discontinued", "dose_mg_per_kg",
               "cum_mg_per_kg", "withheld", "pseudo_progression", "true_progression", "first_iupd_day", "outcome")
OBSERVE_KERNEL = BatchKernel(_observe)
IRECIST_NAMES = np.array(IRECIST)
OUTCOME_NAMES = np.array(OUTCOMES)


class AdaptiveDosingTask(Task):
    env_id: ClassVar[str] = "immunosim/AdaptiveDosing-v0"
    horizon: ClassVar[int] = HORIZON_VISITS
    step_unit: ClassVar[str] = "2 weeks"
    step_key: ClassVar[str] = "visit"
    no_treatment_action: ClassVar[int] = ACTIONS.index("holiday")
    render_panels: ClassVar[tuple[Panel, ...]] = (
        Panel("Lesion composition", ("tumour_cells", "infiltrate_cells", "effector_cells"), "cells", log=True),
        Panel("Scan (sum of diameters)", ("scan_sum_ratio", "lesion_diameter_ratio"), "ratio to baseline"),
        Panel("Nivolumab", ("nivolumab_mg_per_l",), "mg/L"),
        Panel("Dose and toxicity", ("dose_mg_per_kg", "toxicity_grade"), "mg/kg | grade"),
    )

    parameter_set = am.ADAPTIVE_PARAMETERS

    def __init__(self, patient: str = "cohort", parameters: dict[str, float] | None = None,
                 allow_out_of_range: bool = False) -> None:
        super().__init__(patient, parameters, allow_out_of_range)
        self.action_space = spaces.Discrete(4)
        self.observation_space = spaces.Box(0.0, 2.0, shape=(6,), dtype=np.float32)
        self.toxicity = mdl.TOXICITY_PARAMETERS.defaults

    # ------------------------------------------------------------------ patients
    def sample_patients(self, rngs) -> State:
        n, pset, h = len(rngs), am.ADAPTIVE_PARAMETERS, self.horizon
        reference = self.patient == "reference"
        # parameters, then Butner's proliferation and therapy-amplification axes
        z = np.zeros((n, len(pset) + 2))
        uniform = np.empty((n, 2))  # tumour and effector presentation, on [0, 1)
        z_scan, u_events = np.empty((n, h + 1)), np.empty((n, 2 * h))  # scan noise; irAE event, grade draws
        ids = []
        # each patient's draws, in order, from its own generator (merged calls, drawn into the rows: the same numbers)
        for i, rng in enumerate(rngs):
            if not reference:
                rng.standard_normal(out=z[i])
                rng.random(out=uniform[i])
            ids.append(-1 if reference else int(rng.integers(0, 2**31 - 1)))
            rng.standard_normal(out=z_scan[i])
            rng.random(out=u_events[i])
        z_butner = z[:, len(pset):]
        u_event, u_grade = u_events[:, :h].copy(), u_events[:, h:].copy()
        if reference:
            params = np.tile(pset.defaults, (n, 1))
            tumour, effector = np.full(n, 2.0e8), np.full(n, 3.0e5)
        else:
            params = pset.from_standard_normal(z[:, :len(pset)])
            for j, (col, cv) in enumerate(((am.ALPHA_BUTNER, BUTNER_ALPHA_CV), (am.MU_BUTNER, BUTNER_MU_CV))):
                sigma = np.sqrt(np.log1p(cv**2))
                value = pset.defaults[col] * np.exp(sigma * z_butner[:, j])
                params[:, col] = np.clip(value, pset.low[col], pset.high[col])
            (t_low, t_high), (e_low, e_high) = np.log10(PRESENTATION_TUMOUR_CELLS), LOG_EFFECTOR_RANGE
            tumour = 10 ** (t_low + (t_high - t_low) * uniform[:, 0])  # Generator.uniform's arithmetic
            effector = 10 ** (e_low + (e_high - e_low) * uniform[:, 1])
        params = self.patient_parameters(params)
        # untreated quasi-steady infiltrate at presentation
        infiltrate = params[:, am.LAMBDA_INF] * params[:, mdl.N] * effector * tumour / params[:, am.DELTA_INF]
        y = np.zeros((n, len(am.AdaptiveDosingModel.state_names)))
        y[:, am.E_CELLS], y[:, am.T_CELLS], y[:, am.INFILTRATE] = effector, tumour, infiltrate
        baseline_scan = np.cbrt(tumour + infiltrate) * np.exp(SCAN_NOISE_SD * z_scan[:, -1])
        zeros, no = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
        return {
            "y": y,
            "params": params,
            "visit": zeros.copy(),
            "level": np.full(n, START_LEVEL),
            "baseline_cells": tumour,
            "nadir_tumour_diam": np.cbrt(tumour),
            "baseline_scan": baseline_scan,
            "nadir_scan": baseline_scan.copy(),
            "last_scan": baseline_scan.copy(),
            "upd_scan": np.zeros(n),
            "irecist": np.full(n, NONE),
            "next_scan": np.full(n, FIRST_SCAN_VISIT),
            "scan_noise": z_scan[:, :-1],
            "u_event": u_event,
            "u_grade": u_grade,
            "tox_grade": zeros.copy(),
            "hold_visits": zeros.copy(),
            "steroid_visits": zeros.copy(),
            "discontinued": no.copy(),
            "dose_mg_per_kg": np.zeros(n),
            "cum_mg_per_kg": np.zeros(n),
            "withheld": no.copy(),
            "pseudo_progression": no.copy(),
            "true_progression": no.copy(),
            "first_iupd_day": np.full(n, -1.0),
            "outcome": outcome_codes(tumour, tumour),
            "patient": patient_names(ids),
        }

    # ------------------------------------------------------------------ dynamics
    def step(self, state: State, action: np.ndarray) -> tuple[State, np.ndarray, np.ndarray]:
        self.check_running(state)
        n = len(action)
        out = [state[k].copy() for k in STEP_WRITES]  # new arrays, overwritten by the kernel (copy: fastest allocation)
        reward = np.empty(n)
        terminated = np.empty(n, dtype=bool)
        u, c_start = np.empty((n, 1)), np.empty(n)
        args = (action, *[state[k] for k in STEP_READS], self.toxicity, self.horizon, u, c_start, *out, reward,
                terminated)
        y = out[STEP_WRITES.index("y")]
        STEP_KERNEL.around_integration(n, lambda: am.AdaptiveDosingModel.integrate(
            y, u, state["params"], DAYS_PER_STEP, STEPS_PER_VISIT), *args)
        new = dict(state)
        new.update(zip(STEP_WRITES, out, strict=True))
        return new, reward, terminated

    # ------------------------------------------------------------------ views
    def observe(self, state: State) -> np.ndarray:
        n = len(state["visit"])
        obs = np.empty((n, self.observation_space.shape[0]), dtype=np.float32)
        OBSERVE_KERNEL(n, state["last_scan"], state["baseline_scan"], state["irecist"], state["level"],
                       state["tox_grade"], state["visit"], self.horizon, obs)
        return obs

    def info(self, state: State) -> dict[str, np.ndarray]:
        y, p = state["y"], state["params"]
        tumour = y[:, am.T_CELLS]
        return {
            "patient": state["patient"],
            "day": state["visit"] * DAYS_PER_STEP,
            "tumour_cells": tumour,
            "infiltrate_cells": y[:, am.INFILTRATE],
            "effector_cells": y[:, am.E_CELLS],
            "baseline_tumour_cells": state["baseline_cells"],
            "lesion_diameter_ratio": np.cbrt((tumour + y[:, am.INFILTRATE]) / state["baseline_cells"]),
            "scan_sum_ratio": state["last_scan"] / state["baseline_scan"],
            "recist": RECIST_OF_IRECIST[state["irecist"]],
            "irecist": IRECIST_NAMES[state["irecist"]],
            "nivolumab_mg_per_l": y[:, am.NIVO_CENTRAL_MG] / p[:, mdl.NIVO_VC],
            "dose_level_mg_per_kg": DOSE_LEVELS_MG_PER_KG[state["level"]],
            "dose_mg_per_kg": state["dose_mg_per_kg"],
            "cumulative_nivolumab_mg_per_kg": state["cum_mg_per_kg"],
            "dose_withheld": state["withheld"],
            "toxicity_grade": state["tox_grade"],
            "on_corticosteroids": state["steroid_visits"] > 0,
            "treatment_discontinued": state["discontinued"],
            "pseudo_progression": state["pseudo_progression"],
            "true_progression": state["true_progression"],
            "first_iupd_day": state["first_iupd_day"],
            "butner_alpha_per_day": p[:, am.ALPHA_BUTNER],
            "butner_lambda": p[:, am.LAMBDA_INF],
            "butner_mu": p[:, am.MU_BUTNER],
            "outcome": OUTCOME_NAMES[state["outcome"]],
        }

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
    """Response-adapted anti-PD-1 (nivolumab) dosing with pseudo-progression, read by RECIST 1.1 / iRECIST.

    ## Description
    Tumour (T) and effector (E) cells follow Kuznetsov et al. 1994 with nivolumab two-compartment PK
    (Bajaj 2017) raising the kill rate n -> n (1 + mu C/(5 mg/L + C)), as in CheckpointInhibitor-v0.
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
    ``Box(0, 2, (6,), float32)``, clipped to the box; only what the clinic sees:

    | index | observation | unit / normalisation |
    |---|---|---|
    | 0 | last scan sum of diameters (at reset: the baseline scan) | (cells)^(1/3) / (4e8)^(1/3) |
    | 1 | last scan vs baseline scan | ratio / 2 |
    | 2 | iRECIST category of the last scan | index in (none, iCR, iPR, iSD, iUPD, iCPD) / 5 |
    | 3 | current dose level | level (0, 1, 3, 10 mg/kg -> 0-3) / 3 |
    | 4 | active irAE grade | grade / 4 |
    | 5 | time | visit / 26 |

    ## Starting State
    ``patient="cohort"`` (default) draws from ``self.np_random``: Kuznetsov/PK parameters log-normal
    (CVs in the parameter tables; Butner's alpha = a with CV 0.25, mu = k_pd1 with CV 0.5, Lambda
    with CV 1.2), tumour log-uniform 1e8-3.5e8 cells, effectors 1.5e5-8e5, infiltrate at its untreated steady
    state, and all scan-noise and irAE random numbers. ``patient="reference"``: published values, 2e8/3e5.

    ## Rewards (per 2-week visit; CheckpointInhibitor-v0's weights per week)
    ``+2`` alive, ``-5 * delta log10(tumour cells)`` (true tumour, not the scan), ``+2`` while the true
    tumour diameter is >= 30 % below baseline, ``-[0, 0.5, 2, 8, 20]`` for a new irAE of grade 0-4,
    ``-0.1`` per mg/kg. Terminal: ``-50`` on escape; ``+100`` on elimination plus the remaining bonuses.

    ## Episode End
    Termination: escape (tumour >= 4e8 cells) or elimination (< 1 cell). Truncation: 26 visits (364 days).
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
    ``gym.make("immunosim/AdaptiveDosing-v0", patient="cohort" | "reference")``; ``gym.make_vec(...,
    vectorization_mode="vector_entry_point")`` for the native batched version.
    """

    task_class = AdaptiveDosingTask


class AdaptiveDosingVectorEnv(TaskVectorEnv):
    """Native vector version of :class:`AdaptiveDosingEnv`."""

    task_class = AdaptiveDosingTask
