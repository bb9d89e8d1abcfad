"""The day-28 standard-of-care continuation: its 2-hour steps against a fine integration, and its outcomes."""

import numpy as np

from clinsim.sepsisim import environments as env
from clinsim.sepsisim import models as mdl


def _fine(y, dose, p, steps_per_block=16):
    """The continuation's loop with 16 DOP853 steps per 2-hour block (reference)."""
    z = y[:env.N_COURSE].copy()
    u = np.zeros(env.N_INPUTS)
    u[mdl.ANTIBIOTIC] = 1.0
    for block in range(env.CONTINUATION_BLOCKS):
        mean_ap = float(mdl.mean_arterial_pressure(z[None], np.array([dose]), p[None])[0])
        if mean_ap < 65.0:
            dose = min(dose + env.CONTINUATION_DOSE_STEP, env.MAX_NOREPINEPHRINE)
        elif mean_ap > 75.0:
            dose = max(dose - env.CONTINUATION_DOSE_STEP, 0.0)
        u[mdl.NOREPINEPHRINE] = dose
        mdl.CourseModel.integrate_patient(z, u, p, env.CONTINUATION_BLOCK_H, steps_per_block)
        if z[mdl.DAMAGE] >= env.DEATH_DAMAGE:
            return int(env.HORIZON_HOURS + (block + 1) * env.CONTINUATION_BLOCK_H)
    return -1


def test_continuation_matches_fine_integration():
    """Patients of every tier at presentation, continued from there: the same day-28 outcome and death hour."""
    rng = np.random.default_rng(0)
    agree, n, deaths = 0, 0, 0
    for tier in env.TIERS:
        state = env.SepsisManagementTask(tier=tier).sample_patients([np.random.default_rng(s) for s in range(60)])
        for b in range(len(state)):
            y, p = state.clinical["y"][b].copy(), state.patient["params"][b]
            dose = float(rng.choice([0.0, 0.2]))
            coarse, fine = env.continue_to_day_28(y, dose, p), _fine(y, dose, p)
            n += 1
            deaths += fine >= 0
            agree += (coarse >= 0) == (fine >= 0) and abs(coarse - fine) <= 2 * env.CONTINUATION_BLOCK_H
    assert deaths > 10 and n - deaths > 10
    assert agree >= n - 1, (agree, n)


def test_healthy_patient_survives_the_continuation():
    p = mdl.SepsisModel().params
    assert env.continue_to_day_28(np.zeros(len(mdl.SepsisModel.state_names)), 0.0, p) == -1
