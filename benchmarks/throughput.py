"""Throughput side by side with the seed packages (PyPI ``immunosim==0.1.0``, ``sepsisim==0.1.0``).

Run: ``python benchmarks/throughput.py [--seconds S] [--env ID ...] [--no-ppo] [--vector-only N]
[--against SRC]``. The seed
packages register the same IDs, so they run in their own virtual environment (created in ``.bench-venv/`` on
first use) and process. Each measurement is a fresh process. Per environment it prints:

* single-env steps/s through ``gym.make`` (default wrappers) for the seed package and for clinsim, and the
  ratio; actions are drawn from the action space before timing, the same for both sides (drawing a Box
  sample costs more than a clinsim step);
* clinsim's native vector env (``vector_entry_point``) env-steps/s at 1, 64, 1024 and 4096 patients;
* peak memory (max RSS) over clinsim's measurement processes;
* start-up (imports, environment construction, reset and first step of a single and a 64-patient vector
  env) in a process with an empty numba cache (compiles) and in a second process (loads the cache);
* PPO at the papers' settings (Table 2 hyperparameters, one env, VecNormalize, one torch thread) over two
  rollouts: the share of wall time spent in the environment;

and the CPU's speed before and after (a dependent multiply-add chain): absolute rates scale with it.

``--against SRC`` compares this checkout with another one instead (``SRC``: the ``src`` folder of, e.g., a
git worktree of the previous main): single-env and vector rates of both, measured alternately in fresh
processes, the best of ``--repeats`` each, and the ratio new / old (speed changes within one run, so the
host's drift cancels).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_VENV = ROOT / ".bench-venv"
PAPER_IDS = ["immunosim/CheckpointInhibitor-v1", "immunosim/CombinationTherapy-v1", "immunosim/CARTCell-v1",
             "immunosim/AdaptiveDosing-v1", "sepsisim/FluidResuscitation-v1", "sepsisim/VasopressorTitration-v1",
             "sepsisim/SepsisManagement-v1"]
VECTOR_SIZES = (1, 64, 1024, 4096)

SINGLE = """
import json, resource, time, gymnasium as gym
import {module}
env = gym.make({env_id!r}); env.reset(seed=0); env.action_space.seed(0)
actions = [env.action_space.sample() for _ in range(1000)]
for i in range(100):
    _, _, term, trunc, _ = env.step(actions[i])
    if term or trunc: env.reset()
n, start = 0, time.perf_counter()
while time.perf_counter() - start < {seconds}:
    _, _, term, trunc, _ = env.step(actions[n % 1000]); n += 1
    if term or trunc: env.reset()
print(json.dumps({{"rate": n / (time.perf_counter() - start),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

VECTOR = """
import json, resource, time, gymnasium as gym
import clinsim
env = gym.make_vec({env_id!r}, num_envs={n}, vectorization_mode="vector_entry_point"); env.reset(seed=0)
env.action_space.seed(0); actions = [env.action_space.sample() for _ in range(16)]
for i in range(3): env.step(actions[i])
k, start = 0, time.perf_counter()
while time.perf_counter() - start < {seconds}:
    env.step(actions[k % 16]); k += 1
print(json.dumps({{"rate": k * {n} / (time.perf_counter() - start),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

STARTUP = """
import json, time; start = time.perf_counter()
import gymnasium as gym, clinsim
env = gym.make({env_id!r}); env.reset(seed=0); env.step(env.action_space.sample())
single = time.perf_counter() - start
vec = gym.make_vec({env_id!r}, num_envs=64, vectorization_mode="vector_entry_point"); vec.reset(seed=0)
vec.step(vec.action_space.sample())
print(json.dumps({{"single": single, "with_vector": time.perf_counter() - start}}))
"""

PPO = """
import json, time, torch, gymnasium as gym
import clinsim
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecEnvWrapper, VecNormalize
from clinsim.training.agents import env_wrappers
from clinsim.training.hyperparameters import VEC_NORMALIZE, hyperparameters

class Timed(VecEnvWrapper):
    seconds = 0.0
    def reset(self):
        return self.venv.reset()
    def step_wait(self):
        start = time.perf_counter(); out = self.venv.step_wait(); Timed.seconds += time.perf_counter() - start
        return out
    def step_async(self, actions):
        start = time.perf_counter(); self.venv.step_async(actions); Timed.seconds += time.perf_counter() - start

torch.set_num_threads(1)
hp = dict(hyperparameters({env_id!r}, "ppo")); hp.pop("total_timesteps")
venv = Timed(make_vec_env({env_id!r}, n_envs=1, seed=0, wrapper_class=env_wrappers({env_id!r}, "ppo")))
vn = {{k: v for k, v in VEC_NORMALIZE["ppo"].items() if k != "gamma_from_agent"}}
venv = VecNormalize(venv, gamma=hp["gamma"], **vn)
model = PPO("MlpPolicy", venv, seed=0, verbose=0, **hp)
start = time.perf_counter()
model.learn(total_timesteps=2 * hp["n_steps"])
total = time.perf_counter() - start
print(json.dumps({{"env_share": Timed.seconds / total, "steps_per_s": 2 * hp["n_steps"] / total}}))
"""


# The host's speed varies (shared machines): a dependent multiply-add chain, timed before and after the
# table, says how fast the CPU ran (1.34 ns on the idle reference machine; rates scale inversely with it).
SPEED = """
import json, time, numba
@numba.njit
def chain(n):
    x = 1.0
    for _ in range(n):
        x = x * 1.0000001 + 1e-9
    return x
chain(1); start = time.perf_counter(); chain(50_000_000)
print(json.dumps({"ns": (time.perf_counter() - start) / 5e7 * 1e9}))
"""


def run(python: str, code: str, env: dict[str, str] | None = None) -> dict:
    out = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True,
                         env={**os.environ, **(env or {})}).stdout.strip()
    return json.loads(out.splitlines()[-1])


def seed_python() -> str:
    python = SEED_VENV / "bin" / "python"
    if not python.exists():
        venv.create(SEED_VENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "immunosim==0.1.0", "sepsisim==0.1.0"], check=True)
    return str(python)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="timing window per measurement")
    parser.add_argument("--env", action="append", choices=PAPER_IDS)
    parser.add_argument("--no-ppo", action="store_true", help="skip the PPO environment-time share")
    parser.add_argument("--vector-only", type=int, metavar="N",
                        help="only clinsim's vector env at N patients, every environment (a quick re-check)")
    parser.add_argument("--against", type=Path, metavar="SRC", help="compare with the clinsim sources in SRC")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per side with --against (best kept)")
    args = parser.parse_args()
    if args.against:
        compare(args.against.resolve(), args.env or PAPER_IDS, args.seconds, args.repeats)
        return
    if args.vector_only:
        speed = run(sys.executable, SPEED)["ns"]
        for env_id in args.env or PAPER_IDS:
            rate = run(sys.executable, VECTOR.format(env_id=env_id, n=args.vector_only, seconds=args.seconds))["rate"]
            print(f"{env_id}: {rate:.0f} env-steps/s at {args.vector_only} patients", flush=True)
        print(f"CPU speed: {speed:.2f} ns per dependent multiply-add before, {run(sys.executable, SPEED)['ns']:.2f} "
              "after (idle reference machine: 1.34).")
        return
    seed = seed_python()
    speed_before = run(sys.executable, SPEED)["ns"]
    print(f"| environment | seed steps/s | clinsim steps/s | ratio | vector env-steps/s at "
          f"{', '.join(map(str, VECTOR_SIZES))} | max RSS MB | start-up s (compile, cached) | PPO env share |")
    print("|---|---|---|---|---|---|---|---|")
    for env_id in args.env or PAPER_IDS:
        module = env_id.split("/")[0]
        theirs = run(seed, SINGLE.format(module=module, env_id=env_id, seconds=args.seconds))
        ours = run(sys.executable, SINGLE.format(module="clinsim", env_id=env_id, seconds=args.seconds))
        vec = [run(sys.executable, VECTOR.format(env_id=env_id, n=n, seconds=args.seconds)) for n in VECTOR_SIZES]
        with tempfile.TemporaryDirectory() as cache:
            startup = [run(sys.executable, STARTUP.format(env_id=env_id), {"NUMBA_CACHE_DIR": cache})
                       for _ in range(2)]
        ppo = "-" if args.no_ppo else "{:.0%} ({:.0f} steps/s)".format(
            *run(sys.executable, PPO.format(env_id=env_id)).values())
        rss = max(v["rss_mb"] for v in [ours, *vec])
        print(f"| {env_id} | {theirs['rate']:.0f} | {ours['rate']:.0f} | {ours['rate'] / theirs['rate']:.1f} | "
              + ", ".join(f"{v['rate']:.0f}" for v in vec)
              + f" | {rss:.0f} | {startup[0]['with_vector']:.1f}, {startup[1]['with_vector']:.1f} | {ppo} |",
              flush=True)
    print(f"\nCPU speed: {speed_before:.2f} ns per dependent multiply-add before the table, "
          f"{run(sys.executable, SPEED)['ns']:.2f} after (idle reference machine: 1.34).")


def compare(other_src: Path, env_ids: list[str], seconds: float, repeats: int) -> None:
    """Single and vector rates of this checkout against ``other_src``, alternating, best of ``repeats``."""
    sides = {"new": {"PYTHONPATH": str(ROOT / "src")}, "old": {"PYTHONPATH": str(other_src)}}
    speed_before = run(sys.executable, SPEED)["ns"]
    print("| environment | measurement | old | new | new / old |\n|---|---|---|---|---|")
    for env_id in env_ids:
        codes = {"single": SINGLE.format(module="clinsim", env_id=env_id, seconds=seconds)}
        codes |= {f"vector {n}": VECTOR.format(env_id=env_id, n=n, seconds=seconds) for n in VECTOR_SIZES}
        for name, code in codes.items():
            best = {side: 0.0 for side in sides}
            for _ in range(repeats):
                for side, env in sides.items():
                    best[side] = max(best[side], run(sys.executable, code, env)["rate"])
            print(f"| {env_id} | {name} | {best['old']:.0f} | {best['new']:.0f} | {best['new'] / best['old']:.3f} |",
                  flush=True)
    speed_after = run(sys.executable, SPEED)["ns"]
    print(f"\nCPU speed: {speed_before:.2f} ns per dependent multiply-add before, {speed_after:.2f} after (idle "
          "reference machine: 1.34).")


if __name__ == "__main__":
    main()
