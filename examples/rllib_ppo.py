"""PPO from RLlib (new API stack) on a clinsim environment, with the native vector env in the env runners.

    python examples/rllib_ppo.py --env sepsisim/FluidResuscitation-v1 --iterations 20 --num-env-runners 2

The env runners build the environment by its module-prefixed ID (``"clinsim:<ID>"``): Gymnasium imports
``clinsim`` in each worker process, which registers the IDs (a bare ID fails there with ``NamespaceNotFound``).
``gym_env_vectorize_mode="vector_entry_point"`` makes each runner step its ``num_envs_per_env_runner`` patients
as one compiled batch (clinsim's ``TaskVectorEnv``) instead of a Python loop over single envs; RLlib's runner
expects Gymnasium's default next-step autoreset, which is the native vector env's default.
"""

from __future__ import annotations

import argparse
from typing import Any

import ray
from ray.rllib.algorithms.ppo import PPOConfig


def ppo_config(env_id: str, num_env_runners: int = 1, envs_per_runner: int = 8,
               train_batch_size: int = 4000, minibatch_size: int = 128, num_epochs: int = 10,
               seed: int = 0) -> PPOConfig:
    """RLlib PPO on ``env_id`` with ``envs_per_runner`` patients per runner in one native batched env."""
    return (
        PPOConfig()
        .environment(f"clinsim:{env_id}")
        .env_runners(num_env_runners=num_env_runners, num_envs_per_env_runner=envs_per_runner,
                     gym_env_vectorize_mode="vector_entry_point")
        .training(train_batch_size_per_learner=train_batch_size, minibatch_size=minibatch_size,
                  num_epochs=num_epochs)
        .debugging(seed=seed)
    )


def train(config: PPOConfig, iterations: int) -> list[dict[str, Any]]:
    """Build the algorithm, run ``iterations`` training iterations, return their result dicts."""
    algo = config.build_algo()
    try:
        return [algo.train() for _ in range(iterations)]
    finally:
        algo.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="immunosim/CheckpointInhibitor-v1", help="a clinsim environment ID")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--num-env-runners", type=int, default=1)
    parser.add_argument("--envs-per-runner", type=int, default=8)
    parser.add_argument("--address", default=None, help="an existing Ray cluster (default: a local one)")
    args = parser.parse_args(argv)
    ray.init(address=args.address, include_dashboard=False)
    config = ppo_config(args.env, args.num_env_runners, args.envs_per_runner)
    for i, result in enumerate(train(config, args.iterations)):
        returns = result["env_runners"].get("episode_return_mean", float("nan"))
        print(f"iteration {i + 1}: mean episode return {returns:.2f}, "
              f"env steps {result['env_runners']['num_env_steps_sampled_lifetime']}")


if __name__ == "__main__":
    main()
