"""Benchmark orchestration: baselines, planner and trained agents on many environments, resumable.

Layout under ``root``::

    <env>/baselines/<policy>.json        evaluation of random / none / protocol / planner
    <env>/<algo>_seed<k>/                 a training run (RunDir) with results/eval.json
    summary.json, summary.csv, summary.md
    figures/*.png

Every finished piece is on disk before the next starts, so an interrupted benchmark resumes where it
stopped (training from its last checkpoint).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym

from clinsim.baselines import baselines
from clinsim.training.evaluate import default_episodes, evaluate_policy, seed_summary
from clinsim.training.planner import RolloutPlanner
from clinsim.training.runs import RunDir, atomic_write_text, read_json, write_json
from clinsim.training.train import train, train_config, trained_policy


def slug(env_id: str) -> str:
    return env_id.replace("/", "__")


def _cached(path: Path, compute) -> dict[str, Any]:
    if path.exists():
        return read_json(path)
    result = compute()
    write_json(path, result)
    return result


def run_baselines(env_id: str, root: Path, episodes: int) -> dict[str, dict[str, Any]]:
    """Random, no treatment, clinical protocol and the rollout planner on the evaluation patients."""
    out = {}
    policies = baselines(env_id)
    policies["planner"] = RolloutPlanner(gym.make(env_id).unwrapped.task, policies["protocol"])
    for name, policy in policies.items():
        out[name] = _cached(root / slug(env_id) / "baselines" / f"{name}.json",
                            lambda p=policy: evaluate_policy(env_id, p, episodes))
    return out


def run_agent(env_id: str, algo: str, seed: int, root: Path, episodes: int, timesteps: int | None,
              progress: bool) -> dict[str, Any]:
    """Train (or resume) one agent and evaluate it on the evaluation patients."""
    run_dir = root / slug(env_id) / f"{algo}_seed{seed}"
    config = train_config(env_id, algo, seed, total_timesteps=timesteps,
                          checkpoint_every=max(1_000, (timesteps or 100_000) // 10))
    run = RunDir(run_dir)
    if not (run.root / "DONE").exists():
        train(run_dir, config, progress=progress)
    return _cached(run.result_path("eval"), lambda: evaluate_policy(env_id, trained_policy(run_dir), episodes))


def run_benchmark(env_ids: Sequence[str], root: str | Path, algos: Sequence[str] = ("ppo",),
                  seeds: Sequence[int] = (42,), timesteps: int | None = None, episodes: int | None = None,
                  progress: bool = True) -> list[dict[str, Any]]:
    """Everything for every environment; writes and returns the summary rows."""
    root = Path(root)
    rows: list[dict[str, Any]] = []
    for env_id in env_ids:
        n = episodes or default_episodes(env_id)
        for name, result in run_baselines(env_id, root, n).items():
            rows.append(_row(env_id, name, seed_summary([result]), n_seeds=0))
        space = gym.make(env_id).action_space
        for algo in algos:
            if algo == "dqn" and isinstance(space, gym.spaces.Box) or algo == "sac" and not isinstance(
                    space, gym.spaces.Box):
                continue
            results = [run_agent(env_id, algo, s, root, n, timesteps, progress) for s in seeds]
            rows.append(_row(env_id, algo, seed_summary(results), n_seeds=len(seeds)))
    write_summary(rows, root)
    return rows


def _row(env_id: str, agent: str, summary: dict[str, dict[str, float]], n_seeds: int) -> dict[str, Any]:
    row: dict[str, Any] = {"env_id": env_id, "agent": agent, "training_seeds": n_seeds}
    for key, s in summary.items():
        row[key] = s["mean"]
        if n_seeds > 1:
            row[f"{key}_seed_std"] = s["std"]
            row[f"{key}_ci_low"], row[f"{key}_ci_high"] = s["ci_low"], s["ci_high"]
    return row


def write_summary(rows: list[dict[str, Any]], root: Path) -> None:
    write_json(root / "summary.json", rows)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(root / "summary.csv", buffer.getvalue())
    atomic_write_text(root / "summary.md", format_table(rows))


def format_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table: return (with seed SD and CI when there are several training seeds) and outcomes."""
    skip = {"env_id", "agent", "training_seeds", "return", "return_std"}
    lines = []
    for env_id in dict.fromkeys(r["env_id"] for r in rows):
        env_rows = [r for r in rows if r["env_id"] == env_id]
        metrics = [k for k in env_rows[0] if k not in skip and not k.endswith(("_seed_std", "_ci_low", "_ci_high"))]
        lines += [f"### {env_id}", "", "| agent | return | " + " | ".join(metrics) + " |",
                  "|---" * (2 + len(metrics)) + "|"]
        for r in env_rows:
            ret = f"{r['return']:.1f} (episode SD {r['return_std']:.1f})"
            if r["training_seeds"] > 1:
                ret = (f"{r['return']:.1f} +- {r['return_seed_std']:.1f} [{r['return_ci_low']:.1f}, "
                       f"{r['return_ci_high']:.1f}] ({r['training_seeds']} seeds)")
            lines.append(f"| {r['agent']} | {ret} | " + " | ".join(f"{r.get(m, float('nan')):.3g}" for m in metrics)
                         + " |")
        lines.append("")
    return "\n".join(lines)
