"""Record the hardest integration intervals the environments produce: ``python tests/data/make_integration_states.py``.

Runs every registered environment (64 patients, clinical protocol and random actions, seed 0) with each
model's batch integrator wrapped to record the ``(y, u, p, duration)`` it is given, then keeps, per model,
the intervals on which a deliberately coarse integration (one DOP853 step, or DP5 at rtol 1e-5) is
furthest from a fine one, plus a random sample. ``tests/test_integration.py`` checks the production
integrators on them against scipy's LSODA.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np

import clinsim
from clinsim.baselines import HEURISTICS
from clinsim.core.evaluation import evaluate_cohort, random_policy
from clinsim.core.integrate import AdaptiveIntegrator, BatchIntegrator, adaptive, fixed_step
from clinsim.immunosim import adaptive_models as am
from clinsim.immunosim import cart_models as cm
from clinsim.immunosim import models as mdl
from clinsim.sepsisim import models as sm

OUT = Path(__file__).with_name("integration_states.npz")
MODELS = {"checkpoint": mdl.CheckpointModel, "adaptive": am.AdaptiveDosingModel, "cart": cm.CARTModel,
          "sepsis": sm.SepsisModel}
N_HARDEST, N_RANDOM = 24, 8


def record() -> dict[str, list[tuple]]:
    samples: dict[str, list[tuple]] = {name: [] for name in MODELS}
    originals = {}
    for name, model in MODELS.items():
        method = "advance" if name == "cart" else "integrate"
        original = getattr(model, method)
        originals[name] = (model, method, original)

        def wrapped(y, u, p, duration, *args, _name=name, _original=original):
            samples[_name].append((y.copy(), u.copy(), p.copy(), np.full(len(y), float(duration))))
            return _original(y, u, p, duration, *args)

        setattr(model, method, wrapped)
    try:
        for env_id in clinsim.ENV_IDS:
            space = gym.make(env_id).action_space
            for policy in (HEURISTICS[env_id], random_policy(space, seed=0)):
                evaluate_cohort(env_id, policy, 64, seed=0)
    finally:
        for model, method, original in originals.values():
            setattr(model, method, original)
    return samples


def hardest(name: str, y, u, p, duration, rng) -> np.ndarray:
    kernel, n_states = MODELS[name].kernel, len(MODELS[name].state_names)
    coarse, fine = y.copy(), y.copy()
    if name == "cart":
        AdaptiveIntegrator(adaptive(kernel, n_states, 1e-5, 1e-11))(coarse, u, p, duration[0])
        BatchIntegrator(fixed_step(kernel, n_states))(fine, u, p, duration[0], 64)
    else:
        integrate = BatchIntegrator(fixed_step(kernel, n_states))
        integrate(coarse, u, p, duration[0], 1)
        integrate(fine, u, p, duration[0], 64)
    error = np.nan_to_num(np.abs(coarse - fine) / np.maximum(np.abs(fine), 1e-6), nan=np.inf).max(axis=1)
    worst = np.argsort(error)[::-1][:N_HARDEST]
    others = rng.choice(np.setdiff1d(np.arange(len(y)), worst), N_RANDOM, replace=False)
    return np.concatenate([worst, others])


def main() -> None:
    rng = np.random.default_rng(0)
    arrays = {}
    for name, chunks in record().items():
        y, u, p, duration = (np.concatenate(parts) for parts in zip(*chunks, strict=True))
        keep = hardest(name, y, u, p, duration, rng)
        for key, value in (("y", y), ("u", u), ("p", p), ("duration", duration)):
            arrays[f"{name}_{key}"] = value[keep]
        print(f"{name}: {len(y)} intervals recorded, {len(keep)} kept")
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
