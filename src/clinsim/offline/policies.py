"""Stochastic behaviour and target policies with exact action probabilities (for logged data and OPE).

A clinician does not follow a protocol to the letter: doses are skipped, delayed or adjusted, and deviations are
mostly to a neighbouring dose. :class:`ClinicianPolicy` models that around each environment's clinical protocol;
:class:`EpsilonMixture` mixes any policy with uniform random actions; :class:`UniformPolicy` is the random one;
:class:`DeterministicPolicy` wraps a deterministic policy (the protocol, the planner, a trained agent) as a
target. Each gives the probability (mass for discrete actions, density for continuous ones) of any action, which
importance-sampling estimators need; a continuous deterministic target has no density, so importance sampling
applies to stochastic targets there (docs/offline.md).

All are batched: ``policy(obs)`` acts for a batch of patients (drawing from the policy's own generator, seeded),
``policy.log_prob(obs, actions)`` gives each action's log-probability under the policy.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
from scipy.stats import truncnorm

from clinsim.core.evaluation import Policy


class StochasticPolicy:
    """Base class: ``__call__`` samples actions, ``log_prob`` evaluates them; both batched."""

    space: gym.Space

    def __init__(self, space: gym.Space, seed: int = 0) -> None:
        if not isinstance(space, gym.spaces.Discrete | gym.spaces.MultiDiscrete | gym.spaces.Box):
            raise TypeError(f"unsupported action space {space}: Discrete, MultiDiscrete or Box")
        self.space = space
        self.rng = np.random.default_rng(seed)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def log_prob(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def probabilities(self, obs: np.ndarray) -> np.ndarray:
        """(batch, n_actions) probabilities of every action of a finite space (flattened MultiDiscrete)."""
        every = _every_action(self.space)
        return np.exp(np.stack([self.log_prob(obs, np.broadcast_to(a, (len(obs), *a.shape))) for a in every],
                               axis=1))


def _nvec(space: gym.Space) -> np.ndarray:
    return np.atleast_1d(space.n if isinstance(space, gym.spaces.Discrete) else space.nvec).astype(np.int64)


def _every_action(space: gym.Space) -> list[np.ndarray]:
    if isinstance(space, gym.spaces.Box):
        raise TypeError("a continuous action space has no finite list of actions")
    grids = np.meshgrid(*[np.arange(n) for n in _nvec(space)], indexing="ij")
    flat = np.stack([g.ravel() for g in grids], axis=1)
    return [row[0] if isinstance(space, gym.spaces.Discrete) else row for row in flat]


class UniformPolicy(StochasticPolicy):
    """Every action equally likely (the ``random`` baseline with its probabilities)."""

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        n = len(obs)
        if isinstance(self.space, gym.spaces.Box):
            return self.rng.uniform(self.space.low, self.space.high, (n, *self.space.shape)).astype(self.space.dtype)
        draws = np.stack([self.rng.integers(0, k, n) for k in _nvec(self.space)], axis=1)
        return draws[:, 0] if isinstance(self.space, gym.spaces.Discrete) else draws

    def log_prob(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        if isinstance(self.space, gym.spaces.Box):
            density = -np.sum(np.log(self.space.high.astype(np.float64) - self.space.low))
        else:
            density = -np.sum(np.log(_nvec(self.space)))
        return np.full(len(obs), density)


class ClinicianPolicy(StochasticPolicy):
    """The clinical protocol as a clinician follows it: its action with probability ``adherence`` per decision
    (per action dimension), otherwise another dose, the nearer ones more likely (weight 1 / distance);
    continuous actions: a normal around the protocol's, truncated to the bounds, SD ``spread`` x range."""

    def __init__(self, protocol: Policy, space: gym.Space, adherence: float = 0.85, spread: float = 0.1,
                 seed: int = 0) -> None:
        super().__init__(space, seed)
        if not 0.0 < adherence <= 1.0 or spread <= 0.0:
            raise ValueError(f"adherence must be in (0, 1] and spread > 0, got {adherence}, {spread}")
        self.protocol, self.adherence, self.spread = protocol, adherence, spread

    def _discrete_table(self, k: int) -> np.ndarray:
        """(k, k) probabilities of action j when the protocol says i."""
        distance = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(np.float64)
        weights = np.where(distance > 0, 1.0 / np.maximum(distance, 1.0), 0.0)
        weights *= (1.0 - self.adherence) / np.maximum(weights.sum(axis=1, keepdims=True), 1e-300)
        return weights + np.eye(k) * self.adherence if k > 1 else np.ones((1, 1))

    def _box(self, obs: np.ndarray):
        low, high = self.space.low.astype(np.float64), self.space.high.astype(np.float64)
        mean = np.clip(np.asarray(self.protocol(obs), dtype=np.float64), low, high)
        sd = self.spread * (high - low)
        return truncnorm((low - mean) / sd, (high - mean) / sd, loc=mean, scale=sd)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        if isinstance(self.space, gym.spaces.Box):
            draw = self._box(obs).rvs(random_state=self.rng)  # scipy may drop the batch axis of one observation
            return np.reshape(draw, (len(obs), *self.space.shape)).astype(self.space.dtype)
        base = np.asarray(self.protocol(obs)).reshape(len(obs), -1)
        out = np.empty_like(base)
        for d, k in enumerate(_nvec(self.space)):
            cdf = np.cumsum(self._discrete_table(int(k))[base[:, d]], axis=1)
            out[:, d] = np.minimum((cdf < self.rng.random((len(obs), 1))).sum(axis=1), k - 1)
        return out[:, 0] if isinstance(self.space, gym.spaces.Discrete) else out

    def log_prob(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        if isinstance(self.space, gym.spaces.Box):
            return self._box(obs).logpdf(np.asarray(actions, dtype=np.float64)).sum(axis=1)
        base = np.asarray(self.protocol(obs)).reshape(len(obs), -1)
        acts = np.asarray(actions).reshape(len(obs), -1)
        out = np.zeros(len(obs))
        for d, k in enumerate(_nvec(self.space)):
            out += np.log(self._discrete_table(int(k))[base[:, d], acts[:, d]])
        return out


class EpsilonMixture(StochasticPolicy):
    """``policy`` with probability 1 - ``epsilon`` per decision, uniform random actions otherwise."""

    def __init__(self, policy: StochasticPolicy, epsilon: float, seed: int = 0) -> None:
        super().__init__(policy.space, seed)
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        self.policy, self.epsilon = policy, epsilon
        self.uniform = UniformPolicy(policy.space, seed + 1)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        base, noise = self.policy(obs), self.uniform(obs)
        explore = self.rng.random(len(obs)) < self.epsilon
        return np.where(explore.reshape(-1, *([1] * (base.ndim - 1))), noise, base)

    def log_prob(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        terms = []
        if self.epsilon < 1.0:
            terms.append(np.log1p(-self.epsilon) + self.policy.log_prob(obs, actions))
        if self.epsilon > 0.0:
            terms.append(np.log(self.epsilon) + self.uniform.log_prob(obs, actions))
        return np.logaddexp.reduce(np.stack(terms), axis=0)


class DeterministicPolicy(StochasticPolicy):
    """A deterministic policy as a target: probability 1 for its action, 0 for any other."""

    def __init__(self, policy: Callable[[np.ndarray], np.ndarray], space: gym.Space) -> None:
        super().__init__(space, 0)
        self.policy = policy

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return np.asarray(self.policy(obs))

    def log_prob(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        if isinstance(self.space, gym.spaces.Box):
            raise TypeError("a deterministic policy over continuous actions has no density: use a stochastic "
                            "target (e.g. ClinicianPolicy) for importance sampling")
        same = np.asarray(self.policy(obs)).reshape(len(obs), -1) == np.asarray(actions).reshape(len(obs), -1)
        return np.where(same.all(axis=1), 0.0, -np.inf)
