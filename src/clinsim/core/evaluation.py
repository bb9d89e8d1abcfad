"""Cohort evaluation: run a batched policy over one episode per patient and collect outcomes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from clinsim.core.safety import OBJECTIVES

Policy = Callable[[np.ndarray], np.ndarray]


@dataclass
class CohortResult:
    """Per-patient episode return, length and final clinical info."""

    returns: np.ndarray
    lengths: np.ndarray
    final_info: dict[str, np.ndarray]

    def rate(self, key: str, value) -> float:
        """Fraction of patients whose final ``info[key] == value``."""
        return float(np.mean(self.final_info[key] == value))


def evaluate_cohort(env_id: str, policy: Policy, n_patients: int, seed: int = 0, **env_kwargs) -> CohortResult:
    """One episode for each of ``n_patients`` (patient i = ``reset(seed=seed + i)`` of a single env)."""
    env = gym.make_vec(env_id, num_envs=n_patients, vectorization_mode="vector_entry_point", **env_kwargs)
    obs, info = env.reset(seed=seed)
    returns = np.zeros(n_patients)
    costs = np.zeros(n_patients)
    objectives = {o: np.zeros(n_patients) for o in OBJECTIVES if f"reward_{o}" in info}
    lengths = np.zeros(n_patients, dtype=np.int64)
    done = np.zeros(n_patients, dtype=bool)
    # strings as objects: a fixed-width copy of the reset's strings could truncate later values
    final: dict[str, np.ndarray] = {k: v.astype(object) if v.dtype.kind == "U" else v.copy()
                                    for k, v in info.items() if not k.startswith("_")}
    uses_state = getattr(policy, "uses_state", False)
    while not done.all():
        # the policy acts for patients still in their first episode; finished ones repeat an action
        live_idx = np.flatnonzero(~done)
        live_obs = obs[live_idx]
        live_actions = policy(live_obs, env.unwrapped.state.take(live_idx)) if uses_state else policy(live_obs)
        actions = np.repeat(np.asarray(live_actions)[:1], n_patients, axis=0)
        actions[live_idx] = live_actions
        obs, reward, terminated, truncated, info = env.step(actions)
        live = ~done
        returns[live] += reward[live]
        lengths[live] += 1
        if "cost" in info:  # the safety cost (clinsim.core.safety), summed over the episode
            costs[live] += info["cost"][live]
        for o, total in objectives.items():  # the reward's parts (efficacy, safety, burden) over the episode
            total[live] += info[f"reward_{o}"][live]
        ended = live & (terminated | truncated)
        for k in final:
            final[k][live] = info[k][live]
        done |= ended
    env.close()
    if "cost" in final:
        final["episode_cost"] = costs
    final.update({f"episode_reward_{o}": total for o, total in objectives.items()})
    return CohortResult(returns, lengths, final)


def random_policy(action_space: gym.Space, seed: int = 0) -> Policy:
    """Uniform random actions from a seeded copy of the (single) action space."""
    space = copy.deepcopy(action_space)
    space.seed(seed)

    def act(obs: np.ndarray) -> np.ndarray:
        return np.stack([space.sample() for _ in range(len(obs))])

    return act


def constant_policy(action) -> Policy:
    """The same action for every patient at every step."""
    a = np.asarray(action)

    def act(obs: np.ndarray) -> np.ndarray:
        return np.broadcast_to(a, (len(obs), *a.shape)).copy()

    return act
