"""Reynolds 2006 curated outcomes, the coupled kernel, integrator vs scipy, SOFA cut-offs."""

import numpy as np
import pytest

from clinsim.sepsisim import models as mdl
from clinsim.sepsisim.environments import DEATH_DAMAGE, HOURS_PER_STEP, STEPS_PER_HOUR

T_LONG = 500.0  # hours


def _reynolds(p0, k_pg):
    model = mdl.ReynoldsModel({"k_pg": k_pg})
    t = np.linspace(0.0, T_LONG, 1001)
    return model.simulate(model.initial_state(p0), (0.0, T_LONG), t_eval=t)


def test_published_parameters_valid():
    assert mdl.ReynoldsModel().validate_parameters() == []
    assert mdl.SepsisModel().validate_parameters() == []
    table = mdl.SEPSIS_PARAMETERS.markdown_table()
    assert "k_pg" in table and "Reynolds" in table
    # the values of the SCIENCE brief (BIOMD0000000714)
    expected = dict(k_pm=.6, k_mp=.01, s_m=.005, mu_m=.002, k_pg=.3, p_inf=20, k_pn=1.8, k_np=.1, k_nn=.01,
                    s_nr=.08, mu_nr=.12, mu_n=.05, k_nd=.02, k_dn=.35, x_dn=.06, mu_d=.02, c_inf=.28, s_c=.0125,
                    k_cn=.04, k_cnd=48, mu_c=.1)
    for name, value in expected.items():
        assert mdl.REYNOLDS[name].value == value


def test_health_pathogen_cleared_damage_resolves():
    sol = _reynolds(1.0, 0.3)
    pathogen, damage = sol.y[0], sol.y[2]
    assert sol.success
    assert abs(pathogen[-1]) < 1e-6
    assert damage.max() > 2.0  # damage peaks ...
    assert damage.max() < DEATH_DAMAGE
    assert damage[-1] < 0.05  # ... then resolves


def test_aseptic_death_pathogen_cleared_damage_stays_high():
    sol = _reynolds(1.5, 0.3)
    pathogen, damage = sol.y[0], sol.y[2]
    assert abs(pathogen[-1]) < 1e-6
    assert damage[-1] > 15.0
    assert abs(damage[-1] - damage[-50]) < 0.1  # settled in the death state (D ~ 17.4)
    assert (damage >= DEATH_DAMAGE).any()


def test_septic_death_pathogen_persists():
    sol = _reynolds(1.0, 0.6)
    pathogen, damage = sol.y[0], sol.y[2]
    assert pathogen[-1] > 4.0
    assert damage[-1] > 15.0


def test_death_threshold_separates_outcomes():
    """Recovering trajectories stay below the threshold; dying ones cross it and never come back."""
    for p0 in (0.5, 0.8, 1.0):
        assert _reynolds(p0, 0.3).y[2].max() < 0.5 * DEATH_DAMAGE
    for p0, k_pg in ((1.1, 0.3), (1.5, 0.3), (1.0, 0.6)):
        damage = _reynolds(p0, k_pg).y[2]
        crossed = np.flatnonzero(damage >= DEATH_DAMAGE)
        assert crossed.size and (damage[crossed[0]:] >= DEATH_DAMAGE).all()


def test_coupled_kernel_reduces_to_reynolds_without_treatment_and_couplings():
    off = {"k_hypo": 0.0, "k_edema": 0.0, "k_vp": 0.0}
    coupled = mdl.SepsisModel(off, allow_out_of_range=True)
    reynolds = mdl.ReynoldsModel()
    y_c = coupled.simulate(coupled.initial_state(1.2), (0.0, 48.0)).y[:4, -1]
    y_r = reynolds.simulate(reynolds.initial_state(1.2), (0.0, 48.0)).y[:, -1]
    np.testing.assert_allclose(y_c, y_r, rtol=1e-6, atol=1e-9)


def test_every_coupling_harms():
    """Hypoperfusion, oedema and high-dose vasopressor each add damage."""
    model = mdl.SepsisModel()
    y = model.simulate(model.initial_state(1.0), (0.0, 24.0)).y[:, -1]  # hypotensive (MAP < 65)
    assert mdl.mean_arterial_pressure(y, np.array(0.0), model.params) < 65.0
    base = model.derivatives(y, np.array([0.0, 0.0, 1.0]))[mdl.DAMAGE]
    no_hypo = mdl.SepsisModel({"k_hypo": 0.5}).derivatives(y, np.array([0.0, 0.0, 1.0]))[mdl.DAMAGE]
    assert base > no_hypo
    wet = y.copy()
    wet[mdl.INTERSTITIAL_L] = 10.0
    assert model.derivatives(wet, np.array([0.0, 0.0, 1.0]))[mdl.DAMAGE] > base
    assert model.derivatives(y, np.array([0.0, 1.0, 1.0]))[mdl.DAMAGE] > model.derivatives(
        y, np.array([0.0, 0.4, 1.0]))[mdl.DAMAGE]


@pytest.mark.parametrize("p0", [0.9, 1.2, 1.6])
@pytest.mark.parametrize("start", [0.0, 6.0, 24.0])
@pytest.mark.parametrize("u", [(0.0, 0.0, 0.0), (0.75, 0.3, 1.0), (1.0, 1.0, 1.0), (0.1, 0.05, 0.0)])
def test_integrator_matches_scipy_over_one_decision_step(p0, start, u):
    model = mdl.SepsisModel()
    y0 = model.initial_state(p0)
    if start:
        y0 = model.simulate(y0, (0.0, start)).y[:, -1]
    ref = model.simulate(y0, (0.0, HOURS_PER_STEP), u=np.array(u)).y[:, -1]
    y = y0[None].copy()
    mdl.SepsisModel.integrate(y, np.array([u]), model.params[None], HOURS_PER_STEP, STEPS_PER_HOUR)
    keys = [mdl.PHAGOCYTES, mdl.DAMAGE, mdl.ANTI_INFLAMMATORY, mdl.VOLUME_L, mdl.INTERSTITIAL_L, mdl.LACTATE,
            mdl.URINE_ML_PER_KG]
    if ref[mdl.PATHOGEN] > 1e-3:
        keys.append(mdl.PATHOGEN)
    rel = np.abs(y[0, keys] - ref[keys]) / np.maximum(np.abs(ref[keys]), 1e-3)
    assert rel.max() <= 1e-6


def test_map_equation_gains():
    p = mdl.SepsisModel().params
    y = np.zeros(8)
    assert mdl.mean_arterial_pressure(y, np.array(0.0), p) == pytest.approx(85.0)
    y[mdl.VOLUME_L] = 1.0
    assert mdl.mean_arterial_pressure(y, np.array(0.0), p) == pytest.approx(85.0 + 8.0 / 1.3)
    y[mdl.VOLUME_L] = 0.0
    assert mdl.mean_arterial_pressure(y, np.array(0.1), p) == pytest.approx(85.0 + 4.0 / 1.005)


def test_sofa_cutoffs():
    cv = mdl.sofa_cardiovascular(np.array([75.0, 69.9, 80.0, 60.0, 60.0, 90.0]),
                                 np.array([0.0, 0.0, 0.05, 0.1, 0.11, 0.5]))
    assert cv.tolist() == [0, 1, 3, 3, 4, 4]
    w = np.full(6, 70.0)
    # 500 mL/day at 70 kg = 0.2976 mL/kg/h, 200 mL/day = 0.119 mL/kg/h
    renal = mdl.sofa_renal(np.array([1.0, 0.45, 0.299, 0.29, 0.12, 0.11]), w)
    assert renal.tolist() == [0, 1, 2, 3, 3, 4]
    assert mdl.sofa_renal(np.array([0.2]), np.array([150.0])).tolist() == [2]  # 720 mL/day: not SOFA 3
    metabolic = mdl.sofa_metabolic(np.array([1.0, 2.0, 3.9, 4.0, 6.5, 12.0]))
    assert metabolic.tolist() == [0, 1, 1, 2, 3, 4]
    total = sum(mdl.sofa_components(50.0, 0.3, 0.05, 70.0, 15.0))
    assert total == 12


def _threshold(model) -> float:
    """The untreated initial pathogen load above which the course ends in a death state (bisection)."""
    lo, hi = 0.5, 2.0
    for _ in range(16):
        mid = 0.5 * (lo + hi)
        damage = model.simulate(model.initial_state(mid), (0.0, 600.0)).y[2, -1]
        lo, hi = (lo, mid) if damage > 5.0 else (mid, hi)
    return 0.5 * (lo + hi)


def test_coupled_model_keeps_reynolds_natural_history():
    """The injury couplings act only beyond their harm thresholds: the curated healthy course recovers untreated
    in the coupled model, and the untreated recovery threshold moves by less than 2 %."""
    model = mdl.SepsisModel()
    sol = model.simulate(model.initial_state(1.0), (0.0, T_LONG), t_eval=np.linspace(0.0, T_LONG, 1001))
    assert sol.y[2].max() < 0.5 * DEATH_DAMAGE and sol.y[2, -1] < 0.05
    assert abs(_threshold(model) / _threshold(mdl.ReynoldsModel()) - 1.0) < 0.02


def test_lactate_kinetics():
    """Levraut 1998: steady state production / clearance = 1.2 mmol/L when healthy; > 4 mmol/L in uncontrolled
    shock; cleared within hours once perfusion is restored (Puskarich 2013: 36 % normalise within 6 h)."""
    model = mdl.SepsisModel()
    p = model.params
    assert model.initial_state(0.0)[mdl.LACTATE] == pytest.approx(p[mdl.LAC_PROD] / p[mdl.LAC_CL])
    shock = model.simulate(model.initial_state(1.6), (0.0, 30.0)).y[:, -1]  # untreated: MAP < 60
    assert mdl.mean_arterial_pressure(shock, np.array(0.0), p) < 60.0 and shock[mdl.LACTATE] > 4.0
    # perfusion restored by norepinephrine: lactate falls towards the damage-limited clearance level within hours
    treated = model.simulate(shock, (0.0, 6.0), u=np.array([0.0, 0.5, 1.0])).y[:, -1]
    assert mdl.mean_arterial_pressure(treated, np.array(0.5), p) > 65.0
    assert treated[mdl.LACTATE] < 0.8 * shock[mdl.LACTATE]
