"""Figures: training curves with baseline reference lines, baseline comparison, patient trajectories."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from clinsim.core.evaluation import Policy
from clinsim.training.runs import RunDir, read_json, read_monitor


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp)
    tmp.replace(path)
    return path


def monitor_curve(run_dir: Path, bins: np.ndarray) -> np.ndarray:
    """Mean episode return per timestep bin from a run's Monitor logs (NaN where no episode ended)."""
    returns, lengths = [], []
    for path in sorted((run_dir / "monitor").glob("*.monitor.csv")):
        data = read_monitor(path)
        if data.size:
            returns.append(data[:, 0])
            lengths.append(data[:, 1])
    if not returns:
        return np.full(len(bins) - 1, np.nan)
    r, steps = np.concatenate(returns), np.cumsum(np.concatenate(lengths))
    idx = np.digitize(steps, bins) - 1
    return np.array([r[idx == i].mean() if (idx == i).any() else np.nan for i in range(len(bins) - 1)])


def plot_training_curves(root: Path, env_ids: Sequence[str], algo: str, out: Path, n_bins: int = 40) -> Path:
    """Per environment: mean +- SD over seeds of the training return, random and protocol as lines."""
    from clinsim.training.benchmark import slug

    fig = _figure(4.2 * len(env_ids), 3.4)
    axes = fig.subplots(1, len(env_ids), squeeze=False)[0]
    for ax, env_id in zip(axes, env_ids, strict=True):
        runs = sorted((root / slug(env_id)).glob(f"{algo}_seed*"))
        if runs:
            total = RunDir(runs[0]).config["hyperparameters"]["total_timesteps"]
            bins = np.linspace(0, total, n_bins + 1)
            curves = np.array([monitor_curve(r, bins) for r in runs])
            with warnings.catch_warnings():  # bins in which no episode ended stay NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                mean, std = np.nanmean(curves, axis=0), np.nanstd(curves, axis=0)
            x = 0.5 * (bins[1:] + bins[:-1])
            ax.plot(x, mean, color="C0", label=f"{algo.upper()} ({len(runs)} seeds)")
            ax.fill_between(x, mean - std, mean + std, color="C0", alpha=0.25)
        for name, style in (("random", dict(color="C3", ls="--")), ("protocol", dict(color="C2", ls="-."))):
            path = root / slug(env_id) / "baselines" / f"{name}.json"
            if path.exists():
                ax.axhline(np.mean(read_json(path)["returns"]), label=name, **style)
        ax.set_title(env_id, fontsize=9)
        ax.set_xlabel("timesteps", fontsize=8)
        ax.set_ylabel("episode return", fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, out)


def plot_comparison(rows: Sequence[Mapping[str, Any]], out: Path) -> Path:
    """Mean return of every agent on every environment (error bars: seed SD for trained agents)."""
    env_ids = list(dict.fromkeys(r["env_id"] for r in rows))
    agents = list(dict.fromkeys(r["agent"] for r in rows))
    fig = _figure(max(6.0, 1.6 * len(env_ids) * len(agents) / 3), 4.0)
    ax = fig.subplots()
    width = 0.8 / len(agents)
    for j, agent in enumerate(agents):
        vals, errs = [], []
        for env_id in env_ids:
            row = next((r for r in rows if r["env_id"] == env_id and r["agent"] == agent), None)
            vals.append(row["return"] if row else np.nan)
            errs.append(row.get("return_seed_std", 0.0) if row else 0.0)
        ax.bar(np.arange(len(env_ids)) + j * width, vals, width, yerr=errs, label=agent, capsize=2)
    ax.set_xticks(np.arange(len(env_ids)) + 0.4 - width / 2)
    ax.set_xticklabels([e.split("/")[1].rsplit("-v", 1)[0] for e in env_ids], fontsize=8, rotation=15)
    ax.set_ylabel("mean episode return")
    ax.axhline(0, color="k", lw=0.5)
    ax.legend(fontsize=7, ncol=len(agents))
    fig.tight_layout()
    return _save(fig, out)


def trajectory(env_id: str, policy: Policy, seed: int) -> list[dict[str, Any]]:
    """The info of every step of one patient's episode under ``policy``."""
    env = gym.make(env_id)
    obs, info = env.reset(seed=seed)
    infos = [info]
    uses_state = getattr(policy, "uses_state", False)
    while True:
        batch = obs[None]
        action = policy(batch, env.unwrapped.state) if uses_state else policy(batch)
        obs, _, terminated, truncated, info = env.step(np.asarray(action)[0])
        infos.append(info)
        if terminated or truncated:
            return infos


def plot_trajectories(env_id: str, policies: Mapping[str, Policy], seed: int, out: Path) -> Path:
    """One patient (``reset(seed=seed)``) under each policy: the task's dashboard panels, one line per policy."""
    task = gym.make(env_id).unwrapped.task
    panels = task.render_panels
    courses = {name: trajectory(env_id, pol, seed) for name, pol in policies.items()}
    n_keys = sum(len(p.keys) for p in panels)
    cols = min(4, n_keys)
    rows = -(-n_keys // cols)
    fig = _figure(3.6 * cols, 2.9 * rows)
    grid = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in grid[n_keys:]:
        ax.set_visible(False)
    axes = iter(grid)
    for panel in panels:
        for key in panel.keys:
            ax = next(axes)
            for j, (name, infos) in enumerate(courses.items()):
                if key in infos[0]:
                    ax.plot([float(i[key]) for i in infos], color=f"C{j}", label=f"{name} ({infos[-1]['outcome']})")
            if panel.log:
                ax.set_yscale("log")
            ax.set_title(key, fontsize=8)
            ax.set_xlabel(task.step_unit, fontsize=7)
            ax.set_ylabel(panel.unit, fontsize=7)
            ax.tick_params(labelsize=6)
    fig.axes[0].legend(fontsize=6)
    fig.suptitle(f"{env_id}: patient reset(seed={seed})", fontsize=9)
    fig.tight_layout()
    return _save(fig, out)
