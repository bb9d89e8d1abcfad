"""API conformance of the sepsis environments: check_env, vector == single, tiers, bounds, info."""

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import clinsim
from clinsim.core.evaluation import evaluate_cohort, random_policy
from clinsim.core.task import InvalidActionError, single_info
from clinsim.sepsisim import TIER_IDS
from clinsim.sepsisim.heuristics import HEURISTICS

SEPSIS_IDS = [i for i in clinsim.ENV_IDS if i.startswith("sepsisim/")]
BASE_IDS = ["sepsisim/FluidResuscitation-v0", "sepsisim/VasopressorTitration-v0", "sepsisim/SepsisManagement-v0"]
OBS_DIM = {"sepsisim/FluidResuscitation-v0": 7, "sepsisim/VasopressorTitration-v0": 8,
           "sepsisim/SepsisManagement-v0": 10}


def test_registry():
    assert len(SEPSIS_IDS) == 12
    assert set(BASE_IDS) <= set(SEPSIS_IDS)
    assert set(HEURISTICS) == set(SEPSIS_IDS) == set(TIER_IDS)
    for env_id in SEPSIS_IDS:
        assert gym.spec(env_id).max_episode_steps == 72


@pytest.mark.parametrize("env_id", BASE_IDS)
def test_spaces(env_id):
    env = gym.make(env_id)
    assert env.observation_space.shape == (OBS_DIM[env_id],)
    assert env.observation_space.dtype == np.float32
    assert np.isfinite(env.observation_space.low).all() and np.isfinite(env.observation_space.high).all()
    assert env.unwrapped.task.tier == "medium"


@pytest.mark.parametrize("env_id", SEPSIS_IDS)
def test_check_env(env_id):
    check_env(gym.make(env_id).unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id", BASE_IDS)
def test_unknown_tier(env_id):
    with pytest.raises(ValueError, match="easy, medium, hard"):
        gym.make(env_id, tier="extreme")


def test_tier_ids_use_tier():
    assert gym.make("sepsisim/FluidResuscitationHard-v0").unwrapped.task.tier == "hard"
    assert gym.make("sepsisim/SepsisManagement-v0", tier="easy").unwrapped.task.tier == "easy"


@pytest.mark.parametrize("env_id", SEPSIS_IDS)
def test_vector_equals_single(env_id):
    n, seed = 3, 11
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    singles = [gym.make(env_id) for _ in range(n)]
    obs_v, _ = vec.reset(seed=seed)
    obs_s = [e.reset(seed=seed + i)[0] for i, e in enumerate(singles)]
    np.testing.assert_array_equal(obs_v, np.stack(obs_s))
    space = singles[0].action_space
    space.seed(5)
    live = np.ones(n, dtype=bool)
    for _ in range(72):
        actions = np.stack([space.sample() for _ in range(n)])
        obs_v, r_v, term_v, trunc_v, info_v = vec.step(actions)
        for i, e in enumerate(singles):
            if not live[i]:
                continue  # the vector env autoresets this one next step
            o, r, term, trunc, info = e.step(actions[i])
            np.testing.assert_array_equal(obs_v[i], o)
            assert r_v[i] == r and term_v[i] == term and trunc_v[i] == trunc
            assert info_v["damage"][i] == info["damage"] and info_v["outcome"][i] == info["outcome"]
            live[i] = not (term or trunc)
        if not live.any():
            break
    assert not live.any()  # every episode ended (death or the 72-h time limit)


@pytest.mark.parametrize("env_id", BASE_IDS)
def test_seeds_determinism_and_pickle(env_id):
    env = gym.make(env_id)
    a, _ = env.reset(seed=3)
    b, _ = env.reset(seed=3)
    c, _ = env.reset(seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    clone = pickle.loads(pickle.dumps(env))
    action = env.action_space.sample()
    np.testing.assert_array_equal(env.step(action)[0], clone.step(action)[0])


@pytest.mark.parametrize("env_id", BASE_IDS)
def test_observations_inside_box_and_info(env_id):
    space = gym.make(env_id).observation_space
    for policy in (HEURISTICS[env_id], random_policy(gym.make(env_id).action_space, 1)):
        env = gym.make_vec(env_id, num_envs=64, vectorization_mode="vector_entry_point", tier="hard")
        obs, info = env.reset(seed=0)
        for _ in range(72):
            assert space.contains(obs[0]) and (obs >= space.low).all() and (obs <= space.high).all()
            obs, _, _, _, info = env.step(policy(obs))
        keys = {"map_mmhg", "lactate_mmol_per_l", "urine_ml_per_kg_h", "sofa", "sofa_cardiovascular", "sofa_renal",
                "sofa_metabolic", "volume_l", "norepinephrine_ug_per_kg_min", "pathogen", "damage",
                "antibiotics_given", "patient", "outcome", "death_hour"}
        assert keys <= set(info)


@pytest.mark.parametrize("env_id", BASE_IDS)
def test_fused_single_step_equals_the_batched_path(env_id):
    """The single env's compiled step gives the batched functions' state, observation, reward and info
    (values and types) through a whole episode, and leaves finished episodes and bad actions to them."""
    task = gym.make(env_id, tier="hard").unwrapped.task

    def batched_view(state):
        return task.observe(state)[0], single_info(task.info(state))

    space = task.action_space
    space.seed(3)
    state = task.sample_patients([np.random.default_rng(5)])
    assert_same_view(task.view_single(state), batched_view(state))
    terminated = False
    while not terminated and task.elapsed(state)[0] < task.horizon:
        action = space.sample() * np.float32(1.5)  # some out of bounds: clipped
        reference, reward, terminated = task.step(state, task.check_actions(action[None], 1))
        state, obs, fused_reward, fused_terminated, info = task.step_single(state, action, env_id)
        for k, v in reference.items():
            assert np.array_equal(state[k], v), k
        assert_same_view((obs, info), batched_view(reference))
        assert (fused_reward, fused_terminated) == (reward[0], terminated[0])
        assert type(fused_reward) is float and type(fused_terminated) is bool
    with pytest.raises(RuntimeError, match="reset"):
        task.step_single(state, space.sample(), env_id)
    bad = np.full(space.shape, np.nan, dtype=np.float32)
    with pytest.raises(InvalidActionError, match="NaN"):
        task.step_single(task.sample_patients([np.random.default_rng(5)]), bad, env_id)


def assert_same_view(view, reference):
    """Equal observations and infos, every info entry of the same Python type."""
    np.testing.assert_array_equal(view[0], reference[0])
    assert view[0].dtype == reference[0].dtype
    assert list(view[1]) == list(reference[1])
    for k, v in reference[1].items():
        assert view[1][k] == v and type(view[1][k]) is type(v), k


def test_outcome_and_death_hour():
    res = evaluate_cohort("sepsisim/FluidResuscitationHard-v0", lambda o: np.zeros((len(o), 1), np.float32), 50)
    died = res.final_info["outcome"] == "died"
    assert died.any() and (~died).any()
    assert set(np.unique(res.final_info["outcome"])) <= {"died", "survived"}
    np.testing.assert_array_equal(res.final_info["death_hour"][died], res.lengths[died])
    assert (res.final_info["damage"][died] >= 10.0).all()
    assert (res.lengths[~died] == 72).all() and (res.final_info["death_hour"][~died] == -1).all()


def test_antibiotic_irreversible():
    env = gym.make("sepsisim/SepsisManagement-v0")
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([0.0, 0.0, 1.0], np.float32))
    assert info["antibiotics_given"] and info["antibiotic_hour"] == 0
    _, _, _, _, info = env.step(np.array([0.0, 0.0, 0.0], np.float32))
    assert info["antibiotics_given"] and info["antibiotic_hour"] == 0
