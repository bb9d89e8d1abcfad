"""Safety-Gymnasium and MO-Gymnasium interfaces over any clinsim environment (docs/safety.md).

Every environment reports its per-step safety cost and the three parts of its reward in ``info``
(:mod:`clinsim.core.safety`). :class:`SafetyStep` returns the cost beside the reward, as Safety-Gymnasium's
``step`` does (``obs, reward, cost, terminated, truncated, info``: OmniSafe and other constrained-RL libraries
take it); :class:`MultiObjective` returns the vector reward (efficacy, safety, burden) with a ``reward_space``,
as MO-Gymnasium's environments do (``mo_gymnasium.wrappers.LinearReward`` scalarises it again).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from clinsim.core.safety import OBJECTIVES


class SafetyStep(gym.Wrapper):
    """``step`` returns ``(obs, reward, cost, terminated, truncated, info)`` with ``cost = info["cost"]``."""

    def step(self, action: Any):  # type: ignore[override]
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, float(info["cost"]), terminated, truncated, info


class MultiObjective(gym.Wrapper):
    """The reward as a vector (efficacy, safety, burden), summing to the scalar reward (MO-Gymnasium's API)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.reward_space = gym.spaces.Box(-np.inf, np.inf, (len(OBJECTIVES),), dtype=np.float32)
        self.reward_dim = len(OBJECTIVES)
        # MO-Gymnasium's own wrappers (LinearReward, MORecordEpisodeStatistics) read them on the unwrapped env
        env.unwrapped.reward_space, env.unwrapped.reward_dim = self.reward_space, self.reward_dim

    def step(self, action: Any):
        obs, _, terminated, truncated, info = self.env.step(action)
        vector = np.array([info[f"reward_{o}"] for o in OBJECTIVES], dtype=np.float32)
        return obs, vector, terminated, truncated, info
