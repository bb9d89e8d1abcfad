"""Frame time of ``render_mode="rgb_array"`` on every paper environment: the first frame (figure built) and the
frames after it (blitted), over one episode under the clinical protocol (patient seed 0).
Usage: ``python benchmarks/render_speed.py``."""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np

import clinsim


def frame_times(env_id: str, seed: int = 0) -> tuple[float, np.ndarray, tuple[int, ...]]:
    env = gym.make(env_id, render_mode="rgb_array")
    obs, _ = env.reset(seed=seed)
    protocol = clinsim.spec(env_id).protocol
    start = time.perf_counter()
    frame = env.render()
    first = time.perf_counter() - start
    times = []
    done = False
    while not done:
        obs, _, terminated, truncated, _ = env.step(protocol(obs[None])[0])
        done = terminated or truncated
        start = time.perf_counter()
        frame = env.render()
        times.append(time.perf_counter() - start)
    env.close()
    return first, np.array(times), frame.shape


def main() -> None:
    print("| environment | frame (px) | first frame (ms) | later frames: median (ms) | mean (ms) | p95 (ms) | frames |")
    print("|---|---|---|---|---|---|---|")
    for env_id in clinsim.PAPER_IDS:
        first, times, shape = frame_times(env_id)
        print(f"| {env_id} | {shape[1]} x {shape[0]} | {first * 1e3:.0f} | {np.median(times) * 1e3:.1f} | "
              f"{times.mean() * 1e3:.1f} | {np.percentile(times, 95) * 1e3:.1f} | {len(times)} |")


if __name__ == "__main__":
    main()
