"""AdaptiveDosing-v0: response-adapted nivolumab over 52 weeks with scans read by RECIST 1.1 / iRECIST."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from gymnasium import spaces

from clinsim.core.env import TaskEnv, TaskVectorEnv
from clinsim.core.render import Panel
from clinsim.core.task import State, Task
from clinsim.immunosim import adaptive_models as am
from clinsim.immunosim import models as mdl
from clinsim.immunosim.checkpoint import (
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


def _weeks_to_visits(weeks: np.ndarray) -> np.ndarray:
    return np.ceil(np.asarray(weeks) / 2.0).astype(np.int64)


HOLD_VISITS_BY_GRADE = _weeks_to_visits(HOLD_WEEKS_BY_GRADE)
STEROID_VISITS_BY_GRADE = _weeks_to_visits(STEROID_WEEKS_BY_GRADE)


def read_scan(diameter, baseline, nadir, previous, upd_diameter):
    """iRECIST category of a scan (sum of diameters, same units as ``baseline``/``nadir``).

    RECIST 1.1 thresholds (PR <= -30 % from baseline, PD >= +20 % from nadir); a first PD is
    unconfirmed (iUPD); at the next scan a further increase (>= 5 %) over the iUPD scan confirms it
    (iCPD, final); otherwise the category is read afresh (iUPD persists if still >= +20 % over nadir).
    """
    cat = np.where(diameter / baseline <= PR_RATIO, IPR, ISD)
    cat = np.where(diameter / baseline <= CR_DIAMETER_RATIO, ICR, cat)
    progressed = diameter / nadir >= PD_RATIO
    confirmed = (previous == IUPD) & (diameter >= ICPD_FURTHER_RATIO * upd_diameter)
    cat = np.where(progressed, IUPD, cat)
    cat = np.where(progressed & confirmed, ICPD, cat)
    return np.where(previous == ICPD, ICPD, cat)


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
    def sample_patient(self, rng: np.random.Generator) -> State:
        if self.patient == "reference":
            params = am.ADAPTIVE_PARAMETERS.defaults.copy()
            tumour, effector = 2.0e8, 3.0e5
            patient_id = -1
        else:
            params = am.ADAPTIVE_PARAMETERS.sample(rng)
            for col, cv in ((am.ALPHA_BUTNER, BUTNER_ALPHA_CV), (am.MU_BUTNER, BUTNER_MU_CV)):
                sigma = np.sqrt(np.log1p(cv**2))
                value = am.ADAPTIVE_PARAMETERS.defaults[col] * np.exp(sigma * rng.standard_normal())
                params[col] = np.clip(value, am.ADAPTIVE_PARAMETERS.low[col], am.ADAPTIVE_PARAMETERS.high[col])
            tumour = 10 ** rng.uniform(np.log10(1.0e8), np.log10(3.5e8))
            effector = 10 ** rng.uniform(np.log10(1.5e5), np.log10(8.0e5))
            patient_id = int(rng.integers(0, 2**31 - 1))
        params = self.patient_parameters(params)
        # untreated quasi-steady infiltrate at presentation
        infiltrate = params[am.LAMBDA_INF] * params[mdl.N] * effector * tumour / params[am.DELTA_INF]
        y = np.array([effector, tumour, 0.0, 0.0, infiltrate])
        z = rng.standard_normal(self.horizon + 1)
        baseline_scan = np.cbrt(tumour + infiltrate) * np.exp(SCAN_NOISE_SD * z[-1])
        return {
            "y": y,
            "params": params,
            "visit": np.array(0),
            "level": np.array(START_LEVEL),
            "baseline_cells": np.array(tumour),
            "nadir_tumour_diam": np.array(np.cbrt(tumour)),
            "baseline_scan": np.array(baseline_scan),
            "nadir_scan": np.array(baseline_scan),
            "last_scan": np.array(baseline_scan),
            "upd_scan": np.array(0.0),
            "irecist": np.array(NONE),
            "next_scan": np.array(FIRST_SCAN_VISIT),
            "scan_noise": z[:-1],
            "u_event": rng.random(self.horizon),
            "u_grade": rng.random(self.horizon),
            "tox_grade": np.array(0),
            "hold_visits": np.array(0),
            "steroid_visits": np.array(0),
            "discontinued": np.array(False),
            "dose_mg_per_kg": np.array(0.0),
            "cum_mg_per_kg": np.array(0.0),
            "withheld": np.array(False),
            "pseudo_progression": np.array(False),
            "true_progression": np.array(False),
            "first_upd_visit": np.array(-1),
            "patient_id": np.array(patient_id),
        }

    # ------------------------------------------------------------------ dynamics
    def step(self, state: State, action: np.ndarray) -> tuple[State, np.ndarray, np.ndarray]:
        visit = state["visit"]
        self.check_running(state)
        p = state["params"]
        rows = np.arange(len(visit))
        level = state["level"]
        level = np.where(action == ESCALATE, np.minimum(level + 1, 3), level)
        level = np.where(action == REDUCE, np.where(level > 0, np.maximum(level - 1, 1), 0), level)
        level = np.where(action == HOLIDAY, 0, level)
        asked = DOSE_LEVELS_MG_PER_KG[level]
        allowed = ~state["discontinued"] & (state["hold_visits"] == 0)
        dose = np.where(allowed, asked, 0.0)
        withheld = ~allowed & (asked > 0)

        y = state["y"].copy()
        y[:, am.NIVO_CENTRAL_MG] += dose * p[:, mdl.BODY_WEIGHT]
        c_start = y[:, am.NIVO_CENTRAL_MG] / p[:, mdl.NIVO_VC]
        steroid = (state["steroid_visits"] > 0).astype(np.float64)[:, None]
        am.AdaptiveDosingModel.integrate(y, steroid, p, DAYS_PER_STEP, STEPS_PER_VISIT)
        np.maximum(y, 0.0, out=y)

        # irAEs (flat PD-1 incidence, Shulgin 2020): two weekly chances per visit under exposure
        c_mean = 0.5 * (c_start + y[:, am.NIVO_CENTRAL_MG] / p[:, mdl.NIVO_VC])
        weekly = mdl.irae_probability(c_mean, np.zeros_like(c_mean), self.toxicity)
        event = state["u_event"][rows, visit] < 1.0 - (1.0 - weekly) ** 2
        grade = np.where(event, mdl.irae_grade(state["u_grade"][rows, visit]), 0)
        active_grade, hold, steroid_visits, discontinued = mdl.manage_irae(
            grade, state["tox_grade"], state["hold_visits"], state["steroid_visits"], state["discontinued"],
            HOLD_VISITS_BY_GRADE, STEROID_VISITS_BY_GRADE)

        tumour_before = state["y"][:, am.T_CELLS]
        tumour = y[:, am.T_CELLS]
        next_visit = visit + 1

        # restaging scan at the end of this cycle (before the next decision)
        scan_now = next_visit == state["next_scan"]
        lesion_diam = np.cbrt(tumour + y[:, am.INFILTRATE])
        measured = lesion_diam * np.exp(SCAN_NOISE_SD * state["scan_noise"][rows, visit])
        cat = read_scan(measured, state["baseline_scan"], state["nadir_scan"], state["irecist"], state["upd_scan"])
        cat = np.where(scan_now, cat, state["irecist"])
        new_upd = scan_now & (cat == IUPD) & (state["irecist"] != IUPD)
        nadir_tumour_diam = np.minimum(state["nadir_tumour_diam"], np.cbrt(tumour))
        truly_growing = np.cbrt(tumour) >= PD_RATIO * state["nadir_tumour_diam"]
        next_scan = np.where(scan_now, next_visit + np.where(cat == IUPD, CONFIRM_INTERVAL_VISITS,
                                                             SCAN_INTERVAL_VISITS), state["next_scan"])

        escaped = tumour >= LETHAL_TUMOUR_CELLS
        eliminated = tumour < ELIMINATED_TUMOUR_CELLS
        terminated = escaped | eliminated
        remaining = self.horizon - next_visit
        shrunk = np.cbrt(tumour / state["baseline_cells"]) <= PR_RATIO
        reward = (
            ALIVE_BONUS * ~escaped
            - TUMOUR_LOG10_WEIGHT * (np.log10(tumour + 1.0) - np.log10(tumour_before + 1.0))
            + REDUCTION_BONUS * shrunk
            - TOXICITY_PENALTY[grade]
            - DRUG_COST_PER_MG_PER_KG * dose
            + np.where(escaped, ESCAPE_PENALTY, 0.0)
            + np.where(eliminated & ~escaped, ELIMINATION_BONUS + (ALIVE_BONUS + REDUCTION_BONUS) * remaining, 0.0)
        )
        new = dict(state)
        new.update(
            y=y,
            visit=next_visit,
            level=level,
            nadir_tumour_diam=nadir_tumour_diam,
            nadir_scan=np.where(scan_now, np.minimum(state["nadir_scan"], measured), state["nadir_scan"]),
            last_scan=np.where(scan_now, measured, state["last_scan"]),
            upd_scan=np.where(new_upd, measured, state["upd_scan"]),
            irecist=cat,
            next_scan=next_scan,
            tox_grade=active_grade,
            hold_visits=hold,
            steroid_visits=steroid_visits,
            discontinued=discontinued,
            dose_mg_per_kg=dose,
            cum_mg_per_kg=state["cum_mg_per_kg"] + dose,
            withheld=withheld,
            pseudo_progression=state["pseudo_progression"] | (new_upd & ~truly_growing),
            true_progression=state["true_progression"] | (new_upd & truly_growing),
            first_upd_visit=np.where(new_upd & (state["first_upd_visit"] < 0), next_visit, state["first_upd_visit"]),
        )
        return new, reward, terminated

    # ------------------------------------------------------------------ views
    def observe(self, state: State) -> np.ndarray:
        cols = [
            state["last_scan"] / SCAN_REFERENCE_DIAMETER,
            state["last_scan"] / state["baseline_scan"] / 2.0,
            state["irecist"] / 5.0,
            state["level"] / 3.0,
            state["tox_grade"] / 4.0,
            state["visit"] / self.horizon,
        ]
        return np.clip(np.stack(cols, axis=1), 0.0, 2.0).astype(np.float32)

    def info(self, state: State) -> dict[str, np.ndarray]:
        y, p = state["y"], state["params"]
        tumour = y[:, am.T_CELLS]
        outcome = np.where(tumour > state["baseline_cells"], 3, 0)
        outcome = np.where(tumour < ELIMINATED_TUMOUR_CELLS, 2, outcome)
        outcome = np.where(tumour >= LETHAL_TUMOUR_CELLS, 1, outcome)
        patient = np.where(state["patient_id"] < 0, "reference",
                           np.char.add("cohort-", state["patient_id"].astype(str)))
        return {
            "patient": patient,
            "day": state["visit"] * DAYS_PER_STEP,
            "tumour_cells": tumour,
            "infiltrate_cells": y[:, am.INFILTRATE],
            "effector_cells": y[:, am.E_CELLS],
            "baseline_tumour_cells": state["baseline_cells"],
            "lesion_diameter_ratio": np.cbrt((tumour + y[:, am.INFILTRATE]) / state["baseline_cells"]),
            "scan_sum_ratio": state["last_scan"] / state["baseline_scan"],
            "recist": RECIST_OF_IRECIST[state["irecist"]],
            "irecist": np.asarray(IRECIST)[state["irecist"]],
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
            "first_iupd_day": np.where(state["first_upd_visit"] >= 0, state["first_upd_visit"] * DAYS_PER_STEP, -1.0),
            "butner_alpha_per_day": p[:, am.ALPHA_BUTNER],
            "butner_lambda": p[:, am.LAMBDA_INF],
            "butner_mu": p[:, am.MU_BUTNER],
            "outcome": np.asarray(OUTCOMES)[outcome],
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
