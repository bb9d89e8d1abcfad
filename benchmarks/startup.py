"""Start-up: cold compile time per environment, warm start time, and the main job's first run.

Each measurement is a fresh Python process with an empty compile cache (``CLINSIM_CACHE_DIR``) and an empty
bytecode cache (``PYTHONPYCACHEPREFIX``), as on a fresh clone: ``import clinsim``, then ``gym.make`` + reset +
one step (single env), then a 16-patient native vector env's reset + step. "cold" is that first process,
"warm" the same again on the cache it filled. Times are wall (what a user waits) and CPU (user + system of
the process: what the compiler did, less disturbed when other processes share the cores).
Usage: ``python benchmarks/startup.py [--env ID ...] [--src DIR] [--main-job "benchmark --episodes 2"]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import clinsim

CHILD = """
import json, sys, time
def mark():
    return time.perf_counter(), time.process_time()
t0 = mark()
import gymnasium as gym
import clinsim
t1 = mark()
env = gym.make(sys.argv[1])
env.reset(seed=0)
env.step(env.action_space.sample())
t2 = mark()
venv = gym.make_vec(sys.argv[1], num_envs=16, vectorization_mode="vector_entry_point")
venv.reset(seed=0)
venv.step(venv.action_space.sample())
t3 = mark()
print(json.dumps({name: [b[0] - a[0], b[1] - a[1]] for name, a, b in
                  (("import", t0, t1), ("single env", t1, t2), ("vector env", t2, t3))}))
"""


def _run(command: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system, children included) of ``command``, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise RuntimeError(f"{shlex.join(command)} failed:\n{done.stderr[-2000:]}")
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, done.stdout


def _fresh(cache: Path, src: Path) -> dict[str, str]:
    return {**os.environ, "CLINSIM_CACHE_DIR": str(cache / "compiled"), "PYTHONPYCACHEPREFIX": str(cache / "pyc"),
            "PYTHONPATH": os.pathsep.join(filter(None, (str(src.resolve()), os.environ.get("PYTHONPATH"))))}


def environment_row(env_id: str, src: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="clinsim-startup-") as cache:
        env = _fresh(Path(cache), src)
        cells = []
        for _ in ("cold", "warm"):
            wall, cpu, out = _run([sys.executable, "-c", CHILD, env_id], env)
            phases = json.loads(out.strip().splitlines()[-1])
            cells += [f"{wall:.1f} / {cpu:.1f}", " / ".join(f"{phases[p][1]:.2f}" for p in phases)]
    return f"| {env_id} | " + " | ".join(cells) + " |"


def main_job_row(arguments: str, src: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="clinsim-startup-") as cache:
        env = _fresh(Path(cache), src)
        cells = []
        for phase in ("cold", "warm"):  # each in a directory of its own: the benchmark resumes from its results
            workdir = Path(cache) / phase
            workdir.mkdir()
            wall, cpu, _ = _run([sys.executable, "-m", "clinsim", *shlex.split(arguments)], env, cwd=workdir)
            cells.append(f"{wall:.0f} / {cpu:.0f}")
    return f"| `clinsim {arguments}` | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", nargs="*", default=list(clinsim.PAPER_IDS), help="environment IDs (none: skip)")
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src",
                        help="the source tree the processes import (to compare two versions in one session)")
    parser.add_argument("--main-job", default="", metavar="ARGS",
                        help='also time `clinsim ARGS` cold and warm, e.g. "benchmark --episodes 2 --no-figures"')
    args = parser.parse_args()
    if args.env:
        print("| environment | cold: wall / CPU (s) | cold CPU: import / single env / vector env (s) | "
              "warm: wall / CPU (s) | warm CPU: import / single env / vector env (s) |\n|---|---|---|---|---|")
        for env_id in args.env:
            print(environment_row(env_id, args.src), flush=True)
    if args.main_job:
        print("\n| main job | first run, empty cache: wall / CPU (s) | second run: wall / CPU (s) |\n|---|---|---|")
        print(main_job_row(args.main_job, args.src), flush=True)


if __name__ == "__main__":
    main()
