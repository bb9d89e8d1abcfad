"""Outcome tables of the sepsis environments per tier and policy, and of the ward (the tables in docs/sepsisim.md).

Usage: ``python -m clinsim.sepsisim.report [--patients 200] [--seed 1000]``,
``python -m clinsim.sepsisim.report --ward [--patients 50] [--seed 1000]`` (Ward-v0: wards, not patients)
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import clinsim  # noqa: F401 - registers the environments
from clinsim.baselines import HEURISTICS
from clinsim.core.evaluation import constant_policy, evaluate_cohort, random_policy
from clinsim.sepsisim import ward
from clinsim.sepsisim.heuristics import ssc_sepsis_management

ENVS = ("FluidResuscitation", "VasopressorTitration", "SepsisManagement")
TIERS = ("Easy", "Medium", "Hard")
NO_TREATMENT = {"FluidResuscitation": [0.0], "VasopressorTitration": [0.0], "SepsisManagement": [0.0, 0.0, 0.0]}


def outcome_table(n_patients: int = 200, seed: int = 1000) -> str:
    rows = ["| environment | tier | policy | 72-h survival | 28-day survival | mean return | mean final damage D | "
            "mean final SOFA | mean fluid (L) |", "|---|---|---|---|---|---|---|---|---|"]
    for env in ENVS:
        for tier in TIERS:
            env_id = f"sepsisim/{env}{tier}-v1"
            space = gym.make(env_id).action_space
            policies = {"heuristic (SSC)": HEURISTICS[env_id], "random": random_policy(space, 0),
                        "none": constant_policy(np.array(NO_TREATMENT[env], dtype=np.float32))}
            for name, policy in policies.items():
                res = evaluate_cohort(env_id, policy, n_patients, seed=seed)
                info = res.final_info
                rows.append(f"| {env} | {tier.lower()} | {name} | {np.mean(info['outcome'] != 'died'):.2f} | "
                            f"{np.mean(info['outcome'] == 'survived'):.2f} | "
                            f"{res.returns.mean():.1f} | {info['damage'].mean():.2f} | {info['sofa'].mean():.1f} | "
                            f"{info['fluid_total_l'].mean():.1f} |")
    return "\n".join(rows) + "\n"


def ssc_in_bed_order(obs: np.ndarray) -> np.ndarray:
    """Ward-v0 ablation of the sickest-first protocol: SepsisManagement's SSC protocol at every bed on the ward's
    grid, every request made, so the ward serves them in bed order while the nurse time lasts."""
    table = ward.WardTask.observation_table
    n_bed = len(ward.BED.observation_table)
    actions = np.tile(ward.WardTask.no_treatment_action, (len(obs), 1))
    for i in range(ward.MAX_BEDS):
        start = table.index(f"bed{i}_occupied") + 1
        bed = ssc_sepsis_management(obs[:, start:start + n_bed])
        actions[:, 3 * i] = np.clip(np.rint(bed[:, 0] / 250.0), 0, len(ward.FLUID_ML) - 1)
        actions[:, 3 * i + 1] = np.clip(np.rint(bed[:, 1] / 0.05), -2, 2) + ward.NO_DOSE_CHANGE
        actions[:, 3 * i + 2] = 1
    return actions


def ward_table(n_wards: int = 50, seed: int = 1000) -> str:
    """Ward-v0 under random, no treatment, the sickest-first protocol and its bed-order ablation, at the default
    staffing (1:2) and at 1:4; mortality over the patients whose day-28 outcome is known."""
    env_id = "sepsisim/Ward-v0"
    rows = ["| nurses | policy | mean return | admitted | died in ward | died by day 28 | alive at day 28 | diverted | "
            "mortality | interventions withheld |", "|---|---|---|---|---|---|---|---|---|---|"]
    space = gym.make(env_id).action_space
    default = {"random": random_policy(space, 0), "none": constant_policy(ward.WardTask.no_treatment_action),
               "protocol (sickest first)": HEURISTICS[env_id], "SSC, bed order": ssc_in_bed_order}
    for nurses in (4, 2):
        policies = default if nurses == 4 else {k: default[k] for k in ("protocol (sickest first)", "SSC, bed order")}
        for name, policy in policies.items():
            env = gym.make_vec(env_id, num_envs=n_wards, vectorization_mode="vector_entry_point", nurses=nurses)
            obs, info = env.reset(seed=seed)
            returns, withheld = np.zeros(n_wards), np.zeros(n_wards)
            for _ in range(ward.HORIZON_HOURS):
                obs, reward, _, _, info = env.step(policy(obs))
                returns += reward
                withheld += info["interventions_withheld"]
            dead = info["died"] + info["died_by_day_28"]
            mortality = dead.sum() / (dead + info["survived"]).sum()
            rows.append(f"| {nurses} | {name} | {returns.mean():.0f} | {info['admitted'].mean():.1f} | "
                        f"{info['died'].mean():.1f} | {info['died_by_day_28'].mean():.1f} | "
                        f"{info['survived'].mean():.1f} | {info['diverted'].mean():.1f} | {mortality:.2f} | "
                        f"{withheld.mean():.1f} |")
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=None, help="patients (default 200), or wards with --ward "
                                                                   "(default 50)")
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--ward", action="store_true", help="the Ward-v0 table")
    args = parser.parse_args()
    if args.ward:
        print(ward_table(args.patients or 50, args.seed), end="")
    else:
        print(outcome_table(args.patients or 200, args.seed), end="")


if __name__ == "__main__":
    main()
