"""Offline RL baselines: behaviour cloning and offline RL (d3rlpy) trained on a logged Minari dataset, evaluated
online on the same evaluation patients as the online baselines.

``clinsim train-offline DATASET --algo cql --steps N --run-dir DIR`` reads a dataset written by ``clinsim
dataset``, trains one of :data:`ALGORITHMS` with d3rlpy, saves it and evaluates it in the simulator with
:func:`clinsim.training.evaluate.evaluate_policy` (patients ``0..N-1``, as ``clinsim evaluate`` and the
benchmark), so its row sits in the same tables as random, protocol, planner and PPO.

Threat model (docs/robustness.md): a run directory may come from anyone, so nothing in it is unpickled. The
run is ``model.pt`` (d3rlpy's ``save_model``: the state dicts of the algorithm's networks and optimisers, read
back with ``torch.load(weights_only=True)`` and loaded by ``load_state_dict`` into networks built fresh) and
``offline.json`` (strict JSON: environment ID, algorithm, numeric hyperparameters, observation standardisation,
the model's SHA-256), validated before it decides anything. d3rlpy's own ``save`` / ``load_learnable`` pickle
and are never used.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import math
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import clinsim
from clinsim.training.runs import atomic_write_bytes, check_env_id, read_json, write_json

# name: (d3rlpy config class for finite action spaces, for continuous ones); None: not offered by d3rlpy
ALGORITHMS: dict[str, tuple[str | None, str | None]] = {
    "bc": ("DiscreteBCConfig", "BCConfig"),  # behaviour cloning (Pomerleau 1991)
    "cql": ("DiscreteCQLConfig", "CQLConfig"),  # conservative Q-learning (Kumar et al. 2020)
    "bcq": ("DiscreteBCQConfig", "BCQConfig"),  # batch-constrained Q-learning (Fujimoto et al. 2019)
    "iql": (None, "IQLConfig"),  # implicit Q-learning (Kostrikov et al. 2022)
    "td3bc": (None, "TD3PlusBCConfig"),  # TD3 + behaviour cloning (Fujimoto & Gu 2021)
}
# d3rlpy's defaults for its discrete Q-learners are the Atari setting (learning rate 6.25e-5, target network
# copied every 8000 updates) made for millions of updates; with budgets of 10^4 updates the target would hardly
# move. Assumption (not tuned): the continuous algorithms' learning rate and a target copied every 1000 updates.
DEFAULTS: dict[str, dict[str, float]] = {
    "DiscreteCQLConfig": {"learning_rate": 3e-4, "target_update_interval": 1000, "batch_size": 256},
    "DiscreteBCQConfig": {"learning_rate": 3e-4, "target_update_interval": 1000, "batch_size": 256},
    "DiscreteBCConfig": {"batch_size": 256},
    "BCConfig": {"batch_size": 256},
}
# IQL's rewards are scaled by 1000 / (max - min episode return) of the dataset, as in its paper's locomotion
# experiments (Kostrikov et al. 2022, appendix; d3rlpy's reproduction script does the same)
IQL_RETURN_SCALE = 1000.0
CONFIG_FILE = "offline.json"
MODEL_FILE = "model.pt"
RESULT_FILE = "eval.json"


@contextlib.contextmanager
def _quiet_import() -> Any:
    """d3rlpy imports legacy ``gym``, which prints a deprecation notice on stderr at import: hidden."""
    with contextlib.redirect_stderr(io.StringIO()):
        yield


def load_d3rlpy():
    try:
        with _quiet_import():
            import d3rlpy
    except ImportError as exc:
        raise RuntimeError("offline RL needs d3rlpy: pip install -e \".[offline]\" && pip install --no-deps -r "
                           "requirements/offline-rl.txt (d3rlpy pins gymnasium==1.0.0: README)") from exc
    return d3rlpy


@functools.cache
def _spaces(env_id: str) -> tuple[gym.Space, int]:
    """The action space and observation size (one environment built per ID and process)."""
    env = gym.spec(env_id).make()
    return env.action_space, int(env.observation_space.shape[0])


def _space(env_id: str) -> gym.Space:
    return _spaces(env_id)[0]


def config_class_name(algo: str, env_id: str) -> str:
    """The d3rlpy configuration for ``algo`` on ``env_id``'s action space; a clear error if there is none."""
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown offline algorithm {algo!r}; valid: {', '.join(ALGORITHMS)}")
    continuous = isinstance(_space(env_id), gym.spaces.Box)
    name = ALGORITHMS[algo][1 if continuous else 0]
    if name is None:
        kind = "continuous" if continuous else "discrete"
        valid = [a for a, names in ALGORITHMS.items() if names[1 if continuous else 0] is not None]
        raise ValueError(f"{algo} has no {kind}-action version in d3rlpy ({env_id} has {kind} actions); valid "
                         f"for {env_id}: {', '.join(valid)}")
    return name


def numeric_hyperparameters(class_name: str) -> dict[str, float]:
    """The numeric fields of a d3rlpy configuration and their defaults (what a configuration file may set)."""
    cls = getattr(load_d3rlpy().algos, class_name)
    return {f.name: f.default for f in dataclasses.fields(cls) if type(f.default) in (int, float)}


def _action_size(space: gym.Space) -> int:
    """d3rlpy's action size: a Box's dimension, or a finite space's number of actions (a MultiDiscrete space
    flattened into one index)."""
    if isinstance(space, gym.spaces.Box):
        return int(space.shape[0])
    return int(space.n) if isinstance(space, gym.spaces.Discrete) else int(np.prod(space.nvec))


def _to_d3rlpy_actions(space: gym.Space, actions: np.ndarray) -> np.ndarray:
    if isinstance(space, gym.spaces.Box):
        return np.asarray(actions, dtype=np.float32).reshape(len(actions), -1)
    if isinstance(space, gym.spaces.MultiDiscrete):
        return np.ravel_multi_index(np.asarray(actions).T, space.nvec).reshape(-1, 1).astype(np.int64)
    return np.asarray(actions).reshape(-1, 1).astype(np.int64)


def replay_buffer(dataset, space: gym.Space):
    """The Minari dataset as a d3rlpy replay buffer, every logged transition kept.

    d3rlpy drops the last transition of an episode that did not terminate (it has no next observation in its
    layout), so a truncated episode keeps its final observation with a placeholder action and reward that no
    sampled transition uses; a terminated one ends with its last decision (d3rlpy's terminal next state is 0).
    """
    d3rlpy = load_d3rlpy()
    from d3rlpy.dataset import Episode, InfiniteBuffer, ReplayBuffer

    episodes = []
    for ep in dataset.iterate_episodes():
        obs = np.asarray(ep.observations, dtype=np.float32)
        actions = _to_d3rlpy_actions(space, ep.actions)
        rewards = np.asarray(ep.rewards, dtype=np.float32).reshape(-1, 1)
        if bool(np.asarray(ep.terminations)[-1]):
            episodes.append(Episode(obs[:-1], actions, rewards, True))
        else:
            episodes.append(Episode(obs, np.concatenate([actions, actions[-1:]]),
                                    np.concatenate([rewards, np.zeros((1, 1), np.float32)]), False))
    continuous = isinstance(space, gym.spaces.Box)
    return ReplayBuffer(InfiniteBuffer(), episodes=episodes,
                        action_space=d3rlpy.ActionSpace.CONTINUOUS if continuous else d3rlpy.ActionSpace.DISCRETE,
                        action_size=_action_size(space))


def _algorithm(config: dict[str, Any]):
    """A fresh d3rlpy algorithm from a validated configuration (its networks are made by ``fit`` or
    :func:`load_offline`)."""
    d3rlpy = load_d3rlpy()
    from d3rlpy.preprocessing import MinMaxActionScaler, MultiplyRewardScaler, StandardObservationScaler

    space = _space(config["env_id"])
    class_name = config_class_name(config["algo"], config["env_id"])
    kwargs: dict[str, Any] = dict(config["hyperparameters"])
    kwargs["observation_scaler"] = StandardObservationScaler(mean=np.asarray(config["observation_mean"]),
                                                             std=np.asarray(config["observation_std"]))
    if isinstance(space, gym.spaces.Box):  # the policy acts in [-1, 1]; predict() returns physical units
        kwargs["action_scaler"] = MinMaxActionScaler(minimum=space.low.astype(np.float64),
                                                     maximum=space.high.astype(np.float64))
    if config["reward_scale"] != 1.0:
        kwargs["reward_scaler"] = MultiplyRewardScaler(config["reward_scale"])
    return getattr(d3rlpy.algos, class_name)(**kwargs).create(device="cpu:0")


def _episode_returns(dataset) -> np.ndarray:
    return np.array([float(np.sum(ep.rewards)) for ep in dataset.iterate_episodes()])


def offline_config(dataset, env_id: str, algo: str, seed: int, steps: int,
                   overrides: dict[str, float] | None = None) -> dict[str, Any]:
    """The full JSON configuration of a run: the algorithm's settings and what the dataset fixes (observation
    standardisation from the logged observations, IQL's reward scale), validated."""
    class_name = config_class_name(algo, env_id)
    # the discount of the environment (its registry entry, the papers' Table 2), as PPO and the OPE truth use
    hp = {"gamma": float(clinsim.spec(env_id).ppo["gamma"]), **DEFAULTS.get(class_name, {}), **(overrides or {})}
    obs = np.concatenate([np.asarray(ep.observations, dtype=np.float64)[:-1] for ep in dataset.iterate_episodes()])
    scale = 1.0
    if algo == "iql":
        returns = _episode_returns(dataset)
        scale = IQL_RETURN_SCALE / max(float(returns.max() - returns.min()), 1e-6)
    config = {"env_id": env_id, "algo": algo, "d3rlpy_config": class_name, "seed": seed, "steps": steps,
              "hyperparameters": hp, "observation_mean": obs.mean(axis=0).tolist(),
              "observation_std": obs.std(axis=0).tolist(), "reward_scale": scale,
              "dataset": {"id": dataset.spec.dataset_id, "episodes": int(dataset.total_episodes),
                          "steps": int(dataset.total_steps)},
              "clinsim": clinsim.__version__, "d3rlpy": load_d3rlpy().__version__}
    return validate_config(config)


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def validate_config(config: Any, source: object = "configuration") -> dict[str, Any]:
    """Check every field before it decides anything: a registered environment, a known algorithm that fits its
    actions, hyperparameters that are numeric fields of that algorithm's d3rlpy configuration, standardisation
    of the right length with positive spread."""
    if not isinstance(config, dict):
        raise ValueError(f"{source}: expected a JSON object")
    missing = {"env_id", "algo", "seed", "steps", "hyperparameters", "observation_mean", "observation_std",
               "reward_scale", "dataset"} - set(config)
    if missing:
        raise ValueError(f"{source}: missing {', '.join(sorted(missing))}")
    env_id = check_env_id(config["env_id"], source)
    class_name = config_class_name(config["algo"], env_id)
    hp = config["hyperparameters"]
    allowed = numeric_hyperparameters(class_name)
    if not isinstance(hp, dict) or not all(k in allowed and _finite(v) and v > 0
                                           and (isinstance(v, int) or not isinstance(allowed[k], int))
                                           for k, v in hp.items()):
        raise ValueError(f"{source}: hyperparameters of {class_name} must be positive numbers (integers where "
                         f"d3rlpy's are) among {', '.join(sorted(allowed))}, got {hp!r}")
    obs_dim = _spaces(env_id)[1]
    for key in ("observation_mean", "observation_std"):
        values = config[key]
        if not (isinstance(values, list) and len(values) == obs_dim and all(_finite(v) for v in values)):
            raise ValueError(f"{source}: {key} must be {obs_dim} finite numbers")
    if not all(v >= 0 for v in config["observation_std"]):
        raise ValueError(f"{source}: observation_std must be >= 0")
    if not (isinstance(config.get("dataset"), dict) and isinstance(config["dataset"].get("id"), str)):
        raise ValueError(f"{source}: dataset must record the dataset's id")
    if not (_finite(config["reward_scale"]) and config["reward_scale"] > 0):
        raise ValueError(f"{source}: reward_scale must be a positive number")
    for key in ("seed", "steps"):
        if isinstance(config[key], bool) or not isinstance(config[key], int) or config[key] < (key == "steps"):
            raise ValueError(f"{source}: {key} must be a {'positive' if key == 'steps' else 'non-negative'} integer")
    return config


def train_offline(dataset, run_dir: str | Path, algo: str, steps: int, seed: int = 0,
                  overrides: dict[str, float] | None = None, progress: bool = False) -> tuple[Any, dict[str, Any]]:
    """Train ``algo`` on the Minari ``dataset`` for ``steps`` gradient updates and save the run; returns the
    trained d3rlpy algorithm and the run's configuration. The environment is the dataset's (checked to be a
    registered clinsim ID). ``d3rlpy.seed(seed)`` seeds Python's, numpy's and torch's global generators (d3rlpy
    draws its minibatches from numpy's), so the same seed trains the same model."""
    d3rlpy = load_d3rlpy()
    from d3rlpy.logging import NoopAdapterFactory

    env_id = check_env_id(dataset.spec.env_spec.id, f"dataset {dataset.spec.dataset_id}")
    config = offline_config(dataset, env_id, algo, seed, steps, overrides)
    run = Path(run_dir)
    if (run / CONFIG_FILE).exists():
        raise ValueError(f"{run} already holds an offline run; choose a new --run-dir")
    d3rlpy.seed(seed)
    model = _algorithm(config)
    model.fit(replay_buffer(dataset, _space(env_id)), n_steps=steps, n_steps_per_epoch=steps,
              logger_adapter=NoopAdapterFactory(), show_progress=progress)
    buffer = io.BytesIO()
    model.impl.save_model(buffer)  # d3rlpy's save_model, into memory (written atomically below)
    data = buffer.getvalue()
    atomic_write_bytes(run / MODEL_FILE, data)
    write_json(run / CONFIG_FILE, {**config, "model_sha256": hashlib.sha256(data).hexdigest()})
    return model, config


def load_offline(run_dir: str | Path, env_id: str | None = None):
    """The trained d3rlpy algorithm of a run directory and its configuration, without unpickling anything."""
    import torch

    run = Path(run_dir)
    path = run / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(f"{run} has no {CONFIG_FILE}: not a finished offline run (clinsim train-offline)")
    config = validate_config(read_json(path), path)
    if env_id is not None and config["env_id"] != env_id:
        raise ValueError(f"{run} holds a run trained on {config['env_id']}, not {env_id}")
    data = (run / MODEL_FILE).read_bytes()  # read once: the bytes checked are the bytes loaded
    if hashlib.sha256(data).hexdigest() != config.get("model_sha256"):
        raise ValueError(f"{run / MODEL_FILE} does not match the SHA-256 in {path} (torn, corrupt or replaced)")
    model = _algorithm(config)
    model.create_impl((_spaces(config["env_id"])[1],), _action_size(_space(config["env_id"])))
    modules = model.impl.modules.create_checkpointer("cpu:0").modules
    try:
        states = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        if not isinstance(states, dict) or set(states) != set(modules):
            raise ValueError(f"expected the entries {', '.join(sorted(modules))}")
        for name, module in modules.items():
            module.load_state_dict(states[name])
    except pickle.UnpicklingError:
        raise ValueError(f"{run / MODEL_FILE} is not tensors only (it holds other pickled objects, refused "
                         f"unread)") from None
    except (RuntimeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"{run / MODEL_FILE} is not a loadable {config['algo']} model of this run: "
                         f"{detail[:300]}") from None
    return model, config


def offline_policy(run_dir: str | Path, env_id: str | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """The run's greedy batched policy in the environment's action space (physical units for Box actions)."""
    model, config = load_offline(run_dir, env_id)
    space = _space(config["env_id"])

    def act(obs: np.ndarray) -> np.ndarray:
        actions = model.predict(np.asarray(obs, dtype=np.float32))
        if isinstance(space, gym.spaces.Box):
            return np.clip(actions.reshape(len(obs), *space.shape), space.low, space.high).astype(space.dtype)
        if isinstance(space, gym.spaces.MultiDiscrete):
            return np.stack(np.unravel_index(actions.astype(np.int64), space.nvec), axis=1)
        return actions.astype(np.int64)

    return act


def evaluate_offline(run_dir: str | Path, episodes: int | None = None) -> dict[str, Any]:
    """Evaluate the run online on the environment's evaluation patients (as ``clinsim evaluate``); the result is
    also written to the run directory."""
    from clinsim.training.evaluate import evaluate_policy

    policy = offline_policy(run_dir)
    config = validate_config(read_json(Path(run_dir) / CONFIG_FILE))
    result = evaluate_policy(config["env_id"], policy, episodes)
    result["policy"] = f"offline {config['algo']} ({config['dataset']['id']}, seed {config['seed']})"
    write_json(Path(run_dir) / RESULT_FILE, result)
    return result
