"""Shared clinical components, compiled for use inside task kernels: response reading (RECIST 1.1, and
iRECIST on measured scans), toxicity grading from a continuous marker, toxicity management by grade, and
noisy monitor readings.

Tasks compose these instead of importing each other's modules.
"""

from __future__ import annotations

import numpy as np

from clinsim.core.jit import jit

# RECIST 1.1 (Eisenhauer et al. 2009): categories and thresholds on the sum of target-lesion diameters.
RECIST = ("CR", "PR", "SD", "PD")
CR, PR, SD, PD = range(len(RECIST))
PR_DIAMETER_RATIO = 0.7  # >= 30 % decrease from baseline
PD_DIAMETER_RATIO = 1.2  # >= 20 % increase from the nadir


@jit
def recist_category(cells: float, baseline_cells: float, nadir_cells: float, eliminated_cells: float) -> int:
    """RECIST 1.1 category (index into ``RECIST``) of a tumour burden, diameter proportional to cells^(1/3).

    CR: below ``eliminated_cells``; PD: diameter >= +20 % from the nadir; PR: <= -30 % from baseline; else SD.
    """
    if cells < eliminated_cells:
        return CR
    if np.cbrt(cells / nadir_cells) >= PD_DIAMETER_RATIO:
        return PD
    return PR if np.cbrt(cells / baseline_cells) <= PR_DIAMETER_RATIO else SD


# iRECIST (Seymour et al. 2017): the RECIST 1.1 thresholds above read on measured scans, with progression
# confirmed at the next scan. "none": no scan read yet.
IRECIST = ("none", "iCR", "iPR", "iSD", "iUPD", "iCPD")
NONE, ICR, IPR, ISD, IUPD, ICPD = range(len(IRECIST))
RECIST_OF_IRECIST = ("NE", "CR", "PR", "SD", "PD", "PD")  # RECIST 1.1 reading of the same scan (PD unconfirmed)
ICPD_FURTHER_RATIO = 1.05  # further increase (>= 5 mm, ~5 % of the sum) over the iUPD scan confirms progression
CR_DIAMETER_RATIO = 0.1  # lesion below ~10 % of its baseline diameter: not measurable (complete response)


@jit
def irecist_category(diameter: float, baseline: float, nadir: float, previous: int, upd_diameter: float) -> int:
    """iRECIST category (index into ``IRECIST``) of a scan: ``diameter`` is its sum of diameters, in the
    units of ``baseline``, ``nadir`` (the smallest scan so far) and ``upd_diameter`` (the iUPD scan's);
    ``previous`` is the last scan's category.

    RECIST 1.1 thresholds (PR <= -30 % from baseline, PD >= +20 % from nadir); a first PD is
    unconfirmed (iUPD); at the next scan a further increase (>= 5 %) over the iUPD scan confirms it
    (iCPD, final); otherwise the category is read afresh (iUPD persists if still >= +20 % over nadir).
    """
    if previous == ICPD:
        return ICPD
    if diameter / nadir >= PD_DIAMETER_RATIO:
        confirmed = previous == IUPD and diameter >= ICPD_FURTHER_RATIO * upd_diameter
        return ICPD if confirmed else IUPD
    if diameter / baseline <= CR_DIAMETER_RATIO:
        return ICR
    return IPR if diameter / baseline <= PR_DIAMETER_RATIO else ISD


@jit
def threshold_grade(value: float, thresholds: np.ndarray) -> int:
    """Grade of a marker: the number of ``thresholds`` (ascending) at or below ``value``."""
    grade = 0
    for threshold in thresholds:
        grade += threshold <= value
    return grade


@jit
def manage_toxicity(grade: int, active_grade: int, hold: int, steroid: int, discontinued: bool,
                    hold_by_grade: np.ndarray, steroid_by_grade: np.ndarray) -> tuple[int, int, int, bool]:
    """Management of an immune-related adverse event for one decision step (ASCO 2018 guideline, simplified).

    ``grade`` is this step's new event (0 = none). Grade 4 stops treatment for good; otherwise doses are
    held for ``hold_by_grade[grade]`` steps and high-dose corticosteroids run for ``steroid_by_grade[grade]``
    steps. Returns the new (active grade, hold, steroid, discontinued).
    """
    discontinued = discontinued or grade == 4
    new_hold = 0 if discontinued else max(max(hold - 1, 0), hold_by_grade[grade])
    new_steroid = max(max(steroid - 1, 0), steroid_by_grade[grade])
    if grade > 0:
        active = grade
    elif new_hold > 0:
        active = active_grade
    else:
        active = 0
    if discontinued:
        active = max(active, active_grade)
    return active, new_hold, new_steroid, discontinued


@jit
def sensor(value: float, sd: float, z: float, low: float, high: float) -> float:
    """A monitor's reading of ``value``: Gaussian measurement noise ``sd * z`` (``z`` a pre-drawn standard
    normal number, so that the episode's randomness is fixed at reset), clipped to the monitor's range
    ``[low, high]``."""
    return min(max(value + sd * z, low), high)
