"""Ward-v0 beyond the registry-wide checks: beds follow SepsisManagement exactly, beds and nurse time are
shared limits, the reward keeps "a death never pays", and the sickest-first protocol beats no treatment and
random."""

from functools import cache

import gymnasium as gym
import numpy as np
import pytest

import clinsim  # noqa: F401 - registers the environments
from clinsim.baselines import baselines
from clinsim.core.evaluation import evaluate_cohort
from clinsim.core.state import State
from clinsim.sepsisim import ward

ID = "sepsisim/Ward-v0"


def _first_ward_with_a_patient(task: ward.WardTask) -> State:
    for seed in range(20):
        state = task.sample_patients([np.random.default_rng(seed)])
        if state.clinical["census"][0] == 1:
            return state
    raise AssertionError("no ward with an initial patient")


@pytest.mark.parametrize("observation", ["state", "clinical"])
def test_a_bed_is_the_sepsis_management_patient(observation: str) -> None:
    """With nurse time to spare, a bed's course is SepsisManagement-v1's for the same patient and actions, bit
    for bit (the ward reuses its compiled transition), and so is its observation in either mode (clinical: the
    same measurement noise, schedules and held results)."""
    clinical = observation == "clinical"
    task = (ward.WardTask.clinical if clinical else ward.WardTask)(beds=1, nurses=2, arrivals_per_day=0.0)
    state = _first_ward_with_a_patient(task)
    bed = (ward.BED.clinical if clinical else ward.BED)("medium")
    table = task.observation_table
    columns = slice(table.index("bed0_occupied") + 1, table.index("bed1_occupied"))
    k = state.clinical["bed_arrival"][0, 0]
    patient = State(state.patient["queue_patient"][0, k:k + 1].copy(), state.patient["queue_state"][0, k:k + 1].copy(),
                    np.array(["p"]))
    rng = np.random.default_rng(0)
    for _ in range(30):
        fluid, change, antibiotic = rng.integers(0, 4), rng.integers(0, 5), rng.integers(0, 2)
        action = np.array(ward.WardTask.no_treatment_action)
        action[:3] = fluid, change, antibiotic
        state, reward, _ = task.step(state, action[None])
        patient, bed_reward, terminated = bed.step(patient, np.array([[ward.FLUID_ML[fluid],
                                                                       ward.DOSE_CHANGE[change], antibiotic]]))
        assert np.array_equal(state.clinical["beds"][0, 0]["y"], patient.clinical["y"][0])
        np.testing.assert_array_equal(task.observe(state)[0, columns], bed.observe(patient)[0])
        assert reward[0] == bed_reward[0] - ward.BED_FREED_PENALTY * terminated[0]
        assert state.clinical["nurse_minutes_used"][0] > 0 or (fluid == 0 and antibiotic == 0)
        if terminated[0]:
            assert state.clinical["died"][0] == 1 and state.clinical["census"][0] == 0
            break


def test_a_full_ward_diverts_and_closed_beds_stay_empty() -> None:
    env = gym.make(ID, beds=2, arrivals_per_day=8.0)
    _, info = env.reset(seed=0)
    diverted = 0
    for _ in range(72):
        obs, _, _, _, info = env.step(env.unwrapped.task.no_treatment_action)
        assert info["census"] <= 2 and all(info[f"bed{i}_status"] == "closed" for i in range(2, ward.MAX_BEDS))
        assert not obs[ward.WardTask.observation_table.index("bed2_occupied")]
        assert info["cost_diversion"] == info["diverted"] - diverted
        diverted = info["diverted"]
    assert info["diverted"] > 0
    patient = env.unwrapped.state.patient
    due = int((patient["arrival_hour"][0, :patient["n_arrivals"][0]] <= 72).sum())
    assert info["admitted"] + info["diverted"] == due


def test_nurse_time_limits_interventions() -> None:
    """One nurse for eight beds cannot run every request: some are withheld, never more time is used than is
    left after routine care; the sickest-first protocol asks only for what the time covers."""
    everything = np.tile([3, 4, 1], ward.MAX_BEDS)
    for policy, withheld_expected in ((lambda obs: np.tile(everything, (len(obs), 1)), True),
                                      (clinsim.spec(ID).protocol, False)):
        env = gym.make_vec(ID, num_envs=2, vectorization_mode="vector_entry_point", nurses=1)
        obs, info = env.reset(seed=3)
        withheld = 0
        for _ in range(24):
            available = info["nurse_minutes_available"]
            obs, _, _, _, info = env.step(policy(obs))
            assert (info["nurse_minutes_used"] <= available).all()
            withheld += info["interventions_withheld"].sum()
        assert (withheld > 0) == withheld_expected


def test_a_death_never_pays() -> None:
    """A death frees a bed; what the bed can then earn (a saved diversion and the best SepsisManagement
    episode) stays below the cost of a death in the ward, also against a patient who would have died by day 28
    after discharge (a death either way: only the extra cost of the death in the ward separates them)."""
    freed_bed_gain = ward.DIVERSION_PENALTY + ward.BEST_BED_RETURN
    assert 0 < ward.DIVERSION_PENALTY and freed_bed_gain < ward.BED.death_penalty
    assert ward.BED_FREED_PENALTY >= freed_bed_gain
    env = gym.make_vec(ID, num_envs=4, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    everything = np.tile([3, 4, 0], (4, ward.MAX_BEDS))  # maximal fluid and norepinephrine, no antibiotics: deaths
    deaths = 0
    for _ in range(72):
        before = env.unwrapped.state.clinical["died"].copy()
        _, reward, _, _, info = env.step(everything)
        died = info["died"] - before
        deaths += died.sum()
        # a death hour: the death's cost plus the freed-bed cost, against at most 2 per other occupied bed
        assert (reward[died > 0] <= -(ward.BED.death_penalty + ward.BED_FREED_PENALTY) * died[died > 0]
                + ward.sepsis.MAX_HOURLY_REWARD * ward.MAX_BEDS + ward.sepsis.STABILISATION_BONUS * ward.MAX_BEDS).all()
    assert deaths > 0


@cache
def _cohort(policy: str):
    return evaluate_cohort(ID, baselines(ID)[policy], 12, seed=500)


def _mortality(res) -> float:
    f = res.final_info
    dead = f["died"] + f["died_by_day_28"]
    return float(dead.sum() / (dead + f["survived"]).sum())


@pytest.mark.parametrize("other", ["none", "random"])
def test_protocol_beats_no_treatment_and_random(other: str) -> None:
    protocol, worse = _cohort("protocol"), _cohort(other)
    assert protocol.returns.mean() > worse.returns.mean()
    assert _mortality(protocol) < _mortality(worse) - 0.2


@pytest.mark.parametrize("kwargs", [{"beds": 0}, {"beds": 9}, {"beds": 2.5}, {"nurses": 0}, {"nurses": True},
                                    {"arrivals_per_day": -1.0}, {"arrivals_per_day": float("nan")}])
def test_bad_arguments_name_the_valid_range(kwargs) -> None:
    with pytest.raises(ValueError, match=r"Ward-v0: \w+ must be"):
        gym.make(ID, **kwargs)


def test_trained_with_ppo_only_on_sepsis_managements_hyperparameters() -> None:
    """Eight beds are 6.5e12 joint actions: no flattened DQN, no enumerating planner, a clear error instead."""
    from clinsim.training.hyperparameters import algorithms_for, hyperparameters
    from clinsim.training.planner import candidate_actions

    assert algorithms_for(ID) == ("ppo",) and "dqn" in algorithms_for("immunosim/CombinationTherapy-v1")
    assert hyperparameters(ID, "ppo") == hyperparameters("sepsisim/SepsisManagement-v1", "ppo")
    with pytest.raises(ValueError, match="valid: ppo"):
        hyperparameters(ID, "dqn")
    with pytest.raises(ValueError, match="too many to plan"):
        candidate_actions(gym.make(ID).action_space)
