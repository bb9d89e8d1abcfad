"""The sepsis environments beyond the registry-wide checks (tests/test_registry.py): IDs and tiers, spaces,
observation table, info, death and the end of an episode, antibiotics."""

import gymnasium as gym
import numpy as np
import pytest

import clinsim
from clinsim.baselines import HEURISTICS
from clinsim.core.evaluation import evaluate_cohort, random_policy
from clinsim.core.task import EpisodeOverError
from clinsim.sepsisim import TIER_IDS
from clinsim.sepsisim import environments as sepsis

SEPSIS_IDS = [i for i in clinsim.ENV_IDS if i.startswith("sepsisim/") and i != "sepsisim/Ward-v0"]  # ward: test_ward
BASE_IDS = ["sepsisim/FluidResuscitation-v1", "sepsisim/VasopressorTitration-v1", "sepsisim/SepsisManagement-v1"]
OBS_DIM = {"sepsisim/FluidResuscitation-v1": 7, "sepsisim/VasopressorTitration-v1": 8,
           "sepsisim/SepsisManagement-v1": 10}


def test_registry():
    assert len(SEPSIS_IDS) == 12
    assert set(BASE_IDS) <= set(SEPSIS_IDS)
    assert {k for k in HEURISTICS if k.startswith("sepsisim/")} == {*SEPSIS_IDS, "sepsisim/Ward-v0"}
    assert set(SEPSIS_IDS) == set(TIER_IDS)
    for env_id in SEPSIS_IDS:
        assert gym.spec(env_id).max_episode_steps == 72


@pytest.mark.parametrize("env_id", BASE_IDS)
def test_spaces(env_id):
    env = gym.make(env_id)
    assert env.observation_space.shape == (OBS_DIM[env_id],)
    assert env.observation_space.dtype == np.float32
    assert np.isfinite(env.observation_space.low).all() and np.isfinite(env.observation_space.high).all()
    assert env.unwrapped.task.tier == "medium"


@pytest.mark.parametrize("env_id", BASE_IDS)
def test_unknown_tier(env_id):
    with pytest.raises(ValueError, match="easy, medium, hard"):
        gym.make(env_id, tier="extreme")


def test_tier_ids_use_tier():
    assert gym.make("sepsisim/FluidResuscitationHard-v1").unwrapped.task.tier == "hard"
    assert gym.make("sepsisim/SepsisManagement-v1", tier="easy").unwrapped.task.tier == "easy"


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


def test_outcome_and_death_hour():
    res = evaluate_cohort("sepsisim/FluidResuscitationHard-v1", lambda o: np.zeros((len(o), 1), np.float32), 50)
    outcome, death_hour = res.final_info["outcome"], res.final_info["death_hour"]
    died, late, survived = outcome == "died", outcome == "died_by_day_28", outcome == "survived"
    assert died.any() and survived.any()
    assert (died | late | survived).all()
    np.testing.assert_array_equal(death_hour[died], res.lengths[died])
    assert (res.final_info["damage"][died] >= 10.0).all()
    assert (res.lengths[~died] == 72).all() and (death_hour[survived] == -1).all()
    assert ((death_hour[late] > 72) & (death_hour[late] <= 28 * 24)).all()  # in the day-28 continuation
    assert (res.returns[died | late].max() < res.returns[survived].min())  # a late death costs a death


def test_antibiotic_irreversible():
    env = gym.make("sepsisim/SepsisManagement-v1")
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([0.0, 0.0, 1.0], np.float32))
    assert info["antibiotics_given"] and info["antibiotic_hour"] == 0
    _, _, _, _, info = env.step(np.array([0.0, 0.0, 0.0], np.float32))
    assert info["antibiotics_given"] and info["antibiotic_hour"] == 0


def test_a_dead_patient_takes_no_more_steps():
    env = gym.make("sepsisim/FluidResuscitationHard-v1")
    for seed in range(20):
        env.reset(seed=seed)
        terminated = truncated = False
        while not (terminated or truncated):
            _, reward, terminated, truncated, info = env.step(np.zeros(1, np.float32))
        if terminated:
            break
    assert terminated and info["outcome"] == "died"
    assert reward == -sepsis.FluidResuscitationTask.death_penalty
    with pytest.raises(EpisodeOverError, match="died.*reset"):
        env.unwrapped.step(np.zeros(1, np.float32))


@pytest.mark.parametrize("task", [sepsis.FluidResuscitationTask, sepsis.VasopressorTitrationTask,
                                  sepsis.SepsisManagementTask])
def test_observation_table_decodes_the_clinical_values(task):
    """Every observation decodes (below its clip) to the info's clinical value it normalises."""
    vec = gym.make_vec(task.env_id, num_envs=8, vectorization_mode="vector_entry_point")
    obs, info = vec.reset(seed=2)
    vec.action_space.seed(2)
    keys = {"map": "map_measured_mmhg", "lactate": "lactate_mmol_per_l", "urine": "urine_measured_ml_per_kg_h",
            "damage": "damage", "volume": "volume_l", "pathogen": "pathogen", "sofa": "sofa",
            "vasopressor": "norepinephrine_ug_per_kg_min", "hours_on_vasopressor": "hours_on_vasopressor",
            "antibiotic": "antibiotics_given", "time": "hour"}
    table = task.observation_table
    for _ in range(6):
        obs, _, _, _, info = vec.step(vec.action_space.sample())
        for name in table.names:
            np.testing.assert_allclose(table.decode(obs, name), info[keys[name]].astype(float), rtol=1e-6,
                                       atol=1e-6, err_msg=name)
    assert f"({len(table)},)" in gym.make(task.env_id).unwrapped.__doc__


def test_new_patients_do_not_depend_on_their_batch():
    """Presentation integrates a few new patients one by one and many in SIMD blocks: the same records."""
    task = sepsis.SepsisManagementTask(tier="hard")
    batch = task.sample_patients([np.random.default_rng(seed) for seed in range(70)])
    for i in (0, 5, 69):
        one = task.sample_patients([np.random.default_rng(i)])
        assert one.patient.tobytes() == batch.patient[i:i + 1].tobytes()
        assert one.clinical.tobytes() == batch.clinical[i:i + 1].tobytes()
