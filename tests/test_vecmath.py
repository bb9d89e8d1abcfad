"""The vectorisable transcendental functions used by model kernels (clinsim.core.vecmath)."""

import math

import numpy as np

from clinsim.core import vecmath
from clinsim.core.jit import jit


@jit
def _exp_all(x, out):  # pragma: no cover - compiled
    for i in range(x.shape[0]):
        out[i] = vecmath.exp(x[i])


def test_exp_matches_libm_to_3e_14_on_its_range():
    x = np.linspace(-vecmath.EXP_ARGUMENT_LIMIT, vecmath.EXP_ARGUMENT_LIMIT, 400_001)
    out = np.empty_like(x)
    _exp_all(x, out)
    assert np.max(np.abs(out / np.exp(x) - 1.0)) <= 3e-14
    assert out[len(x) // 2] == 1.0


def test_exp_clamps_outside_its_range():
    x = np.array([-1e3, -45.0, 45.0, 1e3])
    out = np.empty_like(x)
    _exp_all(x, out)
    limit = vecmath.EXP_ARGUMENT_LIMIT
    np.testing.assert_allclose(out, [math.exp(-limit)] * 2 + [math.exp(limit)] * 2, rtol=3e-14)
