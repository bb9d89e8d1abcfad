"""Run directories: configuration, seeds, package versions, logs, checkpoints and results on disk.

Threat model: a run directory or benchmark directory may come from anyone, so nothing in it is ever
unpickled. Configuration, results and normalisation statistics are strict JSON, validated before use
(an environment ID must be one of ``clinsim.ENV_IDS``: ``gym.make`` would import any module named in
an ID); weights are tensors read with ``torch.load(weights_only=True)``. Every file is written
atomically (temporary file + ``os.replace``), so a run killed at any point leaves either the old or
the new version of a file, never a torn one. One process at a time works in a run directory (a lock).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import platform
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

import clinsim
from clinsim.core.measurement import OBSERVATION_MODES
from clinsim.core.safety import OBJECTIVES

PACKAGES = ("clinsim", "numpy", "scipy", "gymnasium", "numba", "stable-baselines3", "torch", "matplotlib")
MONITOR_HEADER = "r,l,t"
# Hyperparameters a configuration may set: numeric constructor arguments of PPO / DQN / SAC only, so a
# configuration file cannot pass classes, callables or paths to Stable-Baselines3.
HYPERPARAMETERS = frozenset({
    "total_timesteps", "learning_rate", "n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda",
    "clip_range", "ent_coef", "vf_coef", "max_grad_norm", "buffer_size", "learning_starts", "tau",
    "train_freq", "gradient_steps", "target_update_interval", "exploration_fraction",
    "exploration_initial_eps", "exploration_final_eps"})


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def write_json(path: Path, data: Any) -> None:
    """Strict JSON (no NaN or infinity: readers in other languages reject them), atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=_jsonable, allow_nan=False) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes(), parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path} is not valid JSON (corrupt or foreign file): {exc}") from exc


def _reject_constant(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def versions() -> dict[str, str]:
    """Python, platform and package versions for the record."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def check_env_id(env_id: Any, source: object) -> str:
    """``env_id`` if it is a registered clinsim ID; anything else could make ``gym.make`` import a module."""
    if env_id not in clinsim.ENV_IDS:
        raise ValueError(f"{source}: {env_id!r} is not a clinsim environment ID")
    return env_id


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _count(value: Any, minimum: int = 1) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value >= minimum


def validate_config(config: Any, source: object = "configuration") -> dict[str, Any]:
    """``config`` if it is a training configuration this package can run, else a ``ValueError`` saying why."""
    from clinsim.training.hyperparameters import ALGORITHMS, VEC_NORMALIZE

    keys = {"env_id", "algo", "seed", "hyperparameters", "vec_normalize", "checkpoint_every", "n_envs", "clinsim"}
    if not isinstance(config, dict) or not keys <= set(config) <= keys | {"constraint", "reward_weights",
                                                                          "observation"}:
        raise ValueError(f"{source}: a configuration needs exactly the keys {', '.join(sorted(keys))} "
                         f"(and optionally constraint, reward_weights, observation)")
    if config.get("observation", "state") not in OBSERVATION_MODES:
        raise ValueError(f"{source}: observation must be one of {', '.join(OBSERVATION_MODES)} (or absent: state), "
                         f"not {config['observation']!r}")
    weights = config.get("reward_weights")
    if weights is not None and (not isinstance(weights, list) or len(weights) != len(OBJECTIVES)
                                or not all(map(_number, weights)) or not any(weights)):
        raise ValueError(f"{source}: reward_weights must be {len(OBJECTIVES)} numbers, not all 0 (one per objective: "
                         f"{', '.join(OBJECTIVES)}), or absent")
    constraint = config.get("constraint")
    if constraint is not None and (not isinstance(constraint, dict) or set(constraint) != {"budget", "multiplier_lr"}
                                   or not all(map(_number, constraint.values())) or constraint["budget"] < 0
                                   or constraint["multiplier_lr"] <= 0):
        raise ValueError(f"{source}: constraint must be {{\"budget\": >= 0, \"multiplier_lr\": > 0}} or absent")
    check_env_id(config["env_id"], source)
    if config["algo"] not in ALGORITHMS:
        raise ValueError(f"{source}: unknown algorithm {config['algo']!r}; valid: {', '.join(ALGORITHMS)}")
    hp = config["hyperparameters"]
    if not isinstance(hp, dict) or not set(hp) <= HYPERPARAMETERS or not all(map(_number, hp.values())):
        raise ValueError(f"{source}: hyperparameters must be numbers named among {', '.join(sorted(HYPERPARAMETERS))}")
    if not _count(config["seed"], minimum=0):
        raise ValueError(f"{source}: seed must be a non-negative integer, not {config['seed']!r}")
    for name, value in (("checkpoint_every", config["checkpoint_every"]), ("n_envs", config["n_envs"]),
                        ("total_timesteps", hp.get("total_timesteps"))):
        if not _count(value):
            raise ValueError(f"{source}: {name} must be a positive integer, not {value!r}")
    n_envs = config["n_envs"]
    if n_envs > 1 and (hp["total_timesteps"] % n_envs or config["checkpoint_every"] % n_envs):
        raise ValueError(f"{source}: with n_envs = {config['n_envs']}, total_timesteps and checkpoint_every must be "
                         f"multiples of it (the batch advances n_envs steps at a time)")
    if config["vec_normalize"] != VEC_NORMALIZE[config["algo"]]:
        raise ValueError(f"{source}: vec_normalize must be {VEC_NORMALIZE[config['algo']]!r} for {config['algo']}")
    if not isinstance(config["clinsim"], str):
        raise ValueError(f"{source}: clinsim must be the package version that made the run")
    return config


def env_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``gym.make`` a run's agent sees: its observation mode (absent: the state)."""
    return {"observation": config["observation"]} if "observation" in config else {}


class RunLockedError(RuntimeError):
    """Another process works in this directory."""


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (``flock`` on ``directory/.lock``; the kernel drops it when the
    process dies, so a killed run never leaves a stale lock). ``O_NOFOLLOW``: a planted symlink is not written."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "r+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = fh.read().strip() or "unknown"
            raise RunLockedError(f"{directory} is in use by process {other}; wait for it to finish or use "
                                 f"another directory") from None
        fh.truncate(0)
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        try:
            yield
        finally:
            fh.truncate(0)


def read_monitor(path: Path) -> np.ndarray:
    """Episodes (return, length, time) of an SB3 monitor file, exactly as written; ``ValueError`` if malformed."""
    return _monitor_rows(path, path.read_text().splitlines())


def _monitor_rows(path: Path, lines: list[str]) -> np.ndarray:
    if len(lines) < 2 or not lines[0].startswith("#") or lines[1].rstrip() != MONITOR_HEADER:
        raise ValueError(f"{path} is not a Stable-Baselines3 monitor file (no '#{{...}}' and '{MONITOR_HEADER}' "
                         f"header lines)")
    try:
        rows = np.array([[float(x) for x in line.split(",")] for line in lines[2:]], dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{path}: malformed monitor row: {exc}") from exc
    if rows.size and (rows.ndim != 2 or rows.shape[1] != 3 or not np.isfinite(rows).all()):
        raise ValueError(f"{path}: monitor rows must hold three finite numbers")
    return rows.reshape(-1, 3)


def truncate_monitor(path: Path, episodes: int) -> float:
    """Cut a monitor file to its first ``episodes`` episodes (those a checkpoint saw); returns its ``t_start``.

    Episodes finished after the checkpoint are run again on resume, so keeping them would count them twice.
    """
    lines = path.read_text().splitlines(keepends=True)
    if len(_monitor_rows(path, lines[:2 + episodes])) < episodes:  # rows after the checkpoint may be torn
        raise ValueError(f"{path} holds {len(lines) - 2} episodes but its checkpoint saw {episodes}")
    try:
        t_start = float(json.loads(lines[0][1:])["t_start"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: malformed monitor header: {exc}") from exc
    atomic_write_text(path, "".join(lines[:2 + episodes]))
    return t_start


class RunDir:
    """``root/config.json``, ``versions.json``, ``monitor/``, ``tb/``, ``checkpoints/``, ``results/``.

    A checkpoint is ``checkpoints/model_N_steps.pt`` (tensors) and ``checkpoints/checkpoint_N_steps.json``
    (written second: it commits the checkpoint) holding the model file's SHA-256. The hash only detects
    torn or corrupt files; safety comes from never unpickling (tensors and JSON only).
    """

    RECORD = re.compile(r"checkpoint_(\d+)_steps\.json$")

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.checkpoints = self.root / "checkpoints"
        self.results = self.root / "results"
        self.tensorboard = self.root / "tb"
        self.monitor = self.root / "monitor"

    def lock(self):
        return locked(self.root)

    def create(self, config: dict[str, Any]) -> None:
        """Create the directory, or check that an existing one was made with the same configuration."""
        config_path = self.root / "config.json"
        if config_path.exists():
            old = read_json(config_path)
            if old != config:
                diff = ", ".join(f"{k}: {old_v!r} there, {new_v!r} requested" for k, old_v, new_v in _diff(old, config))
                raise ValueError(f"{self.root} holds a run with a different configuration ({diff}); choose another "
                                 f"run directory or delete it")
            return
        write_json(config_path, config)
        write_json(self.root / "versions.json", versions())

    @property
    def config(self) -> dict[str, Any]:
        """The run's configuration, validated (it decides what is imported and built)."""
        path = self.root / "config.json"
        if not path.exists():
            raise FileNotFoundError(f"{self.root} is not a run directory (no config.json)")
        return validate_config(read_json(path), path)

    def monitor_file(self, rank: int) -> Path:
        return self.monitor / f"{rank}.monitor.csv"

    def model_path(self, steps: int) -> Path:
        return self.checkpoints / f"model_{steps}_steps.pt"

    def record_path(self, steps: int) -> Path:
        return self.checkpoints / f"checkpoint_{steps}_steps.json"

    def write_checkpoint(self, steps: int, model: bytes, record: dict[str, Any]) -> None:
        atomic_write_bytes(self.model_path(steps), model)
        write_json(self.record_path(steps), {**record, "steps": steps, "sha256": hashlib.sha256(model).hexdigest()})

    def latest_checkpoint(self) -> int | None:
        """Timesteps of the newest committed checkpoint, if any."""
        steps = [int(m.group(1)) for p in self.checkpoints.glob("checkpoint_*_steps.json")
                 if (m := self.RECORD.fullmatch(p.name))]
        return max(steps, default=None)

    def read_checkpoint(self, steps: int) -> tuple[dict[str, Any], bytes]:
        """The record and model bytes of a checkpoint, read once: the bytes checked are the bytes loaded."""
        record = read_json(self.record_path(steps))
        path = self.model_path(steps)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"checkpoint model {path} is missing") from None
        episodes = record.get("monitor_episodes") if isinstance(record, dict) else None
        base = {"steps", "sha256", "monitor_episodes", "vec_normalize"}
        multiplier = record.get("multiplier", 0.0) if isinstance(record, dict) else None
        if (not isinstance(record, dict) or not base <= set(record) <= base | {"multiplier"}
                or record["steps"] != steps or not isinstance(episodes, list)
                or not all(_count(e, minimum=0) for e in episodes) or not _number(multiplier) or multiplier < 0):
            raise ValueError(f"{self.record_path(steps)} is not a checkpoint record of step {steps}")
        if record.get("sha256") != hashlib.sha256(data).hexdigest():
            raise ValueError(f"{path} does not match its checkpoint record (corrupt or replaced file)")
        return record, data

    def result_path(self, name: str) -> Path:
        return self.results / f"{name}.json"


def _diff(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, old, new) for every leaf where two JSON objects differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for k in sorted(set(old) | set(new), key=str)
                for d in _diff(old.get(k), new.get(k), f"{prefix}{k}.")]
    return [] if old == new else [(prefix.rstrip("."), old, new)]
