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
    with pytest.raises(ValueError, match="one environment"):
        train_config(env_id, "ppo", seed=0, n_envs=8, constraint={"budget": 1.0, "multiplier_lr": 0.1})
