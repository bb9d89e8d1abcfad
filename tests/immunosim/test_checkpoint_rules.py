"""Reward = outcome on the checkpoint-inhibitor environments, over a cohort of virtual patients."""

import gymnasium as gym
import numpy as np
import pytest

from clinsim.core.evaluation import CohortResult, constant_policy, evaluate_cohort, random_policy
from clinsim.immunosim.heuristics import checkmate067, nivolumab_q2w

N_PATIENTS = 800
CPI = "immunosim/CheckpointInhibitor-v1"
COMBO = "immunosim/CombinationTherapy-v1"


def _week(obs: np.ndarray) -> np.ndarray:
    return np.rint(obs[:, -1] * 26)


def loading_then_q2w(obs: np.ndarray) -> np.ndarray:
    """Nivolumab 3 mg/kg weekly for 4 weeks (loading), then every 2 weeks."""
    week = _week(obs)
    return np.where((week < 4) | (week % 2 == 0), 2, 0)


def checkmate067_full_dose_nivolumab(obs: np.ndarray) -> np.ndarray:
    """CheckMate-067 with nivolumab 3 mg/kg q2w from day 1 instead of 1 mg/kg q3w during induction."""
    week = _week(obs)
    return np.stack([np.where(week % 2 == 0, 2, 0), np.where((week < 12) & (week % 3 == 0), 2, 0)], axis=1)


POLICIES = {
    CPI: {"protocol": nivolumab_q2w, "none": constant_policy(0), "max": constant_policy(2),
          "better": loading_then_q2w},
    COMBO: {"protocol": checkmate067, "none": constant_policy([0, 0]), "max": constant_policy([2, 2]),
            "better": checkmate067_full_dose_nivolumab},
}


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, CohortResult]]:
    out = {}
    for env_id, policies in POLICIES.items():
        space = gym.make(env_id).action_space
        out[env_id] = {name: evaluate_cohort(env_id, pol, N_PATIENTS) for name, pol in policies.items()}
        out[env_id]["random"] = evaluate_cohort(env_id, random_policy(space, seed=0), N_PATIENTS)
    return out


def escaped(r: CohortResult) -> np.ndarray:
    return r.final_info["outcome"] == "escaped"


@pytest.mark.parametrize("env_id", POLICIES)
def test_early_exit_never_beats_the_protocol(results, env_id) -> None:
    res = results[env_id]
    assert res["protocol"].returns.mean() > res["none"].returns.mean() + 20  # untreated: early escape
    # maximal dosing (toxicity, stopped treatment) is not the way to beat the protocol: a better schedule is
    assert res["max"].returns.mean() < res["better"].returns.mean()
    # same patient, protocol controls but no treatment escapes early: the protocol always scores higher
    rescued = escaped(res["none"]) & ~escaped(res["protocol"])
    assert rescued.sum() > 0.3 * N_PATIENTS
    assert (res["protocol"].returns[rescued] > res["none"].returns[rescued]).all()


@pytest.mark.parametrize("env_id", POLICIES)
@pytest.mark.parametrize("policy", ["protocol", "random", "max", "better"])
def test_escape_and_grade4_score_below_controlled_patients(results, env_id, policy) -> None:
    r = results[env_id][policy]
    esc = escaped(r)
    grade4 = r.final_info["treatment_discontinued"] & ~esc
    controlled = ~esc & ~grade4
    assert r.returns[esc].max() < np.median(r.returns[controlled])
    assert r.returns[esc].mean() < r.returns[controlled].mean() - 40
    if grade4.sum() >= 5:
        assert r.returns[grade4].mean() < r.returns[controlled].mean()


@pytest.mark.parametrize("env_id", POLICIES)
def test_drug_changes_the_outcome_distribution(results, env_id) -> None:
    res = results[env_id]
    esc = {k: escaped(v).mean() for k, v in res.items()}
    assert esc["none"] > 0.6 and esc["protocol"] < esc["none"] - 0.4
    dose = {k: v.final_info["cumulative_nivolumab_mg_per_kg"].mean() for k, v in res.items()}
    assert dose["none"] == 0 and dose["max"] > 1.5 * dose["protocol"]
    severe = {k: v.final_info["severe_irae_count"].mean() for k, v in res.items()}
    assert severe["none"] == 0 < severe["protocol"]


def test_combination_toxicity_is_exposure_dependent(results) -> None:
    """Shulgin 2020: more ipilimumab means more irAEs; PD-1 exposure adds a flat risk."""
    combo, mono = results[COMBO], results[CPI]
    severe = {k: v.final_info["severe_irae_count"].mean() for k, v in combo.items()}
    # grade 3-4 events stop treatment (ASCO 2018), which caps the events per patient under maximal dosing
    assert severe["max"] > 1.5 * severe["protocol"]
    assert mono["max"].final_info["severe_irae_count"].mean() == pytest.approx(
        mono["protocol"].final_info["severe_irae_count"].mean(), abs=0.05)
    assert combo["protocol"].final_info["severe_irae_count"].mean() > 3 * mono["protocol"].final_info[
        "severe_irae_count"].mean()


@pytest.mark.parametrize("env_id", POLICIES)
def test_protocol_beats_random_and_no_treatment_on_tumour_control(results, env_id) -> None:
    res = results[env_id]
    for other in ("random", "none"):
        assert escaped(res["protocol"]).mean() < escaped(res[other]).mean(), other
        assert res["protocol"].returns.mean() > res[other].returns.mean(), other


@pytest.mark.parametrize("env_id", POLICIES)
def test_protocol_is_good_but_beatable(results, env_id) -> None:
    res = results[env_id]
    assert res["better"].returns.mean() > res["protocol"].returns.mean()
    assert escaped(res["better"]).mean() <= escaped(res["protocol"]).mean()


def test_combination_beats_monotherapy(results) -> None:
    assert escaped(results[COMBO]["protocol"]).mean() < escaped(results[CPI]["protocol"]).mean() - 0.1
