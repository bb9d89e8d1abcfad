"""Safety baselines of issue 19 (docs/safety.md, "Results"): the cost-return trade-off and a Pareto front.

``tradeoff``: PPO-Lagrangian at two cost budgets per environment (training seeds 42..), evaluated on the standard
evaluation patients (0..N-1), beside unconstrained PPO, the clinical protocol and the rollout planner of
``results/reproduction`` (same patients, PPO hyperparameters and ``--n-envs 16``). The constrained agents train for
fewer steps than Table 2's (the compute at hand); the unconstrained PPO is shown both at Table 2's budget (its
``eval.json``) and at the same number of steps, its reproduction checkpoint at that step, which needs the
reproduction's run directories (``benchmarks/reproduce_papers.sh``; the model files are not in git).
``pareto``: PPO on linear scalarisations ``w . (efficacy, safety, burden)`` of the reward for several weight
vectors; every policy's vector return on the evaluation patients, the protocol and the planner as points, the
non-dominated set marked. Resumable (every run and evaluation is kept under ``--root``); one process per part::

    python benchmarks/safety_baselines.py tradeoff --env sepsisim/VasopressorTitration-v1
    python benchmarks/safety_baselines.py tradeoff --env immunosim/CombinationTherapy-v1
    python benchmarks/safety_baselines.py pareto
    python benchmarks/safety_baselines.py report        # tables and figure from what has been run
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from clinsim import __version__
from clinsim.baselines import baselines
from clinsim.core.safety import OBJECTIVES
from clinsim.training.benchmark import slug
from clinsim.training.evaluate import evaluate_policy, seed_summary
from clinsim.training.planner import RolloutPlanner
from clinsim.training.runs import RunDir, atomic_write_text, read_json, write_json
from clinsim.training.stats import non_dominated
from clinsim.training.train import train, train_config, trained_policy

N_ENVS = 16
SEEDS = (42, 43, 44)
# Budgets on E[episode cost] between the unconstrained PPO's cost and the planner's / protocol's
# (results/reproduction): CombinationTherapy grade >= 3 irAEs per patient (PPO 1.14, protocol 0.83, planner 0.39);
# VasopressorTitration hours with MAP < 65 mmHg, fluid overload or norepinephrine > 1 ug/kg/min (PPO 24.7, protocol
# 3.6, planner 5.4). The multiplier's step is scaled to the cost's size (about 1 vs 10-25 per episode).
# Training steps: 40 % (CombinationTherapy) and 50 % (VasopressorTitration) of Table 2's.
TRADEOFF: dict[str, dict[str, Any]] = {
    "immunosim/CombinationTherapy-v1": {"suite": "immunosim", "budgets": (0.8, 0.4), "multiplier_lr": 1.0,
                                        "timesteps": 200_000},
    "sepsisim/VasopressorTitration-v1": {"suite": "sepsisim", "budgets": (10.0, 5.0), "multiplier_lr": 0.1,
                                         "timesteps": 150_000},
}
PARETO_ENV = "immunosim/CombinationTherapy-v1"
# (efficacy, safety, burden); (1, 1, 1) is the reward itself. 30 % of Table 2's 500k steps (the compute at hand).
WEIGHTS = ((1.0, 0.0, 0.0), (1.0, 0.3, 0.3), (1.0, 1.0, 1.0), (1.0, 3.0, 1.0), (1.0, 1.0, 3.0))
PARETO_SEEDS = (42,)
PARETO_TIMESTEPS = 150_000
OUTCOMES = {"immunosim/CombinationTherapy-v1": ("tumour_control", "objective_response", "severe_irae",
                                                "stopped_for_toxicity"),
            "sepsisim/VasopressorTitration-v1": ("survival_28d", "survival_72h", "hours_map_at_least_65",
                                                 "peak_norepinephrine_ug_per_kg_min")}


def _evaluation(path: Path, key: dict[str, Any], compute) -> dict[str, Any]:
    """The stored evaluation if made with exactly ``key``, else a new one (stored)."""
    if path.exists() and read_json(path).get("config") == key:
        return read_json(path)
    result = {**compute(), "config": key}
    write_json(path, result)
    return result


def train_and_evaluate(env_id: str, seed: int, run_dir: Path, constraint: dict[str, float] | None = None,
                       weights: tuple[float, ...] | None = None, objectives: bool = False,
                       timesteps: int | None = None) -> dict[str, Any]:
    """Train one PPO run (default: the environment's Table 2 budget; resumable), evaluate it on patients 0..N-1."""
    config = train_config(env_id, "ppo", seed, timesteps, checkpoint_every=50_000, n_envs=N_ENVS,
                          constraint=constraint, reward_weights=None if weights is None else list(weights))
    train(run_dir, config, progress=False)
    key = {"env_id": env_id, "seed": seed, "constraint": constraint, "reward_weights": weights,
           "timesteps": config["hyperparameters"]["total_timesteps"], "objectives": objectives,
           "clinsim": __version__}
    return _evaluation(RunDir(run_dir).result_path("eval"), key, lambda: evaluate_policy(
        env_id, trained_policy(run_dir, env_id), objectives=objectives))


def _reference(reference: Path, env_id: str, agent: str) -> list[dict[str, Any]]:
    """Evaluations of ``results/reproduction`` (protocol, planner: one; ppo: one per training seed)."""
    env_dir = reference / TRADEOFF[env_id]["suite"] / slug(env_id)
    if agent == "ppo":
        return [read_json(p) for p in sorted(env_dir.glob("ppo_seed*/results/eval.json"))]
    return [read_json(env_dir / "baselines" / f"{agent}.json")]


def _reference_ppo_at(reference: Path, env_id: str, root: Path) -> list[dict[str, Any]]:
    """The reproduction's unconstrained PPO seeds evaluated at their checkpoint after the constrained agents'
    training steps (the model a run of that budget ends with: PPO's schedules here are constant)."""
    steps = TRADEOFF[env_id]["timesteps"]
    out = []
    for run_dir in sorted((reference / TRADEOFF[env_id]["suite"] / slug(env_id)).glob("ppo_seed*")):
        key = {"env_id": env_id, "run": run_dir.name, "steps": steps, "clinsim": __version__}
        out.append(_evaluation(root / slug(env_id) / f"reference_{run_dir.name}_{steps}.json", key,
                               lambda d=run_dir: evaluate_policy(env_id, trained_policy(d, env_id, steps))))
    return out


def run_tradeoff(env_id: str, root: Path, seeds: tuple[int, ...]) -> None:
    spec = TRADEOFF[env_id]
    for seed in seeds:  # seed by seed: a stopped job leaves every budget with the same seeds
        for budget in spec["budgets"]:
            train_and_evaluate(env_id, seed, root / slug(env_id) / f"ppo_lag_budget{budget:g}_seed{seed}",
                               constraint={"budget": budget, "multiplier_lr": spec["multiplier_lr"]},
                               timesteps=spec["timesteps"])


def _weights_name(weights: tuple[float, ...]) -> str:
    return "w" + "_".join(f"{w:g}" for w in weights)


def run_pareto(root: Path) -> None:
    pareto_baselines(root)
    env_dir = root / "pareto" / slug(PARETO_ENV)
    for seed in PARETO_SEEDS:
        for weights in WEIGHTS:
            train_and_evaluate(PARETO_ENV, seed, env_dir / f"ppo_{_weights_name(weights)}_seed{seed}",
                               weights=weights, objectives=True, timesteps=PARETO_TIMESTEPS)


def pareto_baselines(root: Path) -> None:
    """The protocol's and the planner's vector returns on the evaluation patients."""
    env_dir = root / "pareto" / slug(PARETO_ENV)
    for name in ("protocol", "planner"):
        policy = baselines(PARETO_ENV)["protocol"]
        if name == "planner":
            policy = RolloutPlanner(gym.make(PARETO_ENV).unwrapped.task, policy)
        key = {"env_id": PARETO_ENV, "policy": name, "objectives": True, "clinsim": __version__}
        _evaluation(env_dir / "baselines" / f"{name}.json", key,
                    lambda p=policy: evaluate_policy(PARETO_ENV, p, objectives=True))


def _cell(summary: dict[str, Any], key: str, spec: str = ".2f") -> str:
    s = summary[key]
    if s["n"] > 1:
        return f"{s['mean']:{spec}} [{s['ci_low']:{spec}}, {s['ci_high']:{spec}}]"
    return f"{s['mean']:{spec}}"


def report_tradeoff(root: Path, reference: Path, out: Path) -> str:
    rows, lines = [], []
    for env_id, spec in TRADEOFF.items():
        agents: list[tuple[str, list[dict[str, Any]]]] = [(a, _reference(reference, env_id, a))
                                                          for a in ("protocol", "planner")]
        full = _reference(reference, env_id, "ppo")
        agents += [(f"ppo (Table 2: {full[0]['config']['timesteps'] // 1000}k steps)", full),
                   (f"ppo ({spec['timesteps'] // 1000}k steps)", _reference_ppo_at(reference, env_id, root))]
        for budget in spec["budgets"]:
            runs = [RunDir(root / slug(env_id) / f"ppo_lag_budget{budget:g}_seed{s}").result_path("eval")
                    for s in SEEDS]
            if any(p.exists() for p in runs):  # the seeds finished so far
                agents.append((f"ppo-lagrangian, budget {budget:g} ({spec['timesteps'] // 1000}k steps)",
                               [read_json(p) for p in runs if p.exists()]))
        metrics = OUTCOMES[env_id]
        lines += [f"### {env_id}", "", "| agent | seeds | return | episode cost | " + " | ".join(metrics) + " |",
                  "|---" * (4 + len(metrics)) + "|"]
        for name, results in agents:
            summary = seed_summary(results)
            n = len(results) if name not in ("protocol", "planner") else 0
            lines.append(f"| {name} | {n or '-'} | {_cell(summary, 'return', '.1f')} | "
                         f"{_cell(summary, 'episode_cost')} | " + " | ".join(_cell(summary, m) for m in metrics) + " |")
            rows.append({"env_id": env_id, "agent": name, "training_seeds": n,
                         "episodes": results[0]["episodes"], **summary})
        lines.append("")
    write_json(out / "tradeoff.json", rows)
    text = "\n".join(lines)
    atomic_write_text(out / "tradeoff.md", text)
    return text


def report_pareto(root: Path, out: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    env_dir = root / "pareto" / slug(PARETO_ENV)
    points: list[dict[str, Any]] = []
    for weights in WEIGHTS:
        paths = [RunDir(env_dir / f"ppo_{_weights_name(weights)}_seed{s}").result_path("eval") for s in PARETO_SEEDS]
        if all(p.exists() for p in paths):
            summary = seed_summary([read_json(p) for p in paths])
            points.append({"agent": f"ppo w={weights}", "weights": list(weights), "kind": "ppo", **_vector(summary)})
    for name in ("protocol", "planner"):
        path = env_dir / "baselines" / f"{name}.json"
        if path.exists():
            points.append({"agent": name, "weights": None, "kind": name, **_vector(seed_summary([read_json(path)]))})
    vectors = np.array([[p[f"return_{o}"] for o in OBJECTIVES] for p in points])
    sweep = np.array([p["kind"] == "ppo" for p in points])
    front = np.zeros(len(points), dtype=bool)
    front[sweep] = non_dominated(vectors[sweep])
    for p, in_sweep, overall in zip(points, front, non_dominated(vectors), strict=True):
        p["non_dominated_in_sweep"], p["non_dominated"] = bool(in_sweep), bool(overall)
    write_json(out / "pareto.json", {"env_id": PARETO_ENV, "training_seeds": list(PARETO_SEEDS), "points": points})
    lines = [f"### {PARETO_ENV}: vector return (efficacy, safety, burden) on the evaluation patients", "",
             "| agent | return | efficacy | safety | burden | episode cost | non-dominated: sweep / all |",
             "|---" * 7 + "|"]
    for p in points:
        marks = f"{'yes' if p['non_dominated_in_sweep'] else '-' if p['kind'] != 'ppo' else 'no'} / " \
                f"{'yes' if p['non_dominated'] else 'no'}"
        lines.append(f"| {p['agent']} | {p['return']:.1f} | {p['return_efficacy']:.1f} | {p['return_safety']:.1f} | "
                     f"{p['return_burden']:.2f} | {p['episode_cost']:.2f} | {marks} |")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, (x, label) in zip(axes, (("return_safety", "safety return (toxicity penalties)"),
                                     ("return_burden", "burden return (drug cost)")), strict=True):
        for p in points:
            style = {"ppo": ("o", "tab:blue"), "protocol": ("s", "tab:green"),
                     "planner": ("^", "tab:orange")}[p["kind"]]
            filled = p["non_dominated_in_sweep"] or p["kind"] != "ppo"
            ax.scatter(p[x], p["return_efficacy"], marker=style[0], s=70, facecolors=style[1] if filled else "none",
                       edgecolors="black" if p["non_dominated"] else style[1], linewidths=1.8, zorder=3)
            text = p["agent"] if p["weights"] is None else "w=(" + ", ".join(f"{w:g}" for w in p["weights"]) + ")"
            ax.annotate(text, (p[x], p["return_efficacy"]), textcoords="offset points", xytext=(5, 4), fontsize=7)
        ax.set_xlabel(label)
        ax.set_ylabel("efficacy return")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{PARETO_ENV}: PPO on w . (efficacy, safety, burden), {PARETO_TIMESTEPS // 1000}k steps. Filled "
                 f"circle: non-dominated among the sweep; black edge: non-dominated among all points (3 objectives)",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "pareto.png", dpi=120)
    plt.close(fig)
    text = "\n".join(lines) + "\n"
    atomic_write_text(out / "pareto.md", text)
    return text


def _vector(summary: dict[str, Any]) -> dict[str, float]:
    return {k: summary[k]["mean"] for k in ("return", "episode_cost", *(f"return_{o}" for o in OBJECTIVES))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("tradeoff", "pareto", "report"))
    parser.add_argument("--env", action="append", choices=sorted(TRADEOFF), help="tradeoff: default both")
    parser.add_argument("--seeds", type=int, default=len(SEEDS), choices=range(1, len(SEEDS) + 1),
                        help="tradeoff: training seeds (42, 43, ...)")
    parser.add_argument("--root", type=Path, default=Path("runs/safety"), help="run directories")
    parser.add_argument("--reference", type=Path, default=Path("results/reproduction"),
                        help="tradeoff: the unconstrained PPO and the baselines")
    parser.add_argument("--out", type=Path, default=Path("results/safety"))
    args = parser.parse_args()
    if args.part == "tradeoff":
        for env_id in args.env or sorted(TRADEOFF):
            run_tradeoff(env_id, args.root, SEEDS[:args.seeds])
    elif args.part == "pareto":
        run_pareto(args.root)
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        print(report_tradeoff(args.root, args.reference, args.out))
        print(report_pareto(args.root, args.out))


if __name__ == "__main__":
    main()
