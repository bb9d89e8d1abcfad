"""Planning reference: policy rollout on the simulator itself (Bertsekas' rollout algorithm).

At every decision the planner copies each patient's true state once per candidate action, applies the
candidate, follows a base policy (the clinical protocol) to the end of the episode, and takes the
candidate with the highest simulated return. With an exact model this is a policy-improvement step
over the base policy, so the gap to the protocol measures how much headroom the protocol leaves.
It is an oracle: it sees the patient's true parameters and the episode's pre-drawn random events.
"""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np

from clinsim.core.evaluation import Policy
from clinsim.core.state import State
from clinsim.core.task import Task

MAX_CANDIDATES = 4096  # actions a planning step may enumerate (Ward-v0's 8 beds have 6.5e12)


def candidate_actions(space: gym.Space, levels: int = 3) -> np.ndarray:
    """Every discrete action, or a grid of ``levels`` values per dimension of a Box."""
    if isinstance(space, gym.spaces.Discrete):
        return np.arange(space.start, space.start + space.n)
    if isinstance(space, gym.spaces.MultiDiscrete):
        if np.prod(space.nvec, dtype=float) > MAX_CANDIDATES:
            raise ValueError(f"{space} has {np.prod(space.nvec, dtype=float):.3g} actions, too many to plan over "
                             f"(at most {MAX_CANDIDATES})")
        return np.array(list(itertools.product(*[range(n) for n in space.nvec])))
    if isinstance(space, gym.spaces.Box):
        grids = [np.linspace(lo, hi, levels) for lo, hi in zip(space.low.ravel(), space.high.ravel(), strict=True)]
        return np.array(list(itertools.product(*grids))).reshape(-1, *space.shape)
    raise TypeError(f"no candidate actions for {space}")


class RolloutPlanner:
    """Batched rollout planner; call with ``(obs, state)`` (see :func:`evaluate_cohort`)."""

    uses_state = True

    def __init__(self, task: Task, base_policy: Policy, levels: int = 3) -> None:
        self.task = task
        self.base_policy = base_policy
        self.candidates = candidate_actions(task.action_space, levels)

    def __call__(self, obs: np.ndarray, state: State) -> np.ndarray:
        task, cands = self.task, self.candidates
        n, k = len(obs), len(cands)
        sims = state.take(np.repeat(np.arange(n), k))
        first = np.tile(cands, (n,) + (1,) * (cands.ndim - 1))
        value = np.zeros(n * k)
        alive = task.elapsed(sims) < task.horizon
        depth = 0
        while alive.any():
            idx = np.flatnonzero(alive)
            sub = sims.take(idx)
            action = first[idx] if depth == 0 else self.base_policy(task.observe(sub))
            sub, reward, terminated = task.step(sub, action)
            sims.put(idx, sub)
            value[idx] += reward
            alive[idx] = ~terminated & (task.elapsed(sub) < task.horizon)
            depth += 1
        return cands[value.reshape(n, k).argmax(axis=1)]
