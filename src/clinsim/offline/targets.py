"""Target policies of off-policy evaluation: the protocol and a clinical variant of it, clinicians, the rollout
planner, the trained PPO agent of the reproduction, and random actions.

Every paper environment gets the same set of names (docs/offline.md):

- ``protocol``: the environment's clinical protocol, deterministic;
- ``protocol-variant``: a published alternative to it (one per environment, :data:`VARIANTS`, cited there);
- ``clinician``, ``mixed``, ``random``: the behaviour policies of the standard datasets
  (:mod:`clinsim.offline.datasets`), so every dataset has one on-policy target;
- ``adherent clinician``: a clinician closer to the protocol (adherence 0.95, half the spread);
- ``ppo``: the reproduction's PPO agent, training seed 42, final model (shipped in ``offline/agents/``, read with
  the tensor-only loader of :func:`clinsim.training.train.trained_policy`); in the clinical observation mode, PPO
  trained the same way on clinical observations (``ppo_seed42_clinical``);
- ``planner``: the rollout planner (:mod:`clinsim.training.planner`); it reads the patient's true state, so it
  has a true value but no action probabilities given an observation, and no estimator applies to it.

The protocols and the variants decode observations by name through the table of their mode
(:func:`clinsim.core.measurement.table_for`), so ``target_policies(env_id, observation="clinical")`` acts on
clinical-observation datasets (docs/observations.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

import clinsim
from clinsim.core.evaluation import Policy
from clinsim.core.measurement import table_for
from clinsim.core.state import State
from clinsim.offline.policies import ClinicianPolicy, DeterministicPolicy, StochasticPolicy

AGENTS_DIR = Path(__file__).parent / "agents"
ADHERENT = 0.95  # the "adherent clinician" target: adherence and the fraction of the behaviour's spread
ADHERENT_SPREAD_FRACTION = 0.5
TARGET_NAMES = ("protocol", "protocol-variant", "adherent clinician", "clinician", "mixed", "random", "ppo",
                "planner")
ESTIMABLE = TARGET_NAMES[:-1]  # the planner reads the true state: no action probabilities given an observation
MAP_TARGET_RAISE_MMHG = 15.0  # SEPSISPAM high target 80-85 mmHg vs 65-70 (Asfar et al. 2014, NEJM 370:1583)


def _checkpoint_low_dose(obs: np.ndarray) -> np.ndarray:
    from clinsim.immunosim.heuristics import nivolumab_q2w

    return np.minimum(nivolumab_q2w(obs), 1)  # level 1 = 1 mg/kg


def _checkmate511(obs: np.ndarray) -> np.ndarray:
    from clinsim.immunosim.heuristics import checkmate067

    action = checkmate067(obs)
    induction = action[:, 1] == 2  # ipilimumab 3 mg/kg visits of CheckMate-067
    return np.where(induction[:, None], np.array([[2, 1]]), action)  # nivolumab 3 + ipilimumab 1 mg/kg


def _cart_low_dose(obs: np.ndarray) -> np.ndarray:
    from clinsim.immunosim.heuristics import zuma1

    return np.minimum(zuma1(obs), 1)  # level 1 = the low dose


def _recist_stop(obs: np.ndarray) -> np.ndarray:
    from clinsim.immunosim import adaptive

    table = table_for(adaptive.AdaptiveDosingTask, obs)
    category = np.rint(table.decode(obs, "irecist")).astype(np.int64)
    stop = (category == adaptive.IUPD) | (category == adaptive.ICPD)
    return np.where(stop, adaptive.HOLIDAY, adaptive.CONTINUE)


def _restrictive_fluids(obs: np.ndarray) -> np.ndarray:
    from clinsim.sepsisim.heuristics import ssc_fluid_resuscitation

    return ssc_fluid_resuscitation(obs) * np.float32(0.5)


def _map_shifted(obs: np.ndarray, table) -> np.ndarray:
    """The observations with MAP read ``MAP_TARGET_RAISE_MMHG`` lower (MAP is observed linearly: mmHg / scale, in
    both observation modes), so a protocol titrating to 65 mmHg titrates to 80."""
    i = table.index("map")
    shifted = np.array(obs, dtype=np.float32, copy=True)
    shifted[:, i] -= MAP_TARGET_RAISE_MMHG / table.rows[i].scale
    return shifted


def _high_map_titration(obs: np.ndarray) -> np.ndarray:
    from clinsim.sepsisim.environments import VasopressorTitrationTask
    from clinsim.sepsisim.heuristics import ssc_vasopressor_titration

    return ssc_vasopressor_titration(_map_shifted(obs, table_for(VasopressorTitrationTask, obs)))


def _high_map_management(obs: np.ndarray) -> np.ndarray:
    from clinsim.sepsisim.environments import SepsisManagementTask
    from clinsim.sepsisim.heuristics import ssc_sepsis_management

    action = ssc_sepsis_management(obs)
    action[:, 1] = ssc_sepsis_management(_map_shifted(obs, table_for(SepsisManagementTask, obs)))[:, 1]
    return action


# env ID -> (the variant, what it is): one published alternative to each protocol
VARIANTS: dict[str, tuple[Policy, str]] = {
    "immunosim/CheckpointInhibitor-v1": (
        _checkpoint_low_dose, "nivolumab 1 mg/kg q2w instead of 3 mg/kg (the dose-ranging phase 1, Topalian et al. "
                              "2012 NEJM 366:2443, gave 1, 3 and 10 mg/kg q2w)"),
    "immunosim/CombinationTherapy-v1": (
        _checkmate511, "CheckMate 511 induction: nivolumab 3 mg/kg + ipilimumab 1 mg/kg q3w x4 instead of "
                       "nivolumab 1 + ipilimumab 3 (Lebbe et al. 2019 JCO 37:867), then the same maintenance"),
    "immunosim/CARTCell-v1": (
        _cart_low_dose, "one low-dose infusion on day 0 instead of the standard dose (dose de-escalation)"),
    "immunosim/AdaptiveDosing-v1": (
        _recist_stop, "treatment holiday at the first progression read (RECIST 1.1 / iUPD) instead of waiting for "
                      "confirmation (iCPD) as iRECIST advises (Seymour et al. 2017 Lancet Oncol 18:e143)"),
    "sepsisim/FluidResuscitation-v1": (
        _restrictive_fluids, "half the bolus rate (375 mL/h): a restrictive-fluid strategy in the spirit of CLOVERS "
                             "(NHLBI PETAL 2023 NEJM 388:499); SIMPLIFICATION: CLOVERS used vasopressors first, "
                             "which this task does not control"),
    "sepsisim/VasopressorTitration-v1": (
        _high_map_titration, "norepinephrine titrated to MAP 80-90 mmHg instead of 65-75 (SEPSISPAM high target "
                             "80-85, Asfar et al. 2014 NEJM 370:1583)"),
    "sepsisim/SepsisManagement-v1": (
        _high_map_management, "the SSC protocol with norepinephrine titrated to MAP 80-90 mmHg (SEPSISPAM high "
                              "target, Asfar et al. 2014 NEJM 370:1583); fluids and antibiotics unchanged"),
}


@dataclass(frozen=True)
class Target:
    """A target policy: ``policy`` acts on a batch of observations (``uses_state``: also the true state), and
    ``probabilities`` gives its action probabilities for estimators (None for the planner)."""

    policy: Callable
    description: str
    probabilities: StochasticPolicy | None

    @property
    def uses_state(self) -> bool:
        return bool(getattr(self.policy, "uses_state", False))


def _project(record: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The fields of ``dtype`` of a record array that holds them (and maybe more)."""
    if record.dtype == dtype:
        return record
    out = np.zeros(len(record), dtype)
    for name in dtype.names:
        out[name] = record[name]
    return out


class StatePlanner:
    """The state-mode rollout planner acting in any observation mode: it reads the true state only, so from the
    state of another mode (the clinical mode adds its measurement records) it keeps the model's fields and plans
    exactly as in the state mode (the same actions for the same patient)."""

    uses_state = True

    def __init__(self, env_id: str) -> None:
        from clinsim.training.planner import RolloutPlanner

        self.task = gym.make(env_id).unwrapped.task
        self.planner = RolloutPlanner(self.task, clinsim.spec(env_id).protocol)

    def __call__(self, obs: np.ndarray, state: State) -> np.ndarray:
        task = self.task
        model = State(_project(state.patient, task.patient_dtype), _project(state.clinical, task.clinical_dtype),
                      state.label)
        return self.planner(task.observe(model), model)


def agent_dir(env_id: str, observation: str = "state") -> Path:
    """The shipped run directory of the PPO agent (seed 42) for ``env_id`` trained on ``observation``s: the
    reproduction's (``ppo_seed42``) or one trained on the clinical observation mode (``ppo_seed42_clinical``)."""
    return AGENTS_DIR / env_id.replace("/", "__") / ("ppo_seed42" if observation == "state" else
                                                     f"ppo_seed42_{observation}")


def target_policies(env_id: str, seed: int = 0, observation: str = "state") -> dict[str, Target]:
    """Every target policy of ``env_id`` (a paper environment), seeded: the same seed gives the same draws;
    ``observation``: the mode the policies act on (``"clinical"``: the protocols and their variants decode the
    clinical observations, the PPO agent is the one trained on them; the planner reads the true state either way)."""
    from clinsim.offline.datasets import behaviour_policy, env_kwargs
    from clinsim.offline.policies import UniformPolicy
    from clinsim.training.train import trained_policy

    if env_id not in VARIANTS:
        raise KeyError(f"no target policies for {env_id!r}; valid: {', '.join(VARIANTS)}")
    from clinsim.offline.datasets import ADHERENCE, SPREAD

    space = gym.make(env_id, **env_kwargs(observation)).action_space
    protocol = clinsim.spec(env_id).protocol
    variant, variant_text = VARIANTS[env_id]
    ppo = trained_policy(agent_dir(env_id, observation), env_id, observation=observation)
    ppo_text = ("the reproduction's PPO agent (training seed 42, final model)" if observation == "state" else
                f"PPO trained on {observation} observations (training seed 42, the papers' budget, final model)")
    out = {
        "protocol": Target(protocol, "the clinical protocol (deterministic)", DeterministicPolicy(protocol, space)),
        "protocol-variant": Target(variant, variant_text, DeterministicPolicy(variant, space)),
        "adherent clinician": Target(
            adherent := ClinicianPolicy(protocol, space, ADHERENT, SPREAD * ADHERENT_SPREAD_FRACTION, seed + 11),
            f"the protocol with adherence {ADHERENT} and spread {SPREAD * ADHERENT_SPREAD_FRACTION:g}", adherent),
        "clinician": Target(b := behaviour_policy(env_id, "clinician", seed + 12),
                            f"the clinician behaviour (adherence {ADHERENCE}, spread {SPREAD:g})", b),
        "mixed": Target(b := behaviour_policy(env_id, "mixed", seed + 13), "the mixed behaviour", b),
        "random": Target(u := UniformPolicy(space, seed + 14), "uniformly random actions", u),
        "ppo": Target(ppo, ppo_text, DeterministicPolicy(ppo, space)),
        "planner": Target(StatePlanner(env_id), "the rollout planner (oracle: reads the true state)", None),
    }
    return out
