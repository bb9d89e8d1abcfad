"""The single configuration source for agent hyperparameters.

PPO values are the papers' Table 2 (ImmunoSim: steps, learning rate, n_steps, batch, gamma; SepsiSim
adds the entropy coefficient). Environments registered per difficulty tier share their family's row.
DQN (discrete actions) and SAC (continuous actions) are the extra algorithms the papers list as missing;
their settings are Stable-Baselines3 / RL-Zoo defaults scaled to these short-horizon tasks.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

PAPER_PPO: dict[str, dict[str, Any]] = {
    # ImmunoSim Table 2
    "immunosim/CheckpointInhibitor-v0": dict(total_timesteps=200_000, learning_rate=3e-4, n_steps=2048,
                                             batch_size=64, gamma=0.99),
    "immunosim/CombinationTherapy-v0": dict(total_timesteps=500_000, learning_rate=1e-4, n_steps=2048,
                                            batch_size=128, gamma=0.995),
    "immunosim/CARTCell-v0": dict(total_timesteps=300_000, learning_rate=3e-4, n_steps=2048, batch_size=64,
                                  gamma=0.99),
    "immunosim/AdaptiveDosing-v0": dict(total_timesteps=500_000, learning_rate=1e-4, n_steps=4096,
                                        batch_size=128, gamma=0.998),
    # SepsiSim Table 2
    "sepsisim/FluidResuscitation-v0": dict(total_timesteps=200_000, learning_rate=3e-4, n_steps=2048,
                                           batch_size=64, gamma=0.99, ent_coef=0.01),
    "sepsisim/VasopressorTitration-v0": dict(total_timesteps=300_000, learning_rate=1e-4, n_steps=2048,
                                             batch_size=64, gamma=0.99, ent_coef=0.005),
    "sepsisim/SepsisManagement-v0": dict(total_timesteps=500_000, learning_rate=1e-4, n_steps=2048,
                                         batch_size=128, gamma=0.995, ent_coef=0.01),
}

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


def family(env_id: str) -> str:
    """The paper ID an environment belongs to (tier variants map to their base ID)."""
    spec = gym.spec(env_id)
    return spec.make().unwrapped.task.env_id if spec.entry_point else env_id


def algorithms_for(env_id: str) -> tuple[str, ...]:
    """Algorithms that support the environment's action space."""
    space = gym.spec(env_id).make().action_space
    return ("ppo", "sac") if isinstance(space, gym.spaces.Box) else ("ppo", "dqn")


def hyperparameters(env_id: str, algo: str) -> dict[str, Any]:
    """Hyperparameters of ``algo`` on ``env_id`` (a copy; ``total_timesteps`` included)."""
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; valid: {', '.join(ALGORITHMS)}")
    if algo not in algorithms_for(env_id):
        raise ValueError(f"{algo} does not support the action space of {env_id}; valid: "
                         f"{', '.join(algorithms_for(env_id))}")
    base = family(env_id)
    if base not in PAPER_PPO:
        raise KeyError(f"no hyperparameters for {env_id!r} ({base}); known: {', '.join(PAPER_PPO)}")
    ppo = dict(PAPER_PPO[base])
    if algo == "ppo":
        return ppo
    common = {"total_timesteps": ppo["total_timesteps"], "gamma": ppo["gamma"]}
    return {**common, **(DQN_DEFAULTS if algo == "dqn" else SAC_DEFAULTS)}
