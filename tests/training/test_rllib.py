"""The RLlib example (examples/rllib_ppo.py): one tiny PPO iteration on a local Ray, remote env runner
building the environment by its ``clinsim:`` ID, native vector env inside."""

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray.rllib")
import ray  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "rllib_ppo.py"


def _example():
    spec = importlib.util.spec_from_file_location("rllib_ppo", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("rllib_ppo", module)
    spec.loader.exec_module(module)
    return module


def test_rllib_ppo_iteration_on_native_vector_env_in_a_remote_runner() -> None:
    example = _example()
    horizon = 26  # CheckpointInhibitor: 26 weekly decisions
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        config = example.ppo_config("immunosim/CheckpointInhibitor-v1", num_env_runners=1, envs_per_runner=4,
                                    train_batch_size=8 * horizon, minibatch_size=4 * horizon, num_epochs=1)
        algo = config.build_algo()
        try:
            runners = algo.env_runner_group.foreach_env_runner(
                lambda r: (type(r.env.unwrapped).__name__, r.env.unwrapped.num_envs), local_env_runner=False)
            assert runners == [("CheckpointInhibitorVectorEnv", 4)]  # clinsim's batched env, not SyncVectorEnv
            result = algo.train()["env_runners"]
        finally:
            algo.stop()
    finally:
        ray.shutdown()
    assert result["num_env_steps_sampled"] >= 8 * horizon
    # next-step autoreset read correctly: whole episodes of at most the horizon, some reaching it
    assert result["num_episodes"] >= 4 and result["episode_len_max"] == horizon
    assert 1 <= result["episode_len_min"] <= horizon
