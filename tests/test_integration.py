"""The compiled integrators agree with scipy's adaptive solver at tight tolerance.

Hand-picked states plus the hardest intervals every environment actually produces
(``tests/data/integration_states.npz``, made by ``tests/data/make_integration_states.py``).
"""

from pathlib import Path

import numpy as np
import pytest

import clinsim
from clinsim.core.integrate import CARRY_STEP, carry_size, solve_reference
from clinsim.immunosim import adaptive, cart, checkpoint
from clinsim.immunosim import adaptive_models as am
from clinsim.immunosim import cart_models as cm
from clinsim.immunosim import models as mdl
from clinsim.sepsisim import environments as sepsis
from clinsim.sepsisim import models as sm

RTOL = 1e-6  # the accuracy rule: relative error per decision step (floor below which errors are absolute)
# model -> (integrate(y, u, p, duration) as the environment calls it, relative-error floor, states checked)
MODELS = {
    "checkpoint": (lambda y, u, p, d: mdl.CheckpointModel.integrate(y, u, p, d, checkpoint.STEPS_PER_WEEK),
                   mdl.CheckpointModel, 1e-6, slice(None)),
    "adaptive": (lambda y, u, p, d: am.AdaptiveDosingModel.integrate(y, u, p, d, adaptive.STEPS_PER_VISIT),
                 am.AdaptiveDosingModel, 1e-6, slice(None)),
    "cart": (cm.CARTModel.advance, cm.CARTModel, cart.ELIMINATED_TUMOUR_CELLS, slice(None)),
    "sepsis": (lambda y, u, p, d: sm.SepsisModel.integrate(y, u, p, d, sepsis.STEPS_PER_HOUR * d),
               sm.SepsisModel, 1e-3, slice(None)),
}
STATES = np.load(Path(__file__).parent / "data" / "integration_states.npz")


@pytest.mark.parametrize("name", MODELS)
def test_integrator_matches_scipy_on_the_hardest_recorded_intervals(name: str) -> None:
    integrate, model, floor, keys = MODELS[name]
    y0, u, p, duration = (STATES[f"{name}_{k}"] for k in ("y", "u", "p", "duration"))
    y = y0.copy()
    integrate(y, u, p, float(duration[0]))
    worst = 0.0
    for i in range(len(y0)):
        ref = solve_reference(model.kernel, y0[i], u[i], p[i], (0.0, float(duration[i])), rtol=1e-12, atol=1e-12)
        assert ref.success
        ref_y = ref.y[:, -1]
        rel = np.abs(y[i, keys] - ref_y[keys]) / np.maximum(np.abs(ref_y[keys]), floor)
        worst = max(worst, rel.max())
    assert worst <= RTOL / 3, (name, worst)  # a margin below the rule


@pytest.mark.parametrize("first_step_day", [1e-9, 0.25])
def test_cart_integrator_with_a_carried_step_matches_scipy(first_step_day: float) -> None:
    """CARTCell carries each patient's step size from interval to interval: whatever step it brings (far
    too small, or the whole interval), the error control keeps the interval within the rule."""
    y0, u, p, duration = (STATES[f"cart_{k}"] for k in ("y", "u", "p", "duration"))
    y = y0.copy()
    carry = np.zeros((len(y0), carry_size(y0.shape[1])))
    carry[:, CARRY_STEP] = first_step_day
    cm.CARTModel.advance(y, u, p, float(duration[0]), carry)
    assert np.all(carry[:, CARRY_STEP] > 0.0)
    worst = 0.0
    for i in range(len(y0)):
        ref = solve_reference(cm.CARTModel.kernel, y0[i], u[i], p[i], (0.0, float(duration[i])), rtol=1e-12,
                              atol=1e-12).y[:, -1]
        worst = max(worst, (np.abs(y[i] - ref) / np.maximum(np.abs(ref), cart.ELIMINATED_TUMOUR_CELLS)).max())
    assert worst <= RTOL / 3, worst


@pytest.mark.parametrize("tier", sepsis.TIERS)
def test_sepsis_presentation_matches_scipy(tier: str) -> None:
    """New patients' untreated course before the first decision, from the shortest to the longest presentation."""
    task = sepsis.SepsisManagementTask(tier=tier)
    params = task.sample_patients([np.random.default_rng(seed) for seed in range(4)])["params"]
    u = np.zeros(len(sm.SepsisModel.input_names))
    worst = 0.0
    population = sepsis.cohort(tier)
    for p in params:
        for load in (population.column("pathogen").min(), population.column("pathogen").max()):
            y0 = sm.SepsisModel.initial_state(load, 0.125, p[sm.LAC_PROD] / p[sm.LAC_CL])
            for hours in (population.column("presentation_h").min(), sepsis.MAX_PRESENTATION_H):
                y = y0.copy()
                sm.SepsisModel.integrate_patient(y, u, p, hours, sepsis.PRESENTATION_STEPS)
                ref = solve_reference(sm.SepsisModel.kernel, y0, u, p, (0.0, hours), rtol=1e-12, atol=1e-12).y[:, -1]
                # floor 1e-3: a cleared pathogen (~1e-7 after 36 h at the lowest load) has only round-off left
                worst = max(worst, (np.abs(y - ref) / np.maximum(np.abs(ref), 1e-3)).max())
    assert worst <= 1e-8, worst


def test_checkpoint_integrator_over_a_whole_course() -> None:
    """26 weekly steps with boluses every 2 weeks: errors do not accumulate beyond tolerance."""
    model = mdl.CheckpointModel()
    y = np.array([[3e5, 2e8, 0.0, 0.0, 0.0, 0.0]])
    ref = y[0].copy()
    u = np.zeros((1, 1))
    for week in range(26):
        if week % 2 == 0:
            y[0, mdl.NIVO_CENTRAL_MG] += 225.0
            ref[mdl.NIVO_CENTRAL_MG] += 225.0
        mdl.CheckpointModel.integrate(y, u, model.params[None], checkpoint.DAYS_PER_STEP, checkpoint.STEPS_PER_WEEK)
        ref = model.simulate(ref, (0.0, checkpoint.DAYS_PER_STEP), u[0], rtol=1e-12, atol=1e-9).y[:, -1]
    checked = [mdl.E_CELLS, mdl.T_CELLS, mdl.NIVO_CENTRAL_MG, mdl.NIVO_PERIPH_MG, mdl.MEMORY_CELLS]
    rel = np.abs(y[0] - ref)[checked] / np.abs(ref[checked])  # ipilimumab stays exactly 0 here
    assert rel.max() <= RTOL, rel


def test_batches_are_bit_identical_serial_and_parallel() -> None:
    """Each patient's arithmetic depends only on its own state: any batch split gives the same bits."""
    y0, u, p = (STATES[f"cart_{k}"] for k in ("y", "u", "p"))
    big = np.tile(y0, (3, 1))  # >= 64 patients: the parallel path
    cm.CARTModel.advance(big, np.tile(u, (3, 1)), np.tile(p, (3, 1)), 0.25)
    for i in range(4):
        one = y0[i:i + 1].copy()
        cm.CARTModel.advance(one, u[i:i + 1], p[i:i + 1], 0.25)
        np.testing.assert_array_equal(one[0], big[i])


@pytest.mark.parametrize("name", ["checkpoint", "adaptive", "sepsis"])
def test_simd_block_integration_equals_patient_by_patient(name: str) -> None:
    """Large batches integrate in blocks of patients (SIMD lanes): the same bits as one patient at a time."""
    _, model, _, _ = MODELS[name]
    y0, u, p, duration = (STATES[f"{name}_{k}"] for k in ("y", "u", "p", "duration"))
    reps = 3  # 96 patients: one full block of 64 and a partial one
    y0, u, p = (np.tile(a, (reps, 1)) for a in (y0, u, p))
    blocks = y0.copy()
    model.integrate(blocks, u, p, float(duration[0]), 5)
    for i in range(len(y0)):
        one = y0[i].copy()
        model.integrate_patient(one, u[i], p[i], float(duration[0]), 5)
        np.testing.assert_array_equal(one, blocks[i])
    durations = float(duration[0]) * np.linspace(0.8, 1.2, len(y0))  # one per patient
    blocks = y0.copy()
    model.integrate(blocks, u, p, durations, 5)
    for i in range(len(y0)):
        one = y0[i].copy()
        model.integrate_patient(one, u[i], p[i], durations[i], 5)
        np.testing.assert_array_equal(one, blocks[i])


@pytest.mark.parametrize("env_id", [e for e in clinsim.FAMILY_IDS
                                    if clinsim.spec(e).env.task_class.integration is not None])
def test_every_fixed_step_task_matches_scipy_on_its_own_intervals(env_id: str) -> None:
    """Every registered task with a fixed-step integration (the test disease included), on the intervals
    its own steps integrate under random actions: relative error per step <= RTOL (floor 1e-3 state units)."""
    task = clinsim.spec(env_id).env.task_class()
    fixed = task.integration
    state = task.sample_patients([np.random.default_rng(s) for s in range(4)])
    worst = 0.0
    for _ in range(min(task.horizon, 12)):
        actions = np.stack([task.action_space.sample() for _ in range(4)])
        y0, u, p, duration = task.integration_intervals(state, task.check_actions(actions, 4))
        y = y0.copy()
        fixed.model.integrate(y, u, p, duration, fixed.n_steps)
        for i in range(len(y0)):
            ref = solve_reference(fixed.model.kernel, y0[i], u[i], p[i], (0.0, float(duration[i])), rtol=1e-12,
                                  atol=1e-12)
            worst = max(worst, (np.abs(y[i] - ref.y[:, -1]) / np.maximum(np.abs(ref.y[:, -1]), 1e-3)).max())
        state, _, terminated = task.step(state, task.check_actions(actions, 4))
        if terminated.any():
            break
    assert worst <= RTOL, (env_id, worst)
