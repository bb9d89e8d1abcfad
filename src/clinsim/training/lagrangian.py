"""A Lagrangian constraint on the episode cost for any Stable-Baselines3 agent (PPO-Lagrangian when PPO).

The constrained problem: maximise the expected return subject to E[episode cost] <= ``budget`` (cost:
``info["cost"]``, :mod:`clinsim.core.safety`). The agent learns from the penalised reward ``r - lambda * cost``
while the multiplier follows dual gradient ascent after every rollout,
``lambda <- max(0, lambda + lr * (mean episode cost of the rollout - budget))`` (Ray, Achiam & Amodei 2019,
"Benchmarking Safe Exploration in Deep RL", the PPO-Lagrangian baseline of Safety Gym). OmniSafe, the maintained
library for it, does not install here (its build fails on this Python), so this is the few lines it needs on top
of Stable-Baselines3. Monitors, evaluations and results keep the true reward; the multiplier is saved in every
checkpoint so that a resumed run continues with it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn


class Multiplier:
    """The Lagrange multiplier and the costs of the episodes finished since its last update."""

    def __init__(self, budget: float, lr: float, value: float = 0.0) -> None:
        if budget < 0 or lr <= 0 or value < 0:
            raise ValueError(f"budget >= 0, lr > 0 and multiplier >= 0 needed, got {budget}, {lr}, {value}")
        self.budget, self.lr, self.value = budget, lr, value
        self.episode_costs: list[float] = []

    def update(self) -> None:
        """One dual ascent step on the episodes finished since the last one (none: no change)."""
        if self.episode_costs:
            mean = sum(self.episode_costs) / len(self.episode_costs)
            self.value = max(0.0, self.value + self.lr * (mean - self.budget))
            self.episode_costs.clear()


class PenalisedReward(gym.Wrapper):
    """The reward minus ``multiplier * info["cost"]``; finished episodes' costs go to the multiplier."""

    def __init__(self, env: gym.Env, multiplier: Multiplier) -> None:
        super().__init__(env)
        self.multiplier = multiplier
        self._episode_cost = 0.0

    def reset(self, **kwargs: Any):
        self._episode_cost = 0.0
        return self.env.reset(**kwargs)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        cost = float(info["cost"])
        self._episode_cost += cost
        if terminated or truncated:
            self.multiplier.episode_costs.append(self._episode_cost)
        return obs, reward - self.multiplier.value * cost, terminated, truncated, info


class VecPenalisedReward(VecEnvWrapper):
    """:class:`PenalisedReward` for a batch of patients (the native vector env, whose infos carry the cost)."""

    def __init__(self, venv: VecEnv, multiplier: Multiplier) -> None:
        super().__init__(venv)
        self.multiplier = multiplier
        self._episode_costs = np.zeros(venv.num_envs)

    def reset(self):
        self._episode_costs[:] = 0.0
        return self.venv.reset()

    def step_wait(self) -> VecEnvStepReturn:
        obs, reward, dones, infos = self.venv.step_wait()
        costs = np.array([info["cost"] for info in infos])
        self._episode_costs += costs
        self.multiplier.episode_costs.extend(self._episode_costs[dones].tolist())
        self._episode_costs[dones] = 0.0
        return obs, (reward - self.multiplier.value * costs).astype(np.float32), dones, infos


def dual_ascent_callback(multiplier: Multiplier):
    """An SB3 callback that updates the multiplier at the end of every rollout (and logs it)."""
    from stable_baselines3.common.callbacks import BaseCallback

    class DualAscent(BaseCallback):
        def _on_rollout_end(self) -> None:
            multiplier.update()
            self.logger.record("constraint/multiplier", multiplier.value)

        def _on_step(self) -> bool:
            return True

    return DualAscent()
