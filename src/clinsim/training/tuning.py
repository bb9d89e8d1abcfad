"""Hyperparameter search with Optuna (TPE) on Ray Tune, scored on validation patients, saved as data.

Peers tune every algorithm before reporting (DTR-Bench); a baseline that is not tuned says little about an
environment's difficulty. ``clinsim tune ENV --algo ppo --trials N --timesteps T`` samples N configurations from
the search space of :data:`SEARCH_SPACES` (the ranges of RL Baselines3 Zoo's samplers, ``rl_zoo3/hyperparams_opt.py``,
narrowed to these short-horizon tasks), trains each for T steps and scores it by the mean return on
**validation patients** (reset seeds from :data:`VALIDATION_FIRST_SEED`, never the evaluation patients 0..N-1 of
the results tables), with Optuna's TPE sampler through Ray Tune's ``OptunaSearch`` (parallel trials, restored
when rerun). The best configuration is written to ``src/clinsim/training/tuned/<env>__<algo>.json`` with the
budget, the search space and the command, and ``clinsim train/benchmark/sweep --tuned`` use it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from clinsim.training.benchmark import run_agent, slug

VALIDATION_FIRST_SEED = 100_000
TUNED_DIR = Path(__file__).resolve().parent / "tuned"
EXPERIMENT = "tune"

# (kind, arguments): "log" (low, high) log-uniform, "choice" (values)
SEARCH_SPACES: dict[str, dict[str, tuple[str, tuple]]] = {
    "ppo": {"learning_rate": ("log", (1e-5, 1e-3)), "n_steps": ("choice", (256, 512, 1024, 2048, 4096)),
            "batch_size": ("choice", (32, 64, 128, 256)), "gamma": ("choice", (0.95, 0.98, 0.99, 0.995, 0.999)),
            "ent_coef": ("log", (1e-6, 0.05)), "clip_range": ("choice", (0.1, 0.2, 0.3)),
            "n_epochs": ("choice", (5, 10, 20)), "gae_lambda": ("choice", (0.9, 0.95, 0.98, 1.0))},
    "dqn": {"learning_rate": ("log", (1e-5, 1e-3)), "batch_size": ("choice", (32, 64, 128, 256)),
            "gamma": ("choice", (0.95, 0.98, 0.99, 0.995, 0.999)), "train_freq": ("choice", (1, 4, 8, 16)),
            "target_update_interval": ("choice", (100, 1000, 5000)),
            "exploration_fraction": ("choice", (0.1, 0.2, 0.4)),
            "exploration_final_eps": ("choice", (0.01, 0.05, 0.1)), "learning_starts": ("choice", (0, 1000, 5000))},
    "sac": {"learning_rate": ("log", (1e-5, 1e-3)), "batch_size": ("choice", (64, 128, 256, 512)),
            "gamma": ("choice", (0.95, 0.98, 0.99, 0.995, 0.999)), "tau": ("choice", (0.005, 0.01, 0.02)),
            "train_freq": ("choice", (1, 4, 8)), "learning_starts": ("choice", (0, 1000, 5000))},
}


def tuned_path(env_id: str, algo: str) -> Path:
    return TUNED_DIR / f"{slug(env_id)}__{algo}.json"


def tuned_overrides(env_id: str, algo: str) -> dict[str, Any]:
    """The tuned hyperparameters of ``algo`` on ``env_id`` (a clear error if it was never tuned)."""
    path = tuned_path(env_id, algo)
    if not path.exists():
        tuned = sorted(p.stem for p in TUNED_DIR.glob("*.json"))
        raise FileNotFoundError(f"{algo} was not tuned on {env_id} (run clinsim tune {env_id} --algo {algo}); "
                                f"tuned: {', '.join(tuned) or 'none'}")
    return dict(json.loads(path.read_text())["overrides"])


def _space(algo: str):
    from ray import tune

    return {k: tune.loguniform(*args) if kind == "log" else tune.choice(list(args))
            for k, (kind, args) in SEARCH_SPACES[algo].items()}


def _trial(config: dict[str, Any]) -> None:  # runs in a Ray worker
    from ray import tune

    import clinsim  # noqa: F401 - registers the environment IDs in this worker

    fixed = config["fixed"]
    overrides = {k: v for k, v in config.items() if k != "fixed"}
    name = "trial_" + "_".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in sorted(overrides.items()))
    result = run_agent(fixed["env_id"], fixed["algo"], fixed["seed"], Path(fixed["root"]), fixed["episodes"],
                       fixed["timesteps"], False, 1, overrides, first_seed=VALIDATION_FIRST_SEED, name=name)
    returns = result["returns"]
    tune.report({"validation_return": sum(returns) / len(returns)})


def run_tuning(env_id: str, algo: str, trials: int, timesteps: int, root: str | Path, episodes: int = 50,
               seed: int = 0, address: str | None = None, cpus_per_trial: float = 1.0,
               save: bool = True) -> dict[str, Any]:
    """Search, then write (if ``save``) and return the best configuration with its record."""
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    from clinsim.training.sweep import fit_on_ray

    root = Path(root).resolve()
    fixed = {"env_id": env_id, "algo": algo, "seed": seed, "root": str(root), "episodes": episodes,
             "timesteps": timesteps}
    def new(trainable, storage: Path):
        search = OptunaSearch(metric="validation_return", mode="max", seed=seed)
        return tune.Tuner(trainable, param_space={**_space(algo), "fixed": fixed},
                          tune_config=tune.TuneConfig(search_alg=search, num_samples=trials),
                          run_config=tune.RunConfig(name=EXPERIMENT, storage_path=str(storage), verbose=0))

    results = fit_on_ray(_trial, root, EXPERIMENT, new, address, cpus_per_trial)
    best = results.get_best_result(metric="validation_return", mode="max")
    if best.metrics is None or not math.isfinite(best.metrics.get("validation_return", math.nan)):
        raise RuntimeError(f"no trial of the search finished (see {root / 'ray'})")
    overrides = {k: v for k, v in best.config.items() if k != "fixed"}
    record = {"env_id": env_id, "algo": algo, "overrides": overrides,
              "validation_return": best.metrics["validation_return"], "trials": trials, "timesteps": timesteps,
              "validation_patients": [VALIDATION_FIRST_SEED, VALIDATION_FIRST_SEED + episodes - 1],
              "sampler": "Optuna TPE (ray.tune.search.optuna.OptunaSearch)", "seed": seed,
              "search_space": {k: [kind, list(args)] for k, (kind, args) in SEARCH_SPACES[algo].items()},
              "command": f"clinsim tune {env_id} --algo {algo} --trials {trials} --timesteps {timesteps} "
                         f"--episodes {episodes} --seed {seed}"}
    if save:
        TUNED_DIR.mkdir(exist_ok=True)
        tuned_path(env_id, algo).write_text(json.dumps(record, indent=1) + "\n")
    return record
