"""Experiments at scale: a grid of environments x algorithms x hyperparameters x training seeds on Ray Tune.

Each trial is one training run with its evaluation (:func:`clinsim.training.benchmark.run_agent`: its own run
directory under ``root``, checkpoints, exact resume). Ray Tune schedules the trials on the local machine, or on a
cluster (``address``), one CPU each by default, and keeps the experiment's state under ``root/ray``: running the
same sweep again restores it (``Tuner.restore``), finishing unfinished and errored trials, which themselves
resume from their last checkpoint, so a crash or a lost node costs at most one checkpoint interval per trial.
The results are then gathered into the benchmark's summary tables (``summary.md|csv|json``).

Workers build environments by ID: the trial imports :mod:`clinsim` first, which registers every ID in the
worker's process (without it, Gymnasium cannot find the ``immunosim`` namespace).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from clinsim.training.benchmark import _row, agent_name, run_agent, run_baselines, write_summary
from clinsim.training.evaluate import default_episodes, seed_summary
from clinsim.training.hyperparameters import algorithms_for
from clinsim.training.runs import locked

EXPERIMENT = "sweep"


def _trial(grid_point: dict[str, Any]) -> None:  # runs in a Ray worker
    import numpy as np
    from ray import tune

    import clinsim  # noqa: F401 - registers the environment IDs in this worker

    config = grid_point["trial"]  # one grid point is one trial's whole configuration
    result = run_agent(config["env_id"], config["algo"], config["seed"], Path(config["root"]), config["episodes"],
                       config["timesteps"], False, config["n_envs"], config["overrides"] or None)
    tune.report({"return_mean": float(np.mean(result["returns"])), "episodes": len(result["returns"])})


def trials(env_ids: Sequence[str], algos: Sequence[str], seeds: Sequence[int],
           grid: dict[str, Sequence[Any]] | None = None) -> list[dict[str, Any]]:
    """Every (environment, algorithm supported by its action space, hyperparameter combination, seed)."""
    names = sorted(grid or {})
    combos = [dict(zip(names, values, strict=True)) for values in itertools.product(*[grid[k] for k in names])]
    return [{"env_id": e, "algo": a, "seed": s, "overrides": c}
            for e in env_ids for a in algos if a in algorithms_for(e) for c in combos for s in seeds]


def run_sweep(env_ids: Sequence[str], root: str | Path, algos: Sequence[str] = ("ppo",), seeds: Sequence[int] = (42,),
              timesteps: int | None = None, episodes: int | None = None, n_envs: int = 1,
              grid: dict[str, Sequence[Any]] | None = None, address: str | None = None,
              cpus_per_trial: float = 1.0, num_cpus: int | None = None) -> list[dict[str, Any]]:
    """Run (or resume) the sweep on Ray and write the summary; returns its rows."""
    root = Path(root).resolve()
    todo = trials(env_ids, algos, seeds, grid)
    if not todo:
        raise ValueError("the sweep has no trials: no algorithm supports these environments' action spaces")
    for t in todo:
        t.update(root=str(root), timesteps=timesteps, n_envs=n_envs,
                 episodes=default_episodes(t["env_id"]) if episodes is None else episodes)
    root.mkdir(parents=True, exist_ok=True)
    with locked(root):
        from ray import tune

        def new(trainable, storage: Path):
            return tune.Tuner(trainable, param_space={"trial": tune.grid_search(todo)},
                              run_config=tune.RunConfig(name=EXPERIMENT, storage_path=str(storage), verbose=0))

        results = fit_on_ray(_trial, root, EXPERIMENT, new, address, cpus_per_trial, num_cpus)
        failed = [r.error for r in results if r.error is not None]
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(results)} trials failed (rerun the sweep to resume them); "
                               f"first error: {failed[0]}")
        rows = _summary_rows(todo, root)
        write_summary(rows, root)
    return rows


def fit_on_ray(trial: Callable[[dict[str, Any]], None], root: Path, experiment: str,
               new_tuner: Callable[[Any, Path], Any], address: str | None, cpus_per_trial: float,
               num_cpus: int | None = None):
    """Run a Ray Tune experiment stored under ``root/ray/<experiment>``: restored if it exists there
    (unfinished and errored trials run again), else made by ``new_tuner(trainable, storage)``."""
    import ray
    from ray import tune

    ray.init(address=address, num_cpus=None if address else num_cpus, include_dashboard=False,
             log_to_driver=False, ignore_reinit_error=True)
    try:
        trainable = tune.with_resources(trial, {"cpu": cpus_per_trial})
        storage = root / "ray"
        if tune.Tuner.can_restore(storage / experiment):
            tuner = tune.Tuner.restore(str(storage / experiment), trainable, resume_unfinished=True,
                                       resume_errored=True)
        else:
            tuner = new_tuner(trainable, storage)
        return tuner.fit()
    finally:
        ray.shutdown()


def _summary_rows(todo: list[dict[str, Any]], root: Path) -> list[dict[str, Any]]:
    """Baselines and every agent (over its seeds), from the results on disk."""
    rows: list[dict[str, Any]] = []
    for env_id in dict.fromkeys(t["env_id"] for t in todo):
        env_trials = [t for t in todo if t["env_id"] == env_id]
        n = env_trials[0]["episodes"]
        for name, result in run_baselines(env_id, root, n).items():
            rows.append(_row(env_id, name, seed_summary([result]), n_seeds=0))
        agents = dict.fromkeys(agent_name(t["algo"], t["overrides"] or None) for t in env_trials)
        for agent in agents:
            runs = [t for t in env_trials if agent_name(t["algo"], t["overrides"] or None) == agent]
            results = [run_agent(t["env_id"], t["algo"], t["seed"], root, n, t["timesteps"], False, t["n_envs"],
                                 t["overrides"] or None) for t in runs]
            rows.append(_row(env_id, agent, seed_summary(results), n_seeds=len(results)))
    return rows
