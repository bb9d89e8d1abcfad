"""CARTCell-v1: daily CAR-T infusion decisions over 90 days on CARTmath dynamics with CRS."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import ClassVar

import numpy as np
from gymnasium import spaces

from clinsim.core import clinical, safety
from clinsim.core.calibration import VirtualPopulation
from clinsim.core.env import TaskEnv, TaskVectorEnv
from clinsim.core.integrate import CARRY_DERIVATIVE_VALID, carry_size
from clinsim.core.jit import jit
from clinsim.core.measurement import Measured
from clinsim.core.render import Panel
from clinsim.core.state import Field, State
from clinsim.core.task import Task
from clinsim.core.views import Info, Observation, log1p_scale
from clinsim.immunosim import cart_models as cm

DAYS_PER_STEP = 1.0
HORIZON_DAYS = 90
# Doses in model cells (the xenograft scale of the HDLM-2 fit, where 1.5e6 cells clear an established
# tumour and 0.2e6 do not; Barros 2021 Fig. 4). "standard" plays the role of ZUMA-1's 2e6 cells/kg.
DOSE_LEVELS_CELLS = np.array([0.0, 2.0e5, 1.5e6, 5.0e6])  # none / low / standard / high
# A manufactured CAR-T product is one lot: infusions beyond it are not available (dose withheld).
PRODUCT_LOT_CELLS = 1.0e7  # two high doses
LETHAL_TUMOUR_CELLS = 1.0e9  # ~10-200x the presentation burden; reached untreated in 40-140 days
ELIMINATED_TUMOUR_CELLS = 1.0  # below one cell a clone is extinct (set to 0: no regrowth from fractions)

# Response by the Lugano 2014 classification (ZUMA-1's response criteria; Cheson et al. 2014 J Clin Oncol
# 32:3059), read on the whole tumour with the product of diameters ~ cells^(2/3):
# PR: >= 50 % decrease of the sum of products of diameters (SPD) from baseline; PD: >= 50 % increase of the
# product of diameters from the nadir, or regrowth of a resolved lesion; CR: no detectable disease.
LUGANO_PR_CELL_RATIO = 0.5**1.5  # SPD x0.5 <=> cells x0.354
LUGANO_PD_CELL_RATIO = 1.5**1.5  # product of diameters x1.5 <=> cells x1.84
# Imaging detection limit. SIMPLIFICATION: the model counts cells on the xenograft scale of the HDLM-2 fit, so
# cells map to tumour volume through the presentation burden: the reference patient (2e7 cells) carries the
# median baseline metabolic tumour volume of axi-cel recipients, 147.5 mL (Dean et al. 2020 Blood Adv 4:3268,
# n = 96), and disease is no longer detectable once it fits in one 1-cm lesion (0.52 mL; PET/CT resolves
# lesions of ~1 cm, and Lugano's CT complete response lets nodes regress to <= 1.5 cm, so this is the strict end).
REFERENCE_TUMOUR_CELLS = 2.0e7
MEDIAN_BASELINE_MTV_ML = 147.5
DETECTABLE_LESION_ML = np.pi / 6.0  # a 1-cm sphere
DETECTION_LIMIT_CELLS = REFERENCE_TUMOUR_CELLS * DETECTABLE_LESION_ML / MEDIAN_BASELINE_MTV_ML  # ~7.1e4
# Best overall response is read at the protocol's scans: ZUMA-1 assessed response at week 4 and month 3
# (Neelapu et al. 2017 NEJM 377:2531; the schedule is from the trial protocol, not re-read here).
SCAN_DAYS = (28, 90)

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
# Grade-4 CRS can be fatal. ZUMA-1: 2 of 101 treated patients died of axi-cel-related events, one of
# haemophagocytic lymphohistiocytosis and one of cardiac arrest (brain injury) in the setting of CRS
# (Neelapu et al. 2023 Blood 141:2307, Table 3; a third death during treatment was unrelated). Daily death
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
TUMOUR_CONTROL = ("controlled", "eliminated")


COHORT = "zuma1"  # the calibrated virtual population in ``clinsim/immunosim/cohorts`` (``cart_calibration``)


@cache
def cohort_population() -> VirtualPopulation:
    """The calibrated ZUMA-1 virtual population (package data), loaded once."""
    return VirtualPopulation.load(resources.files("clinsim.immunosim") / "cohorts" / COHORT)


def crs_grade(cytokine_pg_per_ml: np.ndarray) -> np.ndarray:
    """Model CRS grade 0-4 from the aggregate cytokine (thresholds 50/200/500/1000 pg/mL)."""
    return np.searchsorted(CRS_THRESHOLDS_PG_PER_ML, cytokine_pg_per_ml, side="right")


def icans_grade(ice_points_lost: np.ndarray) -> np.ndarray:
    """Model ICANS grade 0-4 from the neurotoxicity index (ICE points lost; thresholds 1/4/8/12)."""
    return np.searchsorted(ICANS_THRESHOLDS_ICE_POINTS, ice_points_lost, side="right")


@jit
def lugano_category(cells: float, baseline_cells: float, nadir_cells: float) -> int:
    """Lugano 2014 category (index into ``clinical.RECIST``: CR, PR, SD, PD) of a whole-tumour burden.

    CR: below the imaging detection limit; PD: >= 1.84x the nadir (product of diameters +50 %; a nadir below
    detection counts at the limit, so regrowth of a resolved tumour is progression); PR: <= 0.354x baseline
    (SPD -50 %); else SD."""
    if cells < DETECTION_LIMIT_CELLS:
        return clinical.CR
    if cells >= LUGANO_PD_CELL_RATIO * max(nadir_cells, DETECTION_LIMIT_CELLS):
        return clinical.PD
    return clinical.PR if cells <= LUGANO_PR_CELL_RATIO * baseline_cells else clinical.SD


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
def _before(a, c, s, t):  # pragma: no cover - compiled
    """The day's infusion (withheld beyond the lot or during grade >= 3 toxicity), tocilizumab and steroid
    inputs, and the day's integration: four 6-hour intervals of the adaptive integrator, its steps
    continued from the day before, CRS and ICANS graded by the worst of the four checks."""
    asked = DOSE_LEVELS_CELLS[a[0]]
    left = PRODUCT_LOT_CELLS - s.cum_dose_cells
    worst_toxicity = max(s.crs_grade, s.icans_grade)
    allowed = worst_toxicity < HOLD_INFUSION_FROM_GRADE and asked <= left + 1.0
    dose = asked if allowed else 0.0
    t.dose_cells = dose
    t.withheld = not allowed and asked > 0

    y = t.y
    y[cm.INJECTED] += dose
    u = t.inputs
    u[cm.TOCILIZUMAB] = 1.0 if s.crs_grade >= TOCILIZUMAB_FROM_GRADE else 0.0
    u[cm.STEROID] = 1.0 if s.steroid_days > 0 else 0.0
    peak_cytokine = y[cm.CYTOKINE]
    peak_icans = y[cm.ICANS]
    carry = t.integrator_carry  # the integrator's steps, continued from the day before
    carry[CARRY_DERIVATIVE_VALID] = 0.0  # the day's infusion and inputs change the derivative
    p = c.params
    work = np.empty(_ADVANCE_WORK_SHAPE)  # the integrator's scratch, for the day's four intervals
    for _ in range(CRS_CHECKS_PER_DAY):  # CRS and ICANS are graded by the worst status of the day
        if _advance(y, u, p, DAYS_PER_STEP / CRS_CHECKS_PER_DAY, carry, work) < 0:
            break  # step budget exceeded: y is NaN and the engine raises, naming the parameters
        for i in range(y.shape[0]):
            if y[i] < 0.0:
                y[i] = 0.0
                carry[CARRY_DERIVATIVE_VALID] = 0.0
        peak_cytokine = max(peak_cytokine, y[cm.CYTOKINE])
        peak_icans = max(peak_icans, y[cm.ICANS])
    t.crs_grade = clinical.threshold_grade(peak_cytokine, CRS_THRESHOLDS_PG_PER_ML)
    t.icans_grade = clinical.threshold_grade(peak_icans, ICANS_THRESHOLDS_ICE_POINTS)
    return 0.0


_SAFETY_FIELDS, _SAFETY_INFOS = safety.declarations(("severe_crs", "severe_icans"))

@jit
def _after(a, c, s, t):  # pragma: no cover - compiled
    """Graft loss and extinction, CRS/ICANS management and deaths, the day's reward and the books."""
    y = t.y
    # fewer than one CAR-T cell in all compartments: the graft is lost (and stops setting the step)
    if y[cm.INJECTED] + y[cm.EFFECTOR] + y[cm.MEMORY] < 1.0:
        y[cm.INJECTED] = 0.0
        y[cm.EFFECTOR] = 0.0
        y[cm.MEMORY] = 0.0
    if y[cm.TUMOUR] < ELIMINATED_TUMOUR_CELLS:
        y[cm.TUMOUR] = 0.0
    # the CD19-negative clone grows at the tumour's rate, untouched by CAR-T (SIMPLIFICATION: exponential and
    # integrated exactly; its logistic term b*T < 1.5e-3 below the lethal burden)
    negative = s.antigen_negative_cells * np.exp(c.params[cm.R] * DAYS_PER_STEP)
    if negative < ELIMINATED_TUMOUR_CELLS:
        negative = 0.0
    t.antigen_negative_cells = negative
    tumour = y[cm.TUMOUR] + negative
    eliminated = tumour == 0.0
    grade, neuro = t.crs_grade, t.icans_grade
    days = max(s.steroid_days - 1, 0)
    t.steroid_days = STEROID_DAYS if max(grade, neuro) >= STEROID_FROM_GRADE else days

    burden0 = s.toxicity_burden
    burden = burden0 + CRS_PENALTY[grade] + ICANS_PENALTY[neuro]
    t.toxicity_burden = burden
    toxicity = 0.0  # (exactly what the formula gives on a day without toxicity)
    if burden != burden0:
        toxicity = TOXICITY_CAP * (np.exp(-burden0 / TOXICITY_CAP) - np.exp(-burden / TOXICITY_CAP))
    d = s.elapsed
    died_of_crs = grade >= 4 and c.u_death[d] < CRS_DEATH_PROBABILITY_PER_GRADE4_DAY
    died_of_icans = neuro >= 4 and c.u_icans_death[d] < ICANS_DEATH_PROBABILITY_PER_GRADE4_DAY
    died = died_of_crs or died_of_icans
    escaped = tumour >= LETHAL_TUMOUR_CELLS and not died
    terminated = escaped or died
    t.terminated = terminated
    tumour_before = s.y[cm.TUMOUR] + s.antigen_negative_cells
    newly_eliminated = eliminated and tumour_before > 0 and not died
    bonus = ELIMINATION_BONUS if newly_eliminated else 0.0
    log_tumour = np.log10(tumour + 1.0)
    log_change = log_tumour - np.log10(tumour_before + 1.0)
    credit = np.log10(c.baseline_cells + 1.0) - log_tumour if died else 0.0  # shrinkage credit so far
    dose = t.dose_cells
    burden_term = -DOSE_COST_PER_1E6_CELLS * dose / 1.0e6
    t.reward = (
        ALIVE_BONUS * (not terminated)
        - TUMOUR_LOG10_WEIGHT * log_change
        - toxicity
        + burden_term
        + bonus
        + (DEATH_PENALTY if terminated else 0.0)
        - (TUMOUR_LOG10_WEIGHT * max(credit, 0.0) + s.bonus_paid if died else 0.0)
    )
    t.reward_efficacy, t.reward_safety, t.reward_burden = t.reward + toxicity - burden_term, -toxicity, burden_term
    t.cost_severe_crs = 1.0 if grade >= 3 else 0.0
    t.cost_severe_icans = 1.0 if neuro >= 3 else 0.0
    t.cost = t.cost_severe_crs + t.cost_severe_icans
    t.day = (d + 1) * DAYS_PER_STEP
    t.nadir_cells = min(s.nadir_cells, tumour)
    t.max_crs_grade = max(s.max_crs_grade, grade)
    t.max_icans_grade = max(s.max_icans_grade, neuro)
    t.steroid_days_total = s.steroid_days_total + (s.steroid_days > 0)
    t.tocilizumab_doses = s.tocilizumab_doses + (s.crs_grade >= TOCILIZUMAB_FROM_GRADE)
    t.cum_dose_cells = s.cum_dose_cells + dose
    t.dead = died
    dead_of_icans = died_of_icans and not died_of_crs
    t.dead_of_icans = dead_of_icans
    t.bonus_paid = s.bonus_paid + bonus
    t.effector_cart_cells = y[cm.EFFECTOR] + y[cm.INJECTED]
    t.on_tocilizumab = grade >= TOCILIZUMAB_FROM_GRADE
    t.on_corticosteroids = t.steroid_days > 0
    t.outcome = outcome_code(tumour, c.baseline_cells, died, dead_of_icans)
    t.tumour_cells = tumour
    response = lugano_category(tumour, c.baseline_cells, s.nadir_cells)
    t.lugano = response
    scanned = False
    for day in SCAN_DAYS:
        scanned = scanned or t.day == day
    t.best_response = min(s.best_response, response) if scanned else s.best_response


@jit
def _measure(c, t):  # pragma: no cover - compiled
    y = t.y
    return (t.tumour_cells, y[cm.EFFECTOR] + y[cm.INJECTED], y[cm.MEMORY], y[cm.CYTOKINE], t.cum_dose_cells,
            float(t.elapsed))


@jit
def _bedside(c, t):  # pragma: no cover - compiled
    """What the ward reads (observation="clinical"): the PET/CT sum of the products of diameters in % of baseline
    (product ~ cells^(2/3); 0 below the imaging limit), the CRS marker (the model's aggregate cytokine), the CRS and
    ICANS grades assessed over the day (ASTCT), the charted dose and the day."""
    tumour = t.tumour_cells
    spd = 100.0 * (tumour / c.baseline_cells) ** (2.0 / 3.0) if tumour >= DETECTION_LIMIT_CELLS else 0.0
    return (spd, t.y[cm.CYTOKINE], float(t.crs_grade), float(t.icans_grade), t.cum_dose_cells, float(t.elapsed))


# Clinical observation mode (docs/observations.md). Imaging: baseline, ZUMA-1's week-4 and month-3 assessments
# (SCAN_DAYS). CRS and ICANS grades: ASTCT (Lee et al. 2019) assessed at least every 12 h and ICE every 8 h (ASH-SAP
# CAR-T monitoring table); the day's grade is the worst of the day's checks. SIMPLIFICATION: after the first week
# patients are counselled to present at the first sign of CRS or neurotoxicity (Yescarta label), so the day's grades
# stay known. Inflammatory markers: CRP and ferritin are the routine CRS labs (ASH-SAP; Lee et al. 2019);
# SIMPLIFICATION: the model's one aggregate cytokine stands for them. Drawn daily during the label's 7 days of daily
# monitoring at the treatment centre, then at twice-weekly clinic visits during the 4 weeks near the centre, then at
# months 2 and 3 (assumption), resulted the same day (assumption: morning labs).
MARKER_DAYS = (*range(8), 10, 14, 17, 21, 24, 28, 60, 90)
SCAN_READ_LOG_SD = 0.1  # assumption: reader variability of the SPD (Lugano), cf. RECIST's ~7 % per read
MARKER_LOG_SD = 0.15  # assumption: assay imprecision and within-day variation of the inflammatory markers
_CLINICAL_OBSERVATIONS = (
    Measured(Observation("scan", "PET/CT sum of products of diameters, % of baseline (Lugano; 0: no detectable "
                                 "disease)", "%", 100.0),
             "ZUMA-1 assessments (Neelapu et al. 2017 NEJM 377:2531): baseline, day 28, day 90; reader noise "
             "assumption", at=(0, *SCAN_DAYS), log_sd=SCAN_READ_LOG_SD),
    Measured(Observation("cytokine", "CRS inflammatory marker (proxy of the CRP/ferritin panel)", "pg/mL",
                         log1p_scale(20.0), "log1p", CRS_THRESHOLDS_PG_PER_ML[0]),
             "CRS labs (CRP, ferritin: ASH-SAP CAR-T monitoring; Lee et al. 2019 Biol Blood Marrow Transplant 25:625): "
             "daily for the label's 7 days at the centre (Yescarta prescribing information), twice weekly to day 28, "
             "months 2 and 3 (assumption); same-day result and noise: assumption", at=MARKER_DAYS,
             log_sd=MARKER_LOG_SD),
    Observation("crs_grade", "CRS grade assessed over the day (ASTCT)", "grade", 4.0),
    Observation("icans_grade", "ICANS grade assessed over the day (ASTCT, ICE score)", "grade", 4.0),
    Observation("cumulative_dose", "cumulative CAR-T dose (charted)", "cells", 3.0, "log10", 1.0e5),
    Observation("time", "time", "day", float(HORIZON_DAYS)),
)


@jit
def _presentation_codes(tumour, outcome, lugano):  # pragma: no cover - compiled
    """Outcome and Lugano codes of new patients (tumour at its baseline and nadir)."""
    for b in range(tumour.shape[0]):
        outcome[b] = outcome_code(tumour[b], tumour[b], False, False)
        lugano[b] = lugano_category(tumour[b], tumour[b], tumour[b])


class CARTCellTask(Task):
    env_id: ClassVar[str] = "immunosim/CARTCell-v1"
    horizon: ClassVar[int] = HORIZON_DAYS
    step_unit: ClassVar[str] = "day"
    label_prefix: ClassVar[str] = "cohort"
    render_panels: ClassVar[tuple[Panel, ...]] = (
        Panel("Tumour and CAR-T cells", ("tumour_cells", "effector_cart_cells", "memory_cart_cells"), "cells",
              log=True, floor=1.0, span=(1e3, 1e9),
              thresholds=((DETECTION_LIMIT_CELLS, "detection limit"), (LETHAL_TUMOUR_CELLS, "lethal"))),
        Panel("Cytokines (CRS)", ("cytokine_pg_per_ml",), "pg/mL", log=True, floor=1.0, span=(1.0, 2e3),
              thresholds=((CRS_THRESHOLDS_PG_PER_ML[2], "CRS grade 3"),)),
        Panel("CRS and ICANS grade", ("crs_grade", "icans_grade"), "grade", span=(0.0, 4.0),
              thresholds=((3.0, "severe"),)),
        Panel("Cumulative CAR-T dose", ("cumulative_dose_cells",), "cells", span=(0.0, 4e6)),
    )
    action_space = spaces.Discrete(4)

    parameter_set = cm.CART_PARAMETERS
    patient_fields = (Field("baseline_cells"), Field("u_death", "f8", (HORIZON_DAYS,)),
                      Field("u_icans_death", "f8", (HORIZON_DAYS,)))
    clinical_fields = (
        *_SAFETY_FIELDS,
        Field("y", "f8", (len(cm.CARTModel.state_names),)),  # y[TUMOUR]: the CD19-positive tumour
        Field("antigen_negative_cells"),  # the CD19-negative clone (CAR-T cannot see it)
        Field("tumour_cells"),  # both
        Field("inputs", "f8", (len(cm.CARTModel.input_names),)),  # the day's tocilizumab and steroid
        # the integrator's step size (days) and last derivative, carried across days; zeros: it picks its first step
        Field("integrator_carry", "f8", (carry_size(len(cm.CARTModel.state_names)),)),
        Field("day"),
        Field("nadir_cells"),
        Field("crs_grade", "i8"),
        Field("max_crs_grade", "i8"),
        Field("icans_grade", "i8"),
        Field("max_icans_grade", "i8"),
        Field("steroid_days", "i8"),
        Field("steroid_days_total", "i8"),
        Field("tocilizumab_doses", "i8"),
        Field("dose_cells"),
        Field("cum_dose_cells"),
        Field("withheld", "?"),
        Field("dead", "?"),
        Field("dead_of_icans", "?"),
        Field("bonus_paid"),
        Field("toxicity_burden"),
        Field("effector_cart_cells"),  # effector + not yet activated
        Field("on_tocilizumab", "?"),
        Field("on_corticosteroids", "?"),
        Field("outcome", "i8"),
        Field("lugano", "i8"),
        Field("best_response", "i8"),  # best Lugano category at the scans so far (SD before the first)
    )
    integration = None  # before integrates the day itself (the adaptive integrator, four checks a day)
    before, after, measure = staticmethod(_before), staticmethod(_after), staticmethod(_measure)
    measurements = ("tumour", "effector", "memory", "cytokine", "cumulative_dose", "time")
    bedside = staticmethod(_bedside)
    bedside_measurements = ("scan", "cytokine", "crs_grade", "icans_grade", "cumulative_dose", "time")
    clinical_observations = _CLINICAL_OBSERVATIONS
    observations = (
        Observation("tumour", "tumour burden", "cells", 10.0, "log10"),
        Observation("effector", "circulating effector CAR-T (incl. not yet activated)", "cells", 10.0, "log10"),
        Observation("memory", "memory CAR-T", "cells", 10.0, "log10"),
        Observation("cytokine", "CRS cytokine", "pg/mL", log1p_scale(20.0), "log1p", CRS_THRESHOLDS_PG_PER_ML[0]),
        Observation("cumulative_dose", "cumulative CAR-T dose", "cells", 3.0, "log10", 1.0e5),
        Observation("time", "time", "day", float(HORIZON_DAYS)),
    )
    infos = (
        Info("day", "day"),
        Info("tumour_cells", "tumour_cells"),
        Info("antigen_negative_tumour_cells", "antigen_negative_cells"),
        Info("baseline_tumour_cells", "baseline_cells"),
        Info("effector_cart_cells", "effector_cart_cells"),
        Info("memory_cart_cells", "y", cm.MEMORY),
        Info("cytokine_pg_per_ml", "y", cm.CYTOKINE),
        Info("crs_grade", "crs_grade"),
        Info("max_crs_grade", "max_crs_grade"),
        Info("icans_ice_points_lost", "y", cm.ICANS),
        Info("icans_grade", "icans_grade"),
        Info("max_icans_grade", "max_icans_grade"),
        Info("on_tocilizumab", "on_tocilizumab"),
        Info("on_corticosteroids", "on_corticosteroids"),
        Info("steroid_days", "steroid_days_total"),
        Info("dose_cells", "dose_cells"),
        Info("cumulative_dose_cells", "cum_dose_cells"),
        Info("dose_withheld", "withheld"),
        Info("lugano", "lugano", names=clinical.RECIST),
        Info("best_response", "best_response", names=clinical.RECIST),
        Info("outcome", "outcome", names=OUTCOMES),
        *_SAFETY_INFOS,
    )

    def sample_patients(self, rngs) -> State:
        """``patient="cohort"``: one plausible patient per generator drawn from the calibrated ZUMA-1 virtual
        population with its weight (``cart_calibration``); ``"reference"``: the published values, 2e7 cells."""
        n, pset, h = len(rngs), cm.CART_PARAMETERS, self.horizon
        reference = self.patient == "reference"
        population = None if reference else cohort_population()
        u_deaths = np.empty((n, 2 * h))  # CRS and ICANS death draws per day
        ids = []
        for i, rng in enumerate(rngs):  # each patient's draws, in order, from its own generator
            ids.append(-1 if reference else population.draw(rng))
            rng.random(out=u_deaths[i])
        params = np.tile(pset.defaults, (n, 1))
        if reference:
            return self.new_patients(params, np.full(n, REFERENCE_TUMOUR_CELLS), np.zeros(n), u_deaths, ids)
        index = np.array(ids)
        for name in pset.names:
            if name in population.columns:
                params[:, pset.names.index(name)] = population.column(name)[index]
        return self.new_patients(params, population.column("baseline_cells")[index],
                             population.column("antigen_negative_fraction")[index], u_deaths, ids)

    def new_patients(self, params: np.ndarray, tumour_cells: np.ndarray, antigen_negative_fraction: np.ndarray,
                 u_deaths: np.ndarray, ids: list[int]) -> State:
        """New patients from their parameters (the constructor's fixed ``parameters`` applied), presentation
        burden (cells), CD19-negative fraction of it and death uniforms ((n, 2 * horizon): CRS, then ICANS)."""
        h = self.horizon
        params = self.patient_parameters(np.array(params, dtype=np.float64))
        tumour = np.asarray(tumour_cells, dtype=np.float64)
        negative = tumour * np.asarray(antigen_negative_fraction, dtype=np.float64)
        state = self.new_state(ids)
        c, s = state.patient, state.clinical
        c["params"] = params
        c["baseline_cells"] = tumour
        c["u_death"], c["u_icans_death"] = u_deaths[:, :h], u_deaths[:, h:]
        s["y"][:, cm.TUMOUR], s["y"][:, cm.CYTOKINE] = tumour - negative, params[:, cm.BASELINE_L]
        s["antigen_negative_cells"], s["tumour_cells"] = negative, tumour
        s["nadir_cells"] = tumour
        outcome, lugano = np.empty(len(ids), dtype=np.int64), np.empty(len(ids), dtype=np.int64)
        _presentation_codes(tumour, outcome, lugano)
        s["outcome"], s["lugano"], s["best_response"] = outcome, lugano, lugano
        return state

    def clinical_metrics(self, final_info: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Tumour control and elimination, escape, CRS/ICANS deaths and grades, cumulative dose."""
        outcome = final_info["outcome"]
        return {
            "tumour_control": np.isin(outcome, ("controlled", "eliminated")).astype(float),
            "elimination": (outcome == "eliminated").astype(float),
            "objective_response": np.isin(final_info["best_response"], ("CR", "PR")).astype(float),
            "complete_response": (final_info["best_response"] == "CR").astype(float),
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
    __doc__ = """CAR-T cell infusion dosing with cytokine release syndrome (CRS) on CARTmath dynamics.

    ## Description
    Effector (C_T) and memory (C_M) CAR-T cells and tumour cells (T) follow CARTmath (Barros et al. 2021,
    published HDLM-2 fit): effectors kill tumour and are exhausted by it, form long-lived memory, and
    memory cells turn back into effectors on meeting tumour antigen. A CD19-negative clone, when the
    patient carries one, grows unseen by CAR-T (antigen escape: a third of relapses after axi-cel).
    Infused cells enter a pre-activation compartment (activation ~1 day, paper eq. 6). An aggregate
    cytokine L (paper eq. 10, dL/dt = kappa C_T T - delta_L L) measures cytokine release syndrome. CRS is
    managed as in clinic:
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
""" + CARTCellTask.observation_table.markdown() + """
    ## Starting State
    ``patient="cohort"`` (default) draws a virtual patient from ``self.np_random`` out of the calibrated
    ZUMA-1 virtual population (``clinsim/immunosim/cohorts/zuma1``, rebuilt by ``clinsim calibrate zuma1``;
    ``cart_calibration``): refractory, growing large B-cell lymphoma of 5e6-1e8 cells, some with a CD19-negative
    clone that CAR-T cannot see, with CAR-T expansion, exhaustion, kill, CRS and neurotoxicity susceptibility
    spread over their literature ranges and weighted to match ZUMA-1 under one standard infusion (ORR 82 %,
    CR 54 %, CRS 93 / 13 %, neurologic events 64 / 28 %, toxic deaths 2 %). Untreated, nobody responds and
    everybody progresses. No CAR-T, cytokine at baseline. ``patient="reference"``: published values, 2e7
    cells, no CD19-negative clone.

    ## Rewards (per day; paper eq. 1 with a survival term)
    ``+0.2`` alive, ``-2 * delta log10(tumour cells)``, ``-[0, 0.2, 1, 5, 15]`` per day at CRS and at ICANS
    grade 0-4 (saturating at 50 over the course), ``-2`` per 1e6 cells infused, ``+100`` once on the day
    the tumour becomes extinct (< 1 cell, then 0). Death (escape, fatal CRS or ICANS): ``-100`` and the
    remaining days' alive bonus is lost; a fatal toxicity also takes back the shrinkage credit and any
    elimination bonus already paid.

    ## Episode End
    Termination: escape (tumour >= 1e9 cells) or death from grade-4 CRS (probability 0.15 per day at
    grade 4, drawn from the patient's pre-drawn uniforms). Elimination does not end the episode (CRS
    and its management play out). Truncation: 90 daily decisions through the registration's
    ``TimeLimit``. Clinical constraints: the product is one lot of 1e7 cells (infusions beyond it are
    withheld) and no infusion is given while CRS is grade >= 3 (``dose_withheld`` in the info).

    ## Info
    ``patient``, ``day``, ``tumour_cells``, ``baseline_tumour_cells``, ``effector_cart_cells``,
    ``antigen_negative_tumour_cells`` (the CD19-negative clone, part of ``tumour_cells``),
    ``memory_cart_cells`` (cells), ``cytokine_pg_per_ml`` (pg/mL), ``crs_grade`` and ``max_crs_grade``
    (0-4, ASTCT reading in ``ASTCT_GRADE``), ``on_tocilizumab``, ``on_corticosteroids``, ``steroid_days``,
    ``dose_cells``, ``cumulative_dose_cells`` (cells), ``dose_withheld``, ``lugano`` (today's Lugano 2014 reading:
    CR below the imaging detection limit ``DETECTION_LIMIT_CELLS`` ~7e4 cells, PR at -50 % of the sum of
    products of diameters ~ cells^(2/3), PD at +50 % from the nadir), ``best_response`` (best Lugano reading at
    the ZUMA-1 scans, week 4 and month 3; CR/PR = objective response), ``outcome`` (controlled: alive, below
    baseline; progressing: alive, at or above baseline; escaped; eliminated; died_of_crs; died_of_icans).

    ## Arguments
    ``gym.make("immunosim/CARTCell-v1", patient="cohort" | "reference")``; ``gym.make_vec(...,
    vectorization_mode="vector_entry_point")`` for the native batched version.
    """

    task_class = CARTCellTask


class CARTCellVectorEnv(TaskVectorEnv):
    """Native vector version of :class:`CARTCellEnv`."""

    task_class = CARTCellTask
