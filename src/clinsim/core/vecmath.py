"""Transcendental functions that LLVM can vectorise, for model kernels integrated in SIMD blocks.

numba compiles ``np.exp`` to a call of the C library's scalar ``exp``; without Intel's SVML (which
needs a patched LLVM that the PyPI ``llvmlite`` does not have) such a call keeps the whole kernel out of
SIMD lanes (:func:`clinsim.core.integrate.fixed_step_block`). The functions here are plain arithmetic,
so a kernel that uses them vectorises; they are as accurate as the integration needs by a wide margin
(tested against :mod:`math`).
"""

from __future__ import annotations

from clinsim.core.jit import jit

# exp(x) = exp(x / 128) ** 128: the Taylor polynomial of degree 13 is exact to 4e-18 relative for
# |x / 128| <= 44 / 128, and the seven squarings multiply its rounding error by at most 128 (measured:
# <= 3e-14 relative on [-44, 44], tests/test_vecmath.py).
EXP_ARGUMENT_LIMIT = 44.0


@jit(inline="always")
def exp(x):  # pragma: no cover - compiled
    """``e ** x`` to <= 3e-14 relative for ``|x| <= 44``; the argument is clamped to [-44, 44].

    The clamp only matters where the result is used next to 1 (a logistic ``1 / (1 + exp(-z))`` is
    within 1e-19 of 0 or 1 there).
    """
    x = x if x < EXP_ARGUMENT_LIMIT else EXP_ARGUMENT_LIMIT
    x = x if x > -EXP_ARGUMENT_LIMIT else -EXP_ARGUMENT_LIMIT
    r = x * (1.0 / 128.0)
    # Horner form of sum(r**n / n!, n = 0..13) written out, as are the squarings: a loop here would
    # keep the caller's loop over SIMD lanes from being innermost, and LLVM only vectorises those
    s = 1.0 + r * (1.0 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (
        1 / 5040 + r * (1 / 40320 + r * (1 / 362880 + r * (1 / 3628800 + r * (1 / 39916800 + r * (
            1 / 479001600 + r * (1 / 6227020800)))))))))))))
    s = s * s
    s = s * s
    s = s * s
    s = s * s
    s = s * s
    s = s * s
    return s * s
