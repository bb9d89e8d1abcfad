"""TorchRL's ``GymWrapper`` on the native vector env (TorchRL's preferred ``Disabled`` autoreset: it restarts
finished patients itself with ``reset_mask``) and on the single env: its rollouts replay exactly on our envs."""

import gymnasium as gym
import numpy as np
import pytest

import clinsim  # noqa: F401

torchrl_envs = pytest.importorskip("torchrl.envs")
from torchrl.envs.utils import check_env_specs  # noqa: E402

ENV_ID = "immunosim/CheckpointInhibitor-v1"  # 26 weekly steps: a 60-step rollout restarts every patient twice


def test_torchrl_rollout_on_the_native_vector_env_replays_on_it() -> None:
    n, steps = 3, 60
    wrapped = torchrl_envs.GymWrapper(gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point",
                                                   autoreset_mode="Disabled"))
    assert tuple(wrapped.batch_size) == (n,)
    check_env_specs(wrapped)
    wrapped.set_seed(3)
    td = wrapped.rollout(steps, break_when_any_done=False)
    assert tuple(td.batch_size) == (n, steps)
    done = td["next", "done"][..., 0].numpy()
    assert done.sum(axis=1).min() >= 2  # every patient finished twice and was restarted by TorchRL

    venv = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point", autoreset_mode="Disabled")
    venv.reset(seed=3)
    obs, _ = venv.reset()  # rollout's own reset draws the next patients from the seeded generators
    actions = td["action"].numpy().argmax(-1)  # one-hot in TorchRL
    for t in range(steps):
        assert np.allclose(td["observation"][:, t].numpy(), obs)
        obs, reward, terminated, truncated, _ = venv.step(actions[:, t])
        assert np.allclose(td["next", "reward"][:, t, 0].numpy(), reward)
        assert np.array_equal(done[:, t], terminated | truncated)
        if (terminated | truncated).any():
            obs, _ = venv.reset(options={"reset_mask": terminated | truncated})


def test_torchrl_rollout_on_the_single_env_replays_on_it() -> None:
    wrapped = torchrl_envs.GymWrapper(gym.make(ENV_ID))
    check_env_specs(wrapped)
    env = gym.make(ENV_ID)
    for seed in range(3):
        wrapped.set_seed(seed)
        td = wrapped.rollout(100)  # until the episode ends: the horizon at the latest
        env.reset(seed=seed)
        obs, _ = env.reset()
        steps = td.batch_size[0]
        assert 1 <= steps <= 26
        for t, action in enumerate(td["action"].numpy().argmax(-1)):
            assert np.allclose(td["observation"][t].numpy(), obs)
            obs, reward, terminated, truncated, _ = env.step(action)
            assert np.isclose(td["next", "reward"][t, 0].item(), reward)
            assert (terminated or truncated) == (t == steps - 1)
