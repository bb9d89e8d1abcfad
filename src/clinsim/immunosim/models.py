"""Tumour-immune dynamics and checkpoint-inhibitor pharmacology (ImmunoSim).

Kuznetsov-Makalkin-Taylor-Perelson 1994 (BCL1 lymphoma) effector/tumour model, two-compartment
nivolumab PK (Bajaj 2017), one-compartment ipilimumab PK (label / Feng 2014), anti-PD-1 acting on
the tumour-kill term (paper eq. 5, Nikolopoulou 2018) and anti-CTLA-4 acting on effector priming.
Time unit: day. Cell counts in cells, drug amounts in mg, concentrations in mg/L.
"""

from __future__ import annotations

import numpy as np

from clinsim.core.jit import jit
from clinsim.core.model import ODEModel
from clinsim.core.parameters import Parameter, ParameterSet

KUZNETSOV_SOURCE = "Kuznetsov et al. 1994 Bull Math Biol 56:295, Table; BioModels BIOMD0000000762"
RANGE_NOTE = "; range: assumed 0.5-2x of the fit"

KUZNETSOV_PARAMETERS = (
    Parameter("s", 1.3e4, "cells/day", 6.5e3, 2.6e4, KUZNETSOV_SOURCE + RANGE_NOTE,
              "normal effector inflow (source)", cv=0.2),
    Parameter("p", 0.1245, "1/day", 0.0623, 0.249, KUZNETSOV_SOURCE + RANGE_NOTE,
              "maximal tumour-stimulated effector proliferation", cv=0.1),
    Parameter("g", 2.019e7, "cells", 1.0e7, 4.04e7, KUZNETSOV_SOURCE + RANGE_NOTE,
              "half-saturation of effector proliferation"),
    # CORRECTION: the ImmunoSim paper calls m (3.422e-10) the tumour kill rate; in Kuznetsov 1994
    # it is the effector inactivation rate, and the kill rate is n = 1.101e-7.
    Parameter("m", 3.422e-10, "1/(cell*day)", 1.711e-10, 6.844e-10, KUZNETSOV_SOURCE + RANGE_NOTE,
              "effector inactivation by tumour cells"),
    Parameter("d", 0.0412, "1/day", 0.0206, 0.0824, KUZNETSOV_SOURCE + RANGE_NOTE, "effector death rate"),
    Parameter("a", 0.18, "1/day", 0.09, 0.36, KUZNETSOV_SOURCE + RANGE_NOTE,
              "maximal tumour growth rate", cv=0.15),
    # CORRECTION: the paper halves b (1e-9); the published value is 2e-9 (carrying capacity 5e8 cells).
    # b is not varied between patients so the lethal threshold stays below the escape state.
    Parameter("b", 2.0e-9, "1/cell", 1.0e-9, 4.0e-9, KUZNETSOV_SOURCE + RANGE_NOTE,
              "inverse tumour carrying capacity"),
    Parameter("n", 1.101e-7, "1/(cell*day)", 5.5e-8, 2.2e-7, KUZNETSOV_SOURCE + RANGE_NOTE,
              "tumour kill rate by effector cells", cv=0.15),
)

PK_PD_PARAMETERS = (
    Parameter("nivo_cl", 0.228, "L/day", 0.1, 0.6, "Bajaj et al. 2017 CPT:PSP 6:58 (CL 9.5 mL/h, IIV ~35%)",
              "nivolumab clearance", cv=0.35),
    Parameter("nivo_vc", 3.87, "L", 2.5, 6.0, "Bajaj et al. 2017", "nivolumab central volume", cv=0.15),
    Parameter("nivo_vp", 3.01, "L", 1.5, 5.0, "Bajaj et al. 2017", "nivolumab peripheral volume"),
    Parameter("nivo_q", 0.794, "L/day", 0.3, 1.5, "Bajaj et al. 2017 (Q 33.1 mL/h)",
              "nivolumab inter-compartmental clearance"),
    # SIMPLIFICATION: ipilimumab as one compartment with Vss; the terminal half-life is then 12.8 days
    # instead of the label's 15.4 days (two-compartment).
    Parameter("ipi_cl", 0.403, "L/day", 0.2, 0.8, "Yervoy label; Feng et al. 2014 (CL 16.8 mL/h)",
              "ipilimumab clearance", cv=0.3),
    Parameter("ipi_v", 7.47, "L", 5.0, 10.0, "Yervoy label (Vss 7.47 L)", "ipilimumab volume of distribution"),
    Parameter("k_pd1", 0.8, "-", 0.2, 2.0, "ImmunoSim paper eq. 5; Nikolopoulou et al. 2018",
              "maximal relative increase of the kill rate under PD-1 blockade"),
    Parameter("ec50_pd1", 5.0, "mg/L", 1.0, 20.0, "ImmunoSim paper eq. 5", "nivolumab EC50 on the kill rate"),
    # SIMPLIFICATION: no published value for this model; CTLA-4 blockade amplifies priming (the source s),
    # chosen so that CheckMate-067-style induction deepens the early response over nivolumab alone
    # (synergy with PD-1 blockade arises because more primed effectors each kill harder).
    Parameter("k_ctla4", 2.0, "-", 0.5, 5.0, "assumption; Nikolopoulou et al. 2021 (synergy)",
              "maximal relative increase of effector priming under CTLA-4 blockade"),
    Parameter("ec50_ctla4", 10.0, "mg/L", 2.0, 40.0, "assumption (ipilimumab Cmin,ss 3 mg/kg ~ 20 mg/L)",
              "ipilimumab EC50 on priming"),
    # SIMPLIFICATION: high-dose corticosteroids given for grade >= 3 irAEs are immunosuppressive; modelled
    # as a higher effector death rate while they are given (clinical signal: Faje et al. 2018 Cancer
    # 124:3706, Arbour et al. 2018 JCO 36:2872: worse outcomes under high-dose steroids). Magnitude assumed.
    Parameter("k_steroid", 1.0, "-", 0.0, 3.0, "assumption; Faje 2018, Arbour 2018",
              "relative increase of effector death rate under high-dose corticosteroids"),
    Parameter("body_weight", 75.0, "kg", 40.0, 150.0, "adult oncology population", "body weight", cv=0.18),
)

# CORRECTION: in Kuznetsov 1994 every tumour-specific effector is short-lived, so a response to checkpoint
# blockade ends in the dormant focus (a weakly damped ~99-day oscillation) and regrows once the drug is gone;
# clinically, responses to PD-1/CTLA-4 blockade are durable and persist after stopping treatment (Robert et
# al. 2018 JCO 36:1668, pembrolizumab stopped after CR; Jansen et al. 2019 Ann Oncol 30:1154), attributed to
# tumour-specific memory T cells formed during treatment (Ribas & Wolchok 2018 Science 359:1350; PD-1 blockade
# expands TCF1+ progenitor/memory-like CD8 cells: Siddiqui et al. 2019 Immunity 50:195).
# SIMPLIFICATION: one memory pool M (cells), formed in proportion to the tumour killing that blockade adds
# (phi * (n_eff - n) E T, so untreated natural history is Kuznetsov's), decaying with a one-year lifetime, and
# recruiting effectors at k_recall * M (cells/day). Only the product phi * k_recall shapes the dynamics; phi
# is fixed and k_recall varies between patients (its spread is set by the virtual-population calibration).
MEMORY_PARAMETERS = (
    Parameter("memory_yield", 1.0e-3, "-", 1.0e-4, 1.0e-2, "assumption (scale of M only; see k_recall)",
              "memory cells formed per tumour cell killed through checkpoint blockade"),
    Parameter("k_recall", 0.02, "1/day", 5.0e-4, 0.5, "assumption; spread calibrated to CheckMate-067 (Larkin 2015)",
              "effector recruitment per memory cell per day"),
    Parameter("memory_lifetime", 365.0, "day", 90.0, 3650.0,
              "assumption; durable responses years after stopping (Robert 2018 JCO 36:1668)",
              "mean lifetime of the tumour-specific memory pool"),
    # between-patient irAE susceptibility: a patient-specific multiplier on the weekly irAE probability
    # (risk factors vary between patients: Chennamadhavuni et al. 2022 Front Immunol 13:779691); assumed
    # log-uniform spread, calibrated to the CheckMate-067 grade 3-4 rates.
    Parameter("irae_risk", 1.0, "-", 0.25, 4.0, "assumption; Chennamadhavuni 2022 (risk factors)",
              "patient multiplier on the weekly irAE probability"),
)

# Toxicity (weekly event probabilities, drawn from the env's RNG): Shulgin et al. 2020 found
# PD-1 inhibitor adverse-event incidence flat in dose and CTLA-4 incidence exposure dependent;
# calibrated to CheckMate-067 grade 3-4 treatment-related AEs (nivolumab 21 %, ipilimumab 28 %,
# combination 59 %; Larkin et al. 2015).
TOXICITY_PARAMETERS = ParameterSet("Immune-related adverse events (per week of exposure)", (
    Parameter("p_pd1", 0.02, "1/week", 0.005, 0.05, "Shulgin 2020 (flat); CheckMate-067 nivolumab arm",
              "weekly irAE probability under PD-1 exposure (any dose)"),
    Parameter("p0_ctla4", 0.0025, "1/week", 0.0, 0.05, "Shulgin 2020 eq.; CheckMate-067 ipilimumab arm",
              "weekly irAE probability intercept under CTLA-4 exposure"),
    Parameter("beta_ctla4", 0.0035, "1/(week*mg/L)", 0.0, 0.01, "Shulgin 2020 (exposure dependence)",
              "increase of weekly irAE probability per mg/L ipilimumab"),
    Parameter("combo_factor", 2.0, "-", 1.0, 4.0, "Shulgin 2020; CheckMate-067 combination arm",
              "multiplier on the CTLA-4 term when PD-1 blockade is present"),
    Parameter("exposure_threshold", 1.0, "mg/L", 0.1, 5.0, "assumption", "concentration counted as exposure"),
    # ASCO 2018 guideline (Brahmer et al. 2018 JCO 36:1714) and the labels: checkpoint blockade is stopped for
    # good after any grade 4 irAE and after organ-specific grade 3 ones (Opdivo/Opdivo + Yervoy: pneumonitis
    # grade 3-4 "permanently discontinue", opdivohcp.com treatment modifications; Keytruda label: neurological
    # grade 3-4 and myocarditis discontinue, colitis grade 3 and endocrinopathies withhold); the other grade 3
    # events (many laboratory abnormalities) are held and resumed.
    # SIMPLIFICATION: one share for every grade 3 event, PD-1 alone or with CTLA-4 blockade; set from the
    # CheckMate-067 nivolumab arm (7.7 % stopped for AEs of 16.3 % with grade 3-4 treatment-related AEs, of
    # which ~20 % are grade 4: (7.7/16.3 - 0.2) / 0.8 ~ 0.35; Larkin et al. 2015 NEJM 373:23).
    Parameter("grade3_stop_fraction", 0.35, "-", 0.0, 1.0, "Brahmer 2018; Larkin 2015 (see comment)",
              "share of grade 3 irAEs that stop checkpoint blockade for good"),
))
# Grade distribution of an irAE (grades 1-4), CheckMate-067 (about 40 % of events grade 3-4).
GRADE_PROBABILITIES = np.array([0.30, 0.30, 0.32, 0.08])
GRADE3_STOP_FRACTION = TOXICITY_PARAMETERS["grade3_stop_fraction"].value

CHECKPOINT_PARAMETERS = ParameterSet("Kuznetsov tumour-immune model with checkpoint blockade",
                                     KUZNETSOV_PARAMETERS + PK_PD_PARAMETERS + MEMORY_PARAMETERS)
KUZNETSOV = ParameterSet("Kuznetsov 1994 tumour-immune model", KUZNETSOV_PARAMETERS)

_I = {name: i for i, name in enumerate(CHECKPOINT_PARAMETERS.names)}
S, P, G, M, D, A, B, N = (_I[k] for k in "spgmdabn")
NIVO_CL, NIVO_VC, NIVO_VP, NIVO_Q = _I["nivo_cl"], _I["nivo_vc"], _I["nivo_vp"], _I["nivo_q"]
IPI_CL, IPI_V = _I["ipi_cl"], _I["ipi_v"]
K_PD1, EC50_PD1, K_CTLA4, EC50_CTLA4 = _I["k_pd1"], _I["ec50_pd1"], _I["k_ctla4"], _I["ec50_ctla4"]
K_STEROID = _I["k_steroid"]
BODY_WEIGHT = _I["body_weight"]
MEMORY_YIELD, K_RECALL, MEMORY_LIFETIME, IRAE_RISK = (_I[k] for k in ("memory_yield", "k_recall", "memory_lifetime",
                                                                   "irae_risk"))

# state and input indices of the checkpoint model
E_CELLS, T_CELLS, NIVO_CENTRAL_MG, NIVO_PERIPH_MG, IPI_MG, MEMORY_CELLS = range(6)
STEROID = 0


@jit(inline="always")
def _kuznetsov(e, t, s_eff, n_eff, d_eff, p, dy):  # pragma: no cover - compiled
    dy[0] = s_eff + p[P] * e * t / (p[G] + t) - p[M] * e * t - d_eff * e
    dy[1] = p[A] * t * (1.0 - p[B] * t) - n_eff * e * t


@jit
def kuznetsov_rhs(y, u, p, dy):  # pragma: no cover - compiled
    _kuznetsov(y[0], y[1], p[S], p[N], p[D], p, dy)


@jit
def checkpoint_rhs(y, u, p, dy):  # pragma: no cover - compiled
    c_nivo = y[NIVO_CENTRAL_MG] / p[NIVO_VC]
    c_ipi = y[IPI_MG] / p[IPI_V]
    n_eff = p[N] * (1.0 + p[K_PD1] * c_nivo / (p[EC50_PD1] + c_nivo))
    memory = y[MEMORY_CELLS]
    s_eff = p[S] * (1.0 + p[K_CTLA4] * c_ipi / (p[EC50_CTLA4] + c_ipi)) + p[K_RECALL] * memory
    d_eff = p[D] * (1.0 + p[K_STEROID] * u[STEROID])
    _kuznetsov(y[E_CELLS], y[T_CELLS], s_eff, n_eff, d_eff, p, dy)
    dy[MEMORY_CELLS] = p[MEMORY_YIELD] * (n_eff - p[N]) * y[E_CELLS] * y[T_CELLS] - memory / p[MEMORY_LIFETIME]
    k10 = p[NIVO_CL] / p[NIVO_VC]
    k12 = p[NIVO_Q] / p[NIVO_VC]
    k21 = p[NIVO_Q] / p[NIVO_VP]
    dy[NIVO_CENTRAL_MG] = -(k10 + k12) * y[NIVO_CENTRAL_MG] + k21 * y[NIVO_PERIPH_MG]
    dy[NIVO_PERIPH_MG] = k12 * y[NIVO_CENTRAL_MG] - k21 * y[NIVO_PERIPH_MG]
    dy[IPI_MG] = -p[IPI_CL] / p[IPI_V] * y[IPI_MG]


class KuznetsovModel(ODEModel):
    """Kuznetsov et al. 1994: dE/dt = s + pET/(g+T) - mET - dE ; dT/dt = aT(1-bT) - nET (cells, days)."""

    parameters = KUZNETSOV
    state_names = ("effector_cells", "tumour_cells")
    kernel = staticmethod(kuznetsov_rhs)

    def nondimensional(self, scale_cells: float = 1e6) -> dict[str, float]:
        """Kuznetsov's dimensionless groups (E0 = T0 = ``scale_cells``, tau = n*T0*t)."""
        s, p, g, m, d, a, b, n = self.params
        unit = n * scale_cells
        return {"sigma": s / (unit * scale_cells), "rho": p / unit, "eta": g / scale_cells, "mu": m / n,
                "delta": d / unit, "alpha": a / unit, "beta": b * scale_cells}

    def equilibria(self, kill_factor: float = 1.0, source_factor: float = 1.0) -> list[dict]:
        """All equilibria (E, T) with eigenvalues and type, for a constant drug effect on n and s."""
        s, p, g, m, d, a, b, n = self.params
        s, n = s * source_factor, n * kill_factor
        c = a / n  # on the tumour nullcline E = c (1 - bT)
        k = p - m * g - d
        coeffs = [c * b * m, c * (-m - b * k), c * (k + b * d * g) + s, s * g - c * d * g]
        points = [(s / d, 0.0)]
        for root in np.roots(coeffs):
            if abs(root.imag) < 1e-6 * max(1.0, abs(root.real)) and 0.0 < root.real < 1.0 / b:
                points.append((c * (1.0 - b * root.real), float(root.real)))
        out = []
        for e, t in sorted(points, key=lambda x: x[1]):
            jac = np.array([[p * t / (g + t) - m * t - d, p * e * g / (g + t) ** 2 - m * e],
                            [-n * t, a * (1.0 - 2.0 * b * t) - n * e]])
            eig = np.linalg.eigvals(jac)
            if (eig.real < 0).all():
                kind = "stable focus" if abs(eig[0].imag) > 0 else "stable node"
            elif (eig.real > 0).all():
                kind = "unstable"
            else:
                kind = "saddle"
            out.append({"effector_cells": e, "tumour_cells": t, "eigenvalues": eig, "type": kind})
        return out


# Shared by the Kuznetsov-based tasks (CheckpointInhibitor, CombinationTherapy, AdaptiveDosing).
# Escape threshold: above the untreated saddle (2.7e8) and below the escape state (4.5e8 for the reference
# patient, > 3.8e8 within +-3 SD of the cohort; tests/immunosim/test_kuznetsov.py).
LETHAL_TUMOUR_CELLS = 3.5e8
ELIMINATED_TUMOUR_CELLS = 1.0  # fewer than one cell: extinct
# Presentation effectors (log10 cells, uniform): exhausted, so that the untreated course mostly escapes.
LOG_EFFECTOR_RANGE = (np.log10(1.5e5), np.log10(8.0e5))
TOXICITY_PENALTY = np.array([0.0, 0.5, 2.0, 8.0, 20.0])  # reward penalty for a new irAE by grade 0-4
# Clinical irAE management (ASCO 2018 guideline, simplified): weeks of held doses by grade,
# grade 4 = permanent discontinuation of all checkpoint inhibitors; high-dose corticosteroid weeks.
HOLD_WEEKS_BY_GRADE = np.array([0, 0, 1, 3, 0])
STEROID_WEEKS_BY_GRADE = np.array([0, 0, 0, 4, 4])  # course with taper


class CheckpointModel(ODEModel):
    """Kuznetsov dynamics with nivolumab (2-compartment PK) and ipilimumab (1-compartment PK).

    States: effector cells, tumour cells, nivolumab central and peripheral amounts (mg), ipilimumab
    amount (mg), tumour-specific memory cells (formed by blockade-driven killing, recruiting effectors).
    Input: high-dose corticosteroids (0/1) for severe irAEs. Doses are IV boluses added to the drug amounts
    between integrations, so drug concentrations (and their effects) evolve continuously inside each step.
    """

    parameters = CHECKPOINT_PARAMETERS
    state_names = ("effector_cells", "tumour_cells", "nivolumab_central_mg", "nivolumab_peripheral_mg",
                   "ipilimumab_mg", "memory_cells")
    input_names = ("high_dose_corticosteroids",)
    kernel = staticmethod(checkpoint_rhs)


@jit
def irae_probability(c_nivo_mg_per_l: float, c_ipi_mg_per_l: float, tox: np.ndarray) -> float:
    """Weekly probability of an immune-related adverse event (Shulgin 2020 asymmetry, paper eq. 2).

    PD-1: flat ``p_pd1`` for any exposure. CTLA-4: ``p0 + beta * C`` under exposure, multiplied by
    ``combo_factor`` when PD-1 blockade is present. ``tox``: the ``TOXICITY_PARAMETERS`` vector.
    """
    p_pd1, p0, beta, combo, threshold = tox[0], tox[1], tox[2], tox[3], tox[4]
    pd1 = c_nivo_mg_per_l > threshold
    prob = p_pd1 if pd1 else 0.0
    if c_ipi_mg_per_l > threshold:
        prob += (p0 + beta * c_ipi_mg_per_l) * (combo if pd1 else 1.0)
    return min(max(prob, 0.0), 1.0)


_GRADE_CDF = np.cumsum(GRADE_PROBABILITIES)


@jit
def irae_stops_treatment(grade: int, u_grade: float) -> bool:
    """Whether an irAE stops checkpoint blockade for good: grade 4, or a grade 3 event whose grade draw lies in
    the top ``GRADE3_STOP_FRACTION`` of the grade-3 band (no extra random number; see the parameter)."""
    if grade == 3:
        return u_grade >= _GRADE_CDF[2] - GRADE3_STOP_FRACTION * GRADE_PROBABILITIES[2]
    return grade >= 4


@jit
def irae_grade(u_grade: float) -> int:
    """Grade (1-4) of an irAE from a uniform draw."""
    below = 0
    for c in _GRADE_CDF:
        below += c <= u_grade
    return 1 + min(below, 3)
