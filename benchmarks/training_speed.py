"""End-to-end PPO training speed (steps/s, learner included) on every paper environment, one environment
(the papers' setting, SB3's DummyVecEnv) against the native vector env with the rollout kept (n_steps split
between n_envs patients). Usage: ``python benchmarks/training_speed.py [--steps 16384] [--n-envs 1 8 16]``."""

from __future__ import annotations

import argparse
import tempfile
import time

import clinsim
from clinsim.training.train import train, train_config


def steps_per_second(env_id: str, n_envs: int, steps: int) -> float:
    with tempfile.TemporaryDirectory() as run_dir:
        config = train_config(env_id, "ppo", seed=42, total_timesteps=steps, checkpoint_every=steps, n_envs=n_envs)
        start = time.perf_counter()
        train(run_dir, config, progress=False)
        return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=16_384)
    parser.add_argument("--n-envs", type=int, nargs="+", default=[1, 8, 16])
    args = parser.parse_args()
    print("| environment | " + " | ".join(f"n_envs={n} (steps/s)" for n in args.n_envs) + " | speed-up |")
    print("|---" * (len(args.n_envs) + 2) + "|")
    for env_id in clinsim.PAPER_IDS:
        rates = [steps_per_second(env_id, n, args.steps) for n in args.n_envs]
        print(f"| {env_id} | " + " | ".join(f"{r:.0f}" for r in rates) + f" | {max(rates) / rates[0]:.1f}x |")


if __name__ == "__main__":
    main()
