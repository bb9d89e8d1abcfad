"""The clinical observation mode (``observation="clinical"``, clinsim.core.measurement) of every registered ID:
Gymnasium conformance, single == vector env, lab and scan schedules with turnaround, no hidden state, protocols."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import clinsim
from clinsim.baselines import HEURISTICS
from clinsim.core.evaluation import evaluate_cohort
from clinsim.core.measurement import observation_modes
from clinsim.sepsisim import heuristics as sepsis_protocols
from clinsim.sepsisim import models as sepsis_models
from clinsim.sepsisim.environments import LACTATE_EVERY_H, LACTATE_EVERY_IF_RAISED_H, SepsisManagementTask

FAMILIES = sorted({spec.family for spec in clinsim.SPECS.values()
                   if "clinical" in observation_modes(spec.env.task_class)})
# model-state quantities no clinician measures: never a column of the clinical observation
HIDDEN = {"pathogen", "damage", "volume", "sofa", "effector", "memory", "tumour", "nivolumab", "ipilimumab"}


def _clinical(env_id: str, **kwargs):
    return gym.make(env_id, observation="clinical", **kwargs)


def test_every_shipped_environment_offers_the_clinical_mode():
    shipped = [s for s in clinsim.SPECS.values() if s.family.startswith(("immunosim/", "sepsisim/"))]
    assert len(shipped) == 17
    assert all(observation_modes(s.env.task_class) == ("state", "clinical") for s in shipped)


def test_clinical_mode_passes_check_env(env_id):
    task_class = gym.spec(env_id).make().unwrapped.task_class
    if "clinical" not in observation_modes(task_class):  # the test disease offers the state only
        with pytest.raises(ValueError, match="unknown observation mode 'clinical'; valid: state$"):
            _clinical(env_id)
        return
    env = _clinical(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    names = {re.sub(r"^bed\d+_", "", name) for name in env.unwrapped.task.observation_table.names}  # the ward's beds
    assert not HIDDEN & names, names


def test_default_is_the_state_observation():
    default, state = gym.make("sepsisim/SepsisManagement-v1"), gym.make("sepsisim/SepsisManagement-v1",
                                                                         observation="state")
    assert default.observation_space == state.observation_space
    np.testing.assert_array_equal(default.reset(seed=3)[0], state.reset(seed=3)[0])
    assert "damage" in default.unwrapped.task.observation_table.names


@pytest.mark.parametrize("mode", ["bedside", "", None, "Clinical"])
def test_unknown_mode_names_the_valid_ones(mode):
    with pytest.raises(ValueError, match="valid: state, clinical"):
        gym.make("immunosim/CARTCell-v1", observation=mode)
    with pytest.raises(ValueError, match="valid: state, clinical"):
        gym.make_vec("immunosim/CARTCell-v1", num_envs=2, vectorization_mode="vector_entry_point", observation=mode)


@pytest.mark.parametrize("env_id", FAMILIES)
def test_vector_env_equals_single_envs(env_id):
    n, seed = 3, 11
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", observation="clinical")
    singles = [_clinical(env_id) for _ in range(n)]
    obs, _ = vec.reset(seed=seed)
    np.testing.assert_array_equal(obs, np.stack([s.reset(seed=seed + i)[0] for i, s in enumerate(singles)]))
    vec.single_action_space.seed(1)
    done = [False] * n
    for _ in range(vec.unwrapped.task.horizon + 2):  # through an autoreset
        actions = np.stack([vec.single_action_space.sample() for _ in range(n)])
        obs, reward, *_ = vec.step(actions)
        for i, single in enumerate(singles):
            if done[i]:
                expected, r = single.reset()[0], 0.0
                done[i] = False
            else:
                expected, r, terminated, truncated, _ = single.step(actions[i])
                done[i] = terminated or truncated
            np.testing.assert_array_equal(obs[i], expected)
            assert reward[i] == r


def test_clinical_mode_same_seed_same_course_other_seed_other_patient(env_id):
    """Seeded determinism in the clinical mode (patient, measurement noise and schedule from the reset seed), and
    another seed gives another course."""
    if "clinical" not in observation_modes(gym.spec(env_id).make().unwrapped.task_class):
        return  # the test disease offers the state only (test_clinical_mode_passes_check_env)

    def course(seed: int) -> list[np.ndarray]:
        env = _clinical(env_id)
        env.action_space.seed(0)
        seen = [env.reset(seed=seed)[0]]
        for _ in range(6):
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            seen.append(obs)
            if terminated or truncated:
                break
        return seen

    first, again, other = course(3), course(3), course(4)
    assert len(first) == len(again) and all(np.array_equal(x, y) for x, y in zip(first, again, strict=True))
    assert any(not np.array_equal(x, y) for x, y in zip(first, other, strict=False))


def test_threaded_vector_env_equals_single_envs():
    """From 64 patients the engine integrates the batch between the phases of the step: the measurements follow."""
    n, env_id = 64, "sepsisim/SepsisManagement-v1"
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", observation="clinical")
    singles = [_clinical(env_id) for _ in range(n)]
    obs, _ = vec.reset(seed=0)
    [s.reset(seed=i) for i, s in enumerate(singles)]
    rng = np.random.default_rng(0)
    for _ in range(8):
        actions = np.stack([vec.single_action_space.sample() for _ in range(n)]).astype(np.float32)
        actions[:, 0] = rng.uniform(0, 1000, n)
        obs, *_ = vec.step(actions)
        np.testing.assert_array_equal(obs, np.stack([s.step(a)[0] for s, a in zip(singles, actions, strict=True)]))


def _course(env_id: str, action, steps: int, seed: int = 0):
    """The decoded clinical observations and the infos of one patient's course under a fixed action."""
    env = _clinical(env_id)
    table = env.unwrapped.task.observation_table
    obs, info = env.reset(seed=seed)
    observed, infos = [obs], [info]
    for _ in range(steps):
        obs, _, terminated, truncated, info = env.step(action)
        observed.append(obs)
        infos.append(info)
        if terminated or truncated:
            break
    observed = np.array(observed)
    return {name: table.decode(observed, name) for name in table.names}, infos


@pytest.mark.parametrize("seed", [0, 7])
def test_lactate_on_its_schedule_after_its_turnaround(seed):
    view, infos = _course("sepsisim/VasopressorTitration-v1", np.array([0.02], dtype=np.float32), 40, seed)
    hours = np.arange(len(infos))
    measured = view["lactate_measured"].round().astype(bool)
    # the presentation sample comes back at the next decision: nothing is known at hour 0
    assert not measured[0] and measured[1:].all()
    sampled_at = np.rint(hours - view["lactate_age"]).astype(int)[1:]
    assert (view["lactate_age"][1:] >= 1 - 1e-6).all()  # a result is never shown before its turnaround
    samples = np.unique(sampled_at)
    assert samples[0] == 0
    true = np.array([info["lactate_mmol_per_l"] for info in infos])
    for earlier, later in zip(samples, samples[1:], strict=False):
        shown = view["lactate"][earlier + 1]  # the result of the sample at ``earlier``
        assert abs(shown - true[earlier]) < 5 * 0.2 + 1e-3  # the analyser's noise around the value when drawn
        interval = LACTATE_EVERY_IF_RAISED_H if shown >= 2.0 else LACTATE_EVERY_H
        assert later - earlier == interval
        # between results the last one is held, ageing by an hour per decision
        held = slice(earlier + 1, later + 1)
        assert np.ptp(view["lactate"][held]) == 0
        np.testing.assert_allclose(np.diff(view["lactate_age"][held]), 1.0, atol=1e-4)
    # MAP is charted every hour (age 0); urine from hour 1
    np.testing.assert_allclose(view["map_age"], 0.0, atol=1e-6)
    assert view["urine_measured"][0] == 0 and (view["urine_measured"][1:] == 1).all()


def test_scans_at_the_trial_schedule():
    view, infos = _course("immunosim/CheckpointInhibitor-v1", 2, 26, seed=4)
    weeks = np.arange(len(view["scan"]))
    sampled_at = np.rint(weeks - view["scan_age"]).astype(int)
    expected = np.select([weeks >= 24, weeks >= 18, weeks >= 12], [24, 18, 12], 0)
    np.testing.assert_array_equal(sampled_at, expected[:len(weeks)])
    for week in np.unique(sampled_at):
        info = infos[week]
        ratio = view["scan"][week] / 102.0
        true = np.cbrt(info["tumour_cells"] / info["baseline_tumour_cells"])
        assert abs(np.log(ratio / true)) < 5 * 0.07  # reader noise around the lesions on the day of the scan


def test_hidden_state_does_not_reach_the_clinical_observation():
    """Changing the model state (pathogen, damage, volume, ...) after the measurements leaves the observation as
    it is; the state observation changes."""
    for mode, changes in (("clinical", False), ("state", True)):
        env = gym.make("sepsisim/SepsisManagement-v1", observation=mode)
        env.reset(seed=2)
        for _ in range(5):
            env.step(np.array([250.0, 0.02, 1.0], dtype=np.float32))
        task, state = env.unwrapped.task, env.unwrapped.state
        before = task.observe(state)
        for column in (sepsis_models.PATHOGEN, sepsis_models.DAMAGE, sepsis_models.VOLUME_L):
            state.clinical["y"][:, column] *= 1.7
        assert (not np.array_equal(before, task.observe(state))) == changes, mode


@pytest.mark.parametrize("env_id", FAMILIES)
def test_model_state_is_not_observed(env_id):
    env = _clinical(env_id)
    env.reset(seed=1)
    env.step(env.action_space.sample())
    task, state = env.unwrapped.task, env.unwrapped.state
    before = task.observe(state)
    state.clinical["y"] *= 1.3
    if "beds" in state.clinical.dtype.names:  # the ward: every bed's model state
        state.clinical["beds"]["y"] *= 1.3
    np.testing.assert_array_equal(before, task.observe(state))


def test_measurement_noise_comes_from_the_reset_seed():
    a, b = (_clinical("sepsisim/SepsisManagement-v1") for _ in range(2))
    np.testing.assert_array_equal(a.reset(seed=5)[0], b.reset(seed=5)[0])
    noise = a.unwrapped.state.patient["m_z"]
    b.reset(seed=6)
    assert not np.array_equal(noise, b.unwrapped.state.patient["m_z"])


@pytest.mark.parametrize("env_id", FAMILIES)
def test_protocols_run_on_clinical_observations(env_id):
    result = evaluate_cohort(env_id, HEURISTICS[env_id], 4, seed=0, observation="clinical")
    assert np.isfinite(result.returns).all() and (result.lengths > 0).all()


def test_protocol_sees_the_last_lactate_result_not_the_true_lactate():
    table = SepsisManagementTask.clinical.observation_table
    obs = np.zeros((2, len(table)), dtype=np.float32)
    obs[:, table.index("map")] = 75.0 / 100.0
    obs[:, table.index("time")] = 1.0 / 72.0
    obs[1, table.index("lactate")] = 5.0 / 10.0  # a result of 5 mmol/L is back for the second patient
    obs[1, table.index("lactate_measured")] = 1.0
    fluid = sepsis_protocols.ssc_sepsis_management(obs)[:, 0]
    np.testing.assert_array_equal(fluid, [0.0, 750.0])  # no result yet: normotension alone, no bolus


def test_docs_tables_are_the_declared_schedules():
    """docs/observations.md shows each disease's schedule table as the code declares it."""
    from pathlib import Path

    from clinsim.core.measurement import markdown_table

    doc = (Path(__file__).parents[1] / "docs" / "observations.md").read_text()
    for family in FAMILIES:
        assert markdown_table(clinsim.spec(family).env.task_class) in doc, family


def test_measured_rows_reject_impossible_schedules():
    from clinsim.core.measurement import Measured
    from clinsim.core.views import Observation

    row = Observation("lactate", "lactate", "mmol/L", 10.0)
    with pytest.raises(ValueError, match="at least the delay"):
        Measured(row, "test", every=1, delay=2)  # a second sample while the first is in the laboratory
    with pytest.raises(ValueError, match="no schedule"):
        Measured(row, "test", every=4, reported=True)
    with pytest.raises(ValueError, match="increasing"):
        Measured(row, "test", at=(3, 1))
    assert Measured(row, "test", at=(0,), delay=1, every=2).masked
    assert not Measured(row, "test", every=2).masked


def test_reported_scans_carry_their_age():
    """AdaptiveDosing's scans come on the protocol's own schedule (baseline, visit 4, then every 4 visits)."""
    view, _ = _course("immunosim/AdaptiveDosing-v1", 0, 12, seed=3)
    visits = np.arange(len(view["scan"]))
    sampled_at = np.rint(visits - view["scan_age"]).astype(int)
    assert (view["scan_measured"] == 1).all()
    assert sampled_at[0] == 0 and sampled_at[4] == 4 and sampled_at[3] == 0
    assert set(sampled_at) <= {0, 4, 6, 8, 10, 12}
