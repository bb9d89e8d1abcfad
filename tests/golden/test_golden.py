"""Golden trajectories: any change of an environment's dynamics, observations or rewards is noticed.

A failure here means the environment now behaves differently for the same seed and actions. If that
is intended, bump the environment version (``-v0`` -> ``-v1``), add a CHANGELOG.md entry, and regenerate
with ``python -m tests.golden.make_golden ID``.

Tolerances (relative 1e-6 on observations and rewards) are wide enough for another x86-64 machine's
libm and compiler (measured differences up to 6e-10 relative, CARTCell rewards) and far below any change
of dynamics (the integrators' own accuracy rule is 1e-6 per step; a parameter change moves a 30-step
trajectory by orders of magnitude more).
"""

import json

import numpy as np
import pytest

import clinsim
from tests.golden.make_golden import path_for, trajectory


@pytest.mark.parametrize("env_id", clinsim.ENV_IDS)
def test_trajectory_matches_golden(env_id: str) -> None:
    path = path_for(env_id)
    assert path.exists(), f"no golden trajectory for {env_id}: run python -m tests.golden.make_golden {env_id}"
    golden = json.loads(path.read_text())
    now = trajectory(env_id)
    message = (f"{env_id} changed behaviour for seed {golden['seed']}: bump its version, add a CHANGELOG.md "
               f"entry and regenerate tests/golden")
    assert now["actions"] == golden["actions"], message
    assert len(now["rewards"]) == len(golden["rewards"]), message
    np.testing.assert_allclose(now["observations"], golden["observations"], rtol=1e-6, atol=1e-7, err_msg=message)
    np.testing.assert_allclose(now["rewards"], golden["rewards"], rtol=1e-6, atol=1e-9, err_msg=message)
    assert now["terminated"] == golden["terminated"], message
