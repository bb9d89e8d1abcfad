"""Outcome table of the sepsis environments per tier and policy (the table in docs/sepsisim.md).

Usage: ``python -m clinsim.sepsisim.report [--patients 200] [--seed 1000]``
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import clinsim  # noqa: F401 - registers the environments
from clinsim.baselines import HEURISTICS
from clinsim.core.evaluation import constant_policy, evaluate_cohort, random_policy

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1000)
    args = parser.parse_args()
    print(outcome_table(args.patients, args.seed), end="")


if __name__ == "__main__":
    main()
