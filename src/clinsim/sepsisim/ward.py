"""Ward-v0: an ICU ward of septic patients who share the beds and the nurses' time.

A ward is one record of the engine (one row of a batch; a vector env steps several wards). Each bed holds a
SepsisManagement-v1 patient (its calibrated tier populations, its presentation, its compiled hourly
transition: the physiology is not repeated here), and the ward couples the beds through two resources:

* **beds**: patients arrive over time (a Poisson process, the case mix of the tiers); an arrival finds the
  lowest-numbered free bed or is diverted (counted, and penalised);
* **nurse time**: each hour the nurses have ``60 min x nurses``; routine care takes a fixed time per
  occupied bed, and each intervention (starting antibiotics, changing the norepinephrine rate, running a
  fluid bolus) takes more. Requests the remaining time cannot cover are withheld (the bed continues
  unchanged), served in bed order: to favour a bed, a policy requests less elsewhere.

SIMPLIFICATION: infusion pumps, ventilators and physicians are not limits (each bed's own pumps carry its
fluid and norepinephrine); the nurse's time is the shared resource the interventions consume.

Sources (docs/sepsisim.md "Ward"):

* Sepsis share of ICU admissions: SOAP (Vincent et al. 2006 Crit Care Med,
  doi:10.1097/01.CCM.0000194725.48928.3A) 37.4 % of 3,147 admissions had sepsis, 24.7 % on admission; ICON
  (Sakr et al. 2018 Open Forum Infect Dis 5:ofy313) 29.5 %, 18.0 % on admission. This ward is the septic
  patients' share of a unit: every arrival is septic.
* Case mix: septic shock in 31.4 % of ICU patients with community-acquired sepsis (Crit Care Med 2021 49:1883,
  doi:10.1097/CCM.0000000000005169, PMC8508729 Table 2); ``CASE_MIX`` puts 30 % in the hard tier (Sepsis-3
  septic shock) and splits the rest between sepsis without shock (easy, 40 %) and the trials'
  hypotension-or-lactate enrolment (medium, 30 %): the split of the non-shock 70 % is an assumption.
* Arrival rate: ``arrivals_per_day`` default 2.5 for 8 beds: with a bed held up to 72 h the offered load
  is 2.5 x 3 / 8 = 0.94, about the 85 % occupancy planning rule (e.g. Akbari-Moghaddam et al. 2025,
  arXiv:2510.02852), so beds are sometimes full (assumption: the rate of one unit; a kwarg).
* Staffing: nurse:patient 1:1 or 1:2 in level-3 ICUs (WFSICCM task force, Marshall et al. 2017, as tabulated in
  Scand J Trauma Resusc Emerg Med 2018, doi:10.1186/s13049-018-0568-0, Table 1); ``nurses`` default
  ``ceil(beds / 2)``.
* Routine care: a median 144.3 min observed per patient per 480-min shift (time and motion in 7 Dutch ICUs;
  Margadant et al. 2020, Neth J Crit Care, "Validation of the Nursing Activities Score using time-and-motion
  measurements in Dutch intensive care units"), i.e. 18 min per occupied bed per hour.
* Intervention times (``ANTIBIOTIC_MIN``, ``TITRATION_MIN``, ``BOLUS_MIN``): assumptions (no time-and-motion
  figure per intervention was found); the NAS (Nursing Activities Score) gives weights per 24 h, not per act.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import ClassVar

import numpy as np
from gymnasium import spaces

from clinsim.core import safety
from clinsim.core.batch import FUSED
from clinsim.core.env import TaskEnv, TaskVectorEnv
from clinsim.core.jit import jit
from clinsim.core.render import Panel
from clinsim.core.state import Field, State
from clinsim.core.task import Task
from clinsim.core.views import Info, Observation
from clinsim.sepsisim import environments as sepsis
from clinsim.sepsisim import models as mdl

BED = sepsis.SepsisManagementTask  # every bed's patient, transition, observations and reward
MAX_BEDS = 8  # the spaces' bed slots; ``beds`` (<= MAX_BEDS) of them are open
# SIMPLIFICATION: a 7-day ward episode. A patient holds a bed for SepsisManagement's 72 decision hours (the
# resuscitation phase its model is calibrated for) and leaves then with the day-28 outcome of its standard-
# of-care continuation, or earlier by death (the bed is freed); community-acquired sepsis stays a median 3.8
# days in the ICU (PMC8508729 Table 2, see the module docstring), so 72 h is a short, not an atypical, stay.
# Patients still in a bed when the ward episode ends are censored (their hours are scored, their outcome is not
# known).
HORIZON_HOURS = 168
BED_HOURS = sepsis.HORIZON_HOURS
N_STATES = len(mdl.SepsisModel.state_names)

TIERS = sepsis.TIERS
CASE_MIX = (0.4, 0.3, 0.3)  # easy / medium / hard (see the module docstring)
ARRIVALS_PER_DAY = 2.5
MAX_ARRIVALS_PER_DAY = 8.0
# every arrival of an episode is drawn at reset; at most MAX_ARRIVALS (Poisson with mean 8 x 7 + 8 = 64 at the
# highest rate: 96 is 4 standard deviations above it; later arrivals of an episode would be dropped)
MAX_ARRIVALS = 96
# SIMPLIFICATION: the episode starts with each open bed occupied with this probability by a patient presenting
# at hour 0 (a warm start instead of an empty ward; assumption).
INITIAL_OCCUPANCY = 0.5

NURSE_RATIO = 2  # patients per nurse (WFSICCM level 3: 1:1 or 1:2)
MINUTES_PER_HOUR = 60.0
ROUTINE_MIN = 18.0  # per occupied bed and hour (Margadant et al. 2020: 144 min per 8-h shift)
ANTIBIOTIC_MIN = 15.0  # cultures and first dose (assumption)
TITRATION_MIN = 5.0  # a norepinephrine rate change at the pump (assumption)
BOLUS_MIN = 10.0  # an hour of fluid bolus: prepare, run, reassess (assumption)

# the discretised per-bed action (SepsisManagement's Box on a grid that holds the SSC protocol's values)
FLUID_ML = np.array([0.0, 250.0, 500.0, 750.0])
DOSE_CHANGE = np.array([-0.1, -0.05, 0.0, 0.05, 0.1])  # ug/kg/min per hour
NO_DOSE_CHANGE = 2
ACTIONS_PER_BED = 3

# Reward: the beds' SepsisManagement rewards summed (a living hour 0-2, the stabilisation bonus, a death in the
# ward or by day 28 -BED.death_penalty = -204) minus DIVERSION_PENALTY per diverted arrival (assumption: a
# patient turned away loses this unit's care; below a death's cost) minus BED_FREED_PENALTY per death in the
# ward. A death must never pay, also for a patient who would die by day 28 anyway: dying in the ward frees the
# bed at most 72 h earlier, time in which the bed can save a diversion (25) and hold a patient who earns at most
# the best SepsisManagement episode (2 x 72 + 10 = 154); a death in the ward costs these 179 on top of the
# death's own cost, so it scores below a survival and below a death after discharge.
DIVERSION_PENALTY = 25.0
BEST_BED_RETURN = sepsis.MAX_HOURLY_REWARD * BED_HOURS + sepsis.STABILISATION_BONUS
BED_FREED_PENALTY = DIVERSION_PENALTY + BEST_BED_RETURN

BED_STATUS = ("empty", "occupied", "closed")
EMPTY, OCCUPIED, CLOSED = range(len(BED_STATUS))
OUTCOMES = ("in_progress", "ended")


# ---------------------------------------------------------------------------------------------- compiled
@jit
def _occupied(s):  # pragma: no cover - compiled
    n = 0
    for i in range(MAX_BEDS):
        n += s.bed_arrival[i] >= 0
    return n


@jit
def _admit(c, t, hour):  # pragma: no cover - compiled
    """Arrivals due by ``hour`` take the lowest-numbered free open bed, or are diverted; returns the diverted."""
    diverted = 0
    while t.next_arrival < c.n_arrivals and c.arrival_hour[t.next_arrival] <= hour:
        k = t.next_arrival
        placed = False
        for i in range(c.open_beds):
            if t.bed_arrival[i] < 0:
                t.beds[i] = c.queue_state[k]
                t.bed_arrival[i] = k
                t.admitted += 1
                placed = True
                break
        if not placed:
            diverted += 1
        t.next_arrival = k + 1
    t.diverted += diverted
    return diverted


@jit
def _summarise(c, t):  # pragma: no cover - compiled
    """The per-bed info fields, the flat model state ``y`` and the nurse time available at the next hour."""
    for i in range(MAX_BEDS):
        k = t.bed_arrival[i]
        if k >= 0:
            b = t.beds[i]
            t.bed_status[i] = OCCUPIED
            t.bed_tier[i] = c.arrival_tier[k]
            t.bed_hour[i] = b.elapsed
            t.bed_map[i] = b.map_mmhg
            t.bed_lactate[i] = b.y[mdl.LACTATE]
            t.bed_sofa[i] = b.sofa
            t.bed_norepinephrine[i] = b.norepinephrine
            t.bed_fluid[i] = b.fluid_total_l
            t.bed_damage[i] = b.y[mdl.DAMAGE]
            for j in range(N_STATES):
                t.y[i * N_STATES + j] = b.y[j]
        else:
            t.bed_status[i] = EMPTY if i < c.open_beds else CLOSED
            t.bed_tier[i] = -1
            t.bed_hour[i] = 0
            t.bed_map[i] = 0.0
            t.bed_lactate[i] = 0.0
            t.bed_sofa[i] = 0
            t.bed_norepinephrine[i] = 0.0
            t.bed_fluid[i] = 0.0
            t.bed_damage[i] = 0.0
            for j in range(N_STATES):
                t.y[i * N_STATES + j] = 0.0
    t.census = _occupied(t)
    t.nurse_minutes_available = max(c.nurse_minutes - ROUTINE_MIN * t.census, 0.0)


WARD_MEASUREMENTS = ("free_beds", "nurse_minutes", "ward_hour")  # after the beds' measurements


def _ward_kernels(bed_task: type[Task]):
    """The ward's ``before`` and ``measure`` around the bed task (SepsisManagement in the state mode, its
    clinical-mode class in the clinical mode: each bed then records its own bedside measurements as it steps)."""
    bed_step, bed_measure = bed_task._transition, bed_task.measure
    n_bed = 1 + len(bed_task.measurements)  # occupied, then the bed task's measurements (in its order)
    n_out = MAX_BEDS * n_bed + len(WARD_MEASUREMENTS)

    @jit(key=f"ward_before|{bed_step.clinsim_key}")
    def before(a, c, s, t):  # pragma: no cover - compiled
        """One hour: interventions within the nurse time, every occupied bed's SepsisManagement transition, deaths
        and discharges free their beds, then the hour's arrivals are admitted or diverted."""
        budget = s.nurse_minutes_available
        used = 0.0
        withheld = 0
        reward = 0.0
        safety_reward = 0.0
        hypotension = overload = high_dose = 0.0
        died = discharged = 0
        row = np.empty((1, ACTIONS_PER_BED))
        duration = np.empty(1)
        for i in range(MAX_BEDS):
            k = s.bed_arrival[i]
            if k < 0:
                continue
            bed = s.beds[i]
            antibiotic = a[i * ACTIONS_PER_BED + 2] > 0 and not bed.antibiotic
            change = DOSE_CHANGE[a[i * ACTIONS_PER_BED + 1]]
            fluid = FLUID_ML[a[i * ACTIONS_PER_BED]]
            if antibiotic:
                if used + ANTIBIOTIC_MIN <= budget:
                    used += ANTIBIOTIC_MIN
                else:
                    antibiotic = False
                    withheld += 1
            if min(max(bed.norepinephrine + change, 0.0), sepsis.MAX_NOREPINEPHRINE) != bed.norepinephrine:
                if used + TITRATION_MIN <= budget:
                    used += TITRATION_MIN
                else:
                    change = 0.0
                    withheld += 1
            if fluid > 0.0:
                if used + BOLUS_MIN <= budget:
                    used += BOLUS_MIN
                else:
                    fluid = 0.0
                    withheld += 1
            row[0, 0] = fluid
            row[0, 1] = change
            row[0, 2] = 1.0 if antibiotic else 0.0
            bed_step(0, FUSED, row, c.queue_patient[k:k + 1], s.beds[i:i + 1], t.beds[i:i + 1], duration)
            after = t.beds[i]
            reward += after.reward
            safety_reward += after.reward_safety
            hypotension += after.cost_hypotension
            overload += after.cost_fluid_overload
            high_dose += after.cost_high_vasopressor
            if after.terminated:
                died += 1
                t.bed_arrival[i] = -1
            elif after.elapsed >= BED_HOURS:
                discharged += 1
                t.survived += after.outcome == sepsis.SURVIVED
                t.died_by_day_28 += after.outcome == sepsis.DIED_BY_DAY_28
                t.bed_arrival[i] = -1
        t.died = s.died + died
        t.discharged = s.discharged + discharged
        t.nurse_minutes_used = used
        t.interventions_withheld = withheld
        diverted = _admit(c, t, s.elapsed + 1)
        t.reward = reward - DIVERSION_PENALTY * diverted - BED_FREED_PENALTY * died
        t.reward_safety = safety_reward
        t.reward_burden = 0.0
        t.reward_efficacy = t.reward - safety_reward
        t.cost_hypotension = hypotension
        t.cost_fluid_overload = overload
        t.cost_high_vasopressor = high_dose
        t.cost_diversion = float(diverted)
        t.cost = hypotension + overload + high_dose + diverted
        return 1.0

    @jit(key=f"ward_measure|{bed_measure.clinsim_key}")
    def measure(c, t):  # pragma: no cover - compiled
        raw = np.zeros(n_out)
        for i in range(MAX_BEDS):
            k = t.bed_arrival[i]
            if k >= 0:
                values = bed_measure(c.queue_patient[k], t.beds[i])
                base = i * n_bed
                raw[base] = 1.0
                for j in range(n_bed - 1):
                    raw[base + 1 + j] = values[j]
        end = MAX_BEDS * n_bed
        raw[end] = c.open_beds - t.census
        raw[end + 1] = t.nurse_minutes_available
        raw[end + 2] = t.elapsed
        return raw

    return before, measure


@jit
def _ward_after(a, c, s, t):  # pragma: no cover - compiled
    _summarise(c, t)
    t.terminated = False
    t.outcome = 1 if s.elapsed + 1 >= HORIZON_HOURS else 0


def _observations(bed_task: type[Task]) -> tuple[tuple[Observation, ...], tuple[str, ...]]:
    """The ward's observation rows and measurement names: per bed occupied, then the bed task's observations
    (its state or its clinical rows), then the ward's own (known exactly in either mode: the charge nurse's)."""
    rows, names = [], []
    for i in range(MAX_BEDS):
        rows.append(Observation(f"bed{i}_occupied", f"bed {i}: occupied (0 / 1)", "flag", 1.0))
        rows += [dataclasses.replace(r, measurement=f"bed{i}_{r.measurement}", description=f"bed {i}: {r.description}")
                 for r in bed_task.observation_table.rows]
        names += [f"bed{i}_occupied", *(f"bed{i}_{m}" for m in bed_task.measurements)]
    rows += [Observation("free_beds", "free open beds", "beds", float(MAX_BEDS)),
             Observation("nurse_minutes", "nurse time left for interventions this hour after routine care", "min",
                         MINUTES_PER_HOUR * MAX_BEDS),
             Observation("ward_hour", "elapsed ward time", "h", float(HORIZON_HOURS))]
    return tuple(rows), (*names, *WARD_MEASUREMENTS)


_OBSERVATIONS, _MEASUREMENTS = _observations(BED)
_BEFORE, _MEASURE = _ward_kernels(BED)
_SAFETY_FIELDS, _SAFETY_INFOS = safety.declarations(("hypotension", "fluid_overload", "high_vasopressor",
                                                     "diversion"))
_BED_INFOS = (("status", "bed_status", BED_STATUS), ("tier", "bed_tier", None), ("hour", "bed_hour", None),
              ("map_mmhg", "bed_map", None), ("lactate_mmol_per_l", "bed_lactate", None), ("sofa", "bed_sofa", None),
              ("norepinephrine_ug_per_kg_min", "bed_norepinephrine", None), ("fluid_total_l", "bed_fluid", None),
              ("damage", "bed_damage", None), ("arrival", "bed_arrival", None))


class WardTask(Task):
    """An ICU ward of ``beds`` septic patients sharing beds and nurse time (see the module docstring)."""

    env_id = "sepsisim/Ward-v0"
    horizon: ClassVar[int] = HORIZON_HOURS
    step_unit: ClassVar[str] = "hour"
    label_prefix: ClassVar[str] = "ward"
    no_treatment_action = np.tile([0, NO_DOSE_CHANGE, 0], MAX_BEDS)
    action_space = spaces.MultiDiscrete(np.tile([len(FLUID_ML), len(DOSE_CHANGE), 2], MAX_BEDS))
    render_panels: ClassVar[tuple[Panel, ...]] = (
        Panel("Patients", ("census", "admitted", "died", "discharged", "diverted"), "patients", span=(0.0, 20.0)),
        Panel("Mean arterial pressure by bed", tuple(f"bed{i}_map_mmhg" for i in range(MAX_BEDS)), "mmHg",
              span=(0.0, 150.0), thresholds=((65.0, "MAP 65"),)),
        Panel("Lactate by bed", tuple(f"bed{i}_lactate_mmol_per_l" for i in range(MAX_BEDS)), "mmol/L",
              span=(0.0, 10.0), thresholds=((2.0, "2 mmol/L"), (4.0, "4 mmol/L"))),
        Panel("Nurse time", ("nurse_minutes_available", "nurse_minutes_used"), "min/h", span=(0.0, 240.0)),
    )
    parameter_set = mdl.SEPSIS_PARAMETERS  # fixed for every arriving patient by ``parameters``
    patient_fields = (
        Field("open_beds", "i8"),
        Field("nurse_minutes"),  # per hour, all nurses
        Field("n_arrivals", "i8"),
        Field("arrival_hour", "i8", (MAX_ARRIVALS,)),  # the decision hour at which the patient is first seen
        Field("arrival_tier", "i8", (MAX_ARRIVALS,)),
        Field("queue_patient", BED.patient_dtype, (MAX_ARRIVALS,)),
        Field("queue_state", BED.clinical_dtype, (MAX_ARRIVALS,)),  # at presentation
    )
    clinical_fields = (
        Field("beds", BED.clinical_dtype, (MAX_BEDS,)),
        Field("bed_arrival", "i8", (MAX_BEDS,)),  # the arrival in the bed, -1: none
        Field("y", "f8", (MAX_BEDS * N_STATES,)),  # every bed's model state (0 for an empty bed)
        Field("next_arrival", "i8"),
        Field("census", "i8"),
        Field("admitted", "i8"),
        Field("died", "i8"),
        Field("discharged", "i8"),
        Field("survived", "i8"),
        Field("died_by_day_28", "i8"),
        Field("diverted", "i8"),
        Field("nurse_minutes_available"),
        Field("nurse_minutes_used"),
        Field("interventions_withheld", "i8"),
        Field("bed_status", "i8", (MAX_BEDS,)),
        Field("bed_tier", "i8", (MAX_BEDS,)),
        Field("bed_hour", "i8", (MAX_BEDS,)),
        Field("bed_map", "f8", (MAX_BEDS,)),
        Field("bed_lactate", "f8", (MAX_BEDS,)),
        Field("bed_sofa", "i8", (MAX_BEDS,)),
        Field("bed_norepinephrine", "f8", (MAX_BEDS,)),
        Field("bed_fluid", "f8", (MAX_BEDS,)),
        Field("bed_damage", "f8", (MAX_BEDS,)),
        Field("outcome", "i8"),
        *_SAFETY_FIELDS,
    )
    bed_task: ClassVar[type[Task]] = BED  # the beds' task class (its clinical class in the clinical mode)
    before = staticmethod(_BEFORE)
    after = staticmethod(_ward_after)
    measure = staticmethod(_MEASURE)
    measurements = _MEASUREMENTS
    observations = _OBSERVATIONS
    infos = (
        Info("hour", "elapsed"),
        Info("census", "census"),
        Info("admitted", "admitted"),
        Info("died", "died"),
        Info("discharged", "discharged"),
        Info("survived", "survived"),
        Info("died_by_day_28", "died_by_day_28"),
        Info("diverted", "diverted"),
        Info("nurse_minutes_available", "nurse_minutes_available"),
        Info("nurse_minutes_used", "nurse_minutes_used"),
        Info("interventions_withheld", "interventions_withheld"),
        *(Info(f"bed{i}_{key}", field, i, names) for i in range(MAX_BEDS) for key, field, names in _BED_INFOS),
        Info("outcome", "outcome", names=OUTCOMES),
        *_SAFETY_INFOS,
    )

    def __init__(self, beds: int = MAX_BEDS, nurses: int | None = None, arrivals_per_day: float = ARRIVALS_PER_DAY,
                 patient: str = "cohort", parameters: dict[str, float] | None = None,
                 allow_out_of_range: bool = False) -> None:
        super().__init__(patient, parameters, allow_out_of_range)
        if isinstance(beds, bool) or not isinstance(beds, int | np.integer) or not 1 <= beds <= MAX_BEDS:
            raise ValueError(f"{self.env_id}: beds must be an int in 1-{MAX_BEDS}, got {beds!r}")
        nurses = math.ceil(beds / NURSE_RATIO) if nurses is None else nurses
        if isinstance(nurses, bool) or not isinstance(nurses, int | np.integer) or not 1 <= nurses <= MAX_BEDS:
            raise ValueError(f"{self.env_id}: nurses must be an int in 1-{MAX_BEDS} (default beds / 2), "
                             f"got {nurses!r}")
        if isinstance(arrivals_per_day, bool) or not isinstance(arrivals_per_day, numbers.Real) \
                or not 0.0 <= arrivals_per_day <= MAX_ARRIVALS_PER_DAY:
            raise ValueError(f"{self.env_id}: arrivals_per_day must be a number in 0-{MAX_ARRIVALS_PER_DAY:g}, "
                             f"got {arrivals_per_day!r}")
        self.beds, self.nurses, self.arrivals_per_day = int(beds), int(nurses), float(arrivals_per_day)
        self._tiers = [self.bed_task(tier, patient, parameters, allow_out_of_range) for tier in TIERS]

    def sample_patients(self, rngs) -> State:
        """Each ward's whole episode from its own generator: the initial census, the hourly Poisson arrivals, each
        arrival's tier (``CASE_MIX``) and its SepsisManagement patient (drawn from a generator seeded from the
        ward's)."""
        state = self.new_state([int(rng.integers(0, 2**31 - 1)) for rng in rngs])
        c, s = state.patient, state.clinical
        c["params"] = self.patient_parameters(np.tile(self.parameter_set.defaults, (len(rngs), 1)))
        c["open_beds"] = self.beds
        c["nurse_minutes"] = MINUTES_PER_HOUR * self.nurses
        s["bed_arrival"] = -1
        for w, rng in enumerate(rngs):
            initial = int(rng.binomial(self.beds, INITIAL_OCCUPANCY))
            hourly = rng.poisson(self.arrivals_per_day / 24.0, size=HORIZON_HOURS)
            hours = np.concatenate([np.zeros(initial, np.int64), np.repeat(np.arange(1, HORIZON_HOURS + 1), hourly)])
            n = min(len(hours), MAX_ARRIVALS)
            tiers = rng.choice(len(TIERS), size=n, p=CASE_MIX)
            seeds = rng.integers(0, 2**63 - 1, size=n)
            c["n_arrivals"][w] = n
            c["arrival_hour"][w, :n] = hours[:n]
            c["arrival_tier"][w, :n] = tiers
            for tier, task in enumerate(self._tiers):
                index = np.flatnonzero(tiers == tier)
                if len(index):
                    drawn = task.sample_patients([np.random.default_rng(seeds[k]) for k in index])
                    c["queue_patient"][w, index] = drawn.patient
                    c["queue_state"][w, index] = drawn.clinical
            _admit(c[w], s[w], 0)
            _summarise(c[w], s[w])
        return state

    def clinical_metrics(self, final_info: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per ward: patients admitted, died in the ward, discharged (alive at 72 h) and their day-28 outcome,
        diverted, and the mortality of the patients whose outcome is known."""
        died = final_info["died"] + final_info["died_by_day_28"]
        known = died + final_info["survived"]
        return {
            "admitted": final_info["admitted"].astype(float),
            "died_in_ward": final_info["died"].astype(float),
            "discharged": final_info["discharged"].astype(float),
            "survived_28d": final_info["survived"].astype(float),
            "diverted": final_info["diverted"].astype(float),
            "mortality_known_outcome": np.where(known > 0, died / np.maximum(known, 1), 0.0),
        }


def _clinical_ward() -> type[WardTask]:
    """The ward's clinical mode: every bed holds SepsisManagement's clinical-mode patient (its records carry the
    bed's measurement noise, drawn with the patient, and its held results; its transition records its bedside
    measurements), so a bed is observed exactly as SepsisManagement-v1 with ``observation="clinical"``, on the
    bed's own clock from admission (docs/observations.md "Ward")."""
    bed_task = BED.clinical
    swap = {BED.patient_dtype: bed_task.patient_dtype, BED.clinical_dtype: bed_task.clinical_dtype}

    def fields(declared: tuple[Field, ...]) -> tuple[Field, ...]:
        return tuple(dataclasses.replace(f, dtype=swap.get(f.dtype, f.dtype)) for f in declared)

    before, measure = _ward_kernels(bed_task)
    observations, measurements = _observations(bed_task)
    name = "WardTaskClinical"
    variant = type(WardTask)(name, (WardTask,), {
        "__module__": __name__,
        "__qualname__": name,
        "__doc__": "WardTask observed at the bedside (``observation=\"clinical\"``).",
        "env_id": WardTask.env_id,
        "clinical": None,
        "measured": bed_task.measured,
        "bed_task": bed_task,
        "patient_fields": fields(WardTask.patient_fields),
        "clinical_fields": fields(WardTask.clinical_fields),
        "before": staticmethod(before),
        "measure": staticmethod(measure),
        "measurements": measurements,
        "observations": observations,
    })
    globals()[name] = variant  # pickles by reference
    return variant


WardTask.clinical = _clinical_ward()


class WardEnv(TaskEnv):
    __doc__ = f"""An ICU ward: {MAX_BEDS} beds of septic patients, arrivals over time, shared nurse time.

    ## Description
    Each bed holds a SepsisManagement-v1 patient (the calibrated easy / medium / hard virtual populations,
    drawn with the case mix 40 / 30 / 30 %), advanced each hour by SepsisManagement's own compiled transition.
    Patients arrive as a Poisson process (``arrivals_per_day``, default 2.5) and take the lowest-numbered free
    open bed; when every open bed is full the arrival is diverted. Nurses (``nurses``, default 1 per 2 beds)
    have 60 min each per hour; routine care takes 18 min per occupied bed, and every intervention takes more:
    starting antibiotics 15 min, a norepinephrine rate change 5 min, an hour of fluid bolus 10 min. Requests
    the remaining time cannot cover are withheld in bed order (antibiotics, then the vasopressor change, then
    the bolus of bed 0, then bed 1, ...): the bed continues unchanged (no bolus, the same rate). A patient
    leaves the bed at death or after 72 h (with SepsisManagement's day-28 outcome). Sources: docs/sepsisim.md
    "Ward".

    ## Action Space
    ``MultiDiscrete([4, 5, 2] x {MAX_BEDS})``, three entries per bed (ignored for an empty bed):

    | index (bed i = 0-7) | action | unit |
    |---|---|---|
    | 3 i | crystalloid over the next hour: 0, 250, 500, 750 | mL |
    | 3 i + 1 | norepinephrine rate change: -0.1, -0.05, 0, +0.05, +0.1 (rate kept in 0-1) | ug/kg/min |
    | 3 i + 2 | antibiotics: 1 starts them (irreversible) | flag |

    ## Observation Space
    Per bed {1 + len(BED.observation_table)} entries (occupied, then SepsisManagement-v1's observations of its
    patient; all 0 for an empty bed), then the ward's (units: the table's; observations are value / scale):

""" + WardTask.observation_table.markdown() + f"""
    With ``observation="clinical"`` (section below) a bed shows instead SepsisManagement-v1's clinical
    observation of its patient ({1 + len(BED.clinical.observation_table)} entries per bed with occupied; its
    schedules, noise and turnaround, on the bed's clock from admission: ages in hours since the sample); the ward's
    three entries are the same. Neither mode shows the arrivals to come or an arrival's tier (docs/observations.md
    "Ward-v0").

    ## Rewards (per hour)
    The sum over occupied beds of SepsisManagement-v1's hourly reward (a living hour 0 to 2, +10 once for
    stabilisation, ``-{BED.death_penalty:g}`` for a death in the ward or, at discharge, by day 28), minus
    ``{DIVERSION_PENALTY:g}`` per diverted arrival, minus ``{BED_FREED_PENALTY:g}`` more per death in the ward: the
    most its freed bed could then earn (a saved diversion, {DIVERSION_PENALTY:g}, and the best bed episode,
    {BEST_BED_RETURN:g}), so a death never pays, not even for a patient who would die by day 28 anyway.
    Safety costs (``clinsim.core.safety``): ``cost_hypotension`` (beds with MAP < 65 mmHg), ``cost_fluid_overload``,
    ``cost_high_vasopressor`` (per bed, as SepsisManagement-v1) and ``cost_diversion`` (diverted arrivals);
    ``reward_safety`` is the beds' harm penalties, ``reward_efficacy`` the rest (diversions included),
    ``reward_burden`` 0.

    ## Starting State
    Each open bed holds a patient presenting at hour 0 with probability 0.5; the episode's arrivals (hours,
    tiers, patients) are all drawn from ``self.np_random`` at reset, at most {MAX_ARRIVALS} per episode.

    ## Episode End
    Truncation after {HORIZON_HOURS} hourly decisions (7 days); the ward never terminates. Patients in a bed
    at the end are censored.

    ## Info
    Ward counts: ``hour``, ``census``, ``admitted``, ``died`` (in the ward), ``discharged`` (alive at 72 h),
    ``survived`` and ``died_by_day_28`` (the discharged patients' day-28 outcome), ``diverted``,
    ``nurse_minutes_available`` (min, for interventions at the next hour), ``nurse_minutes_used`` and
    ``interventions_withheld`` (this hour); per bed ``bed<i>_status`` (empty / occupied / closed),
    ``bed<i>_tier`` (0 easy, 1 medium, 2 hard, -1 none), ``bed<i>_hour``, ``bed<i>_map_mmhg``,
    ``bed<i>_lactate_mmol_per_l``, ``bed<i>_sofa``, ``bed<i>_norepinephrine_ug_per_kg_min``,
    ``bed<i>_fluid_total_l``, ``bed<i>_damage``, ``bed<i>_arrival`` (the patient's arrival number, -1 none);
    ``outcome`` (in_progress / ended); the costs and objectives above.

    ## Arguments
    ``gym.make("sepsisim/Ward-v0", beds={MAX_BEDS}, nurses=None, arrivals_per_day={ARRIVALS_PER_DAY:g},
    patient="cohort" | "reference", parameters=None)``: ``beds`` open beds (1-{MAX_BEDS}; the spaces keep
    {MAX_BEDS} slots, closed ones stay empty), ``nurses`` (1-{MAX_BEDS}, default ceil(beds / 2)),
    ``arrivals_per_day`` (0-{MAX_ARRIVALS_PER_DAY:g}); ``patient`` and ``parameters`` as SepsisManagement-v1, for
    every arrival. ``gym.make_vec(ID, num_envs=n, vectorization_mode="vector_entry_point")``: n wards.
"""
    task_class = WardTask


class WardVectorEnv(TaskVectorEnv):
    """Native vector version of :class:`WardEnv`: several wards, one batch."""

    task_class = WardTask
