"""The registry: each disease package declares its environments as :class:`EnvSpec` entries, and everything
that sweeps environments (the CLI's choices, ``clinsim benchmark``, evaluation, training, the registry-wide
tests) reads them from :data:`clinsim.SPECS`.

An :class:`EnvSpec` carries what a registered ID needs beyond Gymnasium's registration: the clinical
protocol, the training hyperparameters, the evaluation episode count and tags. Gymnasium's own spec
(entry point, native vector entry point, ``max_episode_steps`` = the task's horizon) is made from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from clinsim.core.env import TaskEnv, TaskVectorEnv

PAPER, TIER = "paper", "tier"  # tags: one of the papers' IDs (benchmarked, reproduced); a difficulty tier


@dataclass(frozen=True)
class EnvSpec:
    """One registered environment.

    ``protocol``: the clinical-protocol policy (batched observations -> actions); ``ppo``: PPO
    hyperparameters with ``total_timesteps`` (the papers' Table 2 for their IDs); ``episodes``: evaluation
    episodes (one patient each); ``tags``: :data:`PAPER`, :data:`TIER`, ...; ``id``: default the task's
    ``env_id``; ``kwargs``: fixed constructor arguments (e.g. a tier).
    """

    env: type[TaskEnv]
    vector: type[TaskVectorEnv]
    protocol: Callable[[np.ndarray], np.ndarray]
    ppo: Mapping[str, Any]
    episodes: int
    tags: frozenset[str] = frozenset()
    id: str = ""
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", self.env.task_class.env_id)
        if "total_timesteps" not in self.ppo:
            raise ValueError(f"{self.id}: ppo hyperparameters need total_timesteps")
        if self.episodes < 2:
            raise ValueError(f"{self.id}: evaluation needs >= 2 episodes, got {self.episodes}")

    @property
    def family(self) -> str:
        """The task's own ID (tier variants share their family's)."""
        return self.env.task_class.env_id

    @property
    def horizon(self) -> int:
        return self.env.task_class.horizon

    def register(self) -> None:
        """Register with Gymnasium (the task horizon as ``max_episode_steps``; see :class:`TaskEnv` for
        longer limits)."""
        if self.id not in gym.registry:
            gym.register(id=self.id, entry_point=f"{self.env.__module__}:{self.env.__name__}",
                         vector_entry_point=f"{self.vector.__module__}:{self.vector.__name__}",
                         max_episode_steps=self.horizon, kwargs=dict(self.kwargs))
