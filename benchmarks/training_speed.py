"""End-to-end PPO training speed (steps/s, learner included) on every paper environment, one environment
(the papers' setting, SB3's DummyVecEnv) against the native vector env with the rollout kept (n_steps split
between n_envs patients). Usage: ``python benchmarks/training_speed.py [--steps 16384] [--n-envs 1 8 16]``.

``--protocol``: where the time of one run goes, in process CPU seconds (steady under contention, unlike wall
time: the machine is shared): the learner's gradient updates (``PPO.train``) against collecting the rollout
(policy, environment, normalisation), per environment at ``--n-envs``; and from it the CPU time of the papers'
full protocol (every paper environment at its Table 2 budget x ``--seeds`` seeds) and its wall time on
``--cores`` idle cores (one single-threaded run per core).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import clinsim
from clinsim.training.hyperparameters import hyperparameters
from clinsim.training.train import train, train_config


def steps_per_second(env_id: str, n_envs: int, steps: int) -> float:
    with tempfile.TemporaryDirectory() as run_dir:
        config = train_config(env_id, "ppo", seed=42, total_timesteps=steps, checkpoint_every=steps, n_envs=n_envs)
        start = time.perf_counter()
        train(run_dir, config, progress=False)
        return steps / (time.perf_counter() - start)


def cpu_breakdown(env_id: str, n_envs: int, steps: int) -> dict[str, float]:
    """Process CPU seconds per 1000 steps of one run: total, learner updates, rollout collection."""
    from stable_baselines3 import PPO

    spent = {"learner": 0.0, "collect": 0.0}

    def timed(method, key):
        def wrapper(self, *args, **kwargs):
            start = time.process_time()
            try:
                return method(self, *args, **kwargs)
            finally:
                spent[key] += time.process_time() - start
        return wrapper

    originals = PPO.train, PPO.collect_rollouts
    PPO.train, PPO.collect_rollouts = timed(PPO.train, "learner"), timed(PPO.collect_rollouts, "collect")
    try:
        with tempfile.TemporaryDirectory() as run_dir:
            config = train_config(env_id, "ppo", seed=42, total_timesteps=steps, checkpoint_every=steps,
                                  n_envs=n_envs)
            start = time.process_time()
            train(run_dir, config, progress=False)
            total = time.process_time() - start
    finally:
        PPO.train, PPO.collect_rollouts = originals
    return {k: 1000 * v / steps for k, v in {"total": total, **spent}.items()}


def protocol(n_envs: int, steps: int, seeds: int, cores: int) -> None:
    print(f"CPU seconds per 1000 PPO steps, --n-envs {n_envs}, {steps} steps per environment")
    print("| environment | Table 2 budget | CPU s / 1k steps | learner | collection | CPU min per seed |")
    print("|---|---|---|---|---|---|")
    total = 0.0
    for env_id in clinsim.PAPER_IDS:
        b = cpu_breakdown(env_id, n_envs, steps)
        budget = hyperparameters(env_id, "ppo")["total_timesteps"]
        minutes = b["total"] * budget / 1000 / 60
        total += minutes * seeds
        print(f"| {env_id} | {budget} | {b['total']:.3f} | {100 * b['learner'] / b['total']:.0f} % | "
              f"{100 * b['collect'] / b['total']:.0f} % | {minutes:.1f} |")
    print(f"\nfull protocol ({len(clinsim.PAPER_IDS)} environments x {seeds} seeds): {total:.0f} CPU minutes; "
          f"on {cores} idle cores (one run per core): {total / cores:.0f} minutes of wall time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=16_384)
    parser.add_argument("--n-envs", type=int, nargs="+", default=[1, 8, 16])
    parser.add_argument("--protocol", action="store_true", help="CPU breakdown and the full protocol's projection "
                        "at the last --n-envs")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    if args.protocol:
        protocol(args.n_envs[-1], args.steps, args.seeds, args.cores)
        return
    print("| environment | " + " | ".join(f"n_envs={n} (steps/s)" for n in args.n_envs) + " | speed-up |")
    print("|---" * (len(args.n_envs) + 2) + "|")
    for env_id in clinsim.PAPER_IDS:
        rates = [steps_per_second(env_id, n, args.steps) for n in args.n_envs]
        print(f"| {env_id} | " + " | ".join(f"{r:.0f}" for r in rates) + f" | {max(rates) / rates[0]:.1f}x |")


if __name__ == "__main__":
    main()
