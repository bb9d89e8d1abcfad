"""CheckMate-067 calibration of CheckpointInhibitor-v1 / CombinationTherapy-v1: the default cohort reproduces the
trial arms it was weighted to, presents as progressing disease, and the calibration rebuilds from its command."""

import numpy as np
import pytest

from clinsim.core.calibration import VirtualPopulation
from clinsim.core.evaluation import CohortResult, constant_policy, evaluate_cohort
from clinsim.immunosim import calibration as cal
from clinsim.immunosim.checkpoint import DETECTABLE_FRACTION
from clinsim.immunosim.heuristics import checkmate067, nivolumab_q2w

N = 500  # patients per arm: binomial SD <= 2.3 points, inside the +-5-point band
CPI = "immunosim/CheckpointInhibitor-v1"
COMBO = "immunosim/CombinationTherapy-v1"


@pytest.fixture(scope="module")
def arms() -> dict[str, CohortResult]:
    return {"untreated": evaluate_cohort(CPI, constant_policy(0), N, seed=1),
            "nivolumab": evaluate_cohort(CPI, nivolumab_q2w, N, seed=1),
            "combination": evaluate_cohort(COMBO, checkmate067, N, seed=1)}


def rates(r: CohortResult) -> dict[str, float]:
    return {k: float(v.mean()) for k, v in cal.outcomes(r.final_info).items()}


@pytest.mark.parametrize(("target", "feature"), zip(cal.TARGETS, cal.TARGET_FEATURES, strict=True),
                         ids=[t.name for t in cal.TARGETS])
def test_cohort_matches_checkmate067(arms, target, feature) -> None:
    """Each target within its band (the old log-normal cohort: ORR 74/91 %, CR 0 %, discontinuation 4/19 %)."""
    arm, name = feature
    if arm == "difference":
        simulated = rates(arms["combination"])[name] - rates(arms["nivolumab"])[name]
    else:
        simulated = rates(arms[arm])[name]
    assert target.met(simulated), (target.name, target.value, simulated)


def test_untreated_patients_progress_without_responding(arms) -> None:
    """CheckMate-067 patients present with progressing metastatic disease: no spontaneous responses."""
    untreated = rates(arms["untreated"])
    assert untreated["response"] <= 0.05
    assert 1.0 - untreated["progression_free"] >= 0.9


def test_combination_is_progression_free_longer(arms) -> None:
    """Median PFS 11.5 vs 6.9 months (Larkin 2015): the ordering holds at 26 weeks."""
    assert rates(arms["combination"])["progression_free"] > rates(arms["nivolumab"])["progression_free"] + 0.05


def test_complete_response_means_below_the_imaging_limit(arms) -> None:
    info = arms["combination"].final_info
    cr = info["complete_response"].astype(bool)
    assert cr.any()
    assert (info["nadir_tumour_cells"][cr] < DETECTABLE_FRACTION * info["baseline_tumour_cells"][cr]).all()
    assert (info["nadir_tumour_cells"][~cr] >= DETECTABLE_FRACTION * info["baseline_tumour_cells"][~cr]).all()


def test_calibration_rebuilds_from_its_seed(tmp_path) -> None:
    """The command reproduces a weighted population that meets every target (small run)."""
    rows = cal.calibrate_checkmate067(seed=3, plausible=1500, out=tmp_path / "cm067")
    assert len(rows) == len(cal.TARGETS) and all(r["met"] for r in rows)
    population = VirtualPopulation.load(tmp_path / "cm067")
    assert len(population) > 1000 and np.isclose(population.weights.sum(), 1.0)
    assert population.metadata["command"].startswith("clinsim calibrate checkmate067")


# ---------------------------------------------------------------------- AdaptiveDosing-v1
def test_adaptive_pseudo_progression_matches_hodi_2016() -> None:
    """Pseudo-progression under the label regimen read by iRECIST among patients imaged >= 28 weeks: 24/327 = 7.3 %
    (Hodi 2016), +-2 points (the old cohort: 9.3 %)."""
    from clinsim.immunosim.heuristics import irecist_guided

    result = evaluate_cohort("immunosim/AdaptiveDosing-v1", irecist_guided, 1500, seed=1)
    o = cal.pseudo_progression_outcomes(result.final_info)
    rate = (o["pseudo_progression"] * o["imaged"]).sum() / o["imaged"].sum()
    assert cal.PSEUDO_PROGRESSION.met(rate), rate


def test_adaptive_calibration_rebuilds(tmp_path) -> None:
    rows = cal.calibrate_adaptive(seed=3, plausible=1000, out=tmp_path / "adaptive")
    assert len(rows) == 1 and rows[0]["met"]
    assert len(VirtualPopulation.load(tmp_path / "adaptive")) == 1000
