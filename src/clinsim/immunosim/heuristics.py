"""Clinical-protocol policies for the ImmunoSim environments (act on batched observations, read in clinical
units through each task's observation table, of either observation mode: state or clinical)."""

from __future__ import annotations

import numpy as np

from clinsim.core.measurement import table_for
from clinsim.core.task import Task
from clinsim.immunosim import adaptive, cart
from clinsim.immunosim.checkpoint import CheckpointInhibitorTask, CombinationTherapyTask


def _step(obs: np.ndarray, task: type[Task]) -> np.ndarray:
    """The decision step (week, day, visit) the observations were made at."""
    return np.rint(table_for(task, obs).decode(obs, "time")).astype(np.int64)


def nivolumab_q2w(obs: np.ndarray) -> np.ndarray:
    """Opdivo label: nivolumab 3 mg/kg every 2 weeks (action 2 on even weeks)."""
    return np.where(_step(obs, CheckpointInhibitorTask) % 2 == 0, 2, 0)


def checkmate067(obs: np.ndarray) -> np.ndarray:
    """CheckMate-067: nivolumab 1 mg/kg + ipilimumab 3 mg/kg every 3 weeks x4, then nivolumab 3 mg/kg q2w."""
    week = _step(obs, CombinationTherapyTask)
    induction = (week < 12) & (week % 3 == 0)
    maintenance = (week >= 12) & (week % 2 == 0)
    nivo = np.where(induction, 1, np.where(maintenance, 2, 0))
    ipi = np.where(induction, 2, 0)
    return np.stack([nivo, ipi], axis=1)


def zuma1(obs: np.ndarray) -> np.ndarray:
    """ZUMA-1 (axicabtagene ciloleucel): one standard infusion on day 0, then monitor (no re-dosing)."""
    return np.where(_step(obs, cart.CARTCellTask) == 0, 2, 0)


def irecist_guided(obs: np.ndarray) -> np.ndarray:
    """Continue the label regimen (3 mg/kg q2w) through unconfirmed progression (iUPD); stop (holiday)
    only once progression is confirmed at the next scan (iCPD), as iRECIST advises."""
    category = np.rint(table_for(adaptive.AdaptiveDosingTask, obs).decode(obs, "irecist")).astype(np.int64)
    return np.where(category == adaptive.ICPD, adaptive.HOLIDAY, adaptive.CONTINUE)
