"""glucose/InsulinDosing-v0: hourly insulin decisions over 24 h on the Bergman minimal model (a test disease)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from gymnasium import spaces

from clinsim.core.env import TaskEnv, TaskVectorEnv
from clinsim.core.jit import jit
from clinsim.core.render import Panel
from clinsim.core.state import Field, State
from clinsim.core.task import FixedStep, Task
from clinsim.core.views import Info, Observation
from tests.glucose import model as bm

HORIZON_HOURS = 24
MINUTES_PER_STEP = 60.0
INSULIN_LEVELS_MU_PER_L = np.array([0.0, 20.0, 60.0])  # plasma insulin above basal over the hour
HYPOGLYCAEMIA_MG_PER_DL = 70.0
TARGET_HIGH_MG_PER_DL = 180.0
SEVERE_HYPOGLYCAEMIA_MG_PER_DL = 40.0  # terminates: a death-equivalent event for this test disease
DEATH_PENALTY = -(50.0 + HORIZON_HOURS)  # below any surviving course (hourly rewards are within [-1, 1])
OUTCOMES = ("in_progress", "survived", "severe_hypoglycaemia")


@jit
def _before(a, c, s, t):  # pragma: no cover - compiled
    t.inputs[bm.INSULIN] = INSULIN_LEVELS_MU_PER_L[a[0]]
    t.inputs[bm.MEAL] = c.meal_mg_per_dl_min[s.elapsed]
    t.insulin_mu_per_l = t.inputs[bm.INSULIN]
    return MINUTES_PER_STEP


@jit
def _after(a, c, s, t):  # pragma: no cover - compiled
    glucose = t.y[bm.G]
    severe = glucose < SEVERE_HYPOGLYCAEMIA_MG_PER_DL
    in_range = HYPOGLYCAEMIA_MG_PER_DL <= glucose <= TARGET_HIGH_MG_PER_DL
    t.hours_in_range = s.hours_in_range + in_range
    t.terminated = severe
    t.reward = DEATH_PENALTY if severe else (1.0 if in_range else -1.0 if glucose < HYPOGLYCAEMIA_MG_PER_DL else 0.0)
    t.outcome = 2 if severe else 1 if s.elapsed + 1 >= HORIZON_HOURS else 0


@jit
def _measure(c, t):  # pragma: no cover - compiled
    return (t.y[bm.G], t.insulin_mu_per_l, float(t.elapsed))


class InsulinDosingTask(Task):
    env_id: ClassVar[str] = "glucose/InsulinDosing-v0"
    horizon: ClassVar[int] = HORIZON_HOURS
    step_unit: ClassVar[str] = "hour"
    action_space = spaces.Discrete(3)
    render_panels: ClassVar[tuple[Panel, ...]] = (Panel("Glucose", ("glucose_mg_per_dl",), "mg/dL"),)
    parameter_set = bm.PARAMETERS
    patient_fields = (Field("meal_mg_per_dl_min", "f8", (HORIZON_HOURS,)),)
    clinical_fields = (Field("y", "f8", (2,)), Field("insulin_mu_per_l"), Field("hours_in_range", "i8"),
                       Field("outcome", "i8"))
    # the insulin action X is a deviation from basal: it may go negative
    integration = FixedStep(bm.BergmanModel, 4, nonnegative=False)
    state_low = (0.0, -np.inf)
    before, after, measure = staticmethod(_before), staticmethod(_after), staticmethod(_measure)
    measurements = ("glucose", "insulin", "time")
    observations = (Observation("glucose", "plasma glucose", "mg/dL", 400.0),
                    Observation("insulin", "insulin above basal", "mU/L", 60.0),
                    Observation("time", "time", "h", float(HORIZON_HOURS)))
    infos = (Info("glucose_mg_per_dl", "y", bm.G), Info("insulin_action_per_min", "y", bm.X),
             Info("hours_in_range", "hours_in_range"), Info("outcome", "outcome", names=OUTCOMES))

    def sample_patients(self, rngs) -> State:
        n, pset = len(rngs), bm.PARAMETERS
        z = np.zeros((n, len(pset)))
        meals = np.zeros((n, HORIZON_HOURS))
        ids = []
        for i, rng in enumerate(rngs):
            if self.patient != "reference":
                rng.standard_normal(out=z[i])
            ids.append(-1 if self.patient == "reference" else int(rng.integers(0, 2**31 - 1)))
            # three meals a day (hours 7, 12, 19), 0.2-0.6 mg/dL/min over the meal hour
            meals[i, [7, 12, 19]] = rng.uniform(0.2, 0.6, size=3)
        params = self.patient_parameters(np.tile(pset.defaults, (n, 1)) if self.patient == "reference"
                                         else pset.from_standard_normal(z))
        state = self.new_state(ids)
        state.patient["params"] = params
        state.patient["meal_mg_per_dl_min"] = meals
        state.clinical["y"][:, bm.G] = params[:, bm.GB] * 1.3  # waking hyperglycaemia
        return state


def protocol(obs: np.ndarray) -> np.ndarray:
    """Correction insulin: none at or below 180 mg/dL, the low level up to 250, the high level above."""
    glucose = InsulinDosingTask.observation_table.decode(obs, "glucose")
    return np.select([glucose > 250.0, glucose > TARGET_HIGH_MG_PER_DL], [2, 1], 0)


class InsulinDosingEnv(TaskEnv):
    __doc__ = """Hourly correction insulin on Bergman's minimal model (test disease).

    ## Observation Space
""" + InsulinDosingTask.observation_table.markdown()
    task_class = InsulinDosingTask


class InsulinDosingVectorEnv(TaskVectorEnv):
    """Native vector version of :class:`InsulinDosingEnv`."""

    task_class = InsulinDosingTask
