"""Offline RL baselines beside the online ones: results/offline/summary.{json,csv,md} (docs/offline.md).

For each paper environment: its standard ``mixed`` dataset in the state observation mode (STANDARD_EPISODES
patients from STANDARD_SEED, written by the same call as ``clinsim dataset --standard``, so the same arrays under
the same ID; written if missing or not the standard one), behaviour cloning and two offline RL algorithms suited
to the action space (finite: CQL, BCQ; continuous Box: IQL, TD3+BC) trained for ``--steps`` updates per seed
(``clinsim train-offline``), every agent evaluated on the environment's evaluation patients (seeds 0..N-1, as the
reproduction), and the table with the reproduction's random / none / protocol / planner / PPO rows
(results/reproduction/<suite>/summary.json, the same patients) and the behaviour policy itself. Finished runs
are reused (resumable).

    PYTHONPATH=src python benchmarks/offline_rl.py --steps 5000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import logging
import shutil
import time
from pathlib import Path

import gymnasium as gym
import minari
import structlog

import clinsim
from clinsim.offline.datasets import (
    STANDARD_EPISODES,
    STANDARD_SEED,
    behaviour_policy,
    collect,
    dataset_id,
    minari_root,
)
from clinsim.offline.rl import CONFIG_FILE, RESULT_FILE, evaluate_offline, train_offline
from clinsim.training.benchmark import _row, slug, write_summary
from clinsim.training.evaluate import evaluate_policy, seed_summary
from clinsim.training.runs import read_json

# behaviour cloning and two offline RL algorithms per kind of action space; CQL has a continuous version too but
# costs about ten times as much per update there (its sampled-action log-sum-exp), so IQL and TD3+BC take its place
DISCRETE_ALGOS = ("bc", "cql", "bcq")
CONTINUOUS_ALGOS = ("bc", "iql", "td3bc")
BEHAVIOUR = "mixed"


def algorithms(env_id: str) -> tuple[str, ...]:
    return CONTINUOUS_ALGOS if isinstance(gym.make(env_id).action_space, gym.spaces.Box) else DISCRETE_ALGOS


def _standard(dataset) -> bool:
    """Whether a stored dataset is the standard one (the ID alone does not say: any episode count shares it)."""
    first, last = STANDARD_SEED, STANDARD_SEED + STANDARD_EPISODES - 1
    return (dataset.total_episodes == STANDARD_EPISODES
            and f"reset seeds {first}..{last})" in str(dataset.storage.metadata.get("description", "")))


def _dataset(env_id: str, root: Path):
    """The standard ``mixed`` dataset of ``env_id`` under ``root``: the stored one if it is the standard one, else
    written by ``collect_standard``'s call (state observations)."""
    with minari_root(root):
        try:
            dataset = minari.load_dataset(dataset_id(env_id, BEHAVIOUR))
            if _standard(dataset):
                return dataset
        except (FileNotFoundError, ValueError):
            pass
    start = time.process_time()
    dataset = collect(env_id, BEHAVIOUR, STANDARD_EPISODES, STANDARD_SEED, root, overwrite=True)
    print(f"  {dataset.spec.dataset_id}: {dataset.total_episodes} episodes, {dataset.total_steps} steps, "
          f"{time.process_time() - start:.0f} CPU-s", flush=True)
    return dataset


def _finished(run_dir: Path, steps: int, dataset) -> dict | None:
    """The evaluation of a finished run with these steps on this dataset (ID, episode and step counts)."""
    if (run_dir / RESULT_FILE).exists():
        config = read_json(run_dir / CONFIG_FILE)
        logged = {"id": dataset.spec.dataset_id, "episodes": int(dataset.total_episodes),
                  "steps": int(dataset.total_steps)}
        if config["steps"] == steps and config["dataset"] == logged:
            return read_json(run_dir / RESULT_FILE)
    return None


def _run(dataset, run_dir: Path, algo: str, steps: int, seed: int) -> dict:
    """A finished run's evaluation, or a new run (a run left without its evaluation is started again)."""
    done = _finished(run_dir, steps, dataset)
    if done is not None:
        return done
    shutil.rmtree(run_dir, ignore_errors=True)
    start = time.process_time()
    train_offline(dataset, run_dir, algo, steps, seed)
    print(f"  {run_dir.name}: {steps} steps, {time.process_time() - start:.0f} CPU-s", flush=True)
    return evaluate_offline(run_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", type=Path, default=Path("runs/offline/datasets"))
    parser.add_argument("--runs", type=Path, default=Path("runs/offline"))
    parser.add_argument("--out", type=Path, default=Path("results/offline"))
    parser.add_argument("--reproduction", type=Path, default=Path("results/reproduction"))
    parser.add_argument("--env", action="append", choices=clinsim.PAPER_IDS, help="default: every paper "
                        "environment")
    parser.add_argument("--table-only", action="store_true", help="train nothing: the table of the finished runs "
                        "among --seeds")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    rows = []
    for env_id in args.env or clinsim.PAPER_IDS:
        algos = algorithms(env_id)
        print(env_id, flush=True)
        dataset = _dataset(env_id, args.datasets)
        online = read_json(args.reproduction / env_id.split("/")[0] / "summary.json")
        rows += [r for r in online if r["env_id"] == env_id]
        behaviour = evaluate_policy(env_id, behaviour_policy(env_id, BEHAVIOUR))
        rows.append(_row(env_id, f"behaviour ({BEHAVIOUR})", seed_summary([behaviour]), n_seeds=0))
        for algo in algos:
            dirs = [args.runs / slug(env_id) / f"{algo}_seed{s}" for s in args.seeds]
            if args.table_only:
                results = [r for d in dirs if (r := _finished(d, args.steps, dataset)) is not None]
            else:
                results = [_run(dataset, d, algo, args.steps, s) for d, s in zip(dirs, args.seeds, strict=True)]
            if results:
                rows.append(_row(env_id, f"offline {algo}", seed_summary(results), n_seeds=len(results)))
    write_summary(rows, args.out)
    print((args.out / "summary.md").read_text())


if __name__ == "__main__":
    main()
