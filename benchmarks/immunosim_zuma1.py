"""ZUMA-1 trial vs the calibrated CARTCell-v1 cohort: calibrated targets, untreated natural history and held-out
validation, on fresh patients drawn by the environment (not the calibration's own simulations).

Run: ``python benchmarks/immunosim_zuma1.py [n_patients]`` (default 1000, seed 0).
"""

from __future__ import annotations

import sys

import numpy as np

import clinsim  # noqa: F401 - registers the environments
from clinsim.baselines import HEURISTICS
from clinsim.core import clinical
from clinsim.core.evaluation import constant_policy, evaluate_cohort
from clinsim.immunosim import cart, cart_calibration

ID = "immunosim/CARTCell-v1"
METRIC = {"neurologic_any_grade": "icans_any_grade", "neurologic_grade_3_plus": "icans_grade_3_plus"}


def trial_table(n: int) -> str:
    result = evaluate_cohort(ID, HEURISTICS[ID], n, seed=0)
    m = cart.CARTCellTask().clinical_metrics(result.final_info)
    m["toxic_death"] = m["died_of_crs"] + m["died_of_icans"]
    rows = [f"| figure | ZUMA-1 | simulated ({n} patients) | band | met |", "|---|---|---|---|---|"]
    for t in cart_calibration.TARGETS:
        sim = float(np.mean(m[METRIC.get(t.name, t.name)]))
        rows.append(f"| {t.name}{'' if t.verified == 'primary' else ' (not verified)'} | {t.value:.0%} | {sim:.1%} | "
                    f"+-{t.tolerance:.0%} | {'yes' if t.met(sim) else 'NO'} |")
    return "\n".join(rows)


def untreated(n: int) -> str:
    result = evaluate_cohort(ID, constant_policy(0), n, seed=0)
    fi = result.final_info
    orr = np.mean(np.isin(fi["best_response"], ("CR", "PR")))
    progressed = np.mean((fi["lugano"] == "PD") | (fi["outcome"] == "escaped"))
    return (f"untreated ({n} patients): objective response {orr:.1%}, progressed by day 90 {progressed:.1%}, "
            f"escaped (>= 1e9 cells) {np.mean(fi['outcome'] == 'escaped'):.1%}")


def validation(n: int) -> str:
    """Held-out figures (never fitted): ongoing response at day 90, CD19-negative share of progressions, burden."""
    task = cart.CARTCellTask()
    state = task.sample_patients([np.random.default_rng([0, i]) for i in range(n)])
    base = state.patient["baseline_cells"].copy()
    active = np.arange(n)
    for _ in range(task.horizon):
        now = state.take(active)
        now, _, terminated = task.step(now, HEURISTICS[ID](task.observe(now)))
        state.put(active, now)
        active = active[~terminated]
    s = state.clinical
    out, lugano = s["outcome"], s["lugano"]
    alive = ~np.isin(out, (cart.OUTCOMES.index("escaped"), cart.OUTCOMES.index("died_of_crs"),
                           cart.OUTCOMES.index("died_of_icans")))
    ongoing = alive & np.isin(lugano, (clinical.CR, clinical.PR))
    progressed = (lugano == clinical.PD) | (out == cart.OUTCOMES.index("escaped"))
    negative = s["antigen_negative_cells"] / np.maximum(s["tumour_cells"], 1.0) > 0.5
    lines = [f"ongoing response at day 90: {ongoing.mean():.1%} (CR {np.mean(ongoing & (lugano == clinical.CR)):.1%}); "
             "ZUMA-1: 44 % (39 % CR) at median 8.7 months, 42 % (40 % CR) at 15.4 months",
             f"CD19-negative (> half the tumour) among progressions by day 90: {negative[progressed].mean():.1%} "
             f"of {progressed.sum()}; ZUMA-1 central review 7 of 21 (33 %), Spiegel 2021 10 of 16 CD19-negative/low"]
    for lo, hi in ((0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1)):
        q = (base >= np.quantile(base, lo)) & (base <= np.quantile(base, hi))
        lines.append(f"baseline burden tertile {lo:.2f}-{hi:.2f}: ongoing response at day 90 {ongoing[q].mean():.1%}, "
                     f"CRS >= 3 {np.mean(s['max_crs_grade'][q] >= 3):.1%} (Locke 2020: high burden, less durable)")
    return "\n".join(lines)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    print(trial_table(n), "", untreated(n), "", validation(n), sep="\n")
