"""Stable-Baselines3 ``VecEnv`` over clinsim's native Gymnasium vector env.

SB3's own vector envs step one Python environment per sub-environment; this adapter hands the whole batch to
the native vector env (one compiled program for every patient) in Gymnasium's same-step autoreset mode, which
is SB3's convention: the step that ends an episode returns the next patient's first observation and the
finished patient's last one as ``info["terminal_observation"]``. Sub-environment ``i`` of ``seed`` gets the
patients a single env seeded ``seed + i`` gets, as with ``make_vec_env``. Each step's safety cost and reward parts
(:mod:`clinsim.core.safety`) go into every sub-environment's info, where :class:`VecLinearReward` and the
Lagrangian (:mod:`clinsim.training.lagrangian`) read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn, VecEnvWrapper

from clinsim.core.safety import OBJECTIVES

SAFETY_KEYS = ("cost", *(f"reward_{o}" for o in OBJECTIVES))


class NativeVecEnv(VecEnv):
    """``n_envs`` patients of ``env_id`` (made with ``env_kwargs``, e.g. ``observation="clinical"``) stepped as one
    batch."""

    def __init__(self, env_id: str, n_envs: int, **env_kwargs: Any) -> None:
        self.env_id = env_id
        self.venv = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point",
                                 autoreset_mode="SameStep", **env_kwargs)
        super().__init__(n_envs, self.venv.single_observation_space, self.venv.single_action_space)
        self._actions: np.ndarray | None = None

    def reset(self):
        seeds = [None if s is None else int(s) for s in self._seeds]
        obs, _ = self.venv.reset(seed=seeds if any(s is not None for s in seeds) else None)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        obs, reward, terminated, truncated, info = self.venv.step(self._actions)
        dones = terminated | truncated
        # a finished patient's last step is in final_info (info already holds the next patient's first)
        last = info["final_info"] if dones.any() else info
        parts = [(k, np.where(dones, last[k], info[k]).tolist()) for k in SAFETY_KEYS if k in info]
        infos: list[dict[str, Any]] = [{k: v[i] for k, v in parts} for i in range(self.num_envs)]
        for i in np.flatnonzero(dones):
            infos[i]["terminal_observation"] = info["final_obs"][i]
            infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        return obs, reward.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self.venv, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        raise AttributeError(f"{self.env_id}: the native vector env's sub-environments have no separate attributes")

    def env_method(self, method_name: str, *args, indices: VecEnvIndices = None, **kwargs) -> list[Any]:
        raise AttributeError(f"{self.env_id}: the native vector env's sub-environments have no separate methods")

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False] * len(self._indices(indices))

    def _indices(self, indices: VecEnvIndices) -> Sequence[int]:
        if indices is None:
            return range(self.num_envs)
        return [indices] if isinstance(indices, int) else list(indices if isinstance(indices, Iterable) else [])


class VecLinearReward(VecEnvWrapper):
    """The reward as ``weights . (efficacy, safety, burden)`` (a linear scalarisation of the objectives; the
    batched counterpart of ``mo_gymnasium.wrappers.LinearReward`` over :class:`clinsim.wrappers.MultiObjective`)."""

    def __init__(self, venv: VecEnv, weights: Sequence[float]) -> None:
        super().__init__(venv)
        self.weights = np.asarray(weights, dtype=np.float64)
        if self.weights.shape != (len(OBJECTIVES),):
            raise ValueError(f"weights need one number per objective ({', '.join(OBJECTIVES)}), got {weights!r}")

    def reset(self):
        return self.venv.reset()

    def step_wait(self) -> VecEnvStepReturn:
        obs, _, dones, infos = self.venv.step_wait()
        vectors = np.array([[info[f"reward_{o}"] for o in OBJECTIVES] for info in infos])
        return obs, (vectors @ self.weights).astype(np.float32), dones, infos
