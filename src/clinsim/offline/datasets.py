"""Logged clinical datasets in Minari format, with the behaviour policy's probability of every logged action.

``clinsim dataset ENV --behaviour clinician --episodes N`` runs one episode per patient ``seed .. seed+N-1``
under a behaviour policy (:mod:`clinsim.offline.policies`) and writes a Minari dataset that
``minari.load_dataset`` reads: ``recover_environment()`` and ``eval_env`` rebuild the environment (same ID and
version), each step's ``infos["behaviour_log_prob"]`` is the log-probability (log-density for continuous
actions) of the logged action under the behaviour policy, and the numeric clinical info of every step is kept.
``ref_min_score`` / ``ref_max_score`` are the mean returns of the random policy and the rollout planner (the
scale Minari normalises scores with): from the shipped ground truth (:mod:`clinsim.offline.ground_truth`) where
there is one, else on the environment's evaluation patients. The same command with the same seed writes the
same data.

Standard datasets (:data:`STANDARD`): every behaviour on every paper environment, ``STANDARD_EPISODES``
patients from seed 0; ``clinsim dataset --standard [--env ENV ...]`` regenerates them (the same arrays every
time). ``--observation clinical`` logs the environment's clinical observation mode (``gym.make(ID,
observation="clinical")``) under its own dataset ID; the behaviour policies act on the observation logged.
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
OBSERVATIONS = ("state", "clinical")
STANDARD_EPISODES = 1000
STANDARD_SEED = 0
# the standard datasets: every behaviour on every paper environment (not the difficulty tiers)
STANDARD: tuple[tuple[str, str], ...] = tuple((env_id, b) for env_id in clinsim.PAPER_IDS for b in BEHAVIOURS)


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


def env_kwargs(observation: str) -> dict[str, str]:
    """``gym.make`` keyword arguments of an observation mode (the full state is the default: none)."""
    if observation not in OBSERVATIONS:
        raise ValueError(f"unknown observation mode {observation!r}; valid: {', '.join(OBSERVATIONS)}")
    return {} if observation == "state" else {"observation": observation}


def dataset_observation(dataset) -> str:
    """The observation mode a Minari dataset logged (its environment's recovered ``gym.make`` keyword arguments)."""
    mode = (dataset.spec.env_spec.kwargs or {}).get("observation", "state")
    env_kwargs(mode)
    return mode


def dataset_id(env_id: str, behaviour: str, observation: str = "state") -> str:
    """``clinsim/<disease>-<task>-v<env version>/<behaviour>[-clinical]-v<dataset version>``: tied to the
    environment's version; the clinical observation mode is part of the name."""
    env_kwargs(observation)
    disease, task = env_id.split("/")
    mode = "" if observation == "state" else f"-{observation}"
    return f"clinsim/{disease}-{task.lower()}/{behaviour}{mode}-v{DATASET_VERSION}"


def reference_scores(env_id: str, episodes: int | None = None) -> tuple[float, float, str]:
    """(random, planner) mean undiscounted returns and where they come from: the shipped ground truth of
    ``env_id`` if there is one (and ``episodes`` is None), else a fresh run on the evaluation patients."""
    from clinsim.offline.ground_truth import load_ground_truth, truth_path
    from clinsim.training.benchmark import run_baselines

    if episodes is None and truth_path(env_id).exists():
        truth = load_ground_truth(env_id)["targets"]
        return (truth["random"]["return"]["mean"], truth["planner"]["return"]["mean"],
                f"ground truth (random: {truth['random']['episodes']} patients, planner: "
                f"{truth['planner']['episodes']}, seeds from 10^6)")
    episodes = episodes or clinsim.spec(env_id).episodes
    with tempfile.TemporaryDirectory() as scratch:
        reference = run_baselines(env_id, Path(scratch), episodes)
    return (float(np.mean(reference["random"]["returns"])), float(np.mean(reference["planner"]["returns"])),
            f"evaluation patients 0..{episodes - 1}")


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
            reference_episodes: int | None = None, observation: str = "state", overwrite: bool = False):
    """Write the dataset and return it (a ``minari.MinariDataset``); ``overwrite``: replace one of the same ID."""
    import minari
    from minari.data_collector.callbacks import StepDataCallback

    kwargs = env_kwargs(observation)
    if episodes < 1:
        raise ValueError(f"episodes must be a positive integer, not {episodes}")
    policy = behaviour_policy(env_id, behaviour, seed)
    logged = {"log_prob": np.nan}

    class Logged(StepDataCallback):
        def __call__(self, env, **kwargs):
            step = super().__call__(env, **kwargs)
            step["info"] = {**_numeric(step["info"]), "behaviour_log_prob": float(logged["log_prob"])}
            return step

    env = minari.DataCollector(gym.make(env_id, **kwargs), step_data_callback=Logged, record_infos=True)
    for k in range(episodes):
        logged["log_prob"] = np.nan
        obs, _ = env.reset(seed=seed + k)
        done = False
        while not done:
            action = policy(obs[None])
            logged["log_prob"] = policy.log_prob(obs[None], action)[0]
            obs, _, terminated, truncated, _ = env.step(action[0])
            done = terminated or truncated
    ref_min, ref_max, ref_source = reference_scores(env_id, reference_episodes)
    name = dataset_id(env_id, behaviour, observation)
    command = (f"clinsim dataset {env_id} --behaviour {behaviour} --episodes {episodes} --seed {seed}"
               + (f" --observation {observation}" if kwargs else ""))
    with minari_root(root):
        if overwrite and name in minari.list_local_datasets():
            minari.delete_dataset(name)
        return env.create_dataset(
            dataset_id=name, eval_env=gym.make(env_id, **kwargs).spec,
            algorithm_name=f"clinsim {behaviour} behaviour", author="clinsim",
            code_permalink="https://github.com/clinsim/clinsim (src/clinsim/offline/datasets.py)",
            ref_min_score=ref_min, ref_max_score=ref_max,
            description=(f"{episodes} patients of {env_id} ({observation} observations; reset seeds {seed}.."
                         f"{seed + episodes - 1}) under the '{behaviour}' behaviour policy; "
                         f"infos['behaviour_log_prob'] is the log-probability of each logged action. Reference "
                         f"scores: random and planner mean returns, {ref_source}. Regenerate: {command}"))


def collect_standard(env_ids: list[str] | None = None, root: str | Path | None = None,
                     observation: str = "state") -> list[str]:
    """(Re)write the standard datasets of ``env_ids`` (default: every paper environment); their IDs."""
    env_ids = list(clinsim.PAPER_IDS) if env_ids is None else env_ids
    unknown = [e for e in env_ids if e not in clinsim.PAPER_IDS]
    if unknown:
        raise ValueError(f"no standard datasets for {', '.join(unknown)}; valid: {', '.join(clinsim.PAPER_IDS)}")
    written = []
    for env_id, behaviour in STANDARD:
        if env_id in env_ids:
            collect(env_id, behaviour, STANDARD_EPISODES, STANDARD_SEED, root, observation=observation,
                    overwrite=True)
            written.append(dataset_id(env_id, behaviour, observation))
    return written
