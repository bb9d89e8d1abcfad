"""Virtual populations of the Kuznetsov-based ImmunoSim tasks: CheckMate-067 (CheckpointInhibitor-v1,
CombinationTherapy-v1) and pseudo-progression (AdaptiveDosing-v1, :func:`calibrate_adaptive`).

Allen, Rieger & Musante 2016 (CPT:PSP 5:140): plausible patients are drawn from literature ranges (priors
below), kept when they present as CheckMate-067 patients do (measurable metastatic melanoma that progresses
untreated: RECIST progression within the 26-week horizon and no objective response), simulated under both
calibrated arms (nivolumab 3 mg/kg q2w; nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4 then nivolumab 3 mg/kg
q2w), paired, and weighted by maximum entropy (``clinsim.core.calibration.maxent_weights``) to the arms'
objective response, complete response, grade 3-4 treatment-related AE and discontinuation rates and the
difference in progression-free survival at 26 weeks (the PFS ordering). The ipilimumab-alone arm is held out:
simulated with :func:`ipilimumab_alone` and reported in the metadata, never fitted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from clinsim.core.calibration import Target, VirtualPopulation, maxent_weights, target_rows
from clinsim.core.task import Task
from clinsim.immunosim import adaptive, heuristics
from clinsim.immunosim import adaptive_models as am
from clinsim.immunosim import models as mdl
from clinsim.immunosim.checkpoint import COHORT_PATH, CheckpointInhibitorTask, CombinationTherapyTask, irae_draws

LARKIN_2015 = "Larkin et al. 2015 NEJM 373:23 (CheckMate-067)"
TARGETS = (
    Target("nivolumab ORR", 0.437, 0.05, LARKIN_2015 + ", abstract", "primary"),
    Target("nivolumab + ipilimumab ORR", 0.576, 0.05, LARKIN_2015 + ", abstract", "primary"),
    Target("nivolumab CR", 0.089, 0.05, LARKIN_2015 + ", Table 2 (2015 cut)", "not verified"),
    Target("nivolumab + ipilimumab CR", 0.115, 0.05, LARKIN_2015 + ", Table 2 (2015 cut)", "not verified"),
    Target("nivolumab grade 3-4 TRAE", 0.163, 0.05, LARKIN_2015 + ", abstract", "primary"),
    Target("nivolumab + ipilimumab grade 3-4 TRAE", 0.550, 0.05, LARKIN_2015 + ", abstract", "primary"),
    Target("nivolumab discontinuation for TRAE", 0.077, 0.05,
           LARKIN_2015 + "; 8 % in CMAJ summary (secondary)", "secondary"),
    Target("nivolumab + ipilimumab discontinuation for TRAE", 0.364, 0.05,
           LARKIN_2015 + "; 36 % in CMAJ summary (secondary)", "secondary"),
    # PFS ordering: median PFS 11.5 vs 6.9 months (Larkin 2015 abstract, primary), read at 26 weeks (6.0 months)
    # as an exponential survival, 0.5^(6/11.5) - 0.5^(6/6.9) = 0.697 - 0.547 = 0.15 (the Kaplan-Meier values at
    # 6 months were not found: docs/calibration-targets.md)
    Target("progression-free at 26 weeks, combination minus nivolumab", 0.15, 0.05,
           LARKIN_2015 + ", abstract (medians); difference derived", "derived"),
)
# feature column of each target: (arm, outcome)
TARGET_FEATURES = (("nivolumab", "response"), ("combination", "response"), ("nivolumab", "complete"),
                   ("combination", "complete"), ("nivolumab", "severe"), ("combination", "severe"),
                   ("nivolumab", "stopped"), ("combination", "stopped"), ("difference", "progression_free"))

# Priors of the plausible patients. Parameters with a published CV (Kuznetsov s, p, a, n; nivolumab and
# ipilimumab PK; body weight) keep their log-normal spread from models.py; the effect sizes without a
# population estimate are log-uniform over their literature/assumed ranges (models.py gives range and source).
LOG_UNIFORM = ("k_pd1", "k_ctla4", "k_recall", "irae_risk")
# Presentation (log-uniform): burden as before (1e8-3e8 cells, below the 3.5e8 lethal threshold);
# tumour-specific effectors from exhausted to the untreated dormant level (s/d ~ 3e5).
# SIMPLIFICATION: no per-patient measurement exists for these; the plausibility filter (progressing untreated)
# and the weighting decide which presentations make up the population.
LOG_TUMOUR_RANGE = (np.log10(1.0e8), np.log10(3.0e8))
LOG_EFFECTOR_RANGE = (np.log10(1.0e4), np.log10(1.0e6))


def plausible_patients(seed: int, n: int) -> dict[str, np.ndarray]:
    """``n`` candidate patients drawn from the priors (parameter columns, presentation, irAE seed)."""
    rng = np.random.default_rng(seed)
    pset = mdl.CHECKPOINT_PARAMETERS
    params = pset.from_standard_normal(rng.standard_normal((n, len(pset))))
    for name in LOG_UNIFORM:
        p = pset[name]
        params[:, pset.index(name)] = 10 ** rng.uniform(np.log10(p.low), np.log10(p.high), n)
    columns = {name: params[:, i] for i, name in enumerate(pset.names)}
    columns["tumour_cells"] = 10 ** rng.uniform(*LOG_TUMOUR_RANGE, n)
    columns["effector_cells"] = 10 ** rng.uniform(*LOG_EFFECTOR_RANGE, n)
    columns["irae_seed"] = rng.integers(0, 2**31 - 1, n).astype(np.float64)
    return columns


def simulate(task: Task, columns: dict[str, np.ndarray], policy: Callable[[np.ndarray], np.ndarray]
             ) -> dict[str, np.ndarray]:
    """One episode per patient (columns as in :func:`plausible_patients`) under ``policy``; the final info."""
    n = len(columns["tumour_cells"])
    params = np.stack([columns[name] for name in mdl.CHECKPOINT_PARAMETERS.names], axis=-1)
    state = task.patient_state(list(range(n)), params, columns["tumour_cells"], columns["effector_cells"],
                               irae_draws(columns["irae_seed"], task.horizon))
    return _run(task, state, policy)


def outcomes(info: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-patient trial outcomes (0/1) from a final info: objective response (best diameter change <= -30 %),
    complete response (below the imaging detection limit), grade 3-4 irAE, stopped for toxicity, progression."""
    best = np.cbrt(info["nadir_tumour_cells"] / info["baseline_tumour_cells"])
    return {"response": (best <= 0.7).astype(float), "complete": info["complete_response"].astype(float),
            "severe": (info["severe_irae_count"] > 0).astype(float),
            "stopped": info["treatment_discontinued"].astype(float),
            "progression_free": (~info["progressed"].astype(bool)).astype(float)}


def untreated(obs: np.ndarray) -> np.ndarray:
    """No treatment (the natural history)."""
    return np.zeros(len(obs), dtype=np.int64)


def ipilimumab_alone(obs: np.ndarray) -> np.ndarray:
    """CheckMate-067 ipilimumab arm: 3 mg/kg every 3 weeks x4 (held out: validation only)."""
    week = np.rint(CombinationTherapyTask.observation_table.decode(obs, "time")).astype(np.int64)
    ipi = np.where((week < 12) & (week % 3 == 0), 2, 0)
    return np.stack([np.zeros_like(ipi), ipi], axis=1)


def arms(columns: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Outcomes of each patient under no treatment, both calibrated arms and the held-out ipilimumab arm."""
    mono, combo = CheckpointInhibitorTask(), CombinationTherapyTask()
    return {"untreated": outcomes(simulate(mono, columns, untreated)),
            "nivolumab": outcomes(simulate(mono, columns, heuristics.nivolumab_q2w)),
            "combination": outcomes(simulate(combo, columns, heuristics.checkmate067)),
            "ipilimumab": outcomes(simulate(combo, columns, ipilimumab_alone))}


def calibrate_checkmate067(seed: int = 0, plausible: int = 4000, out: Path | None = None) -> list[dict]:
    """Rebuild the CheckMate-067 virtual population; returns the trial-vs-weighted rows. Untargeted figures
    (natural history, absolute PFS, the held-out ipilimumab arm) go to the metadata's ``reported``."""
    candidates = plausible_patients(seed, plausible)
    result = arms(candidates)
    # plausibility (presentation): progressing untreated, without an objective response
    keep = (result["untreated"]["progression_free"] == 0) & (result["untreated"]["response"] == 0)
    columns = {k: v[keep] for k, v in candidates.items()}
    kept = {arm: {k: v[keep] for k, v in o.items()} for arm, o in result.items()}
    kept["difference"] = {"progression_free": kept["combination"]["progression_free"]
                          - kept["nivolumab"]["progression_free"]}
    features = np.stack([kept[arm][name] for arm, name in TARGET_FEATURES], axis=1)
    weighting = maxent_weights(features, TARGETS)
    rows = target_rows(TARGETS, weighting.achieved)

    def weighted(arm: str, name: str) -> float:
        return float(kept[arm][name] @ weighting.weights)

    extra = [("progression-free at 26 weeks, nivolumab", weighted("nivolumab", "progression_free")),
             ("progression-free at 26 weeks, nivolumab + ipilimumab", weighted("combination", "progression_free")),
             ("untreated objective response", weighted("untreated", "response")),
             ("untreated progression within 26 weeks", 1.0 - weighted("untreated", "progression_free")),
             ("held out: ipilimumab ORR (trial 0.190)", weighted("ipilimumab", "response")),
             ("held out: ipilimumab grade 3-4 TRAE (trial 0.273)", weighted("ipilimumab", "severe")),
             ("held out: ipilimumab progression-free at 26 weeks", weighted("ipilimumab", "progression_free"))]
    untargeted = {name: value for name, value in extra}
    metadata = {
        "method": "Allen, Rieger & Musante 2016 CPT:PSP 5:140 plausible patients; maximum-entropy weights "
                  "(clinsim.core.calibration.maxent_weights)",
        "command": f"clinsim calibrate checkmate067 --seed {seed} --plausible {plausible}",
        "seed": seed, "plausible": plausible, "kept_plausible": int(keep.sum()),
        "effective_size": weighting.effective_size,
        "priors": {**{p.name: {"value": p.value, "unit": p.unit, "low": p.low, "high": p.high,
                               "distribution": "log-uniform" if p.name in LOG_UNIFORM
                               else f"log-normal cv {p.cv}" if p.cv else "fixed", "source": p.source}
                      for p in mdl.CHECKPOINT_PARAMETERS},
                   "tumour_cells": {"distribution": "log-uniform", "low": 1e8, "high": 3e8},
                   "effector_cells": {"distribution": "log-uniform", "low": 1e4, "high": 1e6}},
        "plausibility": "untreated: RECIST progression within 26 weeks and no objective response",
        "targets": rows, "reported": untargeted,
    }
    VirtualPopulation(columns, weighting.weights, metadata).save(COHORT_PATH if out is None else out)
    return rows


# ---------------------------------------------------------------------------------------------- AdaptiveDosing
HODI_2016 = "Hodi et al. 2016 JCO 34:1510 (KEYNOTE-001 melanoma, pembrolizumab), abstract"
PSEUDO_PROGRESSION = Target("pseudo-progression among patients imaged >= 28 weeks", 24 / 327, 0.02,
                            HODI_2016 + ": 24/327 atypical responses", "primary")
IMAGED_DAYS = 28 * 7  # Hodi's denominator: patients with >= 28 weeks of imaging


def adaptive_plausible_patients(seed: int, n: int) -> dict[str, np.ndarray]:
    """Candidates for AdaptiveDosing-v1 from its priors: the shared parameters log-normal (CVs in models.py),
    Butner's alpha and mu log-normal (``adaptive.BUTNER_*_CV``), infiltration ``lambda_inf`` log-normal (CV 1.2),
    tumour log-uniform over ``adaptive.PRESENTATION_TUMOUR_CELLS``, effectors over ``models.LOG_EFFECTOR_RANGE``."""
    rng = np.random.default_rng(seed)
    pset = am.ADAPTIVE_PARAMETERS
    params = pset.from_standard_normal(rng.standard_normal((n, len(pset))))
    for col, cv in ((am.ALPHA_BUTNER, adaptive.BUTNER_ALPHA_CV), (am.MU_BUTNER, adaptive.BUTNER_MU_CV)):
        value = pset.defaults[col] * np.exp(np.sqrt(np.log1p(cv**2)) * rng.standard_normal(n))
        params[:, col] = np.clip(value, pset.low[col], pset.high[col])
    columns = {name: params[:, i] for i, name in enumerate(pset.names)}
    columns["tumour_cells"] = 10 ** rng.uniform(*np.log10(adaptive.PRESENTATION_TUMOUR_CELLS), n)
    columns["effector_cells"] = 10 ** rng.uniform(*mdl.LOG_EFFECTOR_RANGE, n)
    columns["noise_seed"] = rng.integers(0, 2**31 - 1, n).astype(np.float64)
    return columns


def simulate_adaptive(columns: dict[str, np.ndarray], policy: Callable[[np.ndarray], np.ndarray]
                      ) -> dict[str, np.ndarray]:
    """One AdaptiveDosing-v1 episode per candidate under ``policy``; the final info."""
    task = adaptive.AdaptiveDosingTask()
    n = len(columns["tumour_cells"])
    params = np.stack([columns[name] for name in am.ADAPTIVE_PARAMETERS.names], axis=-1)
    z_scan, u_events = adaptive.seeded_noise(columns["noise_seed"], task.horizon)
    state = task.patient_state(list(range(n)), params, columns["tumour_cells"], columns["effector_cells"], z_scan,
                               u_events)
    return _run(task, state, policy)


def _run(task: Task, state, policy: Callable[[np.ndarray], np.ndarray]) -> dict[str, np.ndarray]:
    for _ in range(task.horizon):
        live = np.flatnonzero(~state.clinical["terminated"])
        if len(live) == 0:
            break
        sub = state.take(live)
        new, _, _ = task.step(sub, np.asarray(policy(task.observe(sub))))
        state.put(live, new)
    return task.info(state)


def pseudo_progression_outcomes(info: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per patient: pseudo-progression (the env's iRECIST reading: iUPD while the tumour is not growing), imaged
    >= 28 weeks (not escaped before day 196), and progression (escape or a tumour above baseline)."""
    imaged = ~((info["outcome"] == "escaped") & (info["day"] < IMAGED_DAYS))
    return {"pseudo_progression": info["pseudo_progression"].astype(float), "imaged": imaged.astype(float),
            "progressed": np.isin(info["outcome"], ("escaped", "progressing")).astype(float)}


def _holiday(obs: np.ndarray) -> np.ndarray:
    return np.full(len(obs), adaptive.HOLIDAY)


def calibrate_adaptive(seed: int = 0, plausible: int = 4000, out: Path | None = None) -> list[dict]:
    """Rebuild the AdaptiveDosing-v1 population: candidates from the priors, weighted (maximum entropy) so that
    pseudo-progression under the label regimen read by iRECIST (``heuristics.irecist_guided``) matches Hodi 2016
    among patients imaged >= 28 weeks. The conditional rate is linearised for the weighting:
    mean(imaged * (pp - target)) = 0.

    SIMPLIFICATION: no progressing-untreated plausibility filter here (unlike CheckMate-067): this model has no
    memory state, and with only progressing presentations stopping at the first (pseudo-)progression no longer
    differs from continuing, which is what the task is about. The untreated progression rate is reported."""
    columns = adaptive_plausible_patients(seed, plausible)
    untreated = pseudo_progression_outcomes(simulate_adaptive(columns, _holiday))
    treated = pseudo_progression_outcomes(simulate_adaptive(columns, heuristics.irecist_guided))
    target = PSEUDO_PROGRESSION
    linear = treated["imaged"] * (treated["pseudo_progression"] - target.value)
    # shift into [0, 1]-valued terms: mean(linear) = 0  <=>  mean(linear + target.value) = target.value
    weighting = maxent_weights((linear + target.value)[:, None], [target])
    w = weighting.weights
    achieved = float((treated["imaged"] * treated["pseudo_progression"]) @ w / (treated["imaged"] @ w))
    rows = target_rows([target], [achieved])
    metadata = {
        "method": "Allen, Rieger & Musante 2016 plausible patients; maximum-entropy weights",
        "command": f"clinsim calibrate adaptive_melanoma --seed {seed} --plausible {plausible}",
        "seed": seed, "plausible": plausible, "effective_size": weighting.effective_size,
        "plausibility": "none (see the docstring: a progressing-untreated filter lost the env's pseudo-progression "
                        "trade-off)",
        "priors": {p.name: {"value": p.value, "unit": p.unit, "low": p.low, "high": p.high,
                            "distribution": f"log-normal cv {p.cv}" if p.cv else "fixed", "source": p.source}
                   for p in am.ADAPTIVE_PARAMETERS},
        "targets": rows,
        "reported": {"pseudo-progression, all treated patients": float(treated["pseudo_progression"] @ w),
                     "imaged >= 28 weeks": float(treated["imaged"] @ w),
                     "untreated progression within 52 weeks": float(untreated["progressed"] @ w)},
    }
    VirtualPopulation(columns, w, metadata).save(adaptive.COHORT_PATH if out is None else out)
    return rows
