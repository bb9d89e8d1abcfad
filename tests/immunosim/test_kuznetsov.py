"""Kuznetsov et al. 1994: published dimensionless groups, equilibria, stability and bistability."""

import numpy as np
import pytest

from clinsim.immunosim import models as mdl


@pytest.fixture(scope="module")
def model() -> mdl.KuznetsovModel:
    return mdl.KuznetsovModel()


def test_nondimensional_parameters_match_the_paper(model) -> None:
    nd = model.nondimensional()
    expected = {"sigma": 0.1181, "rho": 1.131, "eta": 20.19, "mu": 0.00311, "delta": 0.3743, "alpha": 1.636,
                "beta": 0.002}
    for key, value in expected.items():
        assert nd[key] == pytest.approx(value, rel=2e-3), key


def test_equilibria_and_their_stability(model) -> None:
    eq = model.equilibria()
    assert len(eq) == 4
    free, dormant, saddle, escape = eq
    assert free["tumour_cells"] == 0 and free["type"] == "saddle"
    assert free["effector_cells"] == pytest.approx(1.3e4 / 0.0412)
    assert dormant["type"] == "stable focus"
    assert dormant["effector_cells"] == pytest.approx(1.6e6, rel=0.02)
    assert dormant["tumour_cells"] == pytest.approx(8.2e6, rel=0.02)
    assert saddle["type"] == "saddle" and saddle["tumour_cells"] == pytest.approx(2.7e8, rel=0.02)
    assert escape["type"].startswith("stable") and escape["tumour_cells"] == pytest.approx(4.5e8, rel=0.02)


def test_equilibria_are_zeros_of_the_derivatives(model) -> None:
    for e in model.equilibria():
        dy = model.derivatives(np.array([e["effector_cells"], e["tumour_cells"]]))
        assert np.abs(dy).max() < 1e-6 * max(e["tumour_cells"], 1e6)


def test_bistability_small_tumours_dormant_large_escape(model) -> None:
    small = model.simulate(np.array([3e5, 1e7]), (0.0, 4000.0), rtol=1e-9, atol=1e-3).y[:, -1]
    large = model.simulate(np.array([3e5, 3e8]), (0.0, 600.0), rtol=1e-9, atol=1e-3).y[:, -1]
    assert small[1] == pytest.approx(8.19e6, rel=0.01)  # a slowly damped focus
    assert large[1] == pytest.approx(4.47e8, rel=0.02)


def test_pd1_blockade_removes_the_escape_state(model) -> None:
    """At full effect (kill x1.8) only the dormant state remains: treatment moves the separatrix."""
    treated = model.equilibria(kill_factor=1.8)
    assert [e["type"] for e in treated] == ["saddle", "stable focus"]
    assert treated[1]["tumour_cells"] < 8.2e6
    assert len(model.equilibria(kill_factor=1.5)) == 4  # a weaker effect keeps bistability


def test_escape_threshold_lies_below_the_escape_state(model) -> None:
    from clinsim.immunosim.checkpoint import LETHAL_TUMOUR_CELLS

    saddle, escape = model.equilibria()[2:]
    assert saddle["tumour_cells"] < LETHAL_TUMOUR_CELLS < escape["tumour_cells"]
    # wherever an escape state exists within +-3 SD of the cohort's growth and kill rates, it lies above
    def spread(name: str) -> np.ndarray:
        p = mdl.KUZNETSOV[name]
        sigma = np.sqrt(np.log1p(p.cv**2))
        return p.value * np.exp(np.linspace(-3 * sigma, 3 * sigma, 7))

    for a in spread("a"):
        for n in spread("n"):
            large = [e for e in mdl.KuznetsovModel({"a": a, "n": n}).equilibria() if e["tumour_cells"] > 1e8]
            if large:
                assert large[-1]["tumour_cells"] > LETHAL_TUMOUR_CELLS
