"""The papers' evaluation protocol with clinical outcomes.

Deterministic policy, one episode per patient seed 0..N-1 (N from the registry: 100 for ImmunoSim, 50
for SepsiSim, the papers' protocols), the same patients for every agent; trained agents are summarised
over several training seeds with mean, SD and a 95 % bootstrap CI. Returns are reported as they are: no
ratios of negative returns.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

import clinsim
from clinsim.core.evaluation import Policy, evaluate_cohort
from clinsim.core.safety import OBJECTIVES
from clinsim.training.stats import summarize


def default_episodes(env_id: str) -> int:
    """The environment's evaluation episodes (its registry entry)."""
    return clinsim.spec(env_id).episodes


def evaluate_policy(env_id: str, policy: Policy, episodes: int | None = None, seed: int = 0,
                    objectives: bool = False, observation: str = "state") -> dict[str, Any]:
    """Per-episode returns, lengths and clinical metrics of ``policy`` on patients ``seed..seed+N-1``;
    ``objectives``: also the vector return, ``return_<objective>`` per episode (efficacy, safety, burden:
    :mod:`clinsim.core.safety`), for multi-objective comparisons; ``observation``: what the policy sees (an agent
    trained on clinical observations acts on them)."""
    episodes = default_episodes(env_id) if episodes is None else episodes
    if episodes < 1:
        raise ValueError(f"episodes must be a positive integer, not {episodes}")
    res = evaluate_cohort(env_id, policy, episodes, seed=seed,
                          **({} if observation == "state" else {"observation": observation}))
    task = gym.make(env_id).unwrapped.task
    metrics = task.clinical_metrics(res.final_info)
    if "episode_cost" in res.final_info:
        metrics["episode_cost"] = res.final_info["episode_cost"]
    if objectives:
        metrics.update({f"return_{o}": res.final_info[f"episode_reward_{o}"] for o in OBJECTIVES})
    return {"env_id": env_id, "episodes": episodes, "first_seed": seed, "returns": res.returns.tolist(),
            "lengths": res.lengths.tolist(), "metrics": {k: np.asarray(v).tolist() for k, v in metrics.items()}}


def episode_summary(result: dict[str, Any]) -> dict[str, float | None]:
    """Means over the evaluation episodes of one agent: return, return SD (None for one episode: undefined),
    and every clinical metric."""
    returns = np.asarray(result["returns"], dtype=np.float64)
    out: dict[str, float | None] = {"return": float(returns.mean()),
                                    "return_std": float(returns.std(ddof=1)) if len(returns) > 1 else None}
    out.update({k: float(np.mean(v)) for k, v in result["metrics"].items()})
    return out


def seed_summary(results: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Across training seeds: mean / SD / 95 % bootstrap CI of each per-seed episode mean (None if undefined)."""
    per_seed = [episode_summary(r) for r in results]
    out = {}
    for key in per_seed[0]:
        values = [s[key] for s in per_seed]
        out[key] = (summarize(np.array(values, dtype=np.float64)) if None not in values
                    else {"mean": None, "std": None, "n": len(values), "ci_low": None, "ci_high": None})
    return out
