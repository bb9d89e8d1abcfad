"""Off-policy estimates of a target policy's value from logged data, and their errors against the ground truth.

Estimators, from episodes logged with the behaviour's action probabilities (``infos["behaviour_log_prob"][t + 1]``
for ``actions[t]``):

- importance sampling (Precup, Sutton & Singh 2000; Thomas & Brunskill 2016 for the weighted forms): ordinary
  and weighted, of whole episodes (``is``, ``wis``) and per decision (``pdis``, ``wpdis``); a few lines each,
  written here;
- fitted Q evaluation (``fqe``; Le, Voloshin & Yue 2019): d3rlpy's ``FQE`` / ``DiscreteFQE`` regress
  Q(s, a) on r + gamma Q(s', a') with a' the target's action at s'; the value is the mean over the logged
  first states of E_{a ~ target} Q(s0, a);
- per-decision doubly robust (``dr``; Jiang & Li 2016, Thomas & Brunskill 2016) from the FQE Q-function and
  the per-decision weights: mean over episodes of
  sum_t gamma^t [w_t (r_t - Q(s_t, a_t)) + w_{t-1} V(s_t)], with w_t the product of the ratios up to t
  (w_{-1} = 1) and V(s) = E_{a ~ target} Q(s, a); d3rlpy has no DR and SCOPE-RL (which has) pins gym-era
  dependencies, so this is the one formula written here.

Importance weights need the target's action probability given the observation: a deterministic target over
continuous actions has none (no density), so ``is``..``wpdis`` and ``dr`` are undefined for it (None) and only
``fqe`` applies. Every episode's end is a terminal state for FQE (the value estimated is the return of the
episode as the simulator runs it, horizon included), unlike d3rlpy's default for truncated episodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from clinsim.offline.policies import StochasticPolicy

ESTIMATORS = ("is", "wis", "pdis", "wpdis", "dr", "fqe")
IMPORTANCE = ("is", "wis", "pdis", "wpdis")
FQE_STEPS = 2000  # gradient steps (batch 100, target network synced every 50 steps: 40 Bellman backups)
FQE_BATCH = 100
FQE_TARGET_UPDATE = 50
FQE_LEARNING_RATE = 3e-4
VALUE_SAMPLES = 16  # target actions drawn per state for V(s) = E Q(s, a) over continuous actions


def require_d3rlpy():
    """d3rlpy, or an error saying how to install it."""
    try:
        import d3rlpy
    except ImportError as exc:
        raise ImportError("fitted Q evaluation and doubly robust estimates need d3rlpy: pip install -e "
                          "\".[offline]\" (see README and docs/offline.md)") from exc
    return d3rlpy


@dataclass(frozen=True)
class Logged:
    """One logged episode: observations (T + 1), actions (T), rewards (T), behaviour log-probabilities (T)."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    behaviour_log_prob: np.ndarray


@dataclass(frozen=True)
class Episode:
    """One logged episode: rewards and the log-probabilities of its actions under behaviour and target."""

    rewards: np.ndarray
    behaviour_log_prob: np.ndarray
    target_log_prob: np.ndarray


def logged_episodes(dataset) -> list[Logged]:
    """A Minari dataset's episodes as arrays."""
    return [Logged(np.asarray(ep.observations), np.asarray(ep.actions), np.asarray(ep.rewards, dtype=np.float64),
                   np.asarray(ep.infos["behaviour_log_prob"], dtype=np.float64)[1:])
            for ep in dataset.iterate_episodes()]


def with_target(logged: Sequence[Logged], target: StochasticPolicy) -> list[Episode]:
    """The episodes with the target's log-probability of every logged action."""
    return [Episode(e.rewards, e.behaviour_log_prob, target.log_prob(e.observations[:-1], e.actions)) for e in logged]


def episodes_from_dataset(dataset, target: StochasticPolicy) -> list[Episode]:
    """The dataset's episodes with the target's log-probability of every logged action."""
    return with_target(logged_episodes(dataset), target)


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


def _flat(space: gym.Space, actions: np.ndarray) -> np.ndarray:
    """Actions as d3rlpy takes them: one integer per decision (a MultiDiscrete action raveled), floats for Box."""
    if isinstance(space, gym.spaces.Box):
        return np.asarray(actions, dtype=np.float32).reshape(len(actions), -1)
    if isinstance(space, gym.spaces.MultiDiscrete):
        return np.ravel_multi_index(np.asarray(actions).reshape(len(actions), -1).T, space.nvec).astype(np.int64)
    return np.asarray(actions).reshape(-1).astype(np.int64)


class _TargetImpl:
    """What d3rlpy's FQE asks of the policy it evaluates (``algo.impl.predict_best_action``): the target's action
    for a batch of next observations, which FQE sees standardised (so they are restored here first)."""

    def __init__(self, target: StochasticPolicy, mean: np.ndarray, std: np.ndarray) -> None:
        self.target, self.mean, self.std = target, mean, std

    def predict_best_action(self, x):
        import torch

        obs = (x.detach().cpu().numpy() * self.std + self.mean).astype(np.float32)
        actions = _flat(self.target.space, self.target(obs))
        return torch.as_tensor(actions, device=x.device)


class _TargetAlgo:
    """The evaluated "algorithm" d3rlpy's FQE wraps (it reads only ``.impl``)."""

    def __init__(self, impl: _TargetImpl) -> None:
        self.impl = impl


@dataclass(frozen=True)
class FittedQ:
    """A fitted Q-function of the target in the dataset's units: ``q(obs, actions)`` and ``v(obs)``."""

    fqe: Any
    target: StochasticPolicy
    mean: np.ndarray
    std: np.ndarray
    scale: float

    def q(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        x = ((obs - self.mean) / self.std).astype(np.float32)
        return self.fqe.predict_value(x, _flat(self.target.space, actions)).astype(np.float64) * self.scale

    def v(self, obs: np.ndarray) -> np.ndarray:
        """E_{a ~ target} Q(s, a): exact over a finite action space, Monte Carlo over a continuous one."""
        space = self.target.space
        if isinstance(space, gym.spaces.Box):
            return np.mean([self.q(obs, self.target(obs)) for _ in range(VALUE_SAMPLES)], axis=0)
        probs = self.target.probabilities(obs)
        every = np.arange(probs.shape[1])
        grid = np.stack(np.unravel_index(every, space.nvec), axis=1) if isinstance(space, gym.spaces.MultiDiscrete) \
            else every
        return sum(probs[:, k] * self.q(obs, np.broadcast_to(grid[k], (len(obs), *np.shape(grid[k]))))
                   for k in every if probs[:, k].any())


def fit_q(logged: Sequence[Logged], target: StochasticPolicy, gamma: float, steps: int = FQE_STEPS,
          seed: int = 0) -> FittedQ:
    """Fitted Q evaluation of ``target`` on the logged episodes (d3rlpy), observations standardised and rewards
    scaled to at most 1 in magnitude of any logged reward-to-go for the network, both undone in the result."""
    d3rlpy = require_d3rlpy()
    from d3rlpy.constants import ActionSpace
    from d3rlpy.dataset import MDPDataset
    from d3rlpy.logging import NoopAdapterFactory
    from d3rlpy.ope import FQE, DiscreteFQE, FQEConfig

    if steps < 1:
        raise ValueError(f"FQE steps must be a positive integer, not {steps}")
    obs = np.concatenate([e.observations[:-1] for e in logged]).astype(np.float64)
    mean, std = obs.mean(axis=0), obs.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0)
    # d3rlpy's discrete Q-loss is Huber with delta 1 (a median-like fit to errors beyond 1, which biases a mean):
    # rewards scaled so that no discounted reward-to-go exceeds 1 keep the fit in its least-squares zone
    to_go = [np.abs(np.cumsum((e.rewards * gamma ** np.arange(len(e.rewards)))[::-1])).max() for e in logged]
    scale = float(max(max(to_go), np.abs(np.concatenate([e.rewards for e in logged])).max(), 1e-6))
    terminals = np.concatenate([np.arange(len(e.rewards)) == len(e.rewards) - 1 for e in logged])
    space = target.space
    box = isinstance(space, gym.spaces.Box)
    if box:
        kind, n_actions = ActionSpace.CONTINUOUS, int(np.prod(space.shape))
    else:
        nvec = space.nvec if isinstance(space, gym.spaces.MultiDiscrete) else space.n
        kind, n_actions = ActionSpace.DISCRETE, int(np.prod(nvec))
    dataset = MDPDataset(((obs - mean) / std).astype(np.float32),
                         _flat(space, np.concatenate([e.actions for e in logged])),
                         (np.concatenate([e.rewards for e in logged]) / scale).astype(np.float32)[:, None],
                         terminals.astype(np.float32), action_space=kind, action_size=n_actions)
    d3rlpy.seed(seed)
    config = FQEConfig(learning_rate=FQE_LEARNING_RATE, batch_size=FQE_BATCH, gamma=gamma,
                       target_update_interval=FQE_TARGET_UPDATE)
    fqe = (FQE if box else DiscreteFQE)(algo=_TargetAlgo(_TargetImpl(target, mean, std)), config=config,
                                         device="cpu:0")
    fqe.fit(dataset, n_steps=steps, n_steps_per_epoch=steps, logger_adapter=NoopAdapterFactory(),
            show_progress=False, save_interval=steps + 1)
    return FittedQ(fqe, target, mean, std, scale)


def doubly_robust(logged: Sequence[Logged], episodes: Sequence[Episode], q: FittedQ, gamma: float) -> float:
    """Per-decision doubly robust estimate (module docstring) from the fitted Q and the importance weights."""
    total = 0.0
    for e, w in zip(logged, episodes, strict=True):
        obs = e.observations[:-1]
        weights = np.exp(np.cumsum(w.target_log_prob - w.behaviour_log_prob))
        previous = np.concatenate([[1.0], weights[:-1]])
        discounts = gamma ** np.arange(len(e.rewards))
        total += float(np.sum(discounts * (weights * (e.rewards - q.q(obs, e.actions)) + previous * q.v(obs))))
    return total / len(logged)


def _has_density(target: StochasticPolicy, logged: Sequence[Logged]) -> bool:
    try:
        target.log_prob(logged[0].observations[:1], logged[0].actions[:1])
    except TypeError:  # a deterministic target over continuous actions
        return False
    return True


def estimate_all(logged: Sequence[Logged], target: StochasticPolicy, gamma: float,
                 estimators: Sequence[str] = ESTIMATORS, fqe_steps: int = FQE_STEPS,
                 seed: int = 0) -> dict[str, float | None]:
    """The requested estimators' values of ``target`` (None where one is undefined for it)."""
    unknown = [k for k in estimators if k not in ESTIMATORS]
    if unknown:
        raise ValueError(f"unknown estimators {unknown}; valid: {', '.join(ESTIMATORS)}")
    out: dict[str, float | None] = dict.fromkeys(estimators)
    density = _has_density(target, logged)
    episodes = with_target(logged, target) if density else None
    if episodes is not None and any(k in IMPORTANCE for k in estimators):
        out.update({k: v for k, v in estimate(episodes, gamma).items() if k in estimators})
    if "fqe" in estimators or ("dr" in estimators and density):
        q = fit_q(logged, target, gamma, fqe_steps, seed)
        if "fqe" in estimators:
            out["fqe"] = float(np.mean(q.v(np.stack([e.observations[0] for e in logged]))))
        if "dr" in estimators and episodes is not None:
            out["dr"] = doubly_robust(logged, episodes, q, gamma)
    return out


def evaluate_dataset(dataset, truth: dict[str, Any], estimators: Sequence[str] = ESTIMATORS,
                     targets: Sequence[str] | None = None, fqe_steps: int = FQE_STEPS,
                     seed: int = 0) -> list[dict[str, Any]]:
    """Each target's true discounted value (the ground truth: ``clinsim.offline.ground_truth``) beside each
    estimator's value from the dataset and its error (estimate - truth). The planner reads the true state, so
    no estimator applies to it. The targets act on the dataset's observation mode (state or clinical), and the
    truth must be of that mode."""
    from clinsim.offline.datasets import dataset_observation
    from clinsim.offline.targets import target_policies

    env_id = dataset.spec.env_spec.id
    observation = dataset_observation(dataset)
    if truth["env_id"] != env_id:
        raise ValueError(f"the ground truth is of {truth['env_id']}, the dataset of {env_id}")
    if truth.get("observation", "state") != observation:
        raise ValueError(f"the ground truth is of {truth.get('observation', 'state')} observations, the dataset of "
                         f"{observation} ones")
    policies = {k: t for k, t in target_policies(env_id, seed, observation).items() if t.probabilities is not None}
    names = list(policies) if targets is None else list(targets)
    unknown = [k for k in names if k not in policies]
    if unknown:
        raise ValueError(f"unknown targets {unknown}; valid: {', '.join(policies)}")
    gamma = truth["gamma"]
    logged = logged_episodes(dataset)
    rows = []
    for name in names:
        true = truth["targets"][name]["value"]
        values = estimate_all(logged, policies[name].probabilities, gamma, estimators, fqe_steps, seed)
        rows.append({"target": name, "value": true["mean"], "ci_low": true["ci_low"], "ci_high": true["ci_high"],
                     "truth_episodes": truth["targets"][name]["episodes"], **values,
                     **{f"{k}_error": None if v is None else v - true["mean"] for k, v in values.items()}})
    return rows
