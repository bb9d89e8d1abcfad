"""Bergman's minimal model of glucose and insulin action (Bergman, Ider, Bowden & Cobelli 1979), time in minutes.

dG/dt = -(p1 + X) G + p1 Gb + Ra (glucose, mg/dL; Ra: meal appearance, mg/dL/min)
dX/dt = -p2 X + p3 I (insulin action, 1/min: a deviation from basal, negative below basal insulin)
with I the plasma insulin above basal (mU/L), an input.
"""

from __future__ import annotations

from clinsim.core.jit import jit
from clinsim.core.model import ODEModel
from clinsim.core.parameters import Parameter, ParameterSet

SOURCE = "Bergman et al. 1979 Am J Physiol 236:E667 (minimal model); ranges: assumption for a test disease"
PARAMETERS = ParameterSet("Bergman minimal model (test disease)", (
    Parameter("p1", 0.01, "1/min", 0.002, 0.05, SOURCE, "glucose effectiveness (insulin-independent uptake)",
              cv=0.3),
    Parameter("p2", 0.025, "1/min", 0.01, 0.05, SOURCE, "decay of insulin action"),
    Parameter("p3", 1.3e-5, "1/(min^2*mU/L)", 2e-6, 5e-5, SOURCE, "insulin action gain (sensitivity)", cv=0.4),
    Parameter("gb", 120.0, "mg/dL", 80.0, 160.0, SOURCE, "basal glucose", cv=0.1),
))
G, X = range(2)
P1, P2, P3, GB = range(4)
INSULIN, MEAL = range(2)


@jit
def bergman_rhs(y, u, p, dy):  # pragma: no cover - compiled
    dy[G] = -(p[P1] + y[X]) * y[G] + p[P1] * p[GB] + u[MEAL]
    dy[X] = -p[P2] * y[X] + p[P3] * u[INSULIN]


class BergmanModel(ODEModel):
    parameters = PARAMETERS
    state_names = ("glucose_mg_per_dl", "insulin_action_per_min")
    input_names = ("insulin_above_basal_mu_per_l", "meal_mg_per_dl_min")
    time_unit = "min"
    kernel = staticmethod(bergman_rhs)
