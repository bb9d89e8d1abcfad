"""Surviving Sepsis Campaign 2021 protocol policies for the sepsis environments (batched observations).

SSC 2021 (Evans et al.): antimicrobials within 1 h, >= 30 mL/kg crystalloid within the first 3 h for
sepsis-induced hypoperfusion (rec. 5), resuscitation guided to decrease an elevated lactate (rec. 7), target
MAP 65 mmHg, norepinephrine first-line vasopressor. Hypoperfusion is read as the SSC bundle defines it:
hypotension (MAP < 65 mmHg) or lactate >= 4 mmol/L (Levy 2018 hour-1 bundle; SSC 2021 gives no threshold).
FluidResuscitation (no clock observed): the bolus rate (750 mL/h) for hypoperfusion while the intravascular
excess is below 1 L, otherwise none; SepsisManagement: 30 mL/kg in 3 h for hypoperfusion, then 250 mL
boluses for persistent hypoperfusion while the volume is low.

In the clinical observation mode (``observation="clinical"``) a protocol sees what a clinician sees: the last
charted MAP, the last lactate result (none before the first comes back) and urine, and the fluid charted so far
instead of the model's intravascular volume. Every task then follows the SSC bundle as SepsisManagement does:
30 mL/kg over the first 3 h for hypoperfusion (completed once started), then 250 mL boluses for persistent
hypoperfusion until ``CLINICAL_FLUID_LIMIT_L`` have been given.
"""

from __future__ import annotations

import numpy as np

from clinsim.core.measurement import table_for
from clinsim.core.views import ObservationTable
from clinsim.sepsisim import ward
from clinsim.sepsisim.environments import (
    BOLUS_STARTED_L,
    FluidResuscitationTask,
    SepsisManagementTask,
    VasopressorTitrationTask,
)
from clinsim.sepsisim.ward import WardTask

MAP_TARGET = 65.0
HIGH_LACTATE = 4.0  # mmol/L
VOLUME_STOP_L = 3.5
REFERENCE_WEIGHT_KG = 75.0  # the weight is not observed: 30 mL/kg over 3 h = 750 mL/h at 75 kg
# assumption: no further boluses once 5 L have been charted (beyond the initial resuscitation SSC 2021 advises
# dynamic measures of fluid responsiveness, which the clinical observation does not offer)
CLINICAL_FLUID_LIMIT_L = 5.0


def fluid_table(mean_ap: np.ndarray, volume_l: np.ndarray, lactate: np.ndarray) -> np.ndarray:
    """750 mL per hour (10 mL/kg at 75 kg: the 30 mL/kg bolus rate) for hypoperfusion (MAP < 65 or lactate >= 4)
    while the intravascular excess is below 1 L, otherwise none (the model takes maintenance intake as balanced
    by the basal output).

    CORRECTION: the paper's sec. 6.1 table (750 / 500 / 250 / 125 mL per hour by MAP band, whatever the
    perfusion) gives 9-18 L in 72 h to normotensive patients, an overload outside the SSC indication.
    """
    hypoperfused = (mean_ap < MAP_TARGET) | (lactate >= HIGH_LACTATE)
    return np.where(hypoperfused & (volume_l < 1.0), 10.0 * REFERENCE_WEIGHT_KG, 0.0)


def norepinephrine_titration(mean_ap: np.ndarray) -> np.ndarray:
    """Dose change (ug/kg/min per hour) towards MAP 65-75 mmHg."""
    return np.select([mean_ap < 60.0, mean_ap < MAP_TARGET, mean_ap > 85.0, mean_ap > 75.0],
                     [0.1, 0.05, -0.1, -0.05], 0.0)


def clinical_bundle(table: ObservationTable, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fluid mL for the next hour, whether the 30 mL/kg bolus is running) from clinical observations: the SSC
    bundle on the charted MAP, the last lactate result (0 before the first) and the fluid charted so far."""
    mean_ap = table.decode(obs, "map")
    hypoperfused = (mean_ap < MAP_TARGET) | (table.decode(obs, "lactate") >= HIGH_LACTATE)
    hour = np.rint(table.decode(obs, "time"))
    given = table.decode(obs, "fluid_total")
    bolus = (hour < 3) & (hypoperfused | (given > 0.0))  # 30 mL/kg completed once started
    fluid = np.where(bolus, 10.0 * REFERENCE_WEIGHT_KG, np.where(hypoperfused, 250.0, 0.0))
    return np.where(given >= CLINICAL_FLUID_LIMIT_L, 0.0, fluid), bolus


def ssc_fluid_resuscitation(obs: np.ndarray) -> np.ndarray:
    """FluidResuscitation: the sec. 6.1 fluid table with the volume stop (clinical mode: :func:`clinical_bundle`)."""
    table = table_for(FluidResuscitationTask, obs)
    if "volume" not in table.names:
        return clinical_bundle(table, obs)[0][:, None].astype(np.float32)
    return fluid_table(table.decode(obs, "map"), table.decode(obs, "volume"),
                       table.decode(obs, "lactate"))[:, None].astype(np.float32)


def ssc_vasopressor_titration(obs: np.ndarray) -> np.ndarray:
    """VasopressorTitration: norepinephrine titrated to MAP 65 (fluids and antibiotics are protocol)."""
    mean_ap = table_for(VasopressorTitrationTask, obs).decode(obs, "map")
    return norepinephrine_titration(mean_ap)[:, None].astype(np.float32)


def ssc_sepsis_management(obs: np.ndarray) -> np.ndarray:
    """SepsisManagement: antibiotics at once; 30 mL/kg in 3 h for hypotension or lactate >= 4, then 250 mL
    boluses for hypotension or lactate >= 4 while the volume is low, otherwise none (maintenance intake is
    taken as balanced by the basal output);
    norepinephrine titrated to MAP 65 once the bolus has not corrected hypotension (clinical mode: the fluid of
    :func:`clinical_bundle`)."""
    table = table_for(SepsisManagementTask, obs)
    mean_ap = table.decode(obs, "map")
    if "volume" not in table.names:
        fluid, bolus = clinical_bundle(table, obs)
        dose = np.where(bolus & (mean_ap >= 55.0), 0.0, norepinephrine_titration(mean_ap))
        return np.stack([fluid, dose, np.ones(len(obs))], axis=1).astype(np.float32)
    volume = table.decode(obs, "volume")
    hypoperfused = (mean_ap < MAP_TARGET) | (table.decode(obs, "lactate") >= HIGH_LACTATE)
    hour = np.rint(table.decode(obs, "time"))
    bolus = (hour < 3) & (hypoperfused | (volume >= BOLUS_STARTED_L))  # 30 mL/kg completed once started
    fluid = np.where(bolus, 10.0 * REFERENCE_WEIGHT_KG,
                     np.where(hypoperfused & (volume < 2.0), 250.0, 0.0))
    fluid = np.where(volume >= VOLUME_STOP_L, 0.0, fluid)
    # vasopressor for hypotension that persists after the fluid challenge (the trials' "refractory hypotension
    # after 1 L"): not during the first 3 h of bolus unless MAP < 55 mmHg
    dose = np.where(bolus & (mean_ap >= 55.0), 0.0, norepinephrine_titration(mean_ap))
    return np.stack([fluid, dose, np.ones(len(obs))], axis=1).astype(np.float32)


def ssc_ward_sickest_first(obs: np.ndarray) -> np.ndarray:
    """Ward-v0: the SepsisManagement protocol at every occupied bed, on the ward's grid (fluid to the nearest 250
    mL, norepinephrine change to the nearest 0.05 ug/kg/min), with the hour's nurse time given sickest first
    (highest SOFA, then lowest MAP; clinical mode, where SOFA is not observed: highest charted norepinephrine
    rate, SOFA's cardiovascular criterion, then lowest charted MAP): each bed's requests (antibiotics, vasopressor
    change, bolus, the ward's order) are kept while the time left covers them and withheld otherwise, so the ward
    serves exactly them."""
    table = table_for(WardTask, obs)
    clinical = "bed0_sofa" not in table.names
    n_bed = len((SepsisManagementTask.clinical if clinical else SepsisManagementTask).observation_table)
    actions = np.tile(WardTask.no_treatment_action, (len(obs), 1))
    budget = table.decode(obs, "nurse_minutes")
    per_bed = []
    for i in range(ward.MAX_BEDS):
        start = table.index(f"bed{i}_occupied") + 1
        sm_actions = ssc_sepsis_management(obs[:, start:start + n_bed])
        fluid = np.clip(np.rint(sm_actions[:, 0] / 250.0), 0, len(ward.FLUID_ML) - 1).astype(np.int64)
        dose = table.decode(obs, f"bed{i}_vasopressor")
        change = np.clip(np.rint(sm_actions[:, 1] / 0.05), -2, 2).astype(np.int64)
        effective = np.clip(dose + ward.DOSE_CHANGE[change + ward.NO_DOSE_CHANGE], 0.0, 1.0) != dose
        per_bed.append((table.decode(obs, f"bed{i}_occupied") > 0.5, fluid, np.where(effective, change, 0),
                        table.decode(obs, f"bed{i}_antibiotic") < 0.5,
                        table.decode(obs, f"bed{i}_vasopressor" if clinical else f"bed{i}_sofa"),
                        table.decode(obs, f"bed{i}_map")))
    for w in range(len(obs)):
        order = sorted((i for i in range(ward.MAX_BEDS) if per_bed[i][0][w]),
                       key=lambda i: (-per_bed[i][4][w], per_bed[i][5][w]))
        left = budget[w]
        for i in order:
            _, fluid, change, antibiotic_due, _, _ = per_bed[i]
            if antibiotic_due[w] and left >= ward.ANTIBIOTIC_MIN:
                actions[w, 3 * i + 2] = 1
                left -= ward.ANTIBIOTIC_MIN
            if change[w] != 0 and left >= ward.TITRATION_MIN:
                actions[w, 3 * i + 1] = change[w] + ward.NO_DOSE_CHANGE
                left -= ward.TITRATION_MIN
            if fluid[w] > 0 and left >= ward.BOLUS_MIN:
                actions[w, 3 * i] = fluid[w]
                left -= ward.BOLUS_MIN
    return actions
