"""Throughput side by side with the seed packages (PyPI ``immunosim==0.1.0``, ``sepsisim==0.1.0``).

Run: ``python benchmarks/throughput.py [--seconds S]``. The seed packages register the same IDs, so
they run in their own virtual environment (created in ``.bench-venv/`` on first use) and process.
Prints per environment: single-env steps/s through ``gym.make`` for both, the ratio, native vector
env-steps/s at 1, 64, 1024 and 4096 patients, peak memory (max RSS) of each measurement process, and
the start-up time (import + first step) of a fresh process, twice (the second uses numba's cache).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_VENV = ROOT / ".bench-venv"
PAPER_IDS = ["immunosim/CheckpointInhibitor-v0", "immunosim/CombinationTherapy-v0", "immunosim/CARTCell-v0",
             "immunosim/AdaptiveDosing-v0", "sepsisim/FluidResuscitation-v0", "sepsisim/VasopressorTitration-v0",
             "sepsisim/SepsisManagement-v0"]

SINGLE = """
import json, resource, sys, time, gymnasium as gym
import {module}
env = gym.make({env_id!r}); env.reset(seed=0); env.action_space.seed(0)
n, start = 0, time.perf_counter()
while time.perf_counter() - start < {seconds}:
    _, _, term, trunc, _ = env.step(env.action_space.sample()); n += 1
    if term or trunc: env.reset()
print(json.dumps({{"rate": n / (time.perf_counter() - start),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

VECTOR = """
import json, resource, time, numpy as np, gymnasium as gym
import clinsim
env = gym.make_vec({env_id!r}, num_envs={n}, vectorization_mode="vector_entry_point"); env.reset(seed=0)
env.action_space.seed(0); actions = env.action_space.sample(); env.step(actions)
k, start = 0, time.perf_counter()
while time.perf_counter() - start < {seconds}:
    env.step(actions); k += 1
print(json.dumps({{"rate": k * {n} / (time.perf_counter() - start),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

STARTUP = """
import time; start = time.perf_counter()
import gymnasium as gym, clinsim
env = gym.make({env_id!r}); env.reset(seed=0); env.step(env.action_space.sample())
print(time.perf_counter() - start)
"""


def run(python: str, code: str) -> dict | float:
    out = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    return json.loads(out.splitlines()[-1])


def seed_python() -> str:
    python = SEED_VENV / "bin" / "python"
    if not python.exists():
        venv.create(SEED_VENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "immunosim==0.1.0", "sepsisim==0.1.0"], check=True)
    return str(python)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--env", action="append", choices=PAPER_IDS)
    args = parser.parse_args()
    seed = seed_python()
    print(f"{'environment':34s} {'seed /s':>9s} {'ours /s':>9s} {'ratio':>6s} | vector env-steps/s at n = "
          f"{'1':>7s}{'64':>10s}{'1024':>10s}{'4096':>10s} | max RSS MB | start-up s (1st, 2nd)")
    for env_id in args.env or PAPER_IDS:
        module = env_id.split("/")[0]
        theirs = run(seed, SINGLE.format(module=module, env_id=env_id, seconds=args.seconds))
        ours = run(sys.executable, SINGLE.format(module="clinsim", env_id=env_id, seconds=args.seconds))
        vec = [run(sys.executable, VECTOR.format(env_id=env_id, n=n, seconds=args.seconds))
               for n in (1, 64, 1024, 4096)]
        startup = [run(sys.executable, STARTUP.format(env_id=env_id)) for _ in range(2)]
        print(f"{env_id:34s} {theirs['rate']:9.0f} {ours['rate']:9.0f} {ours['rate'] / theirs['rate']:6.1f} | "
              f"{'':>25s}" + "".join(f"{v['rate']:>10.0f}" for v in vec)
              + f" | {max(v['rss_mb'] for v in vec):9.0f} | {startup[0]:.2f}, {startup[1]:.2f}")


if __name__ == "__main__":
    main()
