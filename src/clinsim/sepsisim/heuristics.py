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
from clinsim.sepsisim.environments import (
    BOLUS_STARTED_L,
    FluidResuscitationTask,
    SepsisManagementTask,
    VasopressorTitrationTask,
)

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
