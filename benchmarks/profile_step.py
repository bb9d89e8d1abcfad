"""Where a step's time goes, per environment: integration, the rest of the transition, the env adapter.

Run: ``python benchmarks/profile_step.py [--env ID ...]``. For a single env (batch of one, on the calling
thread) and for the native vector env at 4096 patients (two threads), prints microseconds per
patient-step of:

* ``integrate``: the model's integration over one decision step alone (the arithmetic floor: RHS
  evaluations times their cost), on the patients' states a few steps into their episodes;
* ``transition``: the task's whole compiled step (dosing, integration, events, reward), pure;
* ``env step``: what a user pays: ``gym.make`` env with default wrappers (single) or the vector env's
  ``step`` (vector), including actions checks, observations, infos and autoresets.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import clinsim
from clinsim.core.integrate import CARRY_DERIVATIVE_VALID
from clinsim.immunosim import adaptive, cart, checkpoint
from clinsim.immunosim import cart_models as cm
from clinsim.immunosim import models as mdl
from clinsim.sepsisim import environments as sepsis

PAPER_IDS = [i for i in clinsim.ENV_IDS if not i.endswith(("Easy-v1", "Medium-v1", "Hard-v1"))]


# one decision step's integration as each fixed-step environment does it: (model, duration, steps)
FIXED_STEP = {
    "CheckpointInhibitor": (mdl.CheckpointModel, checkpoint.DAYS_PER_STEP, checkpoint.STEPS_PER_WEEK),
    "AdaptiveDosing": (adaptive.AdaptiveDosingTask.integration.model, adaptive.DAYS_PER_STEP,
                       adaptive.AdaptiveDosingTask.integration.n_steps),
    "FluidResuscitation": (sepsis.FluidResuscitationTask.integration.model, sepsis.HOURS_PER_STEP,
                           sepsis.FluidResuscitationTask.integration.n_steps),
}
FIXED_STEP["CombinationTherapy"] = FIXED_STEP["CheckpointInhibitor"]
FIXED_STEP["VasopressorTitration"] = FIXED_STEP["SepsisManagement"] = FIXED_STEP["FluidResuscitation"]


def per_call(fn, seconds: float = 1.0) -> float:
    """Seconds per call of ``fn`` (best of three windows)."""
    fn()
    best = np.inf
    for _ in range(3):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 3:
            fn()
            n += 1
        best = min(best, (time.perf_counter() - start) / n)
    return best


def _vector_env(env_id: str, n: int):
    """A vector env a few steps into its episodes."""
    venv = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    venv.reset(seed=0)
    venv.action_space.seed(0)
    for _ in range(3):
        venv.step(venv.action_space.sample())
    return venv


def integration_time(env_id: str, n: int) -> float:
    """Seconds for the integration part of one step of ``n`` patients (inputs held at zero), on the path the
    environment takes: one patient at a time for a single env, SIMD blocks for a vector env (CARTCell:
    its four adaptive 6-hour intervals per day, with the patients' carried step sizes)."""
    name = env_id.split("/")[1].rsplit("-v", 1)[0]
    state = _vector_env(env_id, n).unwrapped.state
    y, p = np.ascontiguousarray(state["y"]), np.ascontiguousarray(state["params"])  # record fields: strided views
    if name == "CARTCell":
        u, carry = np.zeros((n, len(cm.CARTModel.input_names))), state["integrator_carry"]

        def day() -> None:
            yy, cc = y.copy(), carry.copy()
            cc[:, CARRY_DERIVATIVE_VALID] = 0.0  # as at the start of the env's day
            for _ in range(cart.CRS_CHECKS_PER_DAY):
                cm.CARTModel.advance(yy, u, p, cart.DAYS_PER_STEP / cart.CRS_CHECKS_PER_DAY, cc)

        return per_call(day) - per_call(lambda: (y.copy(), carry.copy()))
    model, duration, n_steps = FIXED_STEP[name]
    u = np.zeros((n, len(model.input_names)))
    if n == 1:
        return per_call(lambda: model.integrate_patient(y[0].copy(), u[0], p[0], duration, n_steps)) - per_call(
            y[0].copy)
    return per_call(lambda: model.integrate(y.copy(), u, p, duration, n_steps)) - per_call(y.copy)


def transition_time(env_id: str, n: int) -> float:
    venv = _vector_env(env_id, n)
    task, state = venv.unwrapped.task, venv.unwrapped.state
    ended = np.flatnonzero(state["terminated"])  # a task refuses to step an ended episode: new patients there
    state.put(ended, task.sample_patients([np.random.default_rng(int(i)) for i in ended]))
    actions = task.check_actions(venv.action_space.sample(), n)
    return per_call(lambda: task.step(state, actions))


def env_step_time(env_id: str, n: int | None) -> float:
    """Seconds per ``step()`` of a ``gym.make`` env (``n`` None) or of an ``n``-patient vector env."""
    env = gym.make(env_id) if n is None else gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(64)]
    i = 0

    def step():
        nonlocal i
        _, _, term, trunc, _ = env.step(actions[i % 64])
        i += 1
        if n is None and (term or trunc):  # the vector env resets itself
            env.reset()

    return per_call(step, 2.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", action="append", choices=PAPER_IDS)
    args = parser.parse_args()
    n = 4096
    print("| environment | single: integrate | transition | env step (us) | vector 4096: integrate | transition | "
          "env step (us per patient-step) |")
    print("|---|---|---|---|---|---|---|")
    for env_id in args.env or PAPER_IDS:
        us = 1e6
        print(f"| {env_id} | {integration_time(env_id, 1) * us:.1f} | {transition_time(env_id, 1) * us:.1f} | "
              f"{env_step_time(env_id, None) * us:.1f} | {integration_time(env_id, n) * us / n:.2f} | "
              f"{transition_time(env_id, n) * us / n:.2f} | {env_step_time(env_id, n) * us / n:.2f} |", flush=True)


if __name__ == "__main__":
    main()
