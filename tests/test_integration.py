"""The fixed-step compiled integrator agrees with scipy's adaptive solver at tight tolerance."""

import numpy as np
import pytest

from clinsim.immunosim import checkpoint
from clinsim.immunosim import models as mdl

# (model, decision-step duration, RK4 step, initial states, inputs, key state indices)
CASES = {
    "kuznetsov": (mdl.KuznetsovModel, checkpoint.DAYS_PER_STEP, checkpoint.DT_DAYS,
                  [[3e5, 2e8], [1e6, 3e8], [1.6e6, 8e6], [2e5, 1e8]], np.zeros(0), [0, 1]),
    "checkpoint": (mdl.CheckpointModel, checkpoint.DAYS_PER_STEP, checkpoint.DT_DAYS,
                   [[3e5, 2e8, 225.0, 0.0, 0.0], [1e6, 3e8, 75.0, 40.0, 225.0], [2e5, 1e8, 0.0, 0.0, 225.0],
                    [4e5, 3.4e8, 300.0, 200.0, 100.0]], np.zeros(1), [0, 1, 2, 3, 4]),
    "checkpoint+steroids": (mdl.CheckpointModel, checkpoint.DAYS_PER_STEP, checkpoint.DT_DAYS,
                            [[3e5, 2e8, 225.0, 0.0, 0.0], [1e6, 3e8, 75.0, 40.0, 225.0]], np.ones(1), [0, 1, 2]),
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rk4_matches_scipy_over_one_decision_step(case: str) -> None:
    model_cls, duration, dt, y0s, u, keys = CASES[case]
    model = model_cls()
    y0 = np.array(y0s, dtype=np.float64)
    y = y0.copy()
    model_cls.integrate(y, np.tile(u, (len(y), 1)), np.tile(model.params, (len(y), 1)), duration, dt)
    for i, start in enumerate(y0):
        ref = model.simulate(start, (0.0, duration), u if len(u) else None, rtol=1e-12, atol=1e-9)
        assert ref.success
        rel = np.abs(y[i, keys] - ref.y[keys, -1]) / np.maximum(np.abs(ref.y[keys, -1]), 1e-6)
        assert rel.max() <= 1e-6, (case, i, rel)


def test_rk4_matches_scipy_over_a_whole_course() -> None:
    """26 weekly steps with boluses every 2 weeks: errors do not accumulate beyond tolerance."""
    model = mdl.CheckpointModel()
    y = np.array([[3e5, 2e8, 0.0, 0.0, 0.0]])
    ref = y[0].copy()
    u = np.zeros((1, 1))
    for week in range(26):
        if week % 2 == 0:
            y[0, mdl.NIVO_CENTRAL_MG] += 225.0
            ref[mdl.NIVO_CENTRAL_MG] += 225.0
        mdl.CheckpointModel.integrate(y, u, model.params[None], checkpoint.DAYS_PER_STEP, checkpoint.DT_DAYS)
        ref = model.simulate(ref, (0.0, checkpoint.DAYS_PER_STEP), u[0], rtol=1e-12, atol=1e-9).y[:, -1]
    rel = np.abs(y[0] - ref)[:4] / np.abs(ref[:4])  # ipilimumab stays exactly 0 here
    assert rel.max() <= 1e-6, rel
