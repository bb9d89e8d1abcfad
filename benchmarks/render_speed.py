"""Frame time of ``render_mode="rgb_array"`` on every paper environment, and of the native vector env's grid.

Single env: the first frame (the figure is built) and every frame after it (blitted), over ``--episodes``
episodes under the clinical protocol (patient seeds 0, 1, ...; several, because some protocol episodes end
after one or two decisions). Vector env: ``--grid`` patients' dashboards tiled into one image, over one horizon
of a ``--num-envs`` batch under the protocol. Wall time is what a caller waits; CPU time is the process's own
work, less disturbed when other processes share the cores (compare ratios within one run).
Usage: ``python benchmarks/render_speed.py [--episodes 3] [--grid 4] [--env ID ...]``.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import clinsim


def _timed(render) -> tuple[np.ndarray, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    frame = render()
    return frame, time.perf_counter() - wall, time.process_time() - cpu


def frame_times(env_id: str, episodes: int) -> tuple[float, np.ndarray, np.ndarray, tuple[int, ...]]:
    """First frame's wall time (s), later frames' wall and CPU times (s), the frame's shape."""
    env = gym.make(env_id, render_mode="rgb_array")
    protocol = clinsim.spec(env_id).protocol
    first, walls, cpus = None, [], []
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        done = False
        while True:
            frame, wall, cpu = _timed(env.render)
            if first is None:
                first = wall
            else:
                walls.append(wall)
                cpus.append(cpu)
            if done:
                break
            obs, _, terminated, truncated, _ = env.step(protocol(obs[None])[0])
            done = terminated or truncated
    env.close()
    return first, np.array(walls), np.array(cpus), frame.shape


def grid_times(env_id: str, num_envs: int, shown: int) -> tuple[float, np.ndarray, np.ndarray, tuple[int, ...]]:
    """As :func:`frame_times`, for the vector env's grid of its first ``shown`` patients over one horizon."""
    venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point",
                        render_mode="rgb_array", render_patients=shown)
    protocol = clinsim.spec(env_id).protocol
    obs, _ = venv.reset(seed=0)
    first, walls, cpus = None, [], []
    for _ in range(gym.spec(env_id).max_episode_steps):
        frame, wall, cpu = _timed(venv.render)
        if first is None:
            first = wall
        else:
            walls.append(wall)
            cpus.append(cpu)
        obs, *_ = venv.step(protocol(obs))
    venv.close()
    return first, np.array(walls), np.array(cpus), frame.shape


def _row(env_id: str, result: tuple[float, np.ndarray, np.ndarray, tuple[int, ...]]) -> str:
    first, walls, cpus, shape = result
    ms = {name: (np.median(t) * 1e3, np.percentile(t, 95) * 1e3) for name, t in (("wall", walls), ("cpu", cpus))}
    return (f"| {env_id} | {shape[1]} x {shape[0]} | {first * 1e3:.0f} | {ms['wall'][0]:.1f} / {ms['wall'][1]:.1f} | "
            f"{ms['cpu'][0]:.1f} / {ms['cpu'][1]:.1f} | {len(walls)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", nargs="+", default=list(clinsim.PAPER_IDS), help="environment IDs")
    parser.add_argument("--episodes", type=int, default=3, help="single-env episodes (patient seeds 0, 1, ...)")
    parser.add_argument("--grid", type=int, default=4, help="patients tiled by the vector env's render (0: skip)")
    parser.add_argument("--num-envs", type=int, default=16, help="vector env batch size")
    args = parser.parse_args()
    header = ("| {} | frame (px) | first frame (ms) | later frames, wall: median / p95 (ms) | "
              "CPU: median / p95 (ms) | frames |\n|---|---|---|---|---|---|")
    print(header.format("environment"))
    for env_id in args.env:
        print(_row(env_id, frame_times(env_id, args.episodes)), flush=True)
    if args.grid:
        print()
        print(header.format(f"vector env, {args.grid} of {args.num_envs} patients"))
        for env_id in args.env:
            print(_row(env_id, grid_times(env_id, args.num_envs, args.grid)), flush=True)


if __name__ == "__main__":
    main()
