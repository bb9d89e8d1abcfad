"""CAR-T cell dynamics (CARTmath, Barros et al. 2021) with a cytokine (CRS) compartment.

Published CARTmath (Barros et al. 2021 Cancers 13:2941, HDLM-2 Hodgkin-lymphoma xenograft fit)::

    dC_T/dt = phi C_T - rho C_T + theta T C_M - alpha T C_T      (effector CAR-T)
    dC_M/dt = eps C_T - theta T C_M - mu C_M                     (memory CAR-T)
    dT/dt   = r T (1 - b T) - gamma C_T T                        (tumour)

Extensions (documented, see ``docs/immunosim-cart-adaptive.md``):

* injected, not yet activated CAR-T ``I`` (ImmunoSim paper eq. 6): ``dI/dt = -k_act I`` feeding ``C_T``;
  doses are boluses into ``I`` (``k_act -> inf`` recovers CARTmath's bolus into ``C_T``);
* aggregate CRS cytokine ``L`` (paper eq. 10, Santurio et al. 2025): ``dL/dt = kappa C_T T - delta_L L``;
* neurotoxicity (ICANS) index ``E`` driven by effector CAR-T expansion: ``dE/dt = k_icans C_T - delta_E E``;
* CRS management inputs: tocilizumab (blocks IL-6 signalling: lowers the cytokine drive) and
  corticosteroids (lower the cytokine and neurotoxicity drives and add effector death, i.e. dampen
  CAR-T expansion).

Time unit: day. Cells in model cells (xenograft scale of the published fit), cytokine in pg/mL, ICANS
index in points of the 10-point ICE score lost (``docs/immunosim-cart-adaptive.md``).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from clinsim.core.integrate import AdaptiveIntegrator, adaptive
from clinsim.core.jit import jit
from clinsim.core.model import ODEModel
from clinsim.core.parameters import Constraint, Parameter, ParameterSet

BARROS_SOURCE = "Barros et al. 2021 Cancers 13:2941 (CARTmath, HDLM-2 fit)"
RANGE_NOTE = "; range: assumed 0.5-2x of the fit"

CARTMATH_HDLM2 = (
    Parameter("phi", 0.265, "1/day", 0.1325, 0.53, BARROS_SOURCE + RANGE_NOTE, "effector CAR-T expansion rate"),
    Parameter("rho", 0.35, "1/day", 0.175, 0.7, BARROS_SOURCE + RANGE_NOTE,
              "effector CAR-T decline (death and contraction)"),
    Parameter("eps", 0.15, "1/day", 0.075, 0.3, BARROS_SOURCE + RANGE_NOTE, "memory CAR-T formation from effectors"),
    Parameter("theta", 6.0e-6, "1/(cell*day)", 3.0e-6, 1.2e-5, BARROS_SOURCE + RANGE_NOTE,
              "memory -> effector conversion on tumour-antigen encounter"),
    Parameter("alpha", 4.5e-8, "1/(cell*day)", 2.25e-8, 9.0e-8, BARROS_SOURCE + RANGE_NOTE,
              "effector inhibition/exhaustion by tumour cells"),
    Parameter("mu", 5.0e-3, "1/day", 2.5e-3, 1.0e-2, BARROS_SOURCE + RANGE_NOTE, "memory CAR-T death rate"),
    Parameter("r", 0.0565, "1/day", 0.02825, 0.113, BARROS_SOURCE + RANGE_NOTE, "tumour growth rate"),
    Parameter("b", 1.404e-12, "1/cell", 7.02e-13, 2.808e-12, BARROS_SOURCE + RANGE_NOTE,
              "inverse tumour carrying capacity"),
    Parameter("gamma", 3.716e-6, "1/(cell*day)", 1.858e-6, 7.432e-6, BARROS_SOURCE + RANGE_NOTE,
              "tumour kill rate by effector CAR-T"),
)

CART_EXTENSION = (
    # SIMPLIFICATION: the ImmunoSim paper's injected compartment I (eq. 6) with first-order activation;
    # no loss before activation (delta_I = 0). 1/k_act = 1 day puts CRS onset at day 1-3 after infusion
    # (ZUMA-1 median onset day 2; Neelapu et al. 2017 NEJM 377:2531).
    Parameter("k_act", 1.0, "1/day", 0.25, 4.0, "ImmunoSim paper eq. 6; assumption calibrated to ZUMA-1 CRS onset",
              "activation rate of infused CAR-T cells"),
    # CRS: paper eq. (10). kappa is not published for this model; the reference value was set by hand so
    # that one standard infusion gives any-grade CRS in most patients and grade >= 3 in a minority; the
    # range is the patient's CRS susceptibility, which the ZUMA-1 virtual population spreads over it and
    # weights to the trial's rates (cart_calibration; ZUMA-1: grade >= 3 13 %, Neelapu 2017).
    # delta_L: cytokine falls within hours once the drive stops.
    Parameter("kappa", 2.0e-10, "pg/(mL*cell^2)", 4.0e-11, 1.0e-9,
              "ImmunoSim paper eq. 10; calibrated to ZUMA-1 CRS incidence",
              "cytokine release per CAR-T/tumour contact"),
    Parameter("delta_L", 4.0, "1/day", 1.0, 10.0, "assumption (circulating IL-6 half-life of a few hours)",
              "cytokine clearance"),
    Parameter("baseline_L", 5.0, "pg/mL", 1.0, 10.0, "normal serum IL-6 (< 7 pg/mL)", "cytokine background"),
    # SIMPLIFICATION: tocilizumab blocks the IL-6 receptor; modelled as halving the cytokine drive of
    # the aggregate CRS signal. It does not affect CAR-T expansion (Neelapu 2017; Lee 2019 ASTCT).
    Parameter("e_toci", 0.5, "-", 0.0, 0.9, "assumption; Le et al. 2018 Oncologist 23:943 (tocilizumab in CRS)",
              "fractional reduction of the cytokine drive under tocilizumab"),
    # SIMPLIFICATION: dexamethasone suppresses cytokine production and T-cell expansion; modelled as a
    # further cut of the cytokine drive and an extra effector death rate (clinically, high cumulative
    # steroid doses go with shorter survival after CAR-T: Strati et al. 2021 Blood 137:3272).
    Parameter("e_steroid", 0.6, "-", 0.0, 0.9, "assumption",
              "fractional reduction of the cytokine and neurotoxicity drives under steroids"),
    Parameter("k_steroid_death", 0.5, "1/day", 0.0, 2.0, "assumption; Strati et al. 2021",
              "extra effector CAR-T death rate under corticosteroids (dampens expansion)"),
    # ICANS (immune effector cell-associated neurotoxicity). SIMPLIFICATION: one index E (ICE-score
    # points lost) driven by the effector CAR-T pool and cleared first-order. Neurotoxicity rises with
    # peak CAR-T expansion and with the infused dose, and can be fatal through cerebral oedema (Gust et
    # al. 2017 Cancer Discov 7:1404; Turtle et al. 2016 J Clin Invest 126:2123, deaths at 2e7 cells/kg;
    # Neelapu 2017: expansion associated with neurological events). k_icans carries the patient's
    # susceptibility (endothelial activation, Gust 2017) over a wide range; the reference value gives
    # any-grade ICANS in about two thirds and grade >= 3 in about one in five of a cohort (CD19 CAR-T
    # trials: ZUMA-1 64 % / 28 %, Neelapu 2017; JULIET 21 % / 12 %, Schuster et al. 2019 NEJM 380:45);
    # the ZUMA-1 virtual population spreads it over the range, weighted to ZUMA-1 (cart_calibration).
    Parameter("k_icans", 0.6e-6, "ICE points/(cell*day)", 1.0e-8, 1.0e-4,
              "calibrated to ZUMA-1/JULIET neurological events; range: patient susceptibility",
              "neurotoxicity drive per effector CAR-T cell"),
    Parameter("delta_E", 0.15, "1/day", 0.05, 0.5,
              "ZUMA-1: neurological events resolve in ~2 weeks (median 17 days; Neelapu 2017)",
              "recovery rate of the neurotoxicity index"),
)

# Effector CAR-T must contract without antigen (phi < rho): both published fits sit just below it
# (HDLM-2 0.265 < 0.35; RAJI 0.83 < 0.8300536). Independent 0.5-2x ranges would otherwise allow
# unbounded antigen-free expansion, a non-physiological (and infinitely stiff) corner.
CONTRACTION = Constraint("phi < rho: effector CAR-T contract without antigen (Barros 2021 fits)",
                         lambda c: c["phi"] < c["rho"])
CART_PARAMETERS = ParameterSet("CARTmath (HDLM-2) with CRS cytokine", CARTMATH_HDLM2 + CART_EXTENSION,
                               constraints=(CONTRACTION,))
CARTMATH = ParameterSet("CARTmath (Barros 2021, HDLM-2)", CARTMATH_HDLM2, constraints=(CONTRACTION,))

_I = {name: i for i, name in enumerate(CART_PARAMETERS.names)}
PHI, RHO, EPS, THETA, ALPHA, MU, R, B, GAMMA = (_I[k] for k in
                                                ("phi", "rho", "eps", "theta", "alpha", "mu", "r", "b", "gamma"))
K_ACT, KAPPA, DELTA_L, BASELINE_L = _I["k_act"], _I["kappa"], _I["delta_L"], _I["baseline_L"]
E_TOCI, E_STEROID, K_STEROID_DEATH = _I["e_toci"], _I["e_steroid"], _I["k_steroid_death"]
K_ICANS, DELTA_E = _I["k_icans"], _I["delta_E"]

# state and input indices
INJECTED, EFFECTOR, MEMORY, TUMOUR, CYTOKINE, ICANS = range(6)
TOCILIZUMAB, STEROID = range(2)


@jit
def cartmath_rhs(y, u, p, dy):  # pragma: no cover - compiled
    """Published 3-state CARTmath: y = (C_T, C_M, T)."""
    c, m, t = y[0], y[1], y[2]
    dy[0] = p[PHI] * c - p[RHO] * c + p[THETA] * t * m - p[ALPHA] * t * c
    dy[1] = p[EPS] * c - p[THETA] * t * m - p[MU] * m
    dy[2] = p[R] * t * (1.0 - p[B] * t) - p[GAMMA] * c * t


@jit
def cart_rhs(y, u, p, dy):  # pragma: no cover - compiled
    i, c, m, t, cyt = y[INJECTED], y[EFFECTOR], y[MEMORY], y[TUMOUR], y[CYTOKINE]
    toci, ster = u[TOCILIZUMAB], u[STEROID]
    steroid_cut = 1.0 - p[E_STEROID] * ster
    act = p[K_ACT] * i
    dy[INJECTED] = -act
    dy[EFFECTOR] = (act + (p[PHI] - p[RHO] - p[K_STEROID_DEATH] * ster) * c + p[THETA] * t * m
                    - p[ALPHA] * t * c)
    dy[MEMORY] = p[EPS] * c - p[THETA] * t * m - p[MU] * m
    dy[TUMOUR] = p[R] * t * (1.0 - p[B] * t) - p[GAMMA] * c * t
    drive = p[KAPPA] * (1.0 - p[E_TOCI] * toci) * steroid_cut * c * t
    dy[CYTOKINE] = drive - p[DELTA_L] * (cyt - p[BASELINE_L])
    dy[ICANS] = p[K_ICANS] * steroid_cut * c - p[DELTA_E] * y[ICANS]


class CARTMathModel(ODEModel):
    """Published CARTmath (Barros 2021): effector C_T, memory C_M, tumour T (cells, days)."""

    parameters = CARTMATH
    state_names = ("effector_cart_cells", "memory_cart_cells", "tumour_cells")
    kernel = staticmethod(cartmath_rhs)


class CARTModel(ODEModel):
    """CARTmath with an activation compartment, CRS cytokine and CRS-management inputs.

    States: injected CAR-T (cells), effector CAR-T (cells), memory CAR-T (cells), tumour (cells),
    aggregate cytokine (pg/mL), ICANS index (ICE points lost). Inputs: tocilizumab (0/1),
    corticosteroids (0/1).
    """

    parameters = CART_PARAMETERS
    state_names = ("injected_cart_cells", "effector_cart_cells", "memory_cart_cells", "tumour_cells",
                   "cytokine_pg_per_ml", "icans_ice_points_lost")
    input_names = ("tocilizumab", "corticosteroids")
    kernel = staticmethod(cart_rhs)

    # CAR-T kill and expansion make the system's fastest rate vary over orders of magnitude between
    # patients and days, so each patient gets its own error-controlled Dormand-Prince 5(4) steps:
    # relative error <= 2e-7 against scipy over a quarter day on states recorded from the env
    # (tests/test_integration.py).
    RTOL: ClassVar[float] = 3e-8
    ATOL: ClassVar[float] = 3e-14

    @classmethod
    def advance(cls, y: np.ndarray, u: np.ndarray, p: np.ndarray, duration: float,
                carry: np.ndarray | None = None) -> np.ndarray:
        """Advance a batch in place; returns each patient's RHS evaluations (its own steps only).
        ``carry``: each patient's integrator carry (step size in days, derivative; ``clinsim.core.integrate``
        ``carry_size``), continued from call to call (updated in place)."""
        return _ADAPTIVE(y, u, p, duration, carry)


_ADAPTIVE = AdaptiveIntegrator(
    adaptive(cart_rhs, len(CARTModel.state_names), CARTModel.RTOL, CARTModel.ATOL))
# the same integrator for one patient (``advance_patient(y_row, u_row, p_row, duration, carry_row, work)``,
# ``work`` of shape ``advance_patient.work_shape``), for compiled env steps
advance_patient = _ADAPTIVE.advance
