"""Stable-Baselines3 agents behind one interface, and their deterministic batched policies."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from clinsim.core.evaluation import Policy


class FlattenMultiDiscrete(gym.ActionWrapper):
    """Expose a ``MultiDiscrete`` action space as ``Discrete(prod(nvec))`` (for DQN)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.nvec = np.asarray(env.action_space.nvec)
        self.action_space = gym.spaces.Discrete(int(np.prod(self.nvec)))

    def action(self, action: Any) -> np.ndarray:
        return np.array(np.unravel_index(int(action), self.nvec), dtype=np.int64)


def algorithm_class(algo: str):
    from stable_baselines3 import DQN, PPO, SAC

    return {"ppo": PPO, "dqn": DQN, "sac": SAC}[algo]


def env_wrappers(env_id: str, algo: str):
    """Wrapper applied to each training env (DQN needs a flat discrete space)."""
    space = gym.spec(env_id).make().action_space
    if algo == "dqn" and isinstance(space, gym.spaces.MultiDiscrete):
        return FlattenMultiDiscrete
    return None


def sb3_policy(model, vec_normalize=None, flat_nvec: np.ndarray | None = None) -> Policy:
    """Deterministic batched policy of a trained model (applying the saved observation normalisation)."""

    def act(obs: np.ndarray) -> np.ndarray:
        x = vec_normalize.normalize_obs(obs) if vec_normalize is not None else obs
        action, _ = model.predict(x, deterministic=True)
        if flat_nvec is not None:
            action = np.stack(np.unravel_index(action.astype(np.int64), flat_nvec), axis=1)
        return action

    return act
