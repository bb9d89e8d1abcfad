"""True values of the target policies by paired simulation (common random numbers), shipped as JSON.

A target's value is its expected return from the environment's patient distribution. :func:`ground_truth` runs
every target of :func:`clinsim.offline.targets.target_policies` on the same patients (reset seeds
``first_seed ..``: the same patient parameters and pre-drawn events for every target, so differences between
targets are estimated more precisely than the values themselves) and reports, each with a 95 % interval:
the discounted return (gamma: the environment's, the papers' Table 2; what the estimators estimate), the
undiscounted return, every clinical outcome of the task (``Task.clinical_metrics``: rates with Wilson intervals,
other metrics with normal ones), and the paired difference of the discounted value to the protocol's.
The planner is slow (it simulates every candidate action to the end of the episode at every decision), so it
runs on the first ``planner_episodes`` of the same patients.

``clinsim ground-truth ENV`` regenerates the shipped file ``offline/ground_truth/<disease>__<Task>-v<k>.json``
bit for bit (same seeds, same policies, one thread of numpy/torch per call).

``--observation clinical``: the targets acting on the clinical observation mode (docs/observations.md) on the
same patients, shipped as ``<disease>__<Task>-v<k>__clinical.json``. The planner reads the true state and never
an observation, so its value does not depend on the mode: its entry is the state-mode file's, reused rather than
recomputed (it says so: ``reused_from``; its ``value_minus_protocol`` is against the state-mode protocol).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from scipy.stats import binomtest

import clinsim
from clinsim.offline.datasets import env_kwargs
from clinsim.offline.targets import Target, target_policies

GROUND_TRUTH_DIR = Path(__file__).parent / "ground_truth"
TRUTH_EPISODES = 5000
TRUTH_SEED = 10**6  # patients disjoint from the datasets' (seeds 0 ..) and the papers' evaluation (0 .. 99)
Z95 = 1.959963984540054


def discount(env_id: str) -> float:
    """The environment's discount factor (its PPO setting in the registry: the papers' Table 2)."""
    return float(clinsim.spec(env_id).ppo["gamma"])


def truth_path(env_id: str, observation: str = "state") -> Path:
    """The shipped ground truth of ``env_id`` in an observation mode (the state's file has no suffix)."""
    env_kwargs(observation)
    suffix = "" if observation == "state" else f"__{observation}"
    return GROUND_TRUTH_DIR / f"{env_id.replace('/', '__')}{suffix}.json"


def rollout(env_id: str, target: Target, episodes: int, first_seed: int, gamma: float,
            observation: str = "state") -> dict[str, np.ndarray]:
    """Per patient: discounted and undiscounted return and the task's clinical metrics, one episode each."""
    venv = gym.make_vec(env_id, num_envs=episodes, vectorization_mode="vector_entry_point",
                        **env_kwargs(observation))
    obs, info = venv.reset(seed=first_seed)
    final = {k: v.astype(object) if v.dtype.kind == "U" else v.copy() for k, v in info.items() if not k.startswith("_")}
    value, total = np.zeros(episodes), np.zeros(episodes)
    done = np.zeros(episodes, dtype=bool)
    t = 0
    while not done.all():
        live = np.flatnonzero(~done)
        acted = np.asarray(target.policy(obs[live], venv.unwrapped.state.take(live)) if target.uses_state
                           else target.policy(obs[live]))
        actions = np.repeat(acted[:1], episodes, axis=0)  # finished patients repeat a valid action
        actions[live] = acted
        obs, reward, terminated, truncated, info = venv.step(actions)
        value[live] += gamma**t * reward[live]
        total[live] += reward[live]
        for k in final:
            final[k][live] = info[k][live]
        done[live] |= (terminated | truncated)[live]
        t += 1
    venv.close()
    metrics = venv.unwrapped.task.clinical_metrics(final)
    return {"value": value, "return": total, **{k: np.asarray(v, dtype=np.float64) for k, v in metrics.items()}}


def interval(x: np.ndarray, rate: bool = False) -> dict[str, float]:
    """Mean and 95 % interval: Wilson for a ``rate`` of 0/1 outcomes (exact enough near 0 and 1), normal
    otherwise."""
    mean = float(x.mean())
    if rate:
        ci = binomtest(int(x.sum()), len(x)).proportion_ci(0.95, method="wilson")
        return {"mean": mean, "ci_low": float(ci.low), "ci_high": float(ci.high)}
    half = Z95 * float(x.std(ddof=1)) / np.sqrt(len(x)) if len(x) > 1 else float("inf")
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half}


def ground_truth(env_id: str, episodes: int | None = None, planner_episodes: int | None = None,
                 first_seed: int = TRUTH_SEED, seed: int = 0, observation: str = "state",
                 state_truth: str | Path | None = None) -> dict[str, Any]:
    """Every target's true values on the same patients (``episodes``, default ``TRUTH_EPISODES``; planner: the
    first ``planner_episodes`` of them, default: the environment's evaluation episodes, the papers' protocol).

    ``observation="clinical"``: the targets act on clinical observations; the planner's entry is taken from the
    state-mode ground truth (``state_truth``, default the shipped file), which must be of the same patients."""
    import torch

    episodes = TRUTH_EPISODES if episodes is None else episodes
    reused = None
    if observation != "state":
        reused = load_ground_truth(env_id, state_truth)
        if reused["first_seed"] != first_seed:
            raise ValueError(f"the state-mode ground truth of {env_id} starts at patient seed {reused['first_seed']}, "
                             f"not {first_seed}: its planner entry is of other patients")
        if planner_episodes is not None and planner_episodes != reused["planner_episodes"]:
            raise ValueError(f"the planner's entry is reused from the state-mode ground truth "
                             f"({reused['planner_episodes']} patients), not recomputed for {planner_episodes}")
        planner_episodes = reused["planner_episodes"]
    planner_episodes = clinsim.spec(env_id).episodes if planner_episodes is None else planner_episodes
    if episodes < 2 or (reused is None and not 2 <= planner_episodes <= episodes):
        raise ValueError(f"need 2 <= planner_episodes <= episodes, got {planner_episodes} and {episodes}")
    torch.manual_seed(seed)
    gamma = discount(env_id)
    targets = target_policies(env_id, seed, observation)
    runs = {name: rollout(env_id, t, planner_episodes if t.uses_state else episodes, first_seed, gamma, observation)
            for name, t in targets.items() if reused is None or not t.uses_state}
    out: dict[str, Any] = {}
    for name, r in runs.items():
        n = len(r["value"])
        out[name] = {"description": targets[name].description, "episodes": n,
                     **{k: interval(v, k not in ("value", "return") and bool(np.isin(v, (0.0, 1.0)).all()))
                        for k, v in r.items()},
                     "value_minus_protocol": interval(r["value"] - runs["protocol"]["value"][:n])}
    command = f"clinsim ground-truth {env_id} --episodes {episodes} --planner-episodes {planner_episodes}"
    if reused is None:
        return {"env_id": env_id, "clinsim": clinsim.__version__, "gamma": gamma, "first_seed": first_seed,
                "seed": seed, "episodes": episodes, "planner_episodes": planner_episodes, "command": command,
                "targets": out}
    for name, t in targets.items():
        if t.uses_state:  # reads the true state, never an observation: the same value in every mode
            out[name] = {**reused["targets"][name], "reused_from": reused["command"],
                         "note": "reads the true state, so its value does not depend on the observation mode; "
                                 "value_minus_protocol is against the state-mode protocol on these patients"}
    return {"env_id": env_id, "observation": observation, "clinsim": clinsim.__version__, "gamma": gamma,
            "first_seed": first_seed, "seed": seed, "episodes": episodes, "planner_episodes": planner_episodes,
            "command": f"clinsim ground-truth {env_id} --observation {observation} --episodes {episodes}",
            "targets": out}


def load_ground_truth(env_id: str, path: str | Path | None = None, observation: str = "state") -> dict[str, Any]:
    """The shipped ground truth of ``env_id`` in an observation mode (or the file at ``path``, which must be of
    that mode)."""
    from clinsim.training.runs import read_json

    path = truth_path(env_id, observation) if path is None else Path(path)
    if not path.exists():
        shipped = sorted(p.stem for p in GROUND_TRUTH_DIR.glob("*.json"))
        option = "" if observation == "state" else f" --observation {observation}"
        raise FileNotFoundError(f"no ground truth for {env_id} ({observation} observations) at {path}; shipped: "
                                f"{', '.join(shipped)}; make one with `clinsim ground-truth {env_id}{option} "
                                f"--output FILE`")
    truth = read_json(path)
    if truth.get("env_id") != env_id:
        raise ValueError(f"{path} holds the ground truth of {truth.get('env_id')!r}, not {env_id}")
    if truth.get("observation", "state") != observation:
        raise ValueError(f"{path} holds the ground truth of {truth.get('observation', 'state')} observations, "
                         f"not {observation} ones")
    return truth
