"""Safety costs and separate objectives in every environment's info, and the Safety-/MO-Gymnasium wrappers."""

import gymnasium as gym
import numpy as np
import pytest

import clinsim
from clinsim.baselines import no_treatment
from clinsim.core.safety import OBJECTIVES
from clinsim.wrappers import MultiObjective, SafetyStep

DECLARED = [e for e in clinsim.FAMILY_IDS if e.startswith(("immunosim/", "sepsisim/"))]


@pytest.mark.parametrize("env_id", DECLARED)
def test_costs_and_objectives_follow_the_convention(env_id: str) -> None:
    """``cost`` is the sum of its named components, each a non-negative count; the objectives sum to the reward;
    harm shows up as cost under no treatment or under random treatment."""
    totals = {}
    for name, policy, seed in [(p, f, k) for p, f in (("none", no_treatment(env_id)), ("random", None))
                               for k in range(6)]:
        env = gym.make(env_id)
        env.reset(seed=seed)
        env.action_space.seed(seed)
        total, done = 0.0, False
        while not done:
            obs = env.unwrapped.task.observe(env.unwrapped._state)
            action = policy(obs)[0] if policy else env.action_space.sample()
            _, reward, terminated, truncated, info = env.step(action)
            parts = [v for k, v in info.items() if k.startswith("cost_")]
            assert parts and all(p >= 0 for p in parts) and info["cost"] == pytest.approx(sum(parts))
            assert reward == pytest.approx(sum(info[f"reward_{o}"] for o in OBJECTIVES), abs=1e-9)
            total += info["cost"]
            done = terminated or truncated
        totals[name] = totals.get(name, 0.0) + total
    assert max(totals.values()) > 0


def test_safety_and_multi_objective_wrappers() -> None:
    env_id = "immunosim/CombinationTherapy-v1"
    safe = SafetyStep(gym.make(env_id))
    safe.reset(seed=0)
    obs, reward, cost, terminated, truncated, info = safe.step(np.array([2, 2]))
    assert cost == info["cost"] and isinstance(reward, float)
    mo_env = MultiObjective(gym.make(env_id))
    mo_env.reset(seed=0)
    _, vector, *_ , info = mo_env.step(np.array([2, 2]))
    assert mo_env.reward_space.shape == (3,) and vector.shape == (3,)
    assert vector.sum() == pytest.approx(reward, rel=1e-6)
    mo_gym = pytest.importorskip("mo_gymnasium")
    scalar = mo_gym.wrappers.LinearReward(MultiObjective(gym.make(env_id)), weight=np.ones(3))
    scalar.reset(seed=0)
    assert scalar.step(np.array([2, 2]))[1] == pytest.approx(reward, rel=1e-6)


def test_lagrangian_training_follows_its_budget_and_resumes_with_its_multiplier(tmp_path, monkeypatch) -> None:
    """PPO-Lagrangian: the multiplier rises while the episode cost exceeds the budget, is checkpointed, and the
    evaluation reports the episode cost beside the (true) return."""
    from clinsim.training.evaluate import evaluate_policy
    from clinsim.training.runs import RunDir
    from clinsim.training.train import train, train_config, trained_policy

    env_id = "immunosim/CombinationTherapy-v1"
    config = train_config(env_id, "ppo", seed=0, total_timesteps=1024, checkpoint_every=512,
                          overrides={"n_steps": 256, "batch_size": 64}, constraint={"budget": 0.0,
                                                                                    "multiplier_lr": 0.5})
    train(tmp_path, config, progress=False)
    run = RunDir(tmp_path)
    first, last = run.read_checkpoint(512)[0]["multiplier"], run.read_checkpoint(1024)[0]["multiplier"]
    assert 0.0 < first <= last  # costs above a zero budget: the multiplier only grows
    result = evaluate_policy(env_id, trained_policy(tmp_path), episodes=4)
    assert len(result["metrics"]["episode_cost"]) == 4 and min(result["metrics"]["episode_cost"]) >= 0
    run.record_path(1024).unlink()
    from clinsim.training import lagrangian
    from clinsim.training import train as train_module

    started = []

    class Recorded(lagrangian.Multiplier):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            started.append(self.value)

    monkeypatch.setattr(train_module, "Multiplier", Recorded)
    train(tmp_path, config, progress=False)  # resumes from 512 with its multiplier
    assert started == [first] and run.read_checkpoint(1024)[0]["multiplier"] >= first
    with pytest.raises(FileNotFoundError, match="no checkpoint at 100 steps"):
        trained_policy(tmp_path, steps=100)
    assert len(evaluate_policy(env_id, trained_policy(tmp_path, steps=512), episodes=2)["returns"]) == 2


def test_native_vec_env_reports_costs_and_objectives_of_the_step_that_ends_an_episode() -> None:
    """Every sub-environment's info carries the step's cost and reward parts, the finished patient's (not the next
    one's) on the step that ends an episode, so the Lagrangian and the scalarisation see every episode whole:
    episode costs equal the single-patient evaluation's, and the wrapped rewards are the advertised ones."""
    from clinsim.core.evaluation import constant_policy, evaluate_cohort
    from clinsim.training.lagrangian import Multiplier, VecPenalisedReward
    from clinsim.training.vec import NativeVecEnv, VecLinearReward

    env_id, n, action = "immunosim/CombinationTherapy-v1", 6, np.array([2, 2])
    truth = evaluate_cohort(env_id, constant_policy(action), n, seed=0)
    native = NativeVecEnv(env_id, n)
    multiplier = Multiplier(budget=0.0, lr=1.0, value=2.0)
    venv = VecPenalisedReward(VecLinearReward(native, [1.0, 0.0, 0.0]), multiplier)
    venv.seed(0)
    venv.reset()
    costs, efficacy, first_done = np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
    while not first_done.all():
        native.step_async(np.repeat(action[None], n, axis=0))
        _, reward, dones, infos = native.step_wait()
        parts = np.array([[info[f"reward_{o}"] for o in OBJECTIVES] for info in infos])
        np.testing.assert_allclose(parts.sum(axis=1), reward, rtol=1e-5, atol=1e-4)
        live = ~first_done
        costs[live] += np.array([info["cost"] for info in infos])[live]
        efficacy[live] += parts[live, 0]
        first_done |= dones
    np.testing.assert_allclose(costs, truth.final_info["episode_cost"])
    np.testing.assert_allclose(efficacy, truth.final_info["episode_reward_efficacy"], rtol=1e-6)
    venv.seed(0)  # the wrapped stack, same patients: efficacy only, minus 2 per unit of cost
    venv.reset()
    recorded, first_done[:] = np.full(n, np.nan), False
    while not first_done.all():
        venv.step_async(np.repeat(action[None], n, axis=0))
        seen = len(multiplier.episode_costs)
        _, reward, dones, infos = venv.step_wait()
        expected = [info["reward_efficacy"] - 2.0 * info["cost"] for info in infos]
        np.testing.assert_allclose(reward, expected, rtol=1e-5, atol=1e-4)
        finished = np.flatnonzero(dones)  # their episode costs, in index order
        assert len(multiplier.episode_costs) == seen + len(finished)
        for i, cost in zip(finished, multiplier.episode_costs[seen:], strict=True):
            recorded[i] = cost if not first_done[i] else recorded[i]
        first_done |= dones
    np.testing.assert_allclose(recorded, truth.final_info["episode_cost"])
    with pytest.raises(ValueError, match="one number per objective"):
        VecLinearReward(native, [1.0, 0.0])


def test_evaluation_reports_the_vector_return() -> None:
    from clinsim.baselines import baselines
    from clinsim.training.evaluate import evaluate_policy

    env_id = "immunosim/CombinationTherapy-v1"
    result = evaluate_policy(env_id, baselines(env_id)["protocol"], episodes=5, objectives=True)
    vector = np.array([result["metrics"][f"return_{o}"] for o in OBJECTIVES])
    np.testing.assert_allclose(vector.sum(axis=0), result["returns"], atol=1e-9)
    assert (vector[1] <= 0).all() and (vector[2] <= 0).all()  # penalties and drug costs
    assert "return_safety" not in evaluate_policy(env_id, baselines(env_id)["protocol"], episodes=2)["metrics"]


@pytest.mark.parametrize("n_envs", [1, 8])
def test_training_on_weighted_objectives_and_under_a_budget_from_any_number_of_envs(tmp_path, n_envs: int) -> None:
    """Reward weights (MO-Gymnasium's LinearReward on one env, VecLinearReward on the native batch) and the
    Lagrangian train from one env and from the native vector env; bad weights are refused by name."""
    pytest.importorskip("mo_gymnasium")
    from clinsim.training.runs import RunDir
    from clinsim.training.train import train, train_config

    env_id = "immunosim/CombinationTherapy-v1"
    config = train_config(env_id, "ppo", seed=0, total_timesteps=512, checkpoint_every=256, n_envs=n_envs,
                          overrides={"n_steps": 256, "batch_size": 64},
                          constraint={"budget": 0.0, "multiplier_lr": 0.5}, reward_weights=[1.0, 3.0, 1.0])
    assert config["reward_weights"] == [1.0, 3.0, 1.0]
    train(tmp_path, config, progress=False)
    assert RunDir(tmp_path).read_checkpoint(512)[0]["multiplier"] > 0
    for bad in ([1.0, 1.0], [0.0, 0.0, 0.0]):
        with pytest.raises(ValueError, match="reward_weights must be 3 numbers"):
            train_config(env_id, "ppo", seed=0, reward_weights=bad)


def test_non_dominated_marks_the_empirical_pareto_front() -> None:
    from clinsim.training.stats import non_dominated

    points = np.array([[1.0, 1.0, 0.0], [2.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    # (0.5, 0.5, 0) is dominated by (1, 1, 0); equal points do not dominate each other
    assert non_dominated(points).tolist() == [True, True, False, True, True]
    with pytest.raises(ValueError, match="policies, objectives"):
        non_dominated(np.zeros(3))
