"""CheckpointInhibitor-v1 and CombinationTherapy-v1: weekly checkpoint-blockade decisions over 180 days."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import ClassVar

import numpy as np
from gymnasium import spaces

from clinsim.core import clinical, safety
from clinsim.core.calibration import VirtualPopulation
from clinsim.core.env import TaskEnv, TaskVectorEnv
from clinsim.core.jit import jit
from clinsim.core.measurement import Measured
from clinsim.core.render import Panel
from clinsim.core.state import Field, State
from clinsim.core.task import FixedStep, Task
from clinsim.core.views import Info, Observation, log1p_scale
from clinsim.immunosim import models as mdl
from clinsim.immunosim.models import (
    ELIMINATED_TUMOUR_CELLS,
    HOLD_WEEKS_BY_GRADE,
    LETHAL_TUMOUR_CELLS,
    STEROID_WEEKS_BY_GRADE,
    TOXICITY_PENALTY,
)

DAYS_PER_STEP = 7.0
# DOP853 steps per week: relative error <= 1e-7 against scipy over one week on states recorded from both
# checkpoint envs (tests/test_integration.py); 5, not 4, since immune memory drives tumours towards clearance
STEPS_PER_WEEK = 5
HORIZON_WEEKS = 26  # 182 days: the paper's 180-day course in whole weeks
DOSE_LEVELS_MG_PER_KG = np.array([0.0, 1.0, 3.0])  # none / low / high (nivolumab 3 mg/kg = label dose)

# Reward weights (paper eq. 1 structure, per week).
# CORRECTION: the published reward lets an early escape or a grade-4 event end a costly course and
# score better than a controlled patient. Here every week alive earns ALIVE_BONUS, so ending early
# forfeits the remaining weeks on top of the -50 escape penalty; toxicity never terminates.
ALIVE_BONUS = 1.0
TUMOUR_LOG10_WEIGHT = 5.0  # alpha_T: per log10 change of tumour cells
REDUCTION_BONUS = 1.0  # per week with >= 30 % shrinkage in diameter (RECIST partial response)
DRUG_COST_PER_MG_PER_KG = 0.1
ESCAPE_PENALTY = -50.0
ELIMINATION_BONUS = 100.0

OUTCOMES = ("controlled", "escaped", "eliminated", "stopped_for_toxicity")
CONTROLLED, ESCAPED, ELIMINATED, STOPPED_FOR_TOXICITY = range(len(OUTCOMES))
# observation scales: the published EC50s (population values, not the patient's)
EC50_PD1_MG_PER_L = mdl.CHECKPOINT_PARAMETERS["ec50_pd1"].value
EC50_CTLA4_MG_PER_L = mdl.CHECKPOINT_PARAMETERS["ec50_ctla4"].value
TOXICITY = mdl.TOXICITY_PARAMETERS.defaults

# CheckMate-067 tumour assessments (Larkin et al. 2015 NEJM 373:23, Methods): week 12, then every 6 weeks.
# Progression-free survival reads RECIST progression at these scans (escape counts at once).
SCAN_WEEKS = np.zeros(HORIZON_WEEKS + 1, dtype=np.bool_)
SCAN_WEEKS[12::6] = True
# Imaging detection limit (RECIST complete response: every target lesion gone). A lesion is no longer
# measurable below ~10 % of its baseline diameter (clinical.CR_DIAMETER_RATIO: a 5-10 mm lesion on CT out of a
# typical 5-10 cm baseline sum of diameters; RECIST 1.1, Eisenhauer et al. 2009 Eur J Cancer 45:228), i.e.
# 1e-3 of the baseline cells (diameter ~ cells^(1/3)). A 5 mm lesion holds ~6e7 cells at 1e9 cells/cm^3 (Del
# Monte 2009 Cell Cycle 8:505).
# SIMPLIFICATION: the Kuznetsov model's 1e8-3.5e8 cells stand for the whole measured burden (a clinical
# burden is ~1e10-1e11 cells), so the limit is set relative to the baseline rather than in absolute cells.
DETECTABLE_FRACTION = clinical.CR_DIAMETER_RATIO**3
# Baseline sum of target-lesion diameters: median 10.2 cm in advanced melanoma on PD-1 blockade (KEYNOTE-001,
# Joseph et al. 2018 Clin Cancer Res 24:4960; the CheckMate-067 figure was not found). Used for RECIST's 5 mm
# absolute increase required for progression.
BASELINE_SUM_OF_DIAMETERS_MM = 102.0


COHORT_PATH = Path(__file__).parent / "cohorts" / "checkmate067"


@functools.cache
def cohort() -> VirtualPopulation:
    """The calibrated virtual population (CheckMate-067; ``clinsim calibrate checkmate067`` rebuilds it)."""
    return VirtualPopulation.load(COHORT_PATH)


def irae_draws(seeds: np.ndarray, horizon: int) -> np.ndarray:
    """Each virtual patient's weekly irAE event and grade uniforms (n, 2 * horizon), from its stored seed."""
    return np.stack([np.random.default_rng(int(seed)).random(2 * horizon) for seed in seeds]).reshape(-1, 2 * horizon)


@jit
def _recist(cells: float, baseline_cells: float, nadir_cells: float) -> int:
    """RECIST 1.1 reading (index into ``clinical.RECIST``; diameter ~ cells^(1/3)): CR below the detection limit;
    PD needs +20 % over the nadir's sum of diameters and an absolute increase of >= 5 mm (Eisenhauer et al. 2009
    Eur J Cancer 45:228) on a ``BASELINE_SUM_OF_DIAMETERS_MM`` baseline; PR <= -30 % from baseline; else SD."""
    if cells < baseline_cells * DETECTABLE_FRACTION:
        return clinical.CR
    diameter, nadir = np.cbrt(cells / baseline_cells), np.cbrt(nadir_cells / baseline_cells)
    if diameter >= clinical.PD_DIAMETER_RATIO * nadir and (diameter - nadir) * BASELINE_SUM_OF_DIAMETERS_MM >= 5.0:
        return clinical.PD
    return clinical.PR if diameter <= clinical.PR_DIAMETER_RATIO else clinical.SD


@jit
def _before(a, c, s, t):  # pragma: no cover - compiled
    """Dosing at the start of the week (held or stopped doses are withheld); the steroid input."""
    weight = c.params[mdl.BODY_WEIGHT]
    nivo_asked = DOSE_LEVELS_MG_PER_KG[a[0]]
    ipi_asked = DOSE_LEVELS_MG_PER_KG[a[1]] if a.shape[0] > 1 else 0.0
    allowed = not s.discontinued and s.hold_weeks == 0
    t.dose_nivo_mg_per_kg = nivo_asked if allowed else 0.0
    t.dose_ipi_mg_per_kg = ipi_asked if allowed else 0.0
    t.withheld = not allowed and (nivo_asked > 0 or ipi_asked > 0)
    y = t.y
    y[mdl.NIVO_CENTRAL_MG] += t.dose_nivo_mg_per_kg * weight
    y[mdl.IPI_MG] += t.dose_ipi_mg_per_kg * weight
    t.start_nivolumab_mg_per_l = y[mdl.NIVO_CENTRAL_MG] / c.params[mdl.NIVO_VC]
    t.start_ipilimumab_mg_per_l = y[mdl.IPI_MG] / c.params[mdl.IPI_V]
    t.inputs[mdl.STEROID] = 1.0 if s.steroid_weeks > 0 else 0.0
    return DAYS_PER_STEP


@jit
def _after(a, c, s, t):  # pragma: no cover - compiled
    """irAEs and their management, tumour outcome, RECIST reading and the week's reward."""
    y, p = t.y, c.params
    nivo, ipi = t.dose_nivo_mg_per_kg, t.dose_ipi_mg_per_kg
    # irAEs: weekly event drawn from the patient's pre-drawn uniforms (mean exposure of the week)
    w = s.elapsed
    c_nivo = 0.5 * (t.start_nivolumab_mg_per_l + y[mdl.NIVO_CENTRAL_MG] / p[mdl.NIVO_VC])
    c_ipi = 0.5 * (t.start_ipilimumab_mg_per_l + y[mdl.IPI_MG] / p[mdl.IPI_V])
    risk = min(p[mdl.IRAE_RISK] * mdl.irae_probability(c_nivo, c_ipi, TOXICITY), 1.0)
    event = c.u_event[w] < risk
    grade = mdl.irae_grade(c.u_grade[w]) if event else 0
    stop = event and mdl.irae_stops_treatment(grade, c.u_grade[w])
    tox, hold, steroid, disc = clinical.manage_toxicity(grade, s.tox_grade, s.hold_weeks, s.steroid_weeks,
                                                        s.discontinued or stop, HOLD_WEEKS_BY_GRADE,
                                                        STEROID_WEEKS_BY_GRADE)
    t.tox_grade, t.hold_weeks, t.steroid_weeks, t.discontinued = tox, hold, steroid, disc

    tumour_before = s.y[mdl.T_CELLS]
    tumour = y[mdl.T_CELLS]
    escaped = tumour >= LETHAL_TUMOUR_CELLS
    eliminated = tumour < ELIMINATED_TUMOUR_CELLS
    t.terminated = escaped or eliminated
    remaining = HORIZON_WEEKS - (w + 1)
    shrunk = np.cbrt(tumour / c.baseline_cells) <= 0.7
    harm, burden = -TOXICITY_PENALTY[grade], -DRUG_COST_PER_MG_PER_KG * (nivo + ipi)
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

    t.day = (w + 1) * DAYS_PER_STEP
    t.nadir_cells = min(s.nadir_cells, tumour)
    t.severe_events = s.severe_events + (grade >= 3)
    t.cum_nivo_mg_per_kg = s.cum_nivo_mg_per_kg + nivo
    t.cum_ipi_mg_per_kg = s.cum_ipi_mg_per_kg + ipi
    t.nivolumab_mg_per_l = y[mdl.NIVO_CENTRAL_MG] / p[mdl.NIVO_VC]
    t.ipilimumab_mg_per_l = y[mdl.IPI_MG] / p[mdl.IPI_V]
    t.treatment_held = hold > 0
    t.on_corticosteroids = steroid > 0
    t.recist = _recist(tumour, c.baseline_cells, t.nadir_cells)
    detection = c.baseline_cells * DETECTABLE_FRACTION
    t.complete_response = s.complete_response or tumour < detection
    t.progressed = s.progressed or escaped or (SCAN_WEEKS[w + 1] and t.recist == clinical.PD)
    t.outcome = ESCAPED if escaped else ELIMINATED if eliminated else STOPPED_FOR_TOXICITY if disc else CONTROLLED


@jit
def _measure(c, t):  # pragma: no cover - compiled
    return (t.y[mdl.T_CELLS], t.y[mdl.E_CELLS], t.nivolumab_mg_per_l, t.ipilimumab_mg_per_l, float(t.tox_grade),
            t.cum_ipi_mg_per_kg, float(t.elapsed))


_OBSERVATIONS = {
    "tumour": Observation("tumour", "tumour burden", "cells", 9.0, "log10"),
    "effector": Observation("effector", "effector cells", "cells", 9.0, "log10"),
    "nivolumab": Observation("nivolumab", "nivolumab concentration", "mg/L", log1p_scale(100.0), "log1p",
                             EC50_PD1_MG_PER_L),
    "ipilimumab": Observation("ipilimumab", "ipilimumab concentration", "mg/L", log1p_scale(100.0), "log1p",
                              EC50_CTLA4_MG_PER_L),
    "toxicity": Observation("toxicity", "active irAE grade", "grade", 4.0),
    "cumulative_ipilimumab": Observation("cumulative_ipilimumab", "cumulative ipilimumab", "mg/kg", 24.0, high=1.0),
    "time": Observation("time", "time", "week", float(HORIZON_WEEKS)),
}
@jit
def _bedside(c, t):  # pragma: no cover - compiled
    """What the clinic reads (observation="clinical"): the CT sum of target-lesion diameters (lesions below the
    imaging limit read 0), the irAE grade assessed at the visit and the charted ipilimumab, and the week."""
    tumour = t.y[mdl.T_CELLS]
    visible = tumour >= c.baseline_cells * DETECTABLE_FRACTION
    diameters = BASELINE_SUM_OF_DIAMETERS_MM * np.cbrt(tumour / c.baseline_cells) if visible else 0.0
    return diameters, float(t.tox_grade), t.cum_ipi_mg_per_kg, float(t.elapsed)


# Clinical observation mode (docs/observations.md). CheckMate-067 imaging: week 12, then every 6 weeks (Larkin et
# al. 2015 NEJM 373:23, Methods), after the baseline scan; read before the dosing visit (assumption: same week).
# Reader noise: the inter-observer 95 % limits of agreement of the sum of diameters are about +-19.5 % (Yoon et al.
# 2016 Eur J Cancer 53:5, meta-analysis), i.e. a relative SD of the difference of ~10 % and of one read of ~7 %.
SCAN_AT_WEEKS = (0, 12)
SCAN_EVERY_WEEKS = 6
SCAN_READ_LOG_SD = 0.07
_CLINICAL = {
    "scan": Measured(Observation("scan", "CT sum of target-lesion diameters (RECIST 1.1 read; 0: no measurable "
                                         "lesion)", "mm", BASELINE_SUM_OF_DIAMETERS_MM),
                     "CheckMate-067 schedule (Larkin et al. 2015 NEJM 373:23): baseline, week 12, then every 6 "
                     "weeks; read the same week (assumption); reader noise from Yoon et al. 2016 Eur J Cancer 53:5",
                     at=SCAN_AT_WEEKS, every=SCAN_EVERY_WEEKS, log_sd=SCAN_READ_LOG_SD),
    "toxicity": Observation("toxicity", "irAE grade assessed at the weekly visit (CTCAE)", "grade", 4.0),
    "cumulative_ipilimumab": _OBSERVATIONS["cumulative_ipilimumab"],
    "time": _OBSERVATIONS["time"],
}

_SAFETY_FIELDS, _SAFETY_INFOS = safety.declarations(("severe_irae",))
_INFOS = (
    Info("day", "day"),
    Info("tumour_cells", "y", mdl.T_CELLS),
    Info("effector_cells", "y", mdl.E_CELLS),
    Info("baseline_tumour_cells", "baseline_cells"),
    Info("nadir_tumour_cells", "nadir_cells"),
    Info("nivolumab_mg_per_l", "nivolumab_mg_per_l"),
    Info("toxicity_grade", "tox_grade"),
    Info("severe_irae_count", "severe_events"),
    Info("treatment_held", "treatment_held"),
    Info("on_corticosteroids", "on_corticosteroids"),
    Info("treatment_discontinued", "discontinued"),
    Info("dose_withheld", "withheld"),
    Info("cumulative_nivolumab_mg_per_kg", "cum_nivo_mg_per_kg"),
    Info("recist", "recist", names=clinical.RECIST),
    Info("complete_response", "complete_response"),
    Info("progressed", "progressed"),
    Info("outcome", "outcome", names=OUTCOMES),
    *_SAFETY_INFOS,
)


class _CheckpointTask(Task):
    """Shared dynamics and reward of the two checkpoint-inhibitor tasks."""

    horizon: ClassVar[int] = HORIZON_WEEKS
    step_unit: ClassVar[str] = "week"
    label_prefix: ClassVar[str] = "cohort"
    render_panels: ClassVar[tuple[Panel, ...]] = (
        Panel("Cells", ("tumour_cells", "effector_cells"), "cells", log=True, floor=1.0, span=(1e4, 1e9),
              thresholds=((LETHAL_TUMOUR_CELLS, "escape"),)),
        Panel("Drug concentration", ("nivolumab_mg_per_l", "ipilimumab_mg_per_l"), "mg/L", span=(0.0, 100.0),
              thresholds=((EC50_PD1_MG_PER_L, "nivolumab EC50"),)),
        Panel("irAE grade", ("toxicity_grade",), "grade", span=(0.0, 4.0), thresholds=((3.0, "severe"),)),
        Panel("Cumulative dose", ("cumulative_nivolumab_mg_per_kg", "cumulative_ipilimumab_mg_per_kg"), "mg/kg",
              span=(0.0, 50.0)),
    )

    parameter_set = mdl.CHECKPOINT_PARAMETERS
    patient_fields = (Field("baseline_cells"), Field("u_event", "f8", (HORIZON_WEEKS,)),
                      Field("u_grade", "f8", (HORIZON_WEEKS,)))
    clinical_fields = (
        Field("y", "f8", (len(mdl.CheckpointModel.state_names),)),
        Field("day"),
        Field("nadir_cells"),
        Field("tox_grade", "i8"),
        Field("hold_weeks", "i8"),
        Field("steroid_weeks", "i8"),
        Field("discontinued", "?"),
        Field("treatment_held", "?"),
        Field("on_corticosteroids", "?"),
        Field("severe_events", "i8"),
        Field("cum_nivo_mg_per_kg"),
        Field("cum_ipi_mg_per_kg"),
        Field("dose_nivo_mg_per_kg"),
        Field("dose_ipi_mg_per_kg"),
        Field("withheld", "?"),
        Field("start_nivolumab_mg_per_l"),  # after the week's dose
        Field("start_ipilimumab_mg_per_l"),
        Field("nivolumab_mg_per_l"),
        Field("ipilimumab_mg_per_l"),
        Field("outcome", "i8"),
        *_SAFETY_FIELDS,
        Field("recist", "i8"),
        Field("complete_response", "?"),  # best overall response CR: burden below the detection limit so far
        Field("progressed", "?"),  # RECIST progression at a scan (or escape) so far: the end of PFS
    )
    integration = FixedStep(mdl.CheckpointModel, STEPS_PER_WEEK)
    before, after, measure = staticmethod(_before), staticmethod(_after), staticmethod(_measure)
    measurements = tuple(_OBSERVATIONS)
    bedside = staticmethod(_bedside)
    bedside_measurements = ("scan", "toxicity", "cumulative_ipilimumab", "time")

    # ------------------------------------------------------------------ patients
    def sample_patients(self, rngs) -> State:
        n, horizon = len(rngs), self.horizon
        if self.patient == "reference":
            params = np.tile(mdl.CHECKPOINT_PARAMETERS.defaults, (n, 1))
            u_events = np.stack([rng.random(2 * horizon) for rng in rngs]) if n else np.empty((0, 2 * horizon))
            return self.patient_state([-1] * n, params, np.full(n, 2.0e8), np.full(n, 3.0e5), u_events)
        population = cohort()
        # one weighted draw per patient from its own generator; the patient's irAE draws come from the virtual
        # patient's stored seed (they are part of what the calibration simulated)
        ids = np.array([population.draw(rng) for rng in rngs], dtype=np.int64)
        params = np.stack([population.column(name)[ids] for name in mdl.CHECKPOINT_PARAMETERS.names], axis=-1)
        return self.patient_state(ids.tolist(), params, population.column("tumour_cells")[ids],
                                  population.column("effector_cells")[ids],
                                  irae_draws(population.column("irae_seed")[ids], horizon))

    def patient_state(self, ids, params: np.ndarray, tumour_cells: np.ndarray, effector_cells: np.ndarray,
                      u_events: np.ndarray) -> State:
        """Initial records of patients given their parameters, presentation (cells) and irAE draws (n, 2 * horizon)."""
        state = self.new_state(ids)
        c, s = state.patient, state.clinical
        c["params"] = self.patient_parameters(np.array(params, dtype=np.float64))
        c["baseline_cells"] = tumour_cells
        c["u_event"], c["u_grade"] = u_events[:, :self.horizon], u_events[:, self.horizon:]
        s["y"][:, mdl.E_CELLS], s["y"][:, mdl.T_CELLS] = effector_cells, tumour_cells
        s["nadir_cells"] = tumour_cells
        s["recist"] = clinical.SD
        return state

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
        if "cumulative_ipilimumab_mg_per_kg" in final_info:
            metrics["cumulative_ipilimumab_mg_per_kg"] = final_info["cumulative_ipilimumab_mg_per_kg"].astype(float)
        return metrics


class CheckpointInhibitorTask(_CheckpointTask):
    env_id = "immunosim/CheckpointInhibitor-v1"
    action_space = spaces.Discrete(3)
    observations = tuple(_OBSERVATIONS[k] for k in ("tumour", "effector", "nivolumab", "toxicity", "time"))
    clinical_observations = tuple(_CLINICAL[k] for k in ("scan", "toxicity", "time"))
    infos = _INFOS


class CombinationTherapyTask(_CheckpointTask):
    env_id = "immunosim/CombinationTherapy-v1"
    action_space = spaces.MultiDiscrete([3, 3])
    observations = tuple(_OBSERVATIONS.values())
    clinical_observations = tuple(_CLINICAL.values())
    infos = (*_INFOS, Info("ipilimumab_mg_per_l", "ipilimumab_mg_per_l"),
             Info("cumulative_ipilimumab_mg_per_kg", "cum_ipi_mg_per_kg"))


_COMMON_DOC = """
    ## Starting State
    ``patient="cohort"`` (default) draws a virtual patient from the CheckMate-067 virtual population
    (``immunosim/cohorts/checkmate067``, rebuilt by ``clinsim calibrate checkmate067``): plausible patients
    from literature parameter ranges who progress untreated (tumour 1e8-3e8 cells, exhausted effectors),
    weighted to the trial's nivolumab and nivolumab + ipilimumab arms (ORR, CR, grade 3-4 TRAE,
    discontinuation, PFS ordering). ``patient="reference"`` uses the published parameters, 2e8 tumour and
    3e5 effector cells.

    ## Rewards (per week; paper eq. 1 with a survival term)
    ``+1`` alive, ``-5 * delta log10(tumour cells)``, ``+1`` while the diameter is >= 30 % below baseline
    (RECIST PR), ``-[0, 0.5, 2, 8, 20]`` for a new irAE of grade 0-4, ``-0.1`` per mg/kg given.
    Terminal: ``-50`` on escape; ``+100`` on elimination plus the weekly bonuses of the remaining weeks.

    ## Episode End
    Termination: escape (tumour >= 3.5e8 cells, below the untreated escape state ~4.5e8) or elimination
    (< 1 cell). Truncation: 26 weekly decisions (182 days) through the registration's ``TimeLimit``.
    Toxicity never ends an episode: grade 2 holds doses 1 week, grade 3 3 weeks, grade 4 and a share of
    grade 3 events (ASCO 2018) stop all checkpoint inhibitors for good (the course continues untreated).

    ## Info
    ``patient``, ``day``, ``tumour_cells``, ``effector_cells``, ``baseline_tumour_cells`` (cells),
    ``nivolumab_mg_per_l`` (mg/L), ``toxicity_grade`` (0-4), ``severe_irae_count``, ``treatment_held``,
    ``treatment_discontinued``, ``dose_withheld``, ``cumulative_nivolumab_mg_per_kg`` (mg/kg), ``recist``
    (CR/PR/SD/PD, diameter ~ cells^(1/3); CR below the imaging limit of 1e-3 of the baseline cells; PD +20 %
    and +5 mm over the nadir), ``complete_response`` (CR reached), ``progressed`` (RECIST progression at a
    CheckMate-067 scan, week 12 then every 6, or escape), ``outcome``
    (controlled/escaped/eliminated/stopped_for_toxicity).

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
    bistable: treatment pulls tumours from the escape basin into immune-controlled dormancy. Killing added
    by blockade builds a tumour-specific memory pool that recruits effectors, so responses can be durable.
    Immune-related adverse events occur with a flat weekly probability under PD-1 exposure (Shulgin 2020).

    ## Action Space
    ``Discrete(3)``, given at the start of each week:

    | action | nivolumab dose |
    |---|---|
    | 0 | none |
    | 1 | 1 mg/kg |
    | 2 | 3 mg/kg (label dose) |

    ## Observation Space
""" + CheckpointInhibitorTask.observation_table.markdown() + _COMMON_DOC
    task_class = CheckpointInhibitorTask


class CombinationTherapyEnv(TaskEnv):
    __doc__ = """Dual checkpoint blockade (nivolumab + ipilimumab) with asymmetric toxicity.

    ## Description
    As CheckpointInhibitor-v1, plus ipilimumab (one-compartment PK) which amplifies effector priming
    s -> s (1 + 2 C/(10 mg/L + C)). The two mechanisms act synergistically (more primed effectors, each
    killing harder under PD-1 blockade; Nikolopoulou 2021). irAE probability is flat for PD-1 and rises
    with ipilimumab concentration, doubled under combination (Shulgin 2020, CheckMate-067).

    ## Action Space
    ``MultiDiscrete([3, 3])``: ``[nivolumab level, ipilimumab level]``, each 0 = none, 1 = 1 mg/kg,
    2 = 3 mg/kg, given at the start of each week.

    ## Observation Space
""" + CombinationTherapyTask.observation_table.markdown() + """
    The info also carries ``ipilimumab_mg_per_l`` and ``cumulative_ipilimumab_mg_per_kg``.
""" + _COMMON_DOC
    task_class = CombinationTherapyTask


class CheckpointInhibitorVectorEnv(TaskVectorEnv):
    """Native vector version of :class:`CheckpointInhibitorEnv`."""

    task_class = CheckpointInhibitorTask


class CombinationTherapyVectorEnv(TaskVectorEnv):
    """Native vector version of :class:`CombinationTherapyEnv`."""

    task_class = CombinationTherapyTask
