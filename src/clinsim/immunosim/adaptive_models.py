"""Kuznetsov tumour-immune dynamics under nivolumab with an immune-infiltrated lesion (pseudo-progression).

Butner et al. 2020 (Sci Adv 6:eaay6298) describe each patient by three parameters: alpha (tumour
proliferation), Lambda (immune infiltration) and mu (immunotherapy amplification of the anti-tumour
response). Their exact functional form could not be verified, so they are mapped onto the shared
ImmunoSim models (``clinsim.immunosim.models``: Kuznetsov 1994 + two-compartment nivolumab PK/PD):

* alpha -> Kuznetsov's maximal tumour growth rate ``a`` (1/day);
* mu -> ``k_pd1``, the maximal relative increase of the tumour-kill rate under PD-1 blockade;
* Lambda -> ``lambda_inf``, inflammatory cells recruited into the lesion per tumour cell killed.

The measured lesion is tumour plus infiltrate, ``V = T + I`` with

    dI/dt = lambda_inf * n_eff * E * T - delta_inf * I

so a treatment that raises killing in a highly infiltrated patient first enlarges the lesion on a
scan before the tumour shrinks: pseudo-progression arises from the dynamics.
Time unit: day. Cells in cells, drug amounts in mg, concentrations in mg/L.
"""

from __future__ import annotations

from clinsim.core.jit import jit
from clinsim.core.model import ODEModel
from clinsim.core.parameters import Parameter, ParameterSet
from clinsim.immunosim import models as mdl

BUTNER_SOURCE = "Butner et al. 2020 Sci Adv 6:eaay6298 (mapping assumed, see module docstring)"

INFILTRATE_PARAMETERS = (
    # SIMPLIFICATION: Butner's Lambda enters as the number of inflammatory cells recruited per killed
    # tumour cell; its distribution is chosen so that ~10 % of treated patients show pseudo-progression
    # (melanoma under PD-1 blockade: 5-10 %; Hodi et al. 2016 JCO 34:1510).
    Parameter("lambda_inf", 0.5, "cells/cell", 0.02, 10.0, BUTNER_SOURCE,
              "Lambda: inflammatory cells recruited into the lesion per tumour cell killed", cv=1.2),
    Parameter("delta_inf", 0.05, "1/day", 0.02, 0.2, "assumption (infiltrate resolves over weeks)",
              "clearance of the lesion's inflammatory infiltrate"),
)

ADAPTIVE_PARAMETERS = ParameterSet(
    "Kuznetsov + nivolumab with lesion infiltrate (Butner axes)",
    mdl.KUZNETSOV_PARAMETERS + mdl.PK_PD_PARAMETERS + INFILTRATE_PARAMETERS,
)
_I = {name: i for i, name in enumerate(ADAPTIVE_PARAMETERS.names)}
# the shared checkpoint indices stay valid because the shared parameters come first, in order
assert all(_I[p.name] == i for i, p in enumerate(mdl.KUZNETSOV_PARAMETERS + mdl.PK_PD_PARAMETERS))
LAMBDA_INF, DELTA_INF = _I["lambda_inf"], _I["delta_inf"]
ALPHA_BUTNER, MU_BUTNER = mdl.A, mdl.K_PD1  # Butner's alpha and mu in the shared parameter vector

# states and input
E_CELLS, T_CELLS, NIVO_CENTRAL_MG, NIVO_PERIPH_MG, INFILTRATE = range(5)
STEROID = 0


@jit
def adaptive_rhs(y, u, p, dy):  # pragma: no cover - compiled
    c_nivo = y[NIVO_CENTRAL_MG] / p[mdl.NIVO_VC]
    n_eff = p[mdl.N] * (1.0 + p[mdl.K_PD1] * c_nivo / (p[mdl.EC50_PD1] + c_nivo))
    d_eff = p[mdl.D] * (1.0 + p[mdl.K_STEROID] * u[STEROID])
    mdl._kuznetsov(y[E_CELLS], y[T_CELLS], p[mdl.S], n_eff, d_eff, p, dy)
    k10 = p[mdl.NIVO_CL] / p[mdl.NIVO_VC]
    k12 = p[mdl.NIVO_Q] / p[mdl.NIVO_VC]
    k21 = p[mdl.NIVO_Q] / p[mdl.NIVO_VP]
    dy[NIVO_CENTRAL_MG] = -(k10 + k12) * y[NIVO_CENTRAL_MG] + k21 * y[NIVO_PERIPH_MG]
    dy[NIVO_PERIPH_MG] = k12 * y[NIVO_CENTRAL_MG] - k21 * y[NIVO_PERIPH_MG]
    dy[INFILTRATE] = p[LAMBDA_INF] * n_eff * y[E_CELLS] * y[T_CELLS] - p[DELTA_INF] * y[INFILTRATE]


class AdaptiveDosingModel(ODEModel):
    """Kuznetsov + nivolumab (Bajaj 2017 PK) + lesion infiltrate; input: high-dose corticosteroids (0/1)."""

    parameters = ADAPTIVE_PARAMETERS
    state_names = ("effector_cells", "tumour_cells", "nivolumab_central_mg", "nivolumab_peripheral_mg",
                   "infiltrate_cells")
    input_names = ("high_dose_corticosteroids",)
    kernel = staticmethod(adaptive_rhs)
