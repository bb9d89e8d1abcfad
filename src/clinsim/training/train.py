"""Train a Stable-Baselines3 agent into a run directory, with atomic tensor-only checkpoints and exact resume.

Nothing is unpickled: a checkpoint holds the algorithm's state dicts as tensors (``torch.save``, read back
with ``torch.load(weights_only=True)``) and a JSON record (VecNormalize statistics, monitor episode
counts); the algorithm is rebuilt from the validated configuration and the tensors loaded into it.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from clinsim.training.agents import algorithm_class, env_wrappers
from clinsim.training.hyperparameters import VEC_NORMALIZE, hyperparameters
from clinsim.training.lagrangian import Multiplier, PenalisedReward, VecPenalisedReward, dual_ascent_callback
from clinsim.training.runs import RunDir, env_kwargs, truncate_monitor, validate_config
from clinsim.training.vec import VecLinearReward

VN_KEYS = ("obs_mean", "obs_var", "obs_count", "ret_mean", "ret_var", "ret_count", "clip_obs", "clip_reward",
           "gamma", "epsilon", "norm_obs", "norm_reward")


def train_config(env_id: str, algo: str, seed: int, total_timesteps: int | None = None,
                 checkpoint_every: int = 10_000, overrides: dict[str, Any] | None = None,
                 n_envs: int = 1, constraint: dict[str, float] | None = None,
                 reward_weights: list[float] | None = None, observation: str = "state") -> dict[str, Any]:
    """The full, JSON-serialisable configuration of a training run (validated).

    ``n_envs > 1`` (PPO only) collects from the native vector env with the papers' rollout unchanged:
    ``n_steps`` per environment becomes ``n_steps / n_envs``, so every update still sees ``n_steps`` transitions
    in minibatches of ``batch_size`` for the same epochs; only the transitions come from ``n_envs`` patients at a
    time instead of one patient after another.

    ``constraint`` (``{"budget": B, "multiplier_lr": lr}``): train under E[episode cost] <= B with a Lagrange
    multiplier (:mod:`clinsim.training.lagrangian`).

    ``reward_weights`` (efficacy, safety, burden): learn from the linear scalarisation ``w . (efficacy, safety,
    burden)`` of the reward's parts (:mod:`clinsim.core.safety`) instead of their sum, one point of a Pareto
    front (docs/safety.md); monitors and evaluations keep the true reward.

    ``observation``: what the agent sees (``"state"``, the model's state, or ``"clinical"``, docs/observations.md);
    recorded only when not the state, so the configurations of earlier runs are unchanged.
    """
    import clinsim

    hp = hyperparameters(env_id, algo)
    hp.update(overrides or {})
    if total_timesteps is not None:
        hp["total_timesteps"] = total_timesteps
    if n_envs > 1:
        if algo != "ppo":
            raise ValueError(f"n_envs > 1 is for PPO (the rollout is split between patients); {algo} trains on 1")
        if hp["n_steps"] % n_envs:
            raise ValueError(f"n_envs must divide PPO's n_steps ({hp['n_steps']}) so that the rollout size is "
                             f"unchanged, got {n_envs}")
        hp["n_steps"] //= n_envs
    config = {"env_id": env_id, "algo": algo, "seed": seed, "hyperparameters": hp, "vec_normalize": VEC_NORMALIZE[algo],
              "checkpoint_every": checkpoint_every, "n_envs": n_envs, "clinsim": clinsim.__version__}
    if constraint is not None:
        config["constraint"] = dict(constraint)
    if reward_weights is not None:
        config["reward_weights"] = [float(w) for w in reward_weights]
    if observation != "state":
        config["observation"] = observation
    return validate_config(config)


def _build(config: dict[str, Any], venv, tensorboard: str | None = None):
    """A fresh algorithm from the (validated) configuration: the only place a policy class is chosen."""
    hp = {k: v for k, v in config["hyperparameters"].items() if k != "total_timesteps"}
    return algorithm_class(config["algo"])("MlpPolicy", venv, seed=config["seed"], verbose=0,
                                           tensorboard_log=tensorboard, device="cpu", **hp)


def _tensors(model) -> bytes:
    import torch
    from stable_baselines3.common.save_util import recursive_getattr

    state_dicts, variables = model._get_torch_save_params()
    data = {name: recursive_getattr(model, name).state_dict() for name in state_dicts}
    data.update({name: recursive_getattr(model, name).detach() for name in variables})
    buffer = io.BytesIO()
    torch.save(data, buffer)
    return buffer.getvalue()


def _load_tensors(model, data: bytes, source: Path) -> None:
    """Load weights (and optimiser states) from tensor-only bytes; the names are the algorithm's, not the file's."""
    import pickle

    import torch
    from stable_baselines3.common.save_util import recursive_getattr

    state_dicts, variables = model._get_torch_save_params()
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickle protocols: one error line is enough
            warnings.simplefilter("ignore", UserWarning)
            tensors = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        if not isinstance(tensors, dict) or set(tensors) != {*state_dicts, *variables}:
            raise ValueError(f"expected the entries {', '.join(state_dicts + variables)}")
        for name in state_dicts:
            recursive_getattr(model, name).load_state_dict(tensors[name])
        for name in variables:
            recursive_getattr(model, name).data.copy_(tensors[name])
    except pickle.UnpicklingError:  # torch's own message suggests weights_only=False: not an option here
        raise ValueError(f"{source} is not a loadable {type(model).__name__} checkpoint: it is not tensors only "
                         f"(it holds other pickled objects, refused unread)") from None
    except (RuntimeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"{source} is not a loadable {type(model).__name__} checkpoint of this run (corrupt "
                         f"or foreign): {detail[:300]}") from None


def _vn_stats(vn) -> dict[str, Any]:
    return {"obs_mean": vn.obs_rms.mean.tolist(), "obs_var": vn.obs_rms.var.tolist(),
            "obs_count": float(vn.obs_rms.count), "ret_mean": float(vn.ret_rms.mean),
            "ret_var": float(vn.ret_rms.var), "ret_count": float(vn.ret_rms.count), "clip_obs": float(vn.clip_obs),
            "clip_reward": float(vn.clip_reward), "gamma": float(vn.gamma), "epsilon": float(vn.epsilon),
            "norm_obs": bool(vn.norm_obs), "norm_reward": bool(vn.norm_reward)}


def _restore_vn(venv, stats: Any, training: bool, source: Path):
    """VecNormalize around ``venv`` with statistics read from JSON, checked for shape and sign."""
    from stable_baselines3.common.vec_env import VecNormalize

    shape = venv.observation_space.shape
    try:
        if not isinstance(stats, dict) or set(stats) != set(VN_KEYS):
            raise ValueError(f"expected the keys {', '.join(VN_KEYS)}")
        arrays = {k: np.asarray(stats[k], dtype=np.float64) for k in VN_KEYS[:10]}
        if arrays["obs_mean"].shape != shape or arrays["obs_var"].shape != shape:
            raise ValueError(f"observation statistics must have shape {shape}")
        if not all(np.isfinite(a).all() for a in arrays.values()) or min(
                arrays[k].min() for k in ("obs_var", "ret_var", "obs_count", "ret_count", "epsilon")) < 0:
            raise ValueError("statistics must be finite, variances and counts non-negative")
        if not all(isinstance(stats[k], bool) for k in ("norm_obs", "norm_reward")):
            raise ValueError("norm_obs and norm_reward must be true or false")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{source}: invalid normalisation statistics: {exc}") from None
    vn = VecNormalize(venv, training=training, norm_obs=stats["norm_obs"], norm_reward=stats["norm_reward"],
                      clip_obs=float(arrays["clip_obs"]), clip_reward=float(arrays["clip_reward"]),
                      gamma=float(arrays["gamma"]), epsilon=float(arrays["epsilon"]))
    for rms, pre in ((vn.obs_rms, "obs"), (vn.ret_rms, "ret")):
        rms.mean, rms.var, rms.count = arrays[f"{pre}_mean"], arrays[f"{pre}_var"], float(arrays[f"{pre}_count"])
    return vn


def _monitored_venv(run: RunDir, config: dict[str, Any], episodes: list[int] | None,
                    multiplier: Multiplier | None = None):
    """The training envs, each under an SB3 Monitor: a new file with its header lines on a fresh run; on
    resume, the file cut to the episodes the checkpoint saw and appended to with the original clock."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.monitor import Monitor

    env_id, algo = config["env_id"], config["algo"]
    flatten = env_wrappers(env_id, algo)
    monitors: list[Monitor] = []
    run.monitor.mkdir(parents=True, exist_ok=True)
    if episodes is not None and len(episodes) != (1 if config["n_envs"] > 1 else config["n_envs"]):
        raise ValueError(f"{run.root}: checkpoint monitor counts do not match n_envs")

    def wrap(env):
        path = run.monitor_file(len(monitors))
        t_start = truncate_monitor(path, episodes[len(monitors)]) if episodes is not None else None
        monitor = Monitor(env, str(path), override_existing=episodes is None)
        if t_start is not None:
            monitor.t_start = t_start  # "t" keeps growing, so readers that sort by time keep the order
        monitors.append(monitor)
        env = monitor  # the monitor sees the true reward
        if "reward_weights" in config:
            env = _linear_reward(env, config["reward_weights"])
        if multiplier is not None:
            env = PenalisedReward(env, multiplier)
        return flatten(env) if flatten else env

    if config["n_envs"] > 1:
        venv, monitors = _native_monitored_venv(run, config, episodes)
        if "reward_weights" in config:
            venv = VecLinearReward(venv, config["reward_weights"])
        return (venv if multiplier is None else VecPenalisedReward(venv, multiplier)), monitors
    venv = make_vec_env(env_id, n_envs=config["n_envs"], seed=config["seed"], wrapper_class=wrap,
                        env_kwargs=env_kwargs(config))
    return venv, monitors


def _linear_reward(env, weights: list[float]):
    """MO-Gymnasium's linear scalarisation over the vector reward of :class:`clinsim.wrappers.MultiObjective`."""
    try:
        from mo_gymnasium.wrappers import LinearReward
    except ImportError:
        raise ImportError("reward weights on one environment use mo-gymnasium: pip install 'clinsim[safety]' "
                          "(or train with n_envs > 1)") from None
    from clinsim.wrappers import MultiObjective

    return LinearReward(MultiObjective(env), weight=np.asarray(weights, dtype=np.float64))


def _native_monitored_venv(run: RunDir, config: dict[str, Any], episodes: list[int] | None):
    """The native vector env (one batch of ``n_envs`` patients) under one SB3 ``VecMonitor`` file."""
    from stable_baselines3.common.monitor import ResultsWriter
    from stable_baselines3.common.vec_env import VecMonitor

    from clinsim.training.vec import NativeVecEnv

    native = NativeVecEnv(config["env_id"], config["n_envs"], **env_kwargs(config))
    native.seed(config["seed"])
    path = run.monitor_file(0)
    monitor = VecMonitor(native)
    t_start = truncate_monitor(path, episodes[0]) if episodes is not None else monitor.t_start
    monitor.t_start = t_start
    monitor.episode_count = episodes[0] if episodes is not None else 0
    monitor.results_writer = ResultsWriter(str(path), header={"t_start": t_start, "env_id": config["env_id"]},
                                           override_existing=episodes is None)
    return monitor, [monitor]


def _episodes_seen(monitor) -> int:
    """Episodes a Monitor (one env) or a VecMonitor (a batch) has written."""
    return monitor.episode_count if hasattr(monitor, "episode_count") else len(monitor.get_episode_rewards())


def _progress_callback(total: int, done: int, desc: str):
    from stable_baselines3.common.callbacks import BaseCallback
    from tqdm.auto import tqdm

    class Progress(BaseCallback):
        def _on_training_start(self) -> None:
            self.bar = tqdm(total=total, initial=done, desc=desc, unit="step", mininterval=2.0)

        def _on_step(self) -> bool:
            self.bar.update(self.training_env.num_envs)
            return True

        def _on_training_end(self) -> None:
            self.bar.close()

    return Progress()


def train(run_dir: str | Path, config: dict[str, Any], progress: bool = True, torch_threads: int = 1) -> None:
    """Train (or resume) the run described by ``config`` to exactly its ``total_timesteps``.

    One process at a time per run directory (a lock). ``torch_threads=1`` is the default because these
    small MLPs train about 4x faster on one thread than on two on the 2-core reference machine (run
    several seeds in parallel processes instead).
    """
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import VecNormalize

    config = validate_config(config)
    run = RunDir(run_dir)
    with run.lock():
        run.create(config)
        total = config["hyperparameters"]["total_timesteps"]
        done = run.latest_checkpoint() or 0
        if done == total:
            return
        if done > total:
            raise ValueError(f"{run.root} holds a checkpoint at {done} steps, beyond the run's {total}")
        torch.set_num_threads(torch_threads)
        record, data = run.read_checkpoint(done) if done else (None, b"")
        constraint = config.get("constraint")
        multiplier = None if constraint is None else Multiplier(
            constraint["budget"], constraint["multiplier_lr"], record.get("multiplier", 0.0) if record else 0.0)
        venv, monitors = _monitored_venv(run, config, record["monitor_episodes"] if record else None, multiplier)
        base = [0] * len(monitors) if config["n_envs"] > 1 or not record else record["monitor_episodes"]
        vn_cfg = config["vec_normalize"]
        if record and vn_cfg:
            venv = _restore_vn(venv, record["vec_normalize"], True, run.record_path(done))
        elif vn_cfg:
            kwargs = {k: v for k, v in vn_cfg.items() if k != "gamma_from_agent"}
            venv = VecNormalize(venv, gamma=config["hyperparameters"]["gamma"], **kwargs)
        model = _build(config, venv, str(run.tensorboard))
        if record:
            _load_tensors(model, data, run.model_path(done))
            model.num_timesteps = done
            model.set_random_seed(config["seed"] + done)

        def save(steps: int) -> None:
            vn = model.get_env() if vn_cfg else None
            extra = {} if multiplier is None else {"multiplier": multiplier.value}
            run.write_checkpoint(steps, _tensors(model), {
                "monitor_episodes": [b + _episodes_seen(m) for b, m in zip(base, monitors, strict=True)],
                "vec_normalize": _vn_stats(vn) if vn is not None else None, **extra})

        class Checkpoint(BaseCallback):
            """A checkpoint every ``checkpoint_every`` steps; stops at the budget (PPO would finish its rollout)."""

            def _on_step(self) -> bool:
                if self.num_timesteps % config["checkpoint_every"] == 0 or self.num_timesteps == total:
                    save(self.num_timesteps)
                return self.num_timesteps < total

        callbacks: list[BaseCallback] = [Checkpoint()]
        if multiplier is not None:
            callbacks.insert(0, dual_ascent_callback(multiplier))
        if progress:
            desc = f"{config['algo']} {config['env_id']} seed {config['seed']}"
            callbacks.append(_progress_callback(total, done, desc))
        model.learn(total_timesteps=total - done, callback=callbacks, reset_num_timesteps=record is None,
                    tb_log_name=config["algo"])
        venv.close()
        if model.num_timesteps != total or run.latest_checkpoint() != total:
            raise RuntimeError(f"training stopped at {model.num_timesteps} of {total} steps")


def trained_policy(run_dir: str | Path, env_id: str | None = None, steps: int | None = None,
                   observation: str | None = None):
    """Deterministic batched policy of a run's final model (or of its checkpoint at ``steps``: the model a run of
    that budget ends with, when the schedules are constant, as the papers' PPO's are); ``env_id`` /
    ``observation``: refuse a run made for another environment or observation mode."""
    import gymnasium as gym
    from stable_baselines3.common.vec_env import DummyVecEnv

    from clinsim.training.agents import sb3_policy

    run = RunDir(run_dir)
    config = run.config
    if env_id is not None and config["env_id"] != env_id:
        raise ValueError(f"{run.root} holds a run trained on {config['env_id']}, not {env_id}")
    mode = config.get("observation", "state")
    if observation is not None and mode != observation:
        raise ValueError(f"{run.root} holds an agent trained on {mode} observations, not {observation} ones")
    kwargs = env_kwargs(config)
    total = config["hyperparameters"]["total_timesteps"] if steps is None else steps
    if not run.record_path(total).exists():
        what = f"final model ({total} steps;" if steps is None else f"checkpoint at {total} steps ("
        raise FileNotFoundError(f"{run.root} has no {what} latest checkpoint: {run.latest_checkpoint()}): "
                                f"finish it with `clinsim train` first")
    record, data = run.read_checkpoint(total)
    flatten = env_wrappers(config["env_id"], config["algo"])
    venv = DummyVecEnv([lambda: (flatten or (lambda e: e))(gym.make(config["env_id"], **kwargs))])
    model = _build(config, venv)
    _load_tensors(model, data, run.model_path(total))
    vn = _restore_vn(venv, record["vec_normalize"], False, run.record_path(total)) if config["vec_normalize"] else None
    flat = gym.make(config["env_id"], **kwargs).action_space.nvec if flatten is not None else None
    return sb3_policy(model, vn, flat)


def import_sb3(zip_path: str | Path, run_dir: str | Path, env_id: str, algo: str,
               vecnormalize: str | Path | None = None, seed: int = 0) -> None:
    """Convert a foreign Stable-Baselines3 zip (and its VecNormalize pickle) into a tensor-only run directory.

    This unpickles both files, so call it only for files you trust (``clinsim import --trust-checkpoint``);
    the run directory it writes is like any other, and loading it later unpickles nothing.
    """
    import gymnasium as gym
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    cls = algorithm_class(algo)
    foreign = cls.load(zip_path, device="cpu")
    config = train_config(env_id, algo, seed, total_timesteps=max(1, int(foreign.num_timesteps)))
    if bool(vecnormalize) != bool(config["vec_normalize"]):
        raise ValueError(f"{algo} runs {'need' if config['vec_normalize'] else 'take no'} VecNormalize statistics "
                         f"(--vecnormalize)")
    flatten = env_wrappers(env_id, algo)
    venv = DummyVecEnv([lambda: (flatten or (lambda e: e))(gym.make(env_id))])
    model = _build(config, venv)
    try:
        model.set_parameters(foreign.get_parameters(), exact_match=True, device="cpu")
    except (RuntimeError, ValueError, KeyError) as exc:
        raise ValueError(f"{zip_path} does not fit {algo} on {env_id} with this package's policy: {exc}") from None
    stats = _vn_stats(VecNormalize.load(str(vecnormalize), venv)) if vecnormalize else None
    run = RunDir(run_dir)
    with run.lock():
        run.create(config)
        if run.latest_checkpoint() is not None:
            raise ValueError(f"{run.root} already holds checkpoints; import into a new run directory")
        total = config["hyperparameters"]["total_timesteps"]
        run.write_checkpoint(total, _tensors(model), {"monitor_episodes": [0], "vec_normalize": stats})
