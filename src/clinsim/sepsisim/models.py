"""Acute inflammation, hemodynamics, lactate and urine output in sepsis (SepsiSim).

Reynolds et al. 2006 reduced model of the acute inflammatory response (BioModels BIOMD0000000714;
pathogen P, activated phagocytes N*, tissue damage D, anti-inflammatory mediator C_A; time in hours)
with antibiotic killing of the pathogen (SepsiSim paper eq. 1), coupled in one compiled kernel to
the paper's hemodynamics (eq. 5), lactate with the kinetics measured in septic patients (Levraut 1998),
intravascular and interstitial volume and cumulative urine output. Hypoperfusion below a harm threshold,
interstitial fluid overload and excessive vasopressor feed back into the damage D, so resuscitation changes
organ injury and survival while a normally perfused patient keeps Reynolds' natural history.
Units: hours, L, mmHg, mmol/L, mL/kg, ug/kg/min (norepinephrine).
"""

from __future__ import annotations

import numpy as np

from clinsim.core import vecmath
from clinsim.core.jit import guvectorize, jit, vectorize
from clinsim.core.model import ODEModel
from clinsim.core.parameters import Parameter, ParameterSet

REYNOLDS_SOURCE = "Reynolds et al. 2006 J Theor Biol 242:220, Table 1; BioModels BIOMD0000000714"
RANGE_NOTE = "; range: assumed 0.5-2x of the published value"
PAPER = "SepsiSim paper (Dhia 2026)"


def _reynolds(name: str, value: float, unit: str, description: str, cv: float = 0.0) -> Parameter:
    return Parameter(name, value, unit, 0.5 * value, 2.0 * value, REYNOLDS_SOURCE + RANGE_NOTE, description, cv)


# CORRECTION: the SepsiSim paper's eqs. 1-4 (logistic bacteria B, mediators M and A, damage D in [0, 1])
# are not the cited Reynolds 2006 model. The published model is implemented instead, with the paper's
# variables mapped onto it (B -> pathogen P, M -> activated phagocytes N*, A -> anti-inflammatory C_A,
# D -> damage D, which is unbounded: its death states sit at D ~17) and the paper's antibiotic kill
# -alpha_abx * P added to dP/dt (eq. 1).
REYNOLDS_PARAMETERS = (
    _reynolds("k_pm", 0.6, "1/(M-units*h)", "pathogen killing by the local non-specific response"),
    _reynolds("k_mp", 0.01, "1/(P-units*h)", "exhaustion of the local response by the pathogen"),
    _reynolds("s_m", 0.005, "M-units/h", "source of the local non-specific response"),
    _reynolds("mu_m", 0.002, "1/h", "decay of the local non-specific response"),
    # k_pg varies between patients (pathogen virulence); the curated "septic" scenario uses 0.6.
    Parameter("k_pg", 0.3, "1/h", 0.15, 0.6, REYNOLDS_SOURCE + "; range: 0.5x to the curated septic value",
              "pathogen growth rate", cv=0.1),
    _reynolds("p_inf", 20.0, "10^6 cells/cc", "pathogen carrying capacity"),
    _reynolds("k_pn", 1.8, "1/(N*-units*h)", "pathogen killing by activated phagocytes"),
    _reynolds("k_np", 0.1, "1/(P-units*h)", "phagocyte activation by the pathogen"),
    _reynolds("k_nn", 0.01, "N*-units/(N*-units*h)", "phagocyte activation by activated phagocytes (cytokines)"),
    _reynolds("s_nr", 0.08, "N*-units/h", "source of resting phagocytes"),
    _reynolds("mu_nr", 0.12, "1/h", "decay of resting phagocytes"),
    _reynolds("mu_n", 0.05, "1/h", "decay of activated phagocytes"),
    _reynolds("k_nd", 0.02, "N*-units/(D-units*h)", "phagocyte activation by damage"),
    _reynolds("k_dn", 0.35, "D-units/h", "maximal damage production by activated phagocytes"),
    _reynolds("x_dn", 0.06, "N*-units", "half-saturation of damage production (Hill exponent 6)"),
    _reynolds("mu_d", 0.02, "1/h", "damage repair rate"),
    _reynolds("c_inf", 0.28, "C_A-units", "anti-inflammatory strength scale"),
    _reynolds("s_c", 0.0125, "C_A-units/h", "source of anti-inflammatory mediator"),
    _reynolds("k_cn", 0.04, "C_A-units/h", "maximal anti-inflammatory production"),
    _reynolds("k_cnd", 48.0, "N*-units/D-units", "relative effectiveness of damage in anti-inflammatory production"),
    _reynolds("mu_c", 0.1, "1/h", "decay of anti-inflammatory mediator"),
)

TREATMENT_PARAMETERS = (
    # SIMPLIFICATION: the paper gives no value for alpha_abx; a first-order bactericidal kill of
    # 0.5/h (one log10 in ~4.6 h) is in the range of time-kill curves of beta-lactams at therapeutic
    # concentrations; the drug acts as soon as it is given (no PK compartment).
    Parameter("alpha_abx", 0.5, "1/h", 0.1, 2.0, PAPER + " eq. 1; value: assumption (time-kill curves)",
              "antibiotic kill rate of the pathogen"),
    Parameter("map0", 85.0, "mmHg", 70.0, 105.0, "normal adult MAP 70-105 mmHg", "baseline (pre-sepsis) MAP",
              cv=0.08),
    # SIMPLIFICATION: the paper's MAP drop 0.3*MAP0*D assumes D in [0, 1]; Reynolds' D runs to ~17,
    # so the vasoplegic drop saturates: MAP0*drop_max*D/(D + d50_map). Calibrated so that the
    # untreated health scenario (peak D ~3.3) reaches MAP ~64 mmHg (mild hypotension) and the
    # damage at the death threshold (D = 10) gives MAP ~47 mmHg (refractory shock).
    Parameter("map_drop_max", 0.7, "-", 0.4, 0.9, PAPER + " eq. 5 (0.3 MAP0 per unit damage); saturation assumed",
              "maximal fractional MAP drop from damage (vasoplegia)"),
    Parameter("d50_map", 6.0, "D-units", 3.0, 12.0, "assumption (calibration above)",
              "damage giving half the maximal MAP drop"),
    # Pierrakos 2012 (Intensive Care Med 38:422): +8 mmHg MAP (69 -> 77) in fluid responders after 1 L
    # crystalloid, ~49 % of patients responding; the population mean per litre is lower (non-responders'
    # change not reported): 8 mmHg/L at small volumes is the responders' figure, an upper estimate.
    Parameter("g_f", 8.0, "mmHg/L", 4.0, 16.0, PAPER + " eq. 5; Pierrakos 2012 (+8 mmHg per 1 L in responders)",
              "fluid MAP gain"),
    Parameter("fs_sat", 0.3, "1/L", 0.1, 0.6, PAPER + " eq. 5", "Frank-Starling saturation of the volume effect"),
    # CORRECTION: the paper's 15 mmHg per ug/kg/min lets 1 ug/kg/min (a dose at which ICU mortality reaches
    # 90 %, Martin 2015 Shock 44:305) raise MAP by only 14 mmHg, so norepinephrine could not restore MAP 65 in
    # shock. Usual septic-shock doses (start 0.05-0.1, titrated within ~0.1-0.5 ug/kg/min) restore MAP 65 from
    # the 50s: 40 mmHg per ug/kg/min (+~10 mmHg at 0.25) is an assumption within that practice, not a measured
    # dose-response.
    Parameter("g_v", 40.0, "mmHg/(ug/kg/min)", 15.0, 80.0, PAPER + " eq. 5 (15); value: assumption (above)",
              "norepinephrine MAP gain"),
    Parameter("vp_sat", 0.05, "1/(ug/kg/min)", 0.0, 0.2, PAPER + " eq. 5", "saturation of the vasopressor effect"),
    Parameter("k_redist", 0.15, "1/h", 0.05, 0.3, PAPER + " sec. 3.2",
              "redistribution of infused volume to the interstitium"),
    # SIMPLIFICATION: the paper's volume leaves the model once redistributed; here it accumulates in an
    # interstitial compartment that is mobilised (lymph return and excretion) with a half-life of ~23 h.
    Parameter("k_mob", 0.03, "1/h", 0.01, 0.1, "assumption (oedema resolution over days)",
              "mobilisation of interstitial fluid"),
    Parameter("map_thresh", 65.0, "mmHg", 60.0, 70.0, "SSC 2021 MAP target; " + PAPER + " eq. 6",
              "perfusion threshold of hypoperfusion h(MAP) = max(0, 1 - MAP/map_thresh)"),
    # CORRECTION: the paper's eq. 6 (production 3 mmol/L/h x h(MAP) + 0.2 x D, first-order clearance 0.3/h)
    # has no published kinetics. Lactate is here one compartment with the measured kinetics of septic
    # patients (Levraut 1998, Am J Respir Crit Care Med 157:1021): production ~1.2 mmol/kg/h, clearance
    # ~1.0 L/kg/h when lactate is normal and ~0.47 L/kg/h in hyperlactataemic patients (impaired clearance,
    # not overproduction, explains mild hyperlactataemia), distribution volume ~0.3 L/kg. Clearance falls
    # with hepatic perfusion (MAP below the threshold) and with organ damage (liver dysfunction); anaerobic
    # (dysoxic) production rises under hypoperfusion.
    Parameter("lac_prod", 1.2, "mmol/(kg*h)", 0.6, 2.0, "Levraut 1998 (1,181-1,194 umol/kg/h, septic patients)",
              "basal lactate production"),
    Parameter("lac_cl", 1.0, "L/(kg*h)", 0.7, 1.3, "Levraut 1998 (1,002 +- 284 mL/kg/h, normolactataemic septic)",
              "lactate clearance at normal perfusion and no organ damage"),
    Parameter("lac_vd", 0.3, "L/kg", 0.27, 0.35, "healthy-volunteer distribution volume 270-300 mL/kg (1979)",
              "lactate distribution volume"),
    # Levraut 1998: 473 mL/kg/h (about half) in stable hyperlactataemic septic patients; the damage that halves
    # clearance is an assumption (the organ damage of established shock, between the curated healthy course's
    # peak D ~3.3 and the death threshold 10).
    Parameter("d_liver", 4.0, "D-units", 2.0, 8.0, "assumption; Levraut 1998 (clearance halved in sepsis)",
              "damage halving lactate clearance (hepatic dysfunction)"),
    # Dysoxic production is chosen so that lactate passes 4 mmol/L at MAP ~58 mmHg with established damage and
    # reaches 10-20 mmol/L in uncontrolled shock, and falls back within hours once MAP is restored.
    Parameter("lac_dys", 15.0, "-", 5.0, 30.0, "assumption (lactate > 4 mmol/L in uncontrolled shock)",
              "dysoxic production multiple per unit hypoperfusion h(MAP)"),
    # SIMPLIFICATION: urine output is a perfusion-pressure curve (renal autoregulation fails below
    # ~60 mmHg) times a damage (acute kidney injury) factor; it does not deplete the volume
    # (basal diuresis assumed balanced by maintenance intake).
    Parameter("uo_max", 1.5, "mL/kg/h", 1.0, 2.0, "normal adult diuresis 1-2 mL/kg/h", "maximal urine output"),
    Parameter("map_uo50", 60.0, "mmHg", 50.0, 70.0, "assumption (renal autoregulation lower limit)",
              "MAP of half-maximal urine output"),
    Parameter("uo_width", 5.0, "mmHg", 2.0, 10.0, "assumption", "width of the urine-pressure curve"),
    Parameter("d_aki", 6.0, "D-units", 3.0, 12.0, "assumption", "damage halving urine output (AKI)"),
    # SIMPLIFICATION: organ injury from inadequate perfusion, fluid overload and vasopressor toxicity
    # is added to Reynolds' damage D, which then activates phagocytes (k_nd) like any tissue damage. Each
    # acts only beyond a harm threshold, so that a normally perfused patient keeps Reynolds' natural
    # history. Hypoperfusion: in septic ICU patients the risk of death and AKI rises with exposure to
    # MAP < 65 mmHg and steeply below 60 (Maheshwari 2018); renal and cerebral autoregulation fail below
    # ~60 mmHg. Oedema: positive fluid balance predicts mortality (Boyd 2011, VASST); vasopressor: high
    # doses (> 0.5 ug/kg/min) cause digital/mesenteric ischaemia and arrhythmias (Scheeren 2019).
    Parameter("map_harm", 60.0, "mmHg", 55.0, 65.0, "Maheshwari 2018 (harm below 65, steep below 60 mmHg)",
              "MAP below which hypoperfusion injures organs"),
    # The strength is scaled to Reynolds' own damage production: at MAP 45 mmHg (h = 0.25) ischaemic injury
    # equals the maximal inflammatory damage production k_dn = 0.35 D-units/h.
    Parameter("k_hypo", 1.4, "D-units/h", 0.35, 3.0, "assumption: 4 k_dn (Reynolds 2006); Maheshwari 2018",
              "damage per hour of full hypoperfusion (1 - MAP/map_harm = 1)"),
    Parameter("f_safe", 5.0, "L", 2.0, 10.0, "assumption; Boyd 2011 (fluid balance > 5 L)",
              "interstitial fluid tolerated without injury"),
    Parameter("k_edema", 0.05, "D-units/(L*h)", 0.0, 0.2, "assumption", "damage per hour per litre of excess oedema"),
    Parameter("vp_safe", 0.5, "ug/kg/min", 0.2, 1.0, "Scheeren 2019 (high-dose threshold)",
              "norepinephrine dose tolerated without ischaemic injury"),
    Parameter("k_vp", 0.5, "D-units/(h*ug/kg/min)", 0.0, 2.0, "assumption; Scheeren 2019",
              "damage per hour per ug/kg/min above vp_safe"),
    Parameter("body_weight", 75.0, "kg", 40.0, 150.0, "adult ICU population", "body weight", cv=0.2),
)

REYNOLDS = ParameterSet("Reynolds 2006 acute inflammatory response", REYNOLDS_PARAMETERS)
SEPSIS_PARAMETERS = ParameterSet("SepsiSim: Reynolds inflammation with hemodynamics, lactate and urine",
                                 REYNOLDS_PARAMETERS + TREATMENT_PARAMETERS)

_I = {name: i for i, name in enumerate(SEPSIS_PARAMETERS.names)}
(K_PM, K_MP, S_M, MU_M, K_PG, P_INF, K_PN, K_NP, K_NN, S_NR, MU_NR, MU_N, K_ND, K_DN, X_DN, MU_D, C_INF, S_C,
 K_CN, K_CND, MU_C) = range(21)
ALPHA_ABX, MAP0, MAP_DROP_MAX, D50_MAP = _I["alpha_abx"], _I["map0"], _I["map_drop_max"], _I["d50_map"]
G_F, FS_SAT, G_V, VP_SAT = _I["g_f"], _I["fs_sat"], _I["g_v"], _I["vp_sat"]
K_REDIST, K_MOB, MAP_THRESH = _I["k_redist"], _I["k_mob"], _I["map_thresh"]
LAC_PROD, LAC_CL, LAC_VD, D_LIVER, LAC_DYS = (_I["lac_prod"], _I["lac_cl"], _I["lac_vd"], _I["d_liver"],
                                              _I["lac_dys"])
UO_MAX, MAP_UO50, UO_WIDTH, D_AKI = _I["uo_max"], _I["map_uo50"], _I["uo_width"], _I["d_aki"]
MAP_HARM, K_HYPO, F_SAFE = _I["map_harm"], _I["k_hypo"], _I["f_safe"]
K_EDEMA, VP_SAFE, K_VP = _I["k_edema"], _I["vp_safe"], _I["k_vp"]
BODY_WEIGHT = _I["body_weight"]
assert SEPSIS_PARAMETERS.names[K_PG] == "k_pg" and SEPSIS_PARAMETERS.names[MU_C] == "mu_c"

# state and input indices of the sepsis model
PATHOGEN, PHAGOCYTES, DAMAGE, ANTI_INFLAMMATORY, VOLUME_L, INTERSTITIAL_L, LACTATE, URINE_ML_PER_KG = range(8)
FLUID_L_PER_H, NOREPINEPHRINE, ANTIBIOTIC = range(3)

# SIMPLIFICATION: the paper's max(.)/min(.) switches are replaced by smooth maxima
# smax(x) = (x + sqrt(x^2 + eps^2)) / 2 (error <= eps/2 at the kink), so the fixed-step integrator keeps
# its order and matches the adaptive reference solve.
EPS_FRACTION = 0.01
EPS_LITRE = 0.05
EPS_DOSE = 0.01


@jit(inline="always")
def _smax(x, eps):  # pragma: no cover - compiled
    return 0.5 * (x + np.sqrt(x * x + eps * eps))


@jit(inline="always")
def _reynolds(pth, n, d, ca, abx_kill, extra_damage, p, dy):  # pragma: no cover - compiled
    ca_rel = ca / p[C_INF]
    inhibition = 1.0 + ca_rel * ca_rel
    r = (p[K_NN] * n + p[K_NP] * pth + p[K_ND] * d) / inhibition
    fn = n / inhibition
    fn2 = fn * fn
    fn6 = fn2 * fn2 * fn2
    x_dn2 = p[X_DN] * p[X_DN]
    x = (n + p[K_CND] * d) / inhibition
    dy[0] = (p[K_PG] * pth * (1.0 - pth / p[P_INF]) - p[K_PM] * p[S_M] * pth / (p[MU_M] + p[K_MP] * pth)
             - p[K_PN] * fn * pth - abx_kill * pth)
    dy[1] = p[S_NR] * r / (p[MU_NR] + r) - p[MU_N] * n
    dy[2] = p[K_DN] * fn6 / (x_dn2 * x_dn2 * x_dn2 + fn6) - p[MU_D] * d + extra_damage
    dy[3] = p[S_C] + p[K_CN] * x / (1.0 + x) - p[MU_C] * ca


@jit
def reynolds_rhs(y, u, p, dy):  # pragma: no cover - compiled
    _reynolds(y[0], y[1], y[2], y[3], 0.0, 0.0, p, dy)


@jit(inline="always")
def _map(d, v, dose, p):  # pragma: no cover - compiled
    return (p[MAP0] * (1.0 - p[MAP_DROP_MAX] * d / (d + p[D50_MAP])) + p[G_F] * v / (1.0 + p[FS_SAT] * v)
            + p[G_V] * dose / (1.0 + p[VP_SAT] * dose))


@jit(inline="always")
def _urine(d, mean_ap, p):  # pragma: no cover - compiled
    # SIMPLIFICATION: the logistic's exp is clinsim.core.vecmath.exp (within 3e-14 of the C library's,
    # argument clamped to +-44 where the logistic is within 1e-19 of 0 or 1) so the kernel runs in SIMD lanes
    renal = 1.0 / (1.0 + vecmath.exp(-(mean_ap - p[MAP_UO50]) / p[UO_WIDTH]))
    d_rel = d / p[D_AKI]
    return p[UO_MAX] * renal / (1.0 + d_rel * d_rel)


@jit(inline="always")
def _injury(d, v, interstitial, dose, p):  # pragma: no cover - compiled
    """Organ injury (D-units/h) beyond the harm thresholds: hypoperfusion, oedema, vasopressor toxicity."""
    mean_ap = _map(d, v, dose, p)
    return (p[K_HYPO] * _smax(1.0 - mean_ap / p[MAP_HARM], EPS_FRACTION)
            + p[K_EDEMA] * _smax(interstitial - p[F_SAFE], EPS_LITRE) + p[K_VP] * _smax(dose - p[VP_SAFE], EPS_DOSE))


@jit(inline="always")
def _course(y, u, p, dy):  # pragma: no cover - compiled
    """Inflammation with injury and the fluid compartments (the states the outcome depends on)."""
    d, v = y[DAMAGE], y[VOLUME_L]
    injury = _injury(d, v, y[INTERSTITIAL_L], u[NOREPINEPHRINE], p)
    _reynolds(y[PATHOGEN], y[PHAGOCYTES], d, y[ANTI_INFLAMMATORY], p[ALPHA_ABX] * u[ANTIBIOTIC], injury, p, dy)
    dy[VOLUME_L] = u[FLUID_L_PER_H] - p[K_REDIST] * v
    dy[INTERSTITIAL_L] = p[K_REDIST] * v - p[K_MOB] * y[INTERSTITIAL_L]


@jit(inline="always")
def lactate_rate(lactate, d, mean_ap, p):  # pragma: no cover - compiled
    """d lactate/dt (mmol/L/h): production (basal, plus dysoxic under hypoperfusion) minus clearance
    (Levraut 1998 kinetics; clearance scaled by hepatic perfusion min(1, MAP/thresh) and by damage)."""
    hypo = _smax(1.0 - mean_ap / p[MAP_THRESH], EPS_FRACTION)  # paper eq. 6 h(MAP)
    perfusion = 1.0 - hypo  # paper eq. 6 p(MAP) = min(1, MAP/thresh)
    production = p[LAC_PROD] * (1.0 + p[LAC_DYS] * hypo)
    clearance = p[LAC_CL] * perfusion / (1.0 + d / p[D_LIVER])
    return (production - clearance * lactate) / p[LAC_VD]


@jit
def sepsis_rhs(y, u, p, dy):  # pragma: no cover - compiled
    _course(y, u, p, dy)
    d = y[DAMAGE]
    mean_ap = _map(d, y[VOLUME_L], u[NOREPINEPHRINE], p)
    dy[LACTATE] = lactate_rate(y[LACTATE], d, mean_ap, p)
    dy[URINE_ML_PER_KG] = _urine(d, mean_ap, p)


@jit
def course_rhs(y, u, p, dy):  # pragma: no cover - compiled
    _course(y, u, p, dy)


class ReynoldsModel(ODEModel):
    """Reynolds et al. 2006, as published (no treatment): P, N*, D, C_A in hours."""

    parameters = REYNOLDS
    state_names = ("pathogen", "activated_phagocytes", "damage", "anti_inflammatory")
    kernel = staticmethod(reynolds_rhs)
    time_unit = "h"

    @staticmethod
    def initial_state(pathogen: float) -> np.ndarray:
        """Published initial conditions: N* = D = 0, C_A = 0.125, with pathogen load ``pathogen``."""
        return np.array([pathogen, 0.0, 0.0, 0.125])


class SepsisModel(ODEModel):
    """Reynolds inflammation + antibiotic kill + hemodynamics, lactate, volumes and urine in one kernel.

    States: pathogen, activated phagocytes, damage, anti-inflammatory mediator (Reynolds units),
    intravascular volume excess (L), interstitial fluid excess (L), lactate (mmol/L), cumulative urine
    (mL/kg). Inputs (constant over a decision step): crystalloid infusion rate (L/h), norepinephrine
    (ug/kg/min), antibiotic on (0/1). MAP is algebraic (paper eq. 5), see :func:`mean_arterial_pressure`.
    """

    parameters = SEPSIS_PARAMETERS
    state_names = ("pathogen", "activated_phagocytes", "damage", "anti_inflammatory", "volume_l",
                   "interstitial_l", "lactate_mmol_per_l", "urine_ml_per_kg")
    input_names = ("fluid_l_per_h", "norepinephrine_ug_per_kg_min", "antibiotic")
    kernel = staticmethod(sepsis_rhs)
    time_unit = "h"

    @staticmethod
    def initial_state(pathogen: float, anti_inflammatory: float = 0.125, lactate: float = 1.2) -> np.ndarray:
        return np.array([pathogen, 0.0, 0.0, anti_inflammatory, 0.0, 0.0, lactate, 0.0])


class CourseModel(ODEModel):
    """The outcome states of :class:`SepsisModel` only (inflammation, damage, volumes): the day-28
    continuation after the decision horizon. Lactate (time constant ~20 min, Levraut 1998) and urine do not
    act on the course and are left out, so the continuation takes hour-long steps."""

    parameters = SEPSIS_PARAMETERS
    state_names = ("pathogen", "activated_phagocytes", "damage", "anti_inflammatory", "volume_l", "interstitial_l")
    input_names = SepsisModel.input_names
    kernel = staticmethod(course_rhs)
    time_unit = "h"


@jit
def patient_map(y, dose, p):  # pragma: no cover - compiled
    """Paper eq. 5 for one patient (compiled, for env kernels): see :func:`mean_arterial_pressure`."""
    return _map(y[DAMAGE], y[VOLUME_L], dose, p)


@jit
def patient_urine_rate(y, dose, p):  # pragma: no cover - compiled
    """Instantaneous urine output (mL/kg/h) of one patient (compiled, for env kernels)."""
    return _urine(y[DAMAGE], _map(y[DAMAGE], y[VOLUME_L], dose, p), p)


@guvectorize(["void(float64[:], float64, float64[:], float64[:])"], "(n),(),(m)->()")
def _map_batch(y, dose, p, out):  # pragma: no cover - compiled
    out[0] = patient_map(y, dose, p)


@guvectorize(["void(float64[:], float64, float64[:], float64[:])"], "(n),(),(m)->()")
def _urine_batch(y, dose, p, out):  # pragma: no cover - compiled
    out[0] = patient_urine_rate(y, dose, p)


def mean_arterial_pressure(y: np.ndarray, dose: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Paper eq. 5 (batched): MAP0 (1 - drop D/(D + d50)) + G_f V/(1 + 0.3 V) + G_v d_v/(1 + 0.05 d_v)."""
    return _map_batch(y, dose, p)


def urine_rate(y: np.ndarray, dose: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Instantaneous urine output (mL/kg/h), the integrand of the cumulative-urine state."""
    return _urine_batch(y, dose, p)


# ---------------------------------------------------------------------------------------------- SOFA
# Modified 3-component SOFA of the paper (0-12): cardiovascular and renal with Sepsis-3 / SOFA
# cut-offs where SOFA defines them (Vincent 1996, Singer 2016), plus a metabolic component by lactate.
# NOTE: lactate is NOT part of the real SOFA score (which has respiratory, coagulation, liver, CNS,
# cardiovascular and renal components); the metabolic component is the paper's substitute.
# Each score is written once for one patient (compiled, used by the env kernels) and broadcast over
# arrays by a compiled ufunc of the same function (the public ``sofa_*`` functions).
LACTATE_CUTOFFS = (2.0, 4.0, 6.0, 10.0)  # mmol/L for metabolic 1-4 (2: Sepsis-3 shock, 4: SSC high risk)


def _cardiovascular(mean_ap, norepinephrine):  # pragma: no cover - compiled
    """SOFA cardiovascular: 0 MAP >= 70; 1 MAP < 70; 3 norepinephrine <= 0.1; 4 > 0.1 ug/kg/min.

    Score 2 (dopamine <= 5 or any dobutamine) cannot occur: norepinephrine is the only agent.
    """
    if norepinephrine > 0.1:
        return 4
    if norepinephrine > 0.0:
        return 3
    return 1 if mean_ap < 70.0 else 0


def _renal(urine_ml_per_kg_h, body_weight_kg):  # pragma: no cover - compiled
    """Renal by urine output: 3 < 500 mL/day, 4 < 200 mL/day (SOFA); the hourly rate is extrapolated to a day.

    SOFA scores 1-2 by creatinine only; the model has none, so 1 = < 0.5 mL/kg/h (KDIGO stage-1 oliguria)
    and 2 = < 0.3 mL/kg/h (KDIGO stage-3 oliguria) stand in (not SOFA cut-offs).
    """
    per_day = urine_ml_per_kg_h * body_weight_kg * 24.0
    if per_day < 200.0:
        return 4
    if per_day < 500.0:
        return 3
    if urine_ml_per_kg_h < 0.3:
        return 2
    return 1 if urine_ml_per_kg_h < 0.5 else 0


def _metabolic(lactate):  # pragma: no cover - compiled
    """Metabolic (paper's lactate component, not real SOFA): 1 >= 2, 2 >= 4, 3 >= 6, 4 >= 10 mmol/L."""
    score = 0
    for cutoff in LACTATE_CUTOFFS:
        if lactate >= cutoff:
            score += 1
    return score


sofa_cardiovascular_score = jit(_cardiovascular)
sofa_renal_score = jit(_renal)
sofa_metabolic_score = jit(_metabolic)
sofa_cardiovascular = vectorize(["int64(float64, float64)"])(_cardiovascular)
sofa_renal = vectorize(["int64(float64, float64)"])(_renal)
sofa_metabolic = vectorize(["int64(float64)"])(_metabolic)


def sofa_components(mean_ap, norepinephrine, urine_ml_per_kg_h, body_weight_kg, lactate):
    """(cardiovascular, renal, metabolic) component scores, each 0-4."""
    return (sofa_cardiovascular(mean_ap, norepinephrine), sofa_renal(urine_ml_per_kg_h, body_weight_kg),
            sofa_metabolic(lactate))
