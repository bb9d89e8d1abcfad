"""Logged clinical datasets in Minari format, with the behaviour policy's probability of every logged action.

``clinsim dataset ENV --behaviour clinician --episodes N`` runs one episode per patient ``seed .. seed+N-1``
under a behaviour policy (:mod:`clinsim.offline.policies`) and writes a Minari dataset that
``minari.load_dataset`` reads: ``recover_environment()`` and ``eval_env`` rebuild the environment (same ID and
version), each step's ``infos["behaviour_log_prob"]`` is the log-probability (log-density for continuous
actions) of the logged action under the behaviour policy, and the numeric clinical info of every step is kept.
``ref_min_score`` / ``ref_max_score`` are the mean returns of the random policy and the rollout planner on the
environment's evaluation patients (the scale Minari normalises scores with). The same command with the same
seed writes the same data.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import clinsim
from clinsim.offline.policies import ClinicianPolicy, EpsilonMixture, StochasticPolicy, UniformPolicy

BEHAVIOURS = ("clinician", "mixed", "random")
ADHERENCE = 0.85  # per decision; SIMPLIFICATION: one adherence for every disease (docs/offline.md)
SPREAD = 0.1  # SD of a continuous action around the protocol's, as a fraction of the action range
MIXED_EPSILON = 0.3
DATASET_VERSION = 0


def behaviour_policy(env_id: str, behaviour: str, seed: int = 0) -> StochasticPolicy:
    """``clinician`` (the protocol with clinician-like variability), ``mixed`` (clinician with 30 % uniformly
    random decisions) or ``random``."""
    space = gym.spec(env_id).make().action_space
    protocol = clinsim.spec(env_id).protocol
    if behaviour == "clinician":
        return ClinicianPolicy(protocol, space, ADHERENCE, SPREAD, seed)
    if behaviour == "mixed":
        return EpsilonMixture(ClinicianPolicy(protocol, space, ADHERENCE, SPREAD, seed), MIXED_EPSILON, seed + 7)
    if behaviour == "random":
        return UniformPolicy(space, seed)
    raise ValueError(f"unknown behaviour policy {behaviour!r}; valid: {', '.join(BEHAVIOURS)}")


def dataset_id(env_id: str, behaviour: str) -> str:
    """``clinsim/<disease>-<task>-v<env version>/<behaviour>-v<dataset version>``: tied to the env's version."""
    disease, task = env_id.split("/")
    return f"clinsim/{disease}-{task.lower()}/{behaviour}-v{DATASET_VERSION}"


@contextlib.contextmanager
def minari_root(root: str | Path | None) -> Iterator[None]:
    """Minari reads its dataset directory from ``MINARI_DATASETS_PATH``: set it for the block."""
    if root is None:
        yield
        return
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(Path(root).resolve())
    try:
        yield
    finally:
        if old is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def _numeric(info: dict[str, Any]) -> dict[str, Any]:
    """The info's numbers and flags (Minari stores arrays; labels such as the outcome name are left out)."""
    return {k: v for k, v in info.items() if isinstance(v, bool | int | float | np.number | np.bool_)}


def collect(env_id: str, behaviour: str, episodes: int, seed: int = 0, root: str | Path | None = None,
            reference_episodes: int | None = None):
    """Write the dataset and return it (a ``minari.MinariDataset``)."""
    import minari
    from minari.data_collector.callbacks import StepDataCallback

    from clinsim.training.benchmark import run_baselines

    if episodes < 1:
        raise ValueError(f"episodes must be a positive integer, not {episodes}")
    policy = behaviour_policy(env_id, behaviour, seed)
    logged = {"log_prob": np.nan}

    class Logged(StepDataCallback):
        def __call__(self, env, **kwargs):
            step = super().__call__(env, **kwargs)
            step["info"] = {**_numeric(step["info"]), "behaviour_log_prob": float(logged["log_prob"])}
            return step

    env = minari.DataCollector(gym.make(env_id), step_data_callback=Logged, record_infos=True)
    for k in range(episodes):
        logged["log_prob"] = np.nan
        obs, _ = env.reset(seed=seed + k)
        done = False
        while not done:
            action = policy(obs[None])
            logged["log_prob"] = policy.log_prob(obs[None], action)[0]
            obs, _, terminated, truncated, _ = env.step(action[0])
            done = terminated or truncated
    with minari_root(root):
        with tempfile.TemporaryDirectory() as scratch:
            reference = run_baselines(env_id, Path(scratch), reference_episodes or clinsim.spec(env_id).episodes)
        return env.create_dataset(
            dataset_id=dataset_id(env_id, behaviour), eval_env=env_id, algorithm_name=f"clinsim {behaviour} behaviour",
            author="clinsim", code_permalink="https://github.com/clinsim/clinsim (src/clinsim/offline/datasets.py)",
            ref_min_score=float(np.mean(reference["random"]["returns"])),
            ref_max_score=float(np.mean(reference["planner"]["returns"])),
            description=(f"{episodes} patients of {env_id} (reset seeds {seed}..{seed + episodes - 1}) under the "
                         f"'{behaviour}' behaviour policy; infos['behaviour_log_prob'] is the log-probability of "
                         f"each logged action. Regenerate: clinsim dataset {env_id} --behaviour {behaviour} "
                         f"--episodes {episodes} --seed {seed}"))
