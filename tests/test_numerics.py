"""Property-based numerics: random patients across the literature ranges, random action sequences.

For every environment: no NaN or infinity, ODE states within their declared bounds (``Task.state_low``;
by default non-negative: cells, drug amounts, volumes),
observations inside the declared space and finite rewards, for whole episodes.
"""

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clinsim

# one ID per task (from the registry) and the hardest sepsis tier
PAPER_IDS = [*clinsim.FAMILY_IDS, "sepsisim/SepsisManagementHard-v1"]
COHORT_ONLY: dict[str, str] = {}  # env ID -> why its patients come from the cohort sampler only


def parameter_values(env_id: str):
    """A strategy for a full parameter vector drawn log-uniformly (uniformly if the range holds 0) in range."""
    if env_id in COHORT_ONLY:
        return st.just(None)
    pset = gym.make(env_id).unwrapped.task.parameter_set

    def one(p):
        if p.low > 0:
            return st.floats(np.log(p.low), np.log(p.high)).map(lambda x: float(np.clip(np.exp(x), p.low, p.high)))
        return st.floats(p.low, p.high)

    def valid(values: dict) -> bool:  # joint constraints (e.g. CAR-T contraction) as well as ranges
        vector = pset.defaults.copy()
        for k, v in values.items():
            vector[pset.index(k)] = v
        return not pset.violations(vector)

    return st.fixed_dictionaries({p.name: one(p) for p in pset if p.low < p.high}).filter(valid)


@pytest.mark.parametrize("env_id", PAPER_IDS)
def test_random_patients_and_actions_stay_physical(env_id: str) -> None:
    @settings(max_examples=8, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(params=parameter_values(env_id), seed=st.integers(0, 2**31 - 1))
    def check(params, seed):
        n = 6
        venv = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", parameters=params)
        obs, _ = venv.reset(seed=seed)
        venv.action_space.seed(seed)
        space = venv.single_observation_space
        task = venv.unwrapped.task
        low = np.zeros(task.clinical_dtype["y"].shape) if task.state_low is None else np.array(task.state_low)
        for _ in range(venv.unwrapped.max_episode_steps):
            obs, reward, terminated, truncated, _ = venv.step(venv.action_space.sample())
            y = venv.unwrapped.state["y"]
            assert np.isfinite(y).all() and (y >= low).all(), params
            assert np.isfinite(reward).all()
            assert all(space.contains(o) for o in obs)
            assert np.isfinite(obs).all()

    check()
