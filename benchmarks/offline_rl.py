"""Offline RL baselines beside the online ones: results/offline/summary.{json,csv,md} (docs/offline.md).

For each environment: the ``mixed`` dataset (``clinsim dataset ENV --behaviour mixed --episodes 300``; written if
missing), each offline algorithm trained for ``--steps`` updates per seed (``clinsim train-offline``), every
agent evaluated on the environment's evaluation patients (seeds 0..N-1, as the reproduction), and the table
with the reproduction's random / none / protocol / planner / PPO rows (results/reproduction/<suite>/summary.json,
the same patients) and the behaviour policy itself. Finished runs are reused (resumable).

    PYTHONPATH=src python benchmarks/offline_rl.py --steps 5000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import logging
import shutil
import time
from pathlib import Path

import minari
import structlog

from clinsim.offline.datasets import behaviour_policy, collect, dataset_id, minari_root
from clinsim.offline.rl import CONFIG_FILE, RESULT_FILE, evaluate_offline, train_offline
from clinsim.training.benchmark import _row, slug, write_summary
from clinsim.training.evaluate import evaluate_policy, seed_summary
from clinsim.training.runs import read_json

ENVIRONMENTS = {
    "immunosim/CheckpointInhibitor-v1": ("bc", "cql", "bcq"),
    "sepsisim/FluidResuscitation-v1": ("bc", "iql", "td3bc"),
}
BEHAVIOUR = "mixed"
EPISODES = 300


def _dataset(env_id: str, root: Path):
    with minari_root(root):
        try:
            return minari.load_dataset(dataset_id(env_id, BEHAVIOUR))
        except (FileNotFoundError, ValueError):
            return collect(env_id, BEHAVIOUR, EPISODES, seed=0, root=root)


def _finished(run_dir: Path, steps: int, dataset_name: str) -> dict | None:
    if (run_dir / RESULT_FILE).exists():
        config = read_json(run_dir / CONFIG_FILE)
        if config["steps"] == steps and config["dataset"]["id"] == dataset_name:
            return read_json(run_dir / RESULT_FILE)
    return None


def _run(dataset, run_dir: Path, algo: str, steps: int, seed: int) -> dict:
    """A finished run's evaluation, or a new run (a run left without its evaluation is started again)."""
    done = _finished(run_dir, steps, dataset.spec.dataset_id)
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
    parser.add_argument("--env", action="append", choices=list(ENVIRONMENTS), help="default: all")
    parser.add_argument("--table-only", action="store_true", help="train nothing: the table of the finished runs "
                        "among --seeds")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    rows = []
    for env_id in args.env or ENVIRONMENTS:
        algos = ENVIRONMENTS[env_id]
        print(env_id, flush=True)
        dataset = _dataset(env_id, args.datasets)
        online = read_json(args.reproduction / env_id.split("/")[0] / "summary.json")
        rows += [r for r in online if r["env_id"] == env_id]
        behaviour = evaluate_policy(env_id, behaviour_policy(env_id, BEHAVIOUR))
        rows.append(_row(env_id, f"behaviour ({BEHAVIOUR})", seed_summary([behaviour]), n_seeds=0))
        for algo in algos:
            dirs = [args.runs / slug(env_id) / f"{algo}_seed{s}" for s in args.seeds]
            if args.table_only:
                results = [r for d in dirs if (r := _finished(d, args.steps, dataset.spec.dataset_id)) is not None]
            else:
                results = [_run(dataset, d, algo, args.steps, s) for d, s in zip(dirs, args.seeds, strict=True)]
            if results:
                rows.append(_row(env_id, f"offline {algo}", seed_summary(results), n_seeds=len(results)))
    write_summary(rows, args.out)
    print((args.out / "summary.md").read_text())


if __name__ == "__main__":
    main()
