"""Regenerate the golden trajectories: ``python -m tests.golden.make_golden [ENV_ID ...]`` (default: every ID,
the test disease included).

Only after a deliberate change of dynamics, observation or reward, together with an environment version
bump (``-v0`` -> ``-v1``) and an entry in CHANGELOG.md; name the changed IDs to leave the others as they are.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# the test disease is registered as in the test run (tests/conftest.py), before clinsim is imported
os.environ["CLINSIM_EXTRA_DISEASES"] = "tests.glucose"

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import clinsim  # noqa: E402

HERE = Path(__file__).parent
SEED = 2024
STEPS = 30


def trajectory(env_id: str) -> dict:
    """Observations, rewards and flags of a seeded episode prefix under seeded random actions."""
    env = gym.make(env_id)
    env.action_space.seed(SEED)
    obs, _ = env.reset(seed=SEED)
    out = {"env_id": env_id, "seed": SEED, "actions": [], "observations": [obs.tolist()], "rewards": [],
           "terminated": []}
    for _ in range(STEPS):
        action = env.action_space.sample()
        obs, reward, terminated, truncated, _ = env.step(action)
        out["actions"].append(np.asarray(action).tolist())
        out["observations"].append(obs.tolist())
        out["rewards"].append(float(reward))
        out["terminated"].append(bool(terminated))
        if terminated or truncated:
            break
    return out


def path_for(env_id: str) -> Path:
    return HERE / (env_id.replace("/", "__") + ".json")


def main(env_ids: list[str]) -> None:
    unknown = sorted(set(env_ids) - set(clinsim.ENV_IDS))
    if unknown:
        raise SystemExit(f"unknown ID(s) {', '.join(unknown)}; registered: {', '.join(clinsim.ENV_IDS)}")
    for env_id in env_ids or clinsim.ENV_IDS:
        path_for(env_id).write_text(json.dumps(trajectory(env_id)) + "\n")
        print("wrote", path_for(env_id))


if __name__ == "__main__":
    main(sys.argv[1:])
