"""Outcome tables for CARTCell-v1 and AdaptiveDosing-v1 (docs/immunosim-cart-adaptive.md).

Run: ``python benchmarks/immunosim_cart_adaptive.py [n_patients]`` (default 1000, seed 0).
"""

from __future__ import annotations

import sys

import gymnasium as gym
import numpy as np

import clinsim  # noqa: F401
from clinsim.baselines import HEURISTICS
from clinsim.core import clinical
from clinsim.core.evaluation import constant_policy, evaluate_cohort, random_policy
from clinsim.immunosim import adaptive as ad
from clinsim.immunosim import cart


def _day(obs):
    return np.rint(cart.CARTCellTask.observation_table.decode(obs, "time")).astype(np.int64)


def cart_policies():
    return {
        "protocol (ZUMA-1: standard on day 0)": HEURISTICS["immunosim/CARTCell-v1"],
        "random": random_policy(gym.spaces.Discrete(4), seed=0),
        "none": constant_policy(0),
        "max (high every day)": constant_policy(3),
        "low once (day 0)": lambda o: np.where(_day(o) == 0, 1, 0),
        "high once (day 0)": lambda o: np.where(_day(o) == 0, 3, 0),
        "fractionated (low, low, standard on days 0-2)": lambda o: np.where(
            _day(o) <= 1, 1, np.where(_day(o) == 2, 2, 0)),
    }


def adaptive_policies():
    table = ad.AdaptiveDosingTask.observation_table

    def cat(o):
        return np.rint(table.decode(o, "irecist")).astype(np.int64)

    def level(o):
        return np.rint(table.decode(o, "dose_level")).astype(np.int64)

    return {
        "protocol (iRECIST-guided)": HEURISTICS["immunosim/AdaptiveDosing-v1"],
        "random": random_policy(ad.AdaptiveDosingTask.action_space, seed=0),
        "none (holiday throughout)": constant_policy(ad.HOLIDAY),
        "max (escalate to 10 mg/kg)": constant_policy(ad.ESCALATE),
        "stop at first progression (RECIST only)": lambda o: np.where(
            cat(o) >= clinical.IUPD, ad.HOLIDAY, ad.CONTINUE),
        "never stop, reduce after response": lambda o: np.where(
            ((cat(o) == clinical.ICR) | (cat(o) == clinical.IPR)) & (level(o) > 1), ad.REDUCE, ad.CONTINUE),
    }


def cart_table(n):
    rows = ["| policy | return (mean ± sd) | eliminated | controlled | progressing | escaped | died of CRS | "
            "died of ICANS | CRS >= 3 | CRS 4 | ICANS any | ICANS >= 3 | ICANS 4 | mean cells infused |",
            "|---" * 14 + "|"]
    for name, pol in cart_policies().items():
        r = evaluate_cohort("immunosim/CARTCell-v1", pol, n, seed=0)
        crs, icans = r.final_info["max_crs_grade"], r.final_info["max_icans_grade"]
        rows.append(
            f"| {name} | {r.returns.mean():.1f} ± {r.returns.std():.1f} | {r.rate('outcome', 'eliminated'):.0%} | "
            f"{r.rate('outcome', 'controlled'):.0%} | {r.rate('outcome', 'progressing'):.0%} | "
            f"{r.rate('outcome', 'escaped'):.0%} | {r.rate('outcome', 'died_of_crs'):.1%} | "
            f"{r.rate('outcome', 'died_of_icans'):.1%} | {np.mean(crs >= 3):.0%} | {np.mean(crs >= 4):.1%} | "
            f"{np.mean(icans >= 1):.0%} | {np.mean(icans >= 3):.0%} | {np.mean(icans >= 4):.1%} | "
            f"{r.final_info['cumulative_dose_cells'].mean():.2g} |")
    return "\n".join(rows)


def adaptive_table(n):
    results = {name: evaluate_cohort("immunosim/AdaptiveDosing-v1", pol, n, seed=0)
               for name, pol in adaptive_policies().items()}
    pp = results["protocol (iRECIST-guided)"].final_info["pseudo_progression"]
    rows = ["| policy | return (mean ± sd) | controlled | progressing | escaped | eliminated | pseudo-progression "
            "seen | final iCPD | mean mg/kg | return on the protocol's pseudo-progressors | escaped among them |",
            "|---" * 11 + "|"]
    for name, r in results.items():
        fi = r.final_info
        rows.append(
            f"| {name} | {r.returns.mean():.1f} ± {r.returns.std():.1f} | {r.rate('outcome', 'controlled'):.0%} | "
            f"{r.rate('outcome', 'progressing'):.0%} | {r.rate('outcome', 'escaped'):.0%} | "
            f"{r.rate('outcome', 'eliminated'):.0%} | {fi['pseudo_progression'].mean():.0%} | "
            f"{np.mean(fi['irecist'] == 'iCPD'):.0%} | {fi['cumulative_nivolumab_mg_per_kg'].mean():.0f} | "
            f"{r.returns[pp].mean():.1f} | {np.mean(fi['outcome'][pp] == 'escaped'):.0%} |")
    return "\n".join(rows) + f"\n\nPseudo-progressors under the protocol: {pp.sum()} of {n}."


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    print(f"### CARTCell-v1 ({n} patients, seed 0)\n\n{cart_table(n)}\n")
    print(f"### AdaptiveDosing-v1 ({n} patients, seed 0)\n\n{adaptive_table(n)}")
