"""``normalize_actions=True``: Box actions in [-1, 1] (Gymnasium's RescaleAction arithmetic), discrete spaces
unchanged, the papers' physical spaces by default; single and vector envs agree."""

import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.wrappers import RescaleAction

import clinsim

BOX_IDS = [e for e in clinsim.PAPER_IDS if isinstance(gym.make(e).action_space, gym.spaces.Box)]
DISCRETE_IDS = [e for e in clinsim.PAPER_IDS if e not in BOX_IDS]


def test_box_environments_are_the_sepsis_ones() -> None:
    assert sorted(BOX_IDS) == ["sepsisim/FluidResuscitation-v1", "sepsisim/SepsisManagement-v1",
                               "sepsisim/VasopressorTitration-v1"]


@pytest.mark.parametrize("env_id", BOX_IDS)
def test_normalized_space_passes_both_checkers_without_action_warnings(env_id: str) -> None:
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    physical = gym.make(env_id).action_space
    assert not np.all(physical.high == 1.0)  # the default stays the papers' physical units
    env = gym.make(env_id, normalize_actions=True)
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, physical.shape, physical.dtype)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env.unwrapped, warn=True)
    assert not [w for w in caught if "action" in str(w.message).lower()], [str(w.message) for w in caught]
    with warnings.catch_warnings(record=True) as caught:  # the physical space: SB3 asks for normalisation
        warnings.simplefilter("always")
        sb3_check_env(gym.make(env_id).unwrapped, warn=True)
    assert any("normalized" in str(w.message) for w in caught)


@pytest.mark.parametrize("env_id", BOX_IDS)
def test_trajectories_equal_rescale_action_over_the_physical_env(env_id: str) -> None:
    env = gym.make(env_id, normalize_actions=True)
    reference = RescaleAction(gym.make(env_id), -1.0, 1.0)
    env.action_space.seed(0)
    for seed in (0, 1):
        (obs, info), (ref_obs, ref_info) = env.reset(seed=seed), reference.reset(seed=seed)
        done = False
        while not done:
            action = env.action_space.sample()
            obs, reward, term, trunc, info = env.step(action)
            ref_obs, ref_reward, ref_term, ref_trunc, ref_info = reference.step(action)
            assert np.array_equal(obs, ref_obs) and reward == ref_reward and (term, trunc) == (ref_term, ref_trunc)
            assert info.keys() == ref_info.keys() and all(np.array_equal(info[k], ref_info[k]) for k in info)
            done = term or trunc


@pytest.mark.parametrize("env_id", BOX_IDS)
def test_the_ends_of_the_normalized_range_are_the_physical_bounds(env_id: str) -> None:
    physical_space = gym.make(env_id).action_space
    for end, bound in ((-1.0, physical_space.low), (1.0, physical_space.high)):
        env, physical = gym.make(env_id, normalize_actions=True), gym.make(env_id)
        env.reset(seed=2), physical.reset(seed=2)
        for _ in range(5):
            obs, reward, term, trunc, _ = env.step(np.full(physical_space.shape, end, dtype=np.float32))
            pobs, preward, *_ = physical.step(bound)
            assert np.allclose(obs, pobs, rtol=1e-5) and np.isclose(reward, preward, rtol=1e-5)
            if term or trunc:
                break


@pytest.mark.parametrize("env_id", DISCRETE_IDS)
def test_discrete_spaces_are_unchanged(env_id: str) -> None:
    env, plain = gym.make(env_id, normalize_actions=True), gym.make(env_id)
    assert env.action_space == plain.action_space
    env.action_space.seed(1)
    env.reset(seed=4), plain.reset(seed=4)
    done = False
    while not done:
        action = env.action_space.sample()
        (obs, reward, term, trunc, _), (pobs, preward, *_) = env.step(action), plain.step(action)
        assert np.array_equal(obs, pobs) and reward == preward
        done = term or trunc


@pytest.mark.parametrize("env_id", BOX_IDS)
def test_vector_env_with_normalized_actions_equals_single_envs(env_id: str) -> None:
    n = 3
    venv = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", normalize_actions=True)
    singles = [gym.make(env_id, normalize_actions=True) for _ in range(n)]
    assert venv.single_action_space == singles[0].action_space
    vobs, _ = venv.reset(seed=6)
    assert np.array_equal(vobs, np.stack([env.reset(seed=6 + i)[0] for i, env in enumerate(singles)]))
    venv.action_space.seed(3)
    live = set(range(n))
    for _ in range(20):
        actions = venv.action_space.sample()
        vobs, vrew, *_ = venv.step(actions)
        for i in sorted(live):
            obs, reward, term, trunc, _ = singles[i].step(actions[i])
            assert np.array_equal(obs, vobs[i]) and reward == vrew[i]
            if term or trunc:  # the vector env starts a new patient here
                live.discard(i)
    pickle.loads(pickle.dumps(venv))


def test_pickled_normalized_env_continues_identically_and_bad_flag_raises() -> None:
    env = gym.make("sepsisim/FluidResuscitation-v1", normalize_actions=True)
    env.reset(seed=0)
    env.step(np.array([0.5], dtype=np.float32))
    clone = pickle.loads(pickle.dumps(env))
    action = np.array([-0.25], dtype=np.float32)
    assert np.array_equal(env.step(action)[0], clone.step(action)[0])
    with pytest.raises(ValueError, match="normalize_actions must be True or False"):
        gym.make("sepsisim/FluidResuscitation-v1", normalize_actions="yes")
    with pytest.raises(Exception, match="Box"):  # a bad action still names the space
        env.step("lots")
