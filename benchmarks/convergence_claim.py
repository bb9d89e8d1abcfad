"""Test of the ImmunoSim paper's falsifiable claim (issue 17): "adding a second drug with a different toxicity
profile speeds PPO convergence 3-5x".

Setting: PPO at the papers' Table 2 hyperparameters and budgets (CheckpointInhibitor 200k steps, the one-drug
task; CombinationTherapy 500k, the two-drug task), `--n-envs 16` (rollout size kept), training seeds 42-51, a
checkpoint every 10k steps. Each checkpoint's deterministic policy is evaluated on the results tables' patients
(reset seeds 0-99) and its mean return normalised per environment (random = 0, rollout planner = 1, the
baselines of the same run root). "Time to reach a fraction f of the planner's score" is the first checkpoint
whose normalised score is >= f (raw returns are negative on CheckpointInhibitor, so a raw fraction of the
planner's return is undefined). The claim holds if CheckpointInhibitor needs 3-5x the steps of
CombinationTherapy.

    clinsim reproduce --env immunosim/CheckpointInhibitor-v1 --env immunosim/CombinationTherapy-v1 \
        --seeds 10 --n-envs 16 --root results/convergence --no-figures
    python benchmarks/convergence_claim.py --root results/convergence

Curves are cached per run (`<run>/results/curve.json`), so a rerun only evaluates new checkpoints.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from clinsim.training.evaluate import evaluate_policy
from clinsim.training.runs import RunDir, read_json, write_json
from clinsim.training.train import trained_policy

ENVS = ("immunosim/CheckpointInhibitor-v1", "immunosim/CombinationTherapy-v1")
FRACTIONS = (0.2, 0.5, 0.9)
PLATEAU = 0.9  # "converged": first checkpoint at >= 90 % of the run's own final score (last 3 checkpoints)
BOOTSTRAP = 10_000


def learning_curve(run_dir: Path, env_id: str, episodes: int) -> dict[str, float]:
    """Mean evaluation return of every checkpoint of one run, keyed by its steps (cached in the run)."""
    cache = RunDir(run_dir).result_path("curve")
    curve: dict[str, float] = read_json(cache) if cache.exists() else {}
    steps = sorted(int(RunDir.RECORD.fullmatch(p.name).group(1))
                   for p in (run_dir / "checkpoints").glob("checkpoint_*_steps.json"))
    for s in steps:
        if str(s) not in curve:
            result = evaluate_policy(env_id, trained_policy(run_dir, env_id, steps=s), episodes)
            curve[str(s)] = float(np.mean(result["returns"]))
            write_json(cache, curve)
    return curve


def steps_to_reach(steps: np.ndarray, scores: np.ndarray, fraction: float) -> float:
    """First checkpoint at or above ``fraction`` (normalised), NaN if the run never reaches it."""
    hit = np.flatnonzero(scores >= fraction)
    return float(steps[hit[0]]) if hit.size else float("nan")


def ratio_ci(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float]:
    """Median(a) / median(b) with a 95 % percentile bootstrap over seeds (each resampled within its group);
    unreached runs count as infinitely slow (their median is then infinite if they are the majority)."""
    a = np.where(np.isnan(a), np.inf, a)
    b = np.where(np.isnan(b), np.inf, b)
    point = np.median(a) / np.median(b)
    boots = [np.median(rng.choice(a, a.size)) / np.median(rng.choice(b, b.size)) for _ in range(BOOTSTRAP)]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return float(point), float(lo), float(hi)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("results/convergence"))
    parser.add_argument("--episodes", type=int, default=100, help="evaluation patients (reset seeds 0..N-1)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    report: dict[str, dict] = {}
    for env_id in ENVS:
        env_dir = args.root / env_id.replace("/", "__")
        base = {name: float(np.mean(read_json(env_dir / "baselines" / f"{name}.json")["returns"]))
                for name in ("random", "planner", "protocol")}
        runs = sorted(env_dir.glob("ppo_seed*"), key=lambda p: int(p.name.removeprefix("ppo_seed")))
        curves = {}
        for run in runs:
            curve = learning_curve(run, env_id, args.episodes)
            steps = np.array(sorted(int(k) for k in curve), dtype=np.float64)
            returns = np.array([curve[str(int(s))] for s in steps])
            normalised = (returns - base["random"]) / (base["planner"] - base["random"])
            curves[run.name] = {"steps": steps.tolist(), "returns": returns.tolist(), "normalised": normalised.tolist()}
        reach = {str(f): [steps_to_reach(np.array(c["steps"]), np.array(c["normalised"]), f) for c in curves.values()]
                 for f in FRACTIONS}
        reach["plateau"] = [steps_to_reach(np.array(c["steps"]), np.array(c["normalised"]),
                                           PLATEAU * float(np.mean(c["normalised"][-3:]))) for c in curves.values()]
        protocol = (base["protocol"] - base["random"]) / (base["planner"] - base["random"])
        report[env_id] = {"baselines": base, "budget": max(max(c["steps"]) for c in curves.values()),
                          "protocol_normalised": protocol, "curves": curves, "steps_to_reach": reach}
    one, two = (report[e] for e in ENVS)
    claim = {}
    for f in (*map(str, FRACTIONS), "plateau"):
        a, b = np.array(one["steps_to_reach"][f]), np.array(two["steps_to_reach"][f])
        point, lo, hi = ratio_ci(a, b, rng)
        claim[f] = {"speedup_median": point, "ci95": [lo, hi],
                         "unreached": [int(np.isnan(a).sum()), int(np.isnan(b).sum())], "seeds": [a.size, b.size]}
    out = {"envs": list(ENVS), "fractions": list(FRACTIONS), "episodes": args.episodes, "per_env": report,
           "speedup": claim}
    write_json(args.root / "claim.json", _json_safe(out))
    lines = ["# Does a second drug speed PPO convergence 3-5x? (ImmunoSim paper's claim)", "",
             f"`python benchmarks/convergence_claim.py --root {args.root}`; PPO, Table 2 hyperparameters, "
             f"`--n-envs 16`, evaluation on patients 0-{args.episodes - 1}, score normalised random = 0, "
             "planner = 1 per environment.", "",
             "| score reached (normalised) | steps, CheckpointInhibitor (median, per seed) | steps, "
             "CombinationTherapy (median, per seed) | speed-up (median ratio) [95 % CI] "
             "| unreached (1-drug / 2-drug) |",
             "|---|---|---|---|---|"]
    for f in (*map(str, FRACTIONS), "plateau"):
        a, b = (np.array(r["steps_to_reach"][f]) for r in (one, two))
        fmt = lambda v: ", ".join("never" if np.isnan(x) else f"{x / 1e3:.0f}k" for x in v)  # noqa: E731
        med = lambda v: "never" if np.median(np.where(np.isnan(v), np.inf, v)) == np.inf else \
            f"{np.median(np.where(np.isnan(v), np.inf, v)) / 1e3:.0f}k"  # noqa: E731
        c = claim[f]
        label = f"{float(f):.2f} of the planner's" if f != "plateau" else f"{PLATEAU:.0%} of the run's own final"
        lines.append(f"| {label} | {med(a)} ({fmt(a)}) | {med(b)} ({fmt(b)}) | {c['speedup_median']:.2f} "
                     f"[{c['ci95'][0]:.2f}, {c['ci95'][1]:.2f}] | {c['unreached'][0]} / {c['unreached'][1]} |")
    lines += ["", "| environment | random | protocol | planner | protocol (normalised) | final PPO (normalised, "
              "mean +- SD over seeds) |", "|---|---|---|---|---|---|"]
    for env_id, r in report.items():
        final = np.array([c["normalised"][-1] for c in r["curves"].values()])
        b = r["baselines"]
        lines.append(f"| {env_id} | {b['random']:.2f} | {b['protocol']:.2f} | {b['planner']:.2f} | "
                     f"{r['protocol_normalised']:.2f} | {final.mean():.2f} +- {final.std(ddof=1):.2f} "
                     f"({final.size} seeds) |")
    (args.root / "claim.md").write_text("\n".join(lines) + "\n")
    _figure(report, args.root / "claim.png")
    print("\n".join(lines))
    print(json.dumps(claim, indent=1))


def _json_safe(value):
    """NaN (never reached) and infinite ratios as None: JSON has neither."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _figure(report: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for env_id, r in report.items():
        steps = np.array(next(iter(r["curves"].values()))["steps"])
        scores = np.array([c["normalised"] for c in r["curves"].values() if len(c["steps"]) == steps.size])
        mean, sd = scores.mean(axis=0), scores.std(axis=0, ddof=1)
        line, = ax.plot(steps / 1e3, mean, label=f"{env_id.split('/')[1]} ({scores.shape[0]} seeds)")
        ax.fill_between(steps / 1e3, mean - sd, mean + sd, color=line.get_color(), alpha=0.2)
        ax.axhline(r["protocol_normalised"], color=line.get_color(), ls=":", lw=1)
    for f in FRACTIONS:
        ax.axhline(f, color="grey", lw=0.5)
    ax.set_xlabel("PPO training steps (thousands)")
    ax.set_ylabel("normalised score (random 0, planner 1)")
    ax.set_title("Learning curves, mean +- SD over seeds (dotted: protocol)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
