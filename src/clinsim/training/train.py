"""Train a Stable-Baselines3 agent into a run directory, with atomic checkpoints and resume."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from clinsim.training.agents import algorithm_class, env_wrappers
from clinsim.training.hyperparameters import VEC_NORMALIZE, hyperparameters
from clinsim.training.runs import RunDir, atomic_write_text


def _atomic_save(obj, path: Path) -> None:
    """``obj.save`` (model or VecNormalize) into ``path`` atomically."""
    buffer = io.BytesIO()
    if hasattr(obj, "policy"):
        obj.save(buffer)
        data = buffer.getvalue()
    else:  # VecNormalize.save takes a path: pickle its state to bytes ourselves
        import pickle

        data = pickle.dumps(obj)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _checkpoint_callback(run: RunDir, every_steps: int, vec_normalize: bool):
    from stable_baselines3.common.callbacks import BaseCallback

    class AtomicCheckpoint(BaseCallback):
        """Every ``every_steps``: VecNormalize statistics, the model, then both recorded in the manifest."""

        def _on_step(self) -> bool:
            if self.num_timesteps % every_steps == 0:
                save(self.model, self.num_timesteps)
            return True

    def save(model, steps: int) -> None:
        files = [run.checkpoints / f"model_{steps}_steps.zip"]
        if vec_normalize:
            files.append(run.checkpoints / f"vecnormalize_{steps}_steps.pkl")
            _atomic_save(model.get_env(), files[1])
        _atomic_save(model, files[0])
        run.record(*files)

    return AtomicCheckpoint(), save


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


def train_config(env_id: str, algo: str, seed: int, total_timesteps: int | None = None,
                 checkpoint_every: int = 10_000, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The full, JSON-serialisable configuration of a training run."""
    hp = hyperparameters(env_id, algo)
    hp.update(overrides or {})
    if total_timesteps is not None:
        hp["total_timesteps"] = int(total_timesteps)
    return {"env_id": env_id, "algo": algo, "seed": int(seed), "hyperparameters": hp,
            "vec_normalize": VEC_NORMALIZE[algo], "checkpoint_every": int(checkpoint_every), "n_envs": 1}


def train(run_dir: str | Path, config: dict[str, Any], progress: bool = True, torch_threads: int = 1,
          trust: bool = False):
    """Train (or resume) the run described by ``config``; returns the trained model.

    ``trust=True`` resumes from checkpoints that the run's manifest does not vouch for.

    ``torch_threads=1`` is the default because these small MLPs train about 4x faster on one thread
    than on two on the 2-core reference machine (run several seeds in parallel processes instead).
    """
    import torch
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    import clinsim  # noqa: F401 - registers the environments in this process

    torch.set_num_threads(torch_threads)
    run = RunDir(run_dir)
    run.create(config)
    hp = dict(config["hyperparameters"])
    total = hp.pop("total_timesteps")
    env_id, algo, seed = config["env_id"], config["algo"], config["seed"]
    venv = make_vec_env(env_id, n_envs=config["n_envs"], seed=seed, wrapper_class=env_wrappers(env_id, algo),
                        monitor_dir=str(run.root / "monitor"), monitor_kwargs={"override_existing": False})
    vn_cfg = config["vec_normalize"]
    cls = algorithm_class(algo)
    latest = run.latest_checkpoint()
    done = 0
    if latest is not None:
        done, path = latest
        if vn_cfg:
            venv = _load_vec_normalize(run, run.checkpoints / f"vecnormalize_{done}_steps.pkl", venv, trust)
        model = load_model(run, cls, path, env=venv, trust=trust)
        model.set_random_seed(seed + done)
    else:
        if vn_cfg:
            kwargs = {k: v for k, v in vn_cfg.items() if k != "gamma_from_agent"}
            venv = VecNormalize(venv, gamma=hp["gamma"], **kwargs)
        model = cls("MlpPolicy", venv, seed=seed, verbose=0, tensorboard_log=str(run.tensorboard), **hp)
    checkpoint, save = _checkpoint_callback(run, config["checkpoint_every"], bool(vn_cfg))
    callbacks = [checkpoint]
    if progress:
        callbacks.append(_progress_callback(total, done, f"{algo} {env_id} seed {seed}"))
    if total > done:
        model.learn(total_timesteps=total - done, callback=callbacks, reset_num_timesteps=latest is None,
                    tb_log_name=algo)
    save(model, total)
    atomic_write_text(run.root / "DONE", f"{total}\n")
    venv.close()
    return model


def _load_vec_normalize(run: RunDir, path: Path, venv, trust: bool):
    import pickle

    from stable_baselines3.common.vec_env import VecNormalize

    run.verify(path, trust)
    try:
        with open(path, "rb") as fh:
            vn = pickle.load(fh)  # hash verified against the run's manifest (or trusted explicitly)
    except FileNotFoundError:
        raise FileNotFoundError(f"checkpoint is missing its observation statistics {path}") from None
    except Exception as exc:
        raise ValueError(f"{path} is not a clinsim VecNormalize checkpoint (corrupt or foreign): {exc}") from exc
    if not isinstance(vn, VecNormalize):
        raise ValueError(f"{path} holds a {type(vn).__name__}, not VecNormalize statistics")
    vn.set_venv(venv)
    return vn


def load_model(run: RunDir, cls, path: Path, env=None, trust: bool = False):
    """Load an SB3 checkpoint of ``run`` with a clear error for corrupt or foreign files.

    SB3 checkpoints contain pickled Python objects: the file must match the hash the run recorded
    when it wrote it, unless ``trust=True``.
    """
    import zipfile

    run.verify(path, trust)
    try:
        return cls.load(path, env=env, device="cpu")
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError) as exc:
        raise ValueError(f"{path} is not a loadable {cls.__name__} checkpoint (corrupt or foreign): {exc}") from exc


def trained_policy(run_dir: str | Path, trust: bool = False):
    """Deterministic batched policy of the finished (or latest) model of a run."""
    import gymnasium as gym

    from clinsim.training.agents import sb3_policy

    run = RunDir(run_dir)
    config = run.config
    latest = run.latest_checkpoint()
    if latest is None:
        raise FileNotFoundError(f"{run.root} has no checkpoint yet")
    steps, path = latest
    model = load_model(run, algorithm_class(config["algo"]), path, trust=trust)
    vn = None
    if config["vec_normalize"]:
        from stable_baselines3.common.vec_env import DummyVecEnv

        dummy = DummyVecEnv([lambda: gym.make(config["env_id"])])
        vn = _load_vec_normalize(run, run.checkpoints / f"vecnormalize_{steps}_steps.pkl", dummy, trust)
        vn.training = False
    flat = None
    if env_wrappers(config["env_id"], config["algo"]) is not None:
        flat = gym.make(config["env_id"]).action_space.nvec
    return sb3_policy(model, vn, flat)
