"""Benchmark orchestration: baselines, planner and trained agents on many environments, resumable.

Layout under ``root``::

    <env>/baselines/<policy>.json        evaluation of random / none / protocol / planner
    <env>/<algo>_seed<k>/                 a training run (RunDir) with results/eval.json
    summary.json, summary.csv, summary.md
    figures/*.png

Every finished piece is on disk before the next starts, so an interrupted benchmark resumes where it
stopped (training from its last checkpoint). A piece is reused only if it was made with the requested
settings and package version; one benchmark at a time per ``root`` (a lock). With more than one core, a
background process runs the later environments' baselines and compiles their steps while the first ones
train (on a fresh clone compiling is several seconds of CPU per environment, docs/performance.md: it then uses
the core the learner leaves free).
"""

from __future__ import annotations

import csv
import io
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import gymnasium as gym

from clinsim import __version__
from clinsim.baselines import baselines
from clinsim.core.threads import max_threads
from clinsim.training.evaluate import default_episodes, evaluate_policy, seed_summary
from clinsim.training.planner import RolloutPlanner
from clinsim.training.runs import RunDir, atomic_write_text, locked, read_json, validate_config, write_json
from clinsim.training.train import train, train_config, trained_policy


def slug(env_id: str) -> str:
    return env_id.replace("/", "__")


def _stored(path: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """The stored result if it was made with exactly ``key`` (settings and package version)."""
    stored = read_json(path) if path.exists() else None
    return stored if isinstance(stored, dict) and stored.get("config") == key else None


def _cached(path: Path, key: dict[str, Any], compute) -> dict[str, Any]:
    """The stored result if it was made with exactly ``key``, else a new one."""
    if (stored := _stored(path, key)) is not None:
        return stored
    result = {**compute(), "config": key}
    write_json(path, result)
    return result


def run_baselines(env_id: str, root: Path, episodes: int) -> dict[str, dict[str, Any]]:
    """Random, no treatment, clinical protocol and the rollout planner on the evaluation patients."""
    out = {}
    policies = baselines(env_id)
    policies["planner"] = RolloutPlanner(gym.make(env_id).unwrapped.task, policies["protocol"])
    for name, policy in policies.items():
        key = {"env_id": env_id, "policy": name, "episodes": episodes, "first_seed": 0, "clinsim": __version__}
        out[name] = _cached(root / slug(env_id) / "baselines" / f"{name}.json", key,
                            lambda p=policy: evaluate_policy(env_id, p, episodes))
    return out


def agent_name(algo: str, overrides: dict[str, Any] | None = None) -> str:
    """``ppo``, or ``ppo[learning_rate=0.0001]`` for an agent with hyperparameters other than the defaults."""
    return algo + (f"[{','.join(f'{k}={v}' for k, v in sorted(overrides.items()))}]" if overrides else "")


def run_agent(env_id: str, algo: str, seed: int, root: Path, episodes: int, timesteps: int | None,
              progress: bool, n_envs: int = 1, overrides: dict[str, Any] | None = None,
              first_seed: int = 0, name: str | None = None) -> dict[str, Any]:
    """Train (or resume) one agent and evaluate it on the evaluation patients.

    ``train`` refuses a run directory made with other settings, so a result is never reported under
    settings it was not made with. ``n_envs`` applies to PPO (off-policy agents train on one env);
    ``overrides``: hyperparameters other than the defaults (their own run directory, or ``name``);
    ``first_seed``: the first evaluation patient (tuning evaluates on patients the benchmark never uses).
    """
    run_dir = root / slug(env_id) / (name or f"{agent_name(algo, overrides)}_seed{seed}")
    n = n_envs if algo == "ppo" else 1
    config = train_config(env_id, algo, seed, total_timesteps=timesteps, overrides=overrides,
                          checkpoint_every=max(1_000, (timesteps or 100_000) // 10) // n * n, n_envs=n)
    key = {"env_id": env_id, "policy": agent_name(algo, overrides), "seed": seed,
           "timesteps": config["hyperparameters"]["total_timesteps"],
           "episodes": episodes, "first_seed": first_seed, "clinsim": __version__}
    run = RunDir(run_dir)
    if (run.root / "config.json").exists() and (stored := _stored(run.result_path("eval"), key)) is not None:
        # a finished, evaluated run is reused without its checkpoints (they are not committed with results);
        # create() still refuses a run directory made with other settings
        run.create(validate_config(config))
        return stored
    train(run_dir, config, progress=progress)
    return _cached(run.result_path("eval"), key,
                   lambda: evaluate_policy(env_id, trained_policy(run_dir, env_id), episodes, seed=first_seed))


def run_benchmark(env_ids: Sequence[str], root: str | Path, algos: Sequence[str] = ("ppo",),
                  seeds: Sequence[int] = (42,), timesteps: int | None = None, episodes: int | None = None,
                  progress: bool = True, n_envs: int = 1) -> list[dict[str, Any]]:
    """Everything for every environment; writes and returns the summary rows."""
    root = Path(root)
    with locked(root):
        rows = _benchmark_rows(env_ids, root, algos, seeds, timesteps, episodes, progress, n_envs)
        write_summary(rows, root)
    return rows


def _benchmark_rows(env_ids: Sequence[str], root: Path, algos: Sequence[str], seeds: Sequence[int],
                    timesteps: int | None, episodes: int | None, progress: bool,
                    n_envs: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with _Ahead(env_ids[1:], root, episodes, n_envs) as ahead:
        for env_id in env_ids:
            ahead.wait(env_id)
            rows += _env_rows(env_id, root, algos, seeds, timesteps, episodes, progress, n_envs)
    return rows


def _env_rows(env_id: str, root: Path, algos: Sequence[str], seeds: Sequence[int], timesteps: int | None,
              episodes: int | None, progress: bool, n_envs: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    n = default_episodes(env_id) if episodes is None else episodes
    for name, result in run_baselines(env_id, root, n).items():
        rows.append(_row(env_id, name, seed_summary([result]), n_seeds=0))
    space = gym.make(env_id).action_space
    for algo in algos:
        if algo == "dqn" and isinstance(space, gym.spaces.Box) or algo == "sac" and not isinstance(
                space, gym.spaces.Box):
            continue
        results = [run_agent(env_id, algo, s, root, n, timesteps, progress, n_envs) for s in seeds]
        rows.append(_row(env_id, algo, seed_summary(results), n_seeds=len(seeds)))
    return rows


class _Ahead:
    """The later environments' baselines and compiled steps, in one background process (spawned: no fork of a
    process holding numba's and torch's thread pools) when this process has more than one core.

    ``wait(env_id)`` before an environment: its piece is cancelled if not started yet (this process does it
    now), else awaited (re-raising what failed there). Results go through the same files as in this process.
    """

    def __init__(self, env_ids: Sequence[str], root: Path, episodes: int | None, n_envs: int) -> None:
        self._args = list(env_ids), root, episodes, n_envs
        self._pool: ProcessPoolExecutor | None = None
        self._pending: dict[str, Future[None]] = {}

    def __enter__(self) -> _Ahead:
        env_ids, root, episodes, n_envs = self._args
        if env_ids and max_threads() > 1:
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            self._pending = {e: self._pool.submit(_prepare, e, root, episodes, n_envs) for e in env_ids}
        return self

    def wait(self, env_id: str) -> None:
        if (piece := self._pending.pop(env_id, None)) is not None and not piece.cancel():
            piece.result()

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


def _prepare(env_id: str, root: Path, episodes: int | None, n_envs: int) -> None:
    """An environment's baselines, and its steps compiled into the cache for training (single env, or the
    vector env of ``n_envs`` patients)."""
    run_baselines(env_id, root, default_episodes(env_id) if episodes is None else episodes)
    env = gym.make(env_id) if n_envs == 1 else gym.make_vec(env_id, n_envs, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    env.step(env.action_space.sample())
    env.close()


def _row(env_id: str, agent: str, summary: dict[str, dict[str, float]], n_seeds: int) -> dict[str, Any]:
    row: dict[str, Any] = {"env_id": env_id, "agent": agent, "training_seeds": n_seeds}
    # sorted: a result computed now and one read back from its JSON (sorted keys) give the same columns
    for key, s in sorted(summary.items()):
        row[key] = s["mean"]
        if n_seeds > 1:
            row[f"{key}_seed_std"] = s["std"]
            row[f"{key}_ci_low"], row[f"{key}_ci_high"] = s["ci_low"], s["ci_high"]
    return row


def write_summary(rows: list[dict[str, Any]], root: Path) -> None:
    write_json(root / "summary.json", rows)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(root / "summary.csv", buffer.getvalue())
    atomic_write_text(root / "summary.md", format_table(rows))


def format_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table: return (with seed SD and CI when there are several training seeds) and outcomes."""
    skip = {"env_id", "agent", "training_seeds", "return", "return_std"}
    lines = []
    for env_id in dict.fromkeys(r["env_id"] for r in rows):
        env_rows = [r for r in rows if r["env_id"] == env_id]
        metrics = [k for k in env_rows[0] if k not in skip and not k.endswith(("_seed_std", "_ci_low", "_ci_high"))]
        lines += [f"### {env_id}", "", "| agent | return | " + " | ".join(metrics) + " |",
                  "|---" * (2 + len(metrics)) + "|"]
        for r in env_rows:
            ret = f"{r['return']:.1f} (episode SD {_fmt(r['return_std'], '.1f')})"
            if r["training_seeds"] > 1:
                ret = (f"{r['return']:.1f} +- {_fmt(r['return_seed_std'], '.1f')} [{_fmt(r['return_ci_low'], '.1f')}, "
                       f"{_fmt(r['return_ci_high'], '.1f')}] ({r['training_seeds']} seeds)")
            lines.append(f"| {r['agent']} | {ret} | " + " | ".join(_fmt(r.get(m), ".3g") for m in metrics) + " |")
        lines.append("")
    return "\n".join(lines)


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)
