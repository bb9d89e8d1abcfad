"""SepsiSim: sepsis resuscitation decision environments (hourly, 72 h), and an ICU ward of septic patients (7 days).

The disease's registry entries (``SPECS``: each task's medium-tier ID plus one ID per tier) and parameter
tables (``PARAMETER_MODULES``); see clinsim/__init__.py.
"""

from clinsim.core.registration import PAPER, TIER, EnvSpec
from clinsim.sepsisim import heuristics, models
from clinsim.sepsisim.environments import (
    TIERS,
    FluidResuscitationEnv,
    FluidResuscitationVectorEnv,
    SepsisManagementEnv,
    SepsisManagementVectorEnv,
    VasopressorTitrationEnv,
    VasopressorTitrationVectorEnv,
)
from clinsim.sepsisim.ward import WardEnv, WardVectorEnv

EPISODES = 50  # the SepsiSim paper's evaluation protocol: 50 patients

# (env, vector env, SSC 2021 protocol, PPO: the SepsiSim paper's Table 2, entropy coefficient included)
_FAMILIES = (
    (FluidResuscitationEnv, FluidResuscitationVectorEnv, heuristics.ssc_fluid_resuscitation,
     dict(total_timesteps=200_000, learning_rate=3e-4, n_steps=2048, batch_size=64, gamma=0.99, ent_coef=0.01)),
    (VasopressorTitrationEnv, VasopressorTitrationVectorEnv, heuristics.ssc_vasopressor_titration,
     dict(total_timesteps=300_000, learning_rate=1e-4, n_steps=2048, batch_size=64, gamma=0.99, ent_coef=0.005)),
    (SepsisManagementEnv, SepsisManagementVectorEnv, heuristics.ssc_sepsis_management,
     dict(total_timesteps=500_000, learning_rate=1e-4, n_steps=2048, batch_size=128, gamma=0.995, ent_coef=0.01)),
)


def _specs() -> tuple[EnvSpec, ...]:
    out = []
    for env, vec, protocol, ppo in _FAMILIES:
        base = env.task_class.env_id
        out.append(EnvSpec(env, vec, protocol, ppo, EPISODES, frozenset({PAPER})))
        out += [EnvSpec(env, vec, protocol, ppo, EPISODES, frozenset({TIER, tier}),
                        id=base.replace("-v1", f"{tier.capitalize()}-v1"), kwargs={"tier": tier}) for tier in TIERS]
    # the ward (issue 19): SepsisManagement's patients and PPO hyperparameters (no reproduction budget of its own)
    out.append(EnvSpec(WardEnv, WardVectorEnv, heuristics.ssc_ward_sickest_first, _FAMILIES[2][3], EPISODES))
    return tuple(out)


SPECS = _specs()
# ``clinsim calibrate sepsis``: the tiers' trial-calibrated virtual populations (cohorts/sepsis-<tier>)
CALIBRATIONS = {"sepsis": "clinsim.sepsisim.calibration:calibrate_sepsis"}
TIER_IDS = {spec.id: spec.kwargs.get("tier", "medium") for spec in SPECS if spec.env is not WardEnv}
PARAMETER_MODULES = (models,)

__all__ = ["CALIBRATIONS", "PARAMETER_MODULES", "SPECS", "TIER_IDS", "TIERS"]
