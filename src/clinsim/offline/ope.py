"""True policy values by paired simulation, and importance-sampling estimates of them from logged data.

Ground truth: a target policy's value is its expected discounted return (gamma: the environment's, from the
registry) from the environment's patient distribution; :func:`true_value` estimates it on ``episodes`` patients
with a normal 95 % interval, and every target of one ground-truth table runs on the same patient seeds (common
random numbers, so differences between targets are estimated more precisely than the values themselves).

Estimators (Precup, Sutton & Singh 2000; Thomas & Brunskill 2016 for the weighted forms) from episodes logged
with the behaviour's action probabilities (``infos["behaviour_log_prob"][t + 1]`` for ``actions[t]``):
ordinary and weighted importance sampling of whole episodes (``is``, ``wis``) and per-decision (``pdis``,
``wpdis``). They are written here because they are a few lines each; model-based estimators (fitted Q
evaluation, doubly robust) come from a library in a later version (docs/offline.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

import clinsim
from clinsim.offline.policies import StochasticPolicy

ESTIMATORS = ("is", "wis", "pdis", "wpdis")


def discount(env_id: str) -> float:
    """The environment's discount factor (its PPO setting in the registry: the papers' Table 2)."""
    return float(clinsim.spec(env_id).ppo["gamma"])


@dataclass(frozen=True)
class Episode:
    """One logged episode: rewards and the log-probabilities of its actions under behaviour and target."""

    rewards: np.ndarray
    behaviour_log_prob: np.ndarray
    target_log_prob: np.ndarray


def episodes_from_dataset(dataset, target: StochasticPolicy) -> list[Episode]:
    """The dataset's episodes with the target's log-probability of every logged action."""
    out = []
    for ep in dataset.iterate_episodes():
        obs = np.asarray(ep.observations)[:-1]
        out.append(Episode(np.asarray(ep.rewards, dtype=np.float64),
                           np.asarray(ep.infos["behaviour_log_prob"], dtype=np.float64)[1:],
                           target.log_prob(obs, np.asarray(ep.actions))))
    return out


def estimate(episodes: Sequence[Episode], gamma: float) -> dict[str, float]:
    """Every estimator's value of the target from the logged episodes."""
    horizon = max(len(e.rewards) for e in episodes)
    n = len(episodes)
    rewards = np.zeros((n, horizon))
    log_ratio = np.zeros((n, horizon))
    alive = np.zeros((n, horizon), dtype=bool)
    for i, e in enumerate(episodes):
        k = len(e.rewards)
        rewards[i, :k] = e.rewards * gamma ** np.arange(k)
        log_ratio[i, :k] = e.target_log_prob - e.behaviour_log_prob
        alive[i, :k] = True
    cumulative = np.exp(np.cumsum(log_ratio, axis=1))  # weight of the first t+1 decisions
    weights = cumulative[np.arange(n), [len(e.rewards) - 1 for e in episodes]]
    returns = rewards.sum(axis=1)
    step_weights = np.where(alive, cumulative, 0.0)
    # per-decision weighted IS: at each t, weights normalised over the episodes (ended ones keep their last)
    filled = np.where(alive, cumulative, weights[:, None])
    norm = filled.sum(axis=0)
    return {
        "is": float(np.mean(weights * returns)),
        "wis": float(np.sum(weights * returns) / weights.sum()) if weights.sum() > 0 else float("nan"),
        "pdis": float(np.mean(np.sum(step_weights * rewards, axis=1))),
        "wpdis": float(np.sum(np.where(norm > 0, (step_weights * rewards).sum(axis=0) / np.maximum(norm, 1e-300),
                                       0.0))),
    }


def true_value(env_id: str, policy: Callable[[np.ndarray], np.ndarray], episodes: int, first_seed: int,
               gamma: float | None = None) -> dict[str, float]:
    """Discounted and undiscounted mean return of ``policy`` on patients ``first_seed ..``, 95 % intervals."""
    gamma = discount(env_id) if gamma is None else gamma
    venv = gym.make_vec(env_id, num_envs=episodes, vectorization_mode="vector_entry_point")
    obs, _ = venv.reset(seed=first_seed)
    value = np.zeros(episodes)
    total = np.zeros(episodes)
    done = np.zeros(episodes, dtype=bool)
    t = 0
    while not done.all():
        live = np.flatnonzero(~done)
        actions = np.asarray(policy(obs))
        keep = np.asarray(actions)[live]
        actions = np.repeat(keep[:1], episodes, axis=0)  # finished patients repeat a valid action
        actions[live] = keep
        obs, reward, terminated, truncated, _ = venv.step(actions)
        value[live] += gamma**t * reward[live]
        total[live] += reward[live]
        done[live] |= (terminated | truncated)[live]
        t += 1
    venv.close()
    half = 1.96 * value.std(ddof=1) / np.sqrt(episodes)
    return {"value": float(value.mean()), "ci_low": float(value.mean() - half), "ci_high": float(value.mean() + half),
            "return": float(total.mean()), "episodes": episodes, "first_seed": first_seed, "gamma": gamma}


def targets(env_id: str, seed: int = 0) -> dict[str, StochasticPolicy]:
    """The target policies evaluated against every dataset of ``env_id``: clinicians more and less adherent
    than the logged ones, the protocol itself (deterministic: importance sampling needs the logged actions to
    match it, hopeless over long horizons with a continuous or noisy behaviour), and random actions."""
    from clinsim.offline.datasets import ADHERENCE, SPREAD
    from clinsim.offline.policies import ClinicianPolicy, DeterministicPolicy, UniformPolicy

    space = gym.spec(env_id).make().action_space
    protocol = clinsim.spec(env_id).protocol
    out: dict[str, StochasticPolicy] = {
        "clinician": ClinicianPolicy(protocol, space, ADHERENCE, SPREAD, seed),
        "adherent clinician": ClinicianPolicy(protocol, space, 0.95, SPREAD / 2, seed),
        "less adherent clinician": ClinicianPolicy(protocol, space, 0.6, SPREAD * 2, seed),
        "random": UniformPolicy(space, seed),
    }
    if not isinstance(space, gym.spaces.Box):
        out["protocol"] = DeterministicPolicy(protocol, space)
    return out


def evaluate_dataset(dataset, env_id: str, truth_episodes: int, truth_seed: int = 10**6) -> list[dict[str, float]]:
    """Every target's true value (``truth_episodes`` fresh patients, seeds disjoint from the dataset's) beside
    every estimator's value from the dataset and its error."""
    gamma = discount(env_id)
    rows = []
    for name, target in targets(env_id).items():
        truth = true_value(env_id, target, truth_episodes, truth_seed, gamma)
        estimates = estimate(episodes_from_dataset(dataset, target), gamma)
        rows.append({"target": name, **truth, **{k: v for k, v in estimates.items()},
                     **{f"{k}_error": v - truth["value"] for k, v in estimates.items()}})
    return rows
