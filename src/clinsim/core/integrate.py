"""Compiled batched integration (explicit Runge-Kutta on scipy's tableaux) and the scipy reference solve.

Every model writes its right-hand side once as a compiled scalar kernel ``rhs(y, u, p, dy)`` for one
patient (state ``y``, inputs ``u`` held constant over an interval, parameter vector ``p``, output
``dy``). From it this module builds, per model:

* a fixed-step integrator on the DOP853 tableau (Hairer's order-8 Dormand-Prince pair, coefficients
  from :mod:`scipy.integrate`), for models whose fastest rates are bounded over a decision step;
* an adaptive integrator on the Dormand-Prince 5(4) pair (scipy's ``RK45`` tableau and step-size
  controller), for models whose stiffness changes by orders of magnitude between patients (CAR-T
  expansion and kill).

Both advance one patient at a time, so every patient's arithmetic depends only on its own state: a
batch gives bit-identical results whether it runs serially or in parallel threads, and the single env
equals the vector env. :func:`solve_reference` calls the same kernel through
:func:`scipy.integrate.solve_ivp` so the two are checked against each other in the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy.integrate import solve_ivp
from scipy.integrate._ivp import dop853_coefficients
from scipy.integrate._ivp.rk import RK45

from clinsim.core.batch import BatchKernel
from clinsim.core.jit import jit


class Tableau(NamedTuple):
    """Explicit Runge-Kutta tableau (autonomous form: the inputs are constant over an interval)."""

    name: str
    a: np.ndarray  # (stages, stages), strictly lower triangular
    b: np.ndarray  # (stages,) weights of the propagated solution
    e: np.ndarray  # (stages + 1,) error estimate weights (last entry: the FSAL stage); empty if none
    error_order: int


DOP853 = Tableau("DOP853", np.ascontiguousarray(dop853_coefficients.A[:12, :12]),
                 np.ascontiguousarray(dop853_coefficients.B), np.zeros(0), 7)
DP54 = Tableau("Dormand-Prince 5(4)", np.ascontiguousarray(RK45.A), np.ascontiguousarray(RK45.B),
               np.ascontiguousarray(RK45.E), 4)


def _nonzero(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row ``s`` of a tableau matrix as its nonzero entries: columns ``index[start[s]:start[s + 1]]`` with
    coefficients ``coef[...]``. DOP853 has 50 nonzero ``a`` of 66 and 8 of 12 weights. A skipped
    ``0 * k`` never changes a sum started at +0.0 (which cannot become -0.0), so the results keep their bits."""
    rows = np.atleast_2d(a)
    start = np.zeros(len(rows) + 1, dtype=np.int64)
    start[1:] = np.cumsum((rows != 0.0).sum(axis=1))
    columns = np.concatenate([np.flatnonzero(row) for row in rows]).astype(np.int64)
    return start, columns, rows[rows != 0.0].astype(np.float64)


@jit(inline="always")
def _stages(rhs, y, u, p, h, start, columns, coef, k, tmp, n):  # pragma: no cover - compiled
    """Stages 2..s of an explicit Runge-Kutta step into ``k`` (stage 1, ``k[0]``, already evaluated).

    ``start, columns, coef``: the tableau's nonzero ``a`` (:func:`_nonzero`); ``n`` states (a compile-time
    constant in the integrators). The loop over states is innermost (LLVM vectorises it); each state's sum
    runs in column order, as ``sum_j a[s, j] * k[j, i]`` would."""
    for s in range(1, start.shape[0] - 1):
        for i in range(n):
            tmp[i] = 0.0
        for t in range(start[s], start[s + 1]):
            c, kj = coef[t], k[columns[t]]
            for i in range(n):
                tmp[i] += c * kj[i]
        for i in range(n):
            tmp[i] = y[i] + h * tmp[i]
        rhs(tmp, u, p, k[s])


@jit(inline="always")
def _weighted_sum(columns, coef, k, acc, n):  # pragma: no cover - compiled
    """``acc = sum_j w_j k_j`` for ``n`` states; ``columns, coef``: the nonzero weights (:func:`_nonzero`)."""
    for i in range(n):
        acc[i] = 0.0
    for t in range(columns.shape[0]):
        c, kj = coef[t], k[columns[t]]
        for i in range(n):
            acc[i] += c * kj[i]


@jit(inline="always")
def _combine(y, h, columns, coef, k, acc, out, n):  # pragma: no cover - compiled
    """``out = y + h * sum_j b_j k_j`` (``out`` may be ``y``) for ``n`` states; ``columns, coef``: the
    nonzero weights (:func:`_nonzero`), ``acc``: scratch of ``n``."""
    _weighted_sum(columns, coef, k, acc, n)
    for i in range(n):
        out[i] = y[i] + h * acc[i]


def _inlined(rhs: Callable) -> Callable:
    """The kernel compiled for inlining into an integrator (the same arithmetic, no call per stage)."""
    return jit(rhs.py_func, key=f"{rhs.clinsim_key}|inline", inline="always")


def fixed_step(rhs: Callable, n_states: int, tableau: Tableau = DOP853) -> Callable:
    """Compiled ``advance(y, u, p, duration, n_steps)``: one patient of ``n_states`` states, in place,
    ``n_steps`` equal steps.

    A closure over the kernel (a kernel passed as an argument would make the caller uncacheable)."""
    a_start, a_columns, a_coef = _nonzero(tableau.a)
    _, b_columns, b_coef = _nonzero(tableau.b)
    n_stages = len(tableau.b)
    rhs = _inlined(rhs)

    @jit(key=f"{rhs.clinsim_key}|{tableau.name}|{n_states}")
    def advance(y, u, p, duration, n_steps):  # pragma: no cover - compiled
        k = np.empty((n_stages, n_states))
        tmp = np.empty(n_states)
        h = duration / n_steps
        for _ in range(n_steps):
            rhs(y, u, p, k[0])
            _stages(rhs, y, u, p, h, a_start, a_columns, a_coef, k, tmp, n_states)
            _combine(y, h, b_columns, b_coef, k, tmp, y, n_states)
        return n_steps * n_stages

    return advance


# Layout of an adaptive integrator's per-patient ``carry``: the next step size, a flag (> 0: the
# derivative that follows is valid for the current state and inputs), the derivative at the current state.
CARRY_STEP, CARRY_DERIVATIVE_VALID, CARRY_DERIVATIVE = range(3)


def carry_size(n_states: int) -> int:
    """Length of an :func:`adaptive` integrator's per-patient ``carry``."""
    return CARRY_DERIVATIVE + n_states


# Step attempts an adaptive integration may take over one call: far above any valid patient's need (CAR-T
# expansion days take ~50 steps), so that a patient whose parameters make the model too stiff for an
# explicit method fails within milliseconds instead of hanging the process.
MAX_ADAPTIVE_STEPS = 20_000


def adaptive(rhs: Callable, n_states: int, rtol: float, atol: float, tableau: Tableau = DP54,
             max_steps: int = MAX_ADAPTIVE_STEPS) -> Callable:
    """Compiled ``advance(y, u, p, duration, carry, work) -> n_evaluations``: one patient of ``n_states``
    states, in place, error-controlled; ``work``: scratch of shape ``advance.work_shape`` (allocated once by
    the caller for many calls: an allocation costs as much as a few RHS evaluations of a small model).

    scipy's ``RK45`` algorithm (initial step selection, safety 0.9, step factor 0.2-10, no growth right
    after a rejection, first-same-as-last stage) with the RMS norm of the error scaled by
    ``atol + rtol |y|``. ``carry`` (``n_states + 2`` values, see :data:`CARRY_STEP`) continues a patient's
    steps from one call to the next: the first trial step (scipy's initial step selection where it is
    <= 0) and, when flagged valid, the derivative at ``y`` (the last stage of the previous call: one RHS
    evaluation saved); out come the step the controller proposes next and the derivative at the new
    ``y``. The caller clears the flag when it changes ``y`` or ``u`` between calls.

    More than ``max_steps`` step attempts in one call: ``y`` becomes NaN and the result is negative (the
    environment then raises, naming the patient's parameters).
    """
    a_start, a_columns, a_coef = _nonzero(tableau.a)
    _, b_columns, b_coef = _nonzero(tableau.b)
    _, e_columns, e_coef = _nonzero(tableau.e)
    n_stages = len(tableau.b)
    exponent = -1.0 / (tableau.error_order + 1)
    rhs = _inlined(rhs)

    @jit(key=f"{rhs.clinsim_key}|initial step|{rtol!r}|{atol!r}|{n_states}", inline="always")
    def initial_step(y, u, p, duration, k, tmp):  # pragma: no cover - compiled
        """Hairer, Norsett & Wanner's first step (scipy's ``select_initial_step``); one RHS evaluation."""
        n = n_states
        d0 = 0.0
        d1 = 0.0
        for i in range(n):
            scale = atol + abs(y[i]) * rtol
            d0 += (y[i] / scale) ** 2
            d1 += (k[0, i] / scale) ** 2
        d0 = np.sqrt(d0 / n)
        d1 = np.sqrt(d1 / n)
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        h0 = min(h0, duration)
        for i in range(n):
            tmp[i] = y[i] + h0 * k[0, i]
        rhs(tmp, u, p, k[n_stages])
        d2 = 0.0
        for i in range(n):
            d2 += ((k[n_stages, i] - k[0, i]) / (atol + abs(y[i]) * rtol)) ** 2
        d2 = np.sqrt(d2 / n) / h0
        if d1 <= 1e-15 and d2 <= 1e-15:
            h1 = max(1e-6, h0 * 1e-3)
        else:
            h1 = (0.01 / max(d1, d2)) ** (-exponent)
        return min(100.0 * h0, h1, duration)

    @jit(key=f"{rhs.clinsim_key}|{tableau.name}|{rtol!r}|{atol!r}|{n_states}|{max_steps}")
    def advance(y, u, p, duration, carry, work):  # pragma: no cover - compiled
        n = n_states
        k = work[:n_stages + 1]
        tmp = work[n_stages + 1]
        y_new = work[n_stages + 2]
        if carry[CARRY_DERIVATIVE_VALID] > 0.0:
            for i in range(n):
                k[0, i] = carry[CARRY_DERIVATIVE + i]
            evaluations = 0
        else:
            rhs(y, u, p, k[0])
            evaluations = 1
        if carry[CARRY_STEP] > 0.0:
            h = min(carry[CARRY_STEP], duration)
        else:
            h = initial_step(y, u, p, duration, k, tmp)
            evaluations += 1
        t = 0.0
        rejected = False
        attempts = 0
        while t < duration:
            attempts += 1
            if attempts > max_steps:
                for i in range(n):
                    y[i] = np.nan
                carry[CARRY_DERIVATIVE_VALID] = 0.0
                return -evaluations
            wanted = h
            if t + h >= duration * (1.0 - 1e-14):
                h = duration - t
            _stages(rhs, y, u, p, h, a_start, a_columns, a_coef, k, tmp, n)
            _combine(y, h, b_columns, b_coef, k, tmp, y_new, n)
            rhs(y_new, u, p, k[n_stages])
            evaluations += n_stages
            _weighted_sum(e_columns, e_coef, k, tmp, n)  # the error estimate, over h
            norm = 0.0
            for i in range(n):
                norm += (h * tmp[i] / (atol + max(abs(y[i]), abs(y_new[i])) * rtol)) ** 2
            norm = np.sqrt(norm / n)
            if norm < 1.0:
                factor = 10.0 if norm == 0.0 else min(10.0, 0.9 * norm**exponent)
                if rejected:
                    factor = min(1.0, factor)
                t += h
                for i in range(n):
                    y[i] = y_new[i]
                    k[0, i] = k[n_stages, i]
                # a last step cut short to end the interval proposes at least the step it was cut from
                carry[CARRY_STEP] = max(h * factor, wanted) if h < wanted else h * factor
                h *= factor
                rejected = False
            else:
                h *= max(0.2, 0.9 * norm**exponent)
                rejected = True
        for i in range(n):
            carry[CARRY_DERIVATIVE + i] = k[0, i]
        carry[CARRY_DERIVATIVE_VALID] = 1.0
        return evaluations

    advance.work_shape = (n_stages + 3, n_states)
    return advance



class AdaptiveIntegrator:
    """Applies an :func:`adaptive` advance to a batch in place, patients in parallel threads.

    Returns the RHS evaluations per patient. ``carry`` (``(batch, carry_size(n_states))``, updated in
    place) continues each patient's steps between calls; without it every call starts afresh.
    """

    def __init__(self, advance: Callable) -> None:
        self.advance = advance
        self._kernel = BatchKernel(_adaptive_per_patient(advance))

    def __call__(self, y: np.ndarray, u: np.ndarray, p: np.ndarray, duration: float,
                 carry: np.ndarray | None = None) -> np.ndarray:
        evaluations = np.empty(len(y), dtype=np.int64)
        carry = np.zeros((len(y), carry_size(y.shape[1]))) if carry is None else carry
        self._kernel(len(y), y, u, p, float(duration), carry, evaluations)
        return evaluations


def _adaptive_per_patient(advance: Callable) -> Callable:
    work_shape = advance.work_shape

    @jit(key=advance.clinsim_key)
    def apply(b, y, u, p, duration, carry, evaluations):  # pragma: no cover - compiled
        evaluations[b] = advance(y[b], u[b], p[b], duration, carry[b], np.empty(work_shape))

    return apply


class BatchIntegrator:
    """Applies a per-patient ``advance(y, u, p, duration, *args)`` to a batch in place.

    Returns the RHS evaluations per patient. Large batches run their patients in parallel threads.
    """

    def __init__(self, advance: Callable) -> None:
        self.advance = advance
        self._kernel = BatchKernel(_per_patient(advance))

    def __call__(self, y: np.ndarray, u: np.ndarray, p: np.ndarray, duration: float, *args) -> np.ndarray:
        evaluations = np.empty(len(y), dtype=np.int64)
        self._kernel(len(y), y, u, p, float(duration), evaluations, *args)
        return evaluations


def _per_patient(advance: Callable) -> Callable:
    @jit(key=advance.clinsim_key)
    def apply(b, y, u, p, duration, evaluations, *args):  # pragma: no cover - compiled
        evaluations[b] = advance(y[b], u[b], p[b], duration, *args)

    return apply


# Patients integrated together by :func:`fixed_step_block`: enough for the widest SIMD registers, few
# enough that a block's stages stay in the core's cache.
BLOCK_PATIENTS = 64


def fixed_step_block(rhs: Callable, n_states: int, n_inputs: int, n_params: int,
                     tableau: Tableau = DOP853) -> Callable:
    """Compiled ``advance(blk, y, u, p, duration, n_steps)``: patients ``blk * 64 ...`` of a batch, in place,
    ``n_steps`` equal steps over each patient's ``duration[b]``.

    The same steps and arithmetic as :func:`fixed_step`, with the block's states laid out patient-minor
    so that every stage, right-hand side included, runs across patients in SIMD lanes (bit-identical to
    the per-patient integrator, tested). For LLVM to vectorise the kernel the block's arrays have
    compile-time shapes (``n_states`` etc.; a short last block repeats its last patient in the unused
    lanes), division by zero follows IEEE instead of raising (numba's ``error_model="numpy"``), and the
    kernel avoids calls LLVM cannot vectorise without Intel's SVML (``**``, ``min``/``max``, ``exp``:
    see :mod:`clinsim.core.vecmath`).
    """
    a, b = tableau.a, tableau.b
    n_stages = len(b)
    lanes = BLOCK_PATIENTS
    lane_rhs = jit(rhs.py_func, key=f"{rhs.clinsim_key}|lane", inline="always")

    @jit(key=f"{rhs.clinsim_key}|{tableau.name}|block|{n_states},{n_inputs},{n_params}")
    def advance(blk, y, u, p, duration, n_steps):  # pragma: no cover - compiled
        start = blk * lanes
        m = min(lanes, y.shape[0] - start)
        ys = np.empty((n_states, lanes))
        us = np.empty((n_inputs, lanes))
        ps = np.empty((n_params, lanes))
        h = np.empty(lanes)
        for c in range(lanes):
            src = start + min(c, m - 1)
            h[c] = duration[src] / n_steps
            for i in range(n_states):
                ys[i, c] = y[src, i]
            for i in range(n_inputs):
                us[i, c] = u[src, i]
            for i in range(n_params):
                ps[i, c] = p[src, i]
        k = np.empty((n_stages, n_states, lanes))
        tmp = np.empty((n_states, lanes))
        acc = np.empty(lanes)
        for _ in range(n_steps):
            for c in range(lanes):
                lane_rhs(ys[:, c], us[:, c], ps[:, c], k[0, :, c])
            # stage sums accumulated in the per-patient order (j = 0, 1, ...), lanes innermost
            for s in range(1, n_stages):
                for i in range(n_states):
                    for c in range(lanes):
                        acc[c] = 0.0
                    for j in range(s):
                        a_sj = a[s, j]
                        for c in range(lanes):
                            acc[c] += a_sj * k[j, i, c]
                    for c in range(lanes):
                        tmp[i, c] = ys[i, c] + h[c] * acc[c]
                for c in range(lanes):
                    lane_rhs(tmp[:, c], us[:, c], ps[:, c], k[s, :, c])
            for i in range(n_states):
                for c in range(lanes):
                    acc[c] = 0.0
                for j in range(n_stages):
                    b_j = b[j]
                    for c in range(lanes):
                        acc[c] += b_j * k[j, i, c]
                for c in range(lanes):
                    ys[i, c] += h[c] * acc[c]
        for c in range(m):
            for i in range(n_states):
                y[start + c, i] = ys[i, c]

    return advance


class BlockIntegrator:
    """Applies a :func:`fixed_step_block` advance to a whole batch in place, blocks in parallel threads."""

    def __init__(self, advance: Callable) -> None:
        self._kernel = BatchKernel(advance, parallel_from=2)

    def __call__(self, y: np.ndarray, u: np.ndarray, p: np.ndarray, duration: float | np.ndarray,
                 n_steps: int) -> None:
        durations = np.empty(len(y))  # one writable array type whatever the caller passes: one compilation
        durations[:] = duration
        self._kernel(-(-len(y) // BLOCK_PATIENTS), y, u, p, durations, int(n_steps))


def derivative(rhs: Callable, y: np.ndarray, u: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Evaluate a compiled kernel for one patient (float64 copies)."""
    dy = np.empty(len(y))
    rhs(np.asarray(y, dtype=np.float64), np.asarray(u, dtype=np.float64), np.asarray(p, dtype=np.float64), dy)
    return dy


def solve_reference(
    rhs: Callable,
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
