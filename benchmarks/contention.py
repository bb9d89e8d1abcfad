"""Vector-env throughput beside competing load: alone, beside a busy process, and beside a real PPO learner.

Each configuration runs in a fresh process (the threading layer and the OpenMP wait policy are fixed when a
process starts its first parallel region): numba's OpenMP layer with spinning (``OMP_WAIT_POLICY=ACTIVE``) and
sleeping (``PASSIVE``, clinsim's default) waiters, the workqueue layer, one thread, and clinsim's adaptive
thread count (``num_threads="auto"``). Usage: ``python benchmarks/contention.py [--patients 4096] [--seconds 4]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ENV_ID = "immunosim/CheckpointInhibitor-v1"
MEASURE = """
import json, time, numpy as np, gymnasium as gym, clinsim, numba
v = gym.make_vec({env!r}, num_envs={n}, vectorization_mode="vector_entry_point", num_threads={threads!r})
v.reset(seed=0); a = np.full({n}, 2)
for _ in range(30): v.step(a)
steps, start = 0, time.perf_counter()
while time.perf_counter() - start < {seconds}: v.step(a); steps += 1
print(json.dumps({{"rate": steps * {n} / (time.perf_counter() - start), "layer": numba.threading_layer()}}))
"""
BUSY = "while True: pass"
LEARNER = """
import torch; torch.set_num_threads(1)
import gymnasium as gym, clinsim
from stable_baselines3 import PPO
PPO("MlpPolicy", gym.make("immunosim/CheckpointInhibitor-v1"), n_steps=2048, batch_size=64, device="cpu").learn(10**8)
"""
CONFIGS = {  # name: (environment variables, num_threads)
    "omp, spinning waiters, all threads": ({"NUMBA_THREADING_LAYER": "omp", "OMP_WAIT_POLICY": "ACTIVE"}, None),
    "omp, passive waiters, all threads": ({"NUMBA_THREADING_LAYER": "omp", "OMP_WAIT_POLICY": "PASSIVE"}, None),
    "workqueue, all threads": ({"NUMBA_THREADING_LAYER": "workqueue"}, None),
    "one thread": ({}, 1),
    "clinsim default (passive, auto)": ({}, "auto"),
}


def measure(env: dict[str, str], threads, patients: int, seconds: float) -> dict:
    code = MEASURE.format(env=ENV_ID, n=patients, threads=threads or os.cpu_count(), seconds=seconds)
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=4096)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    loads = {"alone": None, "beside a busy process": BUSY, "beside a PPO learner": LEARNER}
    print(f"{ENV_ID}, {args.patients} patients, env-steps/s ({os.cpu_count()} CPUs)\n")
    print("| configuration | " + " | ".join(loads) + " |\n|---" * 1 + "|---" * len(loads) + "|")
    rows = {name: [] for name in CONFIGS}
    for load in loads.values():
        competitor = subprocess.Popen([sys.executable, "-c", load]) if load else None
        if competitor:
            time.sleep(5.0)  # the learner imports and starts
        try:
            for name, (env, threads) in CONFIGS.items():
                rows[name].append(measure(env, threads, args.patients, args.seconds)["rate"])
        finally:
            if competitor:
                competitor.kill()
                competitor.wait()
    for name, rates in rows.items():
        print(f"| {name} | " + " | ".join(f"{r / 1e3:.0f}k" for r in rates) + " |")


if __name__ == "__main__":
    main()
