"""Compiled per-patient functions applied to a batch: serially for small batches, in threads for large ones.

Environment transitions and integrators are written once, for one patient ``b`` of a batch
(``fn(b, *arrays)``, compiled with :func:`clinsim.core.jit.jit`). :class:`BatchKernel` runs such a function
over every patient: on the calling thread for small batches (a single env: no thread start-up), in
parallel threads for large ones. Each patient's arithmetic is the same either way, so results are
bit-identical between the single env and any vector env.
"""

from __future__ import annotations

from collections.abc import Callable

import numba as nb

from clinsim.core.jit import jit

# Threads pay off from this batch size on; smaller batches run on the calling thread.
PARALLEL_MIN_BATCH = 64

# Phases of a transition kernel. Small batches run a patient's whole step in one call (FUSED, with the
# per-patient integrator); large batches run BEFORE_INTEGRATION for every patient, integrate the whole
# batch in SIMD blocks (``ODEModel.integrate``), then AFTER_INTEGRATION: the same arithmetic, in lanes.
FUSED, BEFORE_INTEGRATION, AFTER_INTEGRATION = range(3)


class BatchKernel:
    """``kernel(n, *arrays)`` calls the compiled ``fn(b, *arrays)`` for b = 0..n-1 (in threads from
    ``parallel_from`` calls on)."""

    def __init__(self, fn: Callable, parallel_from: int = PARALLEL_MIN_BATCH) -> None:
        self.fn = fn
        self.parallel_from = parallel_from
        self._serial = _loop(fn, parallel=False)
        self._parallel = _loop(fn, parallel=True)

    def __call__(self, n: int, *arrays) -> None:
        (self._parallel if n >= self.parallel_from else self._serial)(n, *arrays)

    def around_integration(self, n: int, integrate: Callable[[], None], *arrays) -> None:
        """Run a phased transition ``fn(b, phase, *arrays)``: FUSED for small batches; for large ones
        BEFORE_INTEGRATION, then ``integrate()`` (the whole batch in SIMD blocks), then AFTER_INTEGRATION."""
        if n < PARALLEL_MIN_BATCH:
            self(n, FUSED, *arrays)
        else:
            self(n, BEFORE_INTEGRATION, *arrays)
            integrate()
            self(n, AFTER_INTEGRATION, *arrays)


def _loop(fn: Callable, parallel: bool) -> Callable:
    def run(n, *arrays):  # pragma: no cover - compiled
        for b in nb.prange(n):
            fn(b, *arrays)

    return jit(run, key=fn.clinsim_key, parallel=parallel)
