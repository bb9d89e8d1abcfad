"""Robust aggregate statistics over environments (rliable: Agarwal et al. 2021, NeurIPS).

Returns are not comparable between environments, so each is normalised per environment: random = 0, the rollout
planner = 1 (``(return - random) / (planner - random)``; the planner is an oracle that knows the patient, so 1 is
the best we know to be reachable, not a ceiling). On the normalised scores of every agent (one score per
training seed and environment, the first k seeds where environments have different numbers; the
deterministic baselines have one run), rliable gives the interquartile mean
(IQM), mean, median and optimality gap with stratified bootstrap confidence intervals, performance profiles,
and the probability that one agent improves on another.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from clinsim.training.benchmark import slug
from clinsim.training.runs import RunDir, atomic_write_text, read_json

BASELINES = ("random", "none", "protocol", "planner")
METRICS = ("IQM", "mean", "median", "optimality gap")
REPETITIONS = 2000  # bootstrap resamples


def normalised_scores(root: str | Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """Environments and, per agent, its (runs, environments) normalised scores, from a benchmark directory."""
    root = Path(root)
    rows = read_json(root / "summary.json")
    env_ids = list(dict.fromkeys(r["env_id"] for r in rows))
    agents = [a for a in dict.fromkeys(r["agent"] for r in rows) if a not in ("random", "planner")]
    scores: dict[str, list[list[float]]] = {a: [] for a in agents}
    for env_id in env_ids:
        base = {n: float(np.mean(read_json(root / slug(env_id) / "baselines" / f"{n}.json")["returns"]))
                for n in ("random", "planner")}
        scale = base["planner"] - base["random"]
        if scale <= 0:
            raise ValueError(f"{env_id}: the planner does not beat random ({base}); scores cannot be normalised")
        for agent in agents:
            if agent in BASELINES:
                runs = [read_json(root / slug(env_id) / "baselines" / f"{agent}.json")]
            else:
                runs = [read_json(RunDir(d).result_path("eval")) for d in
                        sorted((root / slug(env_id)).glob(f"{_escape(agent)}_seed*"))]
            scores[agent].append([(float(np.mean(r["returns"])) - base["random"]) / scale for r in runs])
    out = {}
    for agent, per_env in scores.items():
        runs = min(len(v) for v in per_env)  # rliable needs a (runs, environments) matrix: the first seeds of each
        out[agent] = np.array([v[:runs] for v in per_env], dtype=np.float64).T
    return env_ids, out


def _escape(agent: str) -> str:
    return agent.replace("[", "[[]")  # glob: brackets of "ppo[learning_rate=...]" are literal


def aggregate(root: str | Path, seed: int = 0) -> dict[str, Any]:
    """Point estimates and 95 % stratified bootstrap CIs of every metric per agent, and P(agent > protocol)."""
    from rliable import library as rly
    from rliable import metrics

    env_ids, scores = normalised_scores(root)
    functions = {"IQM": metrics.aggregate_iqm, "mean": metrics.aggregate_mean,
                 "median": metrics.aggregate_median, "optimality gap": metrics.aggregate_optimality_gap}
    point, intervals = rly.get_interval_estimates(
        scores, lambda x: np.array([f(x) for f in functions.values()]), reps=REPETITIONS,
        random_state=np.random.RandomState(seed))  # noqa: NPY002 - the generator type rliable takes
    result: dict[str, Any] = {"environments": env_ids, "normalisation": "random = 0, planner = 1", "agents": {}}
    for agent in scores:
        result["agents"][agent] = {m: {"estimate": float(point[agent][i]), "ci_low": float(intervals[agent][0, i]),
                                       "ci_high": float(intervals[agent][1, i])} for i, m in enumerate(METRICS)}
        result["agents"][agent]["runs"] = int(scores[agent].shape[0])
    if "protocol" in scores:
        for agent in scores:
            if agent != "protocol":
                pairs = {f"{agent},protocol": (scores[agent], scores["protocol"])}
                p, ci = rly.get_interval_estimates(pairs, metrics.probability_of_improvement, reps=REPETITIONS,
                                                   random_state=np.random.RandomState(seed))  # noqa: NPY002
                key = f"{agent},protocol"
                result["agents"][agent]["P(improves on protocol)"] = {
                    "estimate": float(np.ravel(p[key])[0]), "ci_low": float(np.ravel(ci[key][0])[0]),
                    "ci_high": float(np.ravel(ci[key][1])[0])}
    return result


def write_aggregate(root: str | Path, seed: int = 0) -> dict[str, Any]:
    """``aggregate.json``, ``aggregate.md`` and ``figures/aggregate.png`` (intervals and performance profiles)."""
    root = Path(root)
    result = aggregate(root, seed)
    atomic_write_text(root / "aggregate.json", json.dumps(result, indent=1) + "\n")
    atomic_write_text(root / "aggregate.md", format_aggregate(result))
    _figure(root, seed)
    return result


def format_aggregate(result: dict[str, Any]) -> str:
    cols = [*METRICS, "P(improves on protocol)"]
    lines = [f"Normalised per environment ({result['normalisation']}) over {len(result['environments'])} "
             f"environments; 95 % stratified bootstrap CIs ({REPETITIONS} resamples).", "",
             "| agent | runs | " + " | ".join(cols) + " |", "|---" * (2 + len(cols)) + "|"]
    for agent, m in result["agents"].items():
        cells = [f"{m[c]['estimate']:.2f} [{m[c]['ci_low']:.2f}, {m[c]['ci_high']:.2f}]" if c in m else "-"
                 for c in cols]
        lines.append(f"| {agent} | {m['runs']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _figure(root: Path, seed: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from rliable import library as rly
    from rliable import plot_utils

    _, scores = normalised_scores(root)
    np.random.seed(seed)  # noqa: NPY002 - rliable's profile bootstrap draws from numpy's global generator
    thresholds = np.linspace(-0.5, 1.2, 69)
    profiles, profile_cis = rly.create_performance_profile(scores, thresholds, reps=REPETITIONS)
    fig, ax = plt.subplots(figsize=(6, 4))
    plot_utils.plot_performance_profiles(profiles, thresholds, performance_profile_cis=profile_cis,
                                         xlabel=r"normalised score $\tau$ (random 0, planner 1)", ax=ax)
    ax.legend(fontsize=8)
    (root / "figures").mkdir(exist_ok=True)
    fig.tight_layout()
    fig.savefig(root / "figures" / "aggregate_profiles.png", dpi=120)
    plt.close(fig)
