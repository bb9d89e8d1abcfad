"""Compiled code is cached on disk and a second process loads it instead of compiling."""

import json
import os
import subprocess
import sys

from clinsim.core.jit import SOURCE_HASH, jit

STEP_AND_REPORT = """
import json, gymnasium as gym, clinsim
from clinsim.immunosim import checkpoint, models
env = gym.make("immunosim/CheckpointInhibitor-v0"); env.reset(seed=0); env.step(1)
stats = [checkpoint.STEP_KERNEL._serial.stats, models.CheckpointModel.integrate_patient.stats]
print(json.dumps({"hits": [sum(s.cache_hits.values()) for s in stats],
                  "misses": [sum(s.cache_misses.values()) for s in stats]}))
"""


def test_second_process_loads_every_kernel_from_the_cache(tmp_path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    runs = [json.loads(subprocess.run([sys.executable, "-c", STEP_AND_REPORT], env=env, check=True,
                                      capture_output=True, text=True).stdout.splitlines()[-1]) for _ in range(2)]
    assert runs[0]["misses"] == [1, 1]  # compiled (closures included) and saved
    # loaded, not recompiled (the integrator's machine code comes inside the step kernel's)
    assert runs[1]["hits"][0] == 1 and runs[1]["misses"] == [0, 0]


def test_closures_over_different_functions_are_cached_apart() -> None:
    @jit
    def double(x):  # pragma: no cover - compiled
        return 2.0 * x

    @jit
    def triple(x):  # pragma: no cover - compiled
        return 3.0 * x

    def apply(f):
        return jit(lambda x: f(x) + 1.0, key=f.clinsim_key)

    assert apply(double)(1.0) == 3.0 and apply(triple)(1.0) == 4.0
    assert apply(double).clinsim_key != apply(triple).clinsim_key
    assert len(SOURCE_HASH) == 64
