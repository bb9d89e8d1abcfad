"""Baseline policies of every registered environment: random, no treatment, clinical protocol."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import clinsim
from clinsim.core.evaluation import Policy, constant_policy, random_policy

# the clinical protocol of every registered ID (from the registry)
HEURISTICS: dict[str, Policy] = {k: s.protocol for k, s in clinsim.SPECS.items()}


def no_treatment(env_id: str) -> Policy:
    """The action that gives nothing (zero dose / zero change / treatment holiday)."""
    env = gym.spec(env_id).make()
    space = env.action_space
    return constant_policy(np.broadcast_to(np.asarray(env.unwrapped.task.no_treatment_action, dtype=space.dtype),
                                           space.shape))


def baselines(env_id: str, seed: int = 0) -> dict[str, Policy]:
    """``random``, ``none`` and ``protocol`` policies for ``env_id``."""
    if env_id not in HEURISTICS:
        raise KeyError(f"no clinical protocol for {env_id!r}; known: {', '.join(sorted(HEURISTICS))}")
    space = gym.spec(env_id).make().action_space
    return {"random": random_policy(space, seed), "none": no_treatment(env_id), "protocol": HEURISTICS[env_id]}
