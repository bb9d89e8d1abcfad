"""Fixed-step batched integration (compiled) and the scipy reference solve.

Every model writes its right-hand side once as a compiled scalar kernel
``rhs(y, u, p, dy)`` for one patient (state ``y``, inputs ``u`` held constant over a decision step,
parameter vector ``p``, output ``dy``). :func:`rk4_batch` advances a whole batch of patients with
the classical fourth-order Runge-Kutta method; :func:`solve_reference` calls the same kernel through
:func:`scipy.integrate.solve_ivp` so the two are checked against each other in the tests.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from scipy.integrate import solve_ivp


# Not cached on disk: numba cannot cache functions that take a compiled kernel as an argument (its
# cache index would pickle references to other modules' kernels). The kernels themselves are cached.
def _rk4(rhs, y, u, p, dt, n_steps):  # pragma: no cover - compiled below
    """Advance ``y`` (batch, n_state) in place by ``n_steps`` RK4 steps of size ``dt``.

    ``u`` (batch, n_input) and ``p`` (batch, n_param) are constant over the call.
    """
    n_batch, n_state = y.shape
    half = 0.5 * dt
    sixth = dt / 6.0
    for b in nb.prange(n_batch):
        k1 = np.empty(n_state)
        k2 = np.empty(n_state)
        k3 = np.empty(n_state)
        k4 = np.empty(n_state)
        tmp = np.empty(n_state)
        yb = y[b]
        ub = u[b]
        pb = p[b]
        for _ in range(n_steps):
            rhs(yb, ub, pb, k1)
            for i in range(n_state):
                tmp[i] = yb[i] + half * k1[i]
            rhs(tmp, ub, pb, k2)
            for i in range(n_state):
                tmp[i] = yb[i] + half * k2[i]
            rhs(tmp, ub, pb, k3)
            for i in range(n_state):
                tmp[i] = yb[i] + dt * k3[i]
            rhs(tmp, ub, pb, k4)
            for i in range(n_state):
                yb[i] += sixth * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])


# Patients are independent: large batches run the loop over them in parallel threads (every patient's
# arithmetic is the same as in the serial loop, so results are bit-identical; tests/golden). Small
# batches (a single env) stay on the calling thread.
_rk4_serial = nb.njit(_rk4)
_rk4_parallel = nb.njit(parallel=True)(_rk4)
PARALLEL_MIN_BATCH = 64


def rk4_batch(rhs, y: np.ndarray, u: np.ndarray, p: np.ndarray, dt: float, n_steps: int) -> None:
    """Advance a batch of patients in place with ``n_steps`` fixed RK4 steps of size ``dt``."""
    (_rk4_parallel if len(y) >= PARALLEL_MIN_BATCH else _rk4_serial)(rhs, y, u, p, dt, n_steps)


def derivative(rhs, y: np.ndarray, u: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Evaluate a compiled kernel for one patient (float64 copies)."""
    dy = np.empty(len(y))
    rhs(np.asarray(y, dtype=np.float64), np.asarray(u, dtype=np.float64), np.asarray(p, dtype=np.float64), dy)
    return dy


def solve_reference(
    rhs,
    y0: np.ndarray,
    u: np.ndarray,
    p: np.ndarray,
    t_span: tuple[float, float],
    *,
    t_eval: np.ndarray | None = None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    method: str = "LSODA",
):
    """Adaptive scipy solve of one patient with constant inputs (the accuracy reference)."""
    u = np.asarray(u, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    dy = np.empty(len(y0))

    def f(_t: float, y: np.ndarray) -> np.ndarray:
        rhs(y, u, p, dy)
        return dy.copy()

    return solve_ivp(f, t_span, np.asarray(y0, dtype=np.float64), method=method, t_eval=t_eval, rtol=rtol, atol=atol)
