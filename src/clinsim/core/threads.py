"""How many threads a batched step uses, chosen by measurement so that competing processes never make it slower.

Large batches run their patients in numba's parallel threads. On a machine whose cores are busy (a learner, other
jobs), more threads can be much slower than one: measured on the 2-core reference machine beside one busy
process, 2 OpenMP threads ran 84k env-steps/s against 374k for one thread, because every parallel region waits
for a thread that the scheduler has given to the other process (docs/performance.md). Two things prevent it:

* **Passive waiting.** OpenMP threads that spin while waiting for work steal the cores that the late thread
  needs; ``OMP_WAIT_POLICY=PASSIVE`` (set at import unless the user set it) makes them sleep instead.
* **Adaptive thread count** (:class:`ThreadCount`). A vector env times its own steps with one thread and with all
  of them, keeps the faster, and measures again every ``probe_every`` steps, so it follows the load. A fixed
  count is available for controlled experiments (``num_threads=k`` on the vector env, or
  ``CLINSIM_NUM_THREADS=k``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when numba's OpenMP layer loads (first parallel call)

import numba  # noqa: E402 - after the wait policy

T = TypeVar("T")
AUTO = "auto"


def max_threads() -> int:
    """Numba's thread pool size (its default: the CPUs this process may run on)."""
    return int(numba.config.NUMBA_NUM_THREADS)


class ThreadCount:
    """Thread count for a batched step: fixed, or the faster of 1 and all threads, re-measured periodically.

    ``threads``: ``"auto"`` (default; ``CLINSIM_NUM_THREADS`` overrides it) or a count in 1..``max_threads()``.
    """

    def __init__(self, threads: int | str | None = None, probe_every: int = 256) -> None:
        threads = threads if threads is not None else os.environ.get("CLINSIM_NUM_THREADS", AUTO)
        top = max_threads()
        if threads != AUTO:
            try:
                count = int(threads)
            except (TypeError, ValueError):
                count = 0
            if not 1 <= count <= top or isinstance(threads, bool | float):
                raise ValueError(f"num_threads must be 'auto' or an integer in 1..{top}, got {threads!r}")
            self.candidates: tuple[int, ...] = (count,)
        else:
            self.candidates = (1, top) if top > 1 else (1,)
        self.probe_every = probe_every
        self._seconds = dict.fromkeys(self.candidates, 0.0)
        self._calls = 0
        self.current = self.candidates[-1]

    def run(self, fn: Callable[[], T]) -> T:
        """Call ``fn`` with the chosen thread count (the first calls of each period measure every candidate)."""
        if len(self.candidates) == 1:
            return _with_threads(self.candidates[0], fn)
        phase = self._calls % self.probe_every
        probing = phase < 2 * len(self.candidates)
        threads = self.candidates[phase % len(self.candidates)] if probing else self.current
        start = time.perf_counter()
        out = _with_threads(threads, fn)
        if probing:
            if phase < len(self.candidates):
                self._seconds[threads] = 0.0
            self._seconds[threads] += time.perf_counter() - start
            if phase == 2 * len(self.candidates) - 1:
                self.current = min(self.candidates, key=self._seconds.__getitem__)
        self._calls += 1
        return out


def _with_threads(threads: int, fn: Callable[[], T]) -> T:
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        return fn()
    finally:
        numba.set_num_threads(previous)
