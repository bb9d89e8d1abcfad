"""Registering task environments with Gymnasium (entry point, native vector entry point, time limit)."""

from __future__ import annotations

import gymnasium as gym

from clinsim.core.env import TaskEnv, TaskVectorEnv


def register_task_env(env_class: type[TaskEnv], vector_class: type[TaskVectorEnv], **kwargs) -> str:
    """Register ``env_class`` under its task's ID with the task horizon as ``max_episode_steps``."""
    task = env_class.task_class
    env_id = kwargs.pop("id", task.env_id)
    if env_id not in gym.registry:
        gym.register(
            id=env_id,
            entry_point=f"{env_class.__module__}:{env_class.__name__}",
            vector_entry_point=f"{vector_class.__module__}:{vector_class.__name__}",
            max_episode_steps=task.horizon,
            **kwargs,
        )
    return env_id
