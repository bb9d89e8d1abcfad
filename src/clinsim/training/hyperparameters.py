"""The single configuration source for agent hyperparameters.

PPO values come from each environment's registry entry (``clinsim.SPECS``: the papers' Table 2 for their
IDs; ImmunoSim: steps, learning rate, n_steps, batch, gamma; SepsiSim adds the entropy coefficient).
DQN (discrete actions) and SAC (continuous actions) are the extra algorithms the papers list as missing;
their settings are Stable-Baselines3 / RL-Zoo defaults scaled to these short-horizon tasks.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

import clinsim


def paper_ppo() -> dict[str, dict[str, Any]]:
    """PPO hyperparameters of every family ID, from the registry (the papers' Table 2 for their IDs)."""
    return {k: dict(clinsim.SPECS[k].ppo) for k in clinsim.FAMILY_IDS}


# Observation/reward normalisation (VecNormalize) per algorithm: standard for PPO; off-policy agents
# learn from raw (already normalised) observations and rewards.
VEC_NORMALIZE: dict[str, dict[str, Any] | None] = {
    "ppo": dict(norm_obs=True, norm_reward=True, clip_obs=10.0, gamma_from_agent=True),
    "dqn": None,
    "sac": None,
}

DQN_DEFAULTS: dict[str, Any] = dict(learning_rate=1e-4, buffer_size=100_000, learning_starts=1_000, batch_size=64,
                                    train_freq=4, target_update_interval=1_000, exploration_fraction=0.2,
                                    exploration_final_eps=0.05)
SAC_DEFAULTS: dict[str, Any] = dict(learning_rate=3e-4, buffer_size=100_000, learning_starts=1_000, batch_size=256)

ALGORITHMS = ("ppo", "dqn", "sac")


# DQN takes a MultiDiscrete space flattened to one Discrete (clinsim.training.agents): only while its Q-network's
# output layer stays small (CombinationTherapy: 9 actions; Ward-v0's 8 beds: 6.5e12, PPO only)
MAX_FLAT_DISCRETE_ACTIONS = 4096


def algorithms_for(env_id: str) -> tuple[str, ...]:
    """Algorithms that support the environment's action space."""
    space = gym.spec(env_id).make().action_space
    if isinstance(space, gym.spaces.Box):
        return ("ppo", "sac")
    if isinstance(space, gym.spaces.MultiDiscrete) and np.prod(space.nvec, dtype=float) > MAX_FLAT_DISCRETE_ACTIONS:
        return ("ppo",)
    return ("ppo", "dqn")


def hyperparameters(env_id: str, algo: str) -> dict[str, Any]:
    """Hyperparameters of ``algo`` on ``env_id`` (a copy; ``total_timesteps`` included)."""
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; valid: {', '.join(ALGORITHMS)}")
    if algo not in algorithms_for(env_id):
        raise ValueError(f"{algo} does not support the action space of {env_id}; valid: "
                         f"{', '.join(algorithms_for(env_id))}")
    ppo = dict(clinsim.spec(env_id).ppo)
    if algo == "ppo":
        return ppo
    common = {"total_timesteps": ppo["total_timesteps"], "gamma": ppo["gamma"]}
    return {**common, **(DQN_DEFAULTS if algo == "dqn" else SAC_DEFAULTS)}
