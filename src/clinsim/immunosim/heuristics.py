"""Clinical-protocol policies for the ImmunoSim environments (act on batched observations)."""

from __future__ import annotations

import numpy as np

from clinsim.immunosim import adaptive, cart
from clinsim.immunosim.checkpoint import HORIZON_WEEKS


def _week(obs: np.ndarray) -> np.ndarray:
    return np.rint(obs[:, -1] * HORIZON_WEEKS).astype(np.int64)


def nivolumab_q2w(obs: np.ndarray) -> np.ndarray:
    """Opdivo label: nivolumab 3 mg/kg every 2 weeks (action 2 on even weeks)."""
    return np.where(_week(obs) % 2 == 0, 2, 0)


def checkmate067(obs: np.ndarray) -> np.ndarray:
    """CheckMate-067: nivolumab 1 mg/kg + ipilimumab 3 mg/kg every 3 weeks x4, then nivolumab 3 mg/kg q2w."""
    week = _week(obs)
    induction = (week < 12) & (week % 3 == 0)
    maintenance = (week >= 12) & (week % 2 == 0)
    nivo = np.where(induction, 1, np.where(maintenance, 2, 0))
    ipi = np.where(induction, 2, 0)
    return np.stack([nivo, ipi], axis=1)


def zuma1(obs: np.ndarray) -> np.ndarray:
    """ZUMA-1 (axicabtagene ciloleucel): one standard infusion on day 0, then monitor (no re-dosing)."""
    day = np.rint(obs[:, -1] * cart.HORIZON_DAYS).astype(np.int64)
    return np.where(day == 0, 2, 0)


def irecist_guided(obs: np.ndarray) -> np.ndarray:
    """Continue the label regimen (3 mg/kg q2w) through unconfirmed progression (iUPD); stop (holiday)
    only once progression is confirmed at the next scan (iCPD), as iRECIST advises."""
    category = np.rint(obs[:, 2] * 5).astype(np.int64)
    return np.where(category == adaptive.ICPD, adaptive.HOLIDAY, adaptive.CONTINUE)
