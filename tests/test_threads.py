"""The adaptive thread count of large batched steps (clinsim.core.threads)."""

import time

import gymnasium as gym
import numba
import numpy as np
import pytest

from clinsim.core.threads import ThreadCount, max_threads


def test_auto_keeps_the_faster_count_and_follows_the_load() -> None:
    if max_threads() < 2:
        pytest.skip("one CPU: nothing to choose")
    slow_with = {"many": True}

    def step() -> int:
        many = numba.get_num_threads() > 1
        time.sleep(0.004 if many == slow_with["many"] else 0.001)
        return numba.get_num_threads()

    count = ThreadCount("auto", probe_every=8)
    used = [count.run(step) for _ in range(8)]
    assert used[4:] == [1] * 4 and count.current == 1  # all threads were slower (a busy machine)
    slow_with["many"] = False  # the other process finished
    used = [count.run(step) for _ in range(8)]
    assert used[4:] == [max_threads()] * 4
    assert numba.get_num_threads() == max_threads()  # the caller's setting is restored


def test_fixed_counts_and_clear_errors() -> None:
    assert ThreadCount(1).run(numba.get_num_threads) == 1
    for bad in (0, max_threads() + 1, "many", 1.5, True):
        with pytest.raises(ValueError, match=r"'auto' or an integer in 1\.\."):
            ThreadCount(bad)
    with pytest.raises(ValueError, match="immunosim/CheckpointInhibitor-v1: num_threads"):
        gym.make_vec("immunosim/CheckpointInhibitor-v1", num_envs=2, vectorization_mode="vector_entry_point",
                     num_threads=0)


def test_thread_counts_give_the_same_bits() -> None:
    """Patients are independent, so 1 or all threads (or the adaptive choice) step to identical states."""
    results = []
    for threads in (1, max_threads(), "auto"):
        venv = gym.make_vec("sepsisim/SepsisManagement-v1", num_envs=96, vectorization_mode="vector_entry_point",
                            num_threads=threads)
        obs, _ = venv.reset(seed=3)
        venv.action_space.seed(0)
        for _ in range(6):
            obs, reward, *_ = venv.step(venv.action_space.sample())
        results.append((obs, reward))
    for obs, reward in results[1:]:
        assert np.array_equal(obs, results[0][0]) and np.array_equal(reward, results[0][1])
