"""SepsiSim: sepsis resuscitation decision environments (hourly, 72 h).

A disease package exposes ``registrations()``, ``HEURISTICS`` and ``PARAMETER_MODULES`` (see clinsim/__init__.py).
"""

from clinsim.sepsisim import models
from clinsim.sepsisim.environments import (
    TIERS,
    FluidResuscitationEnv,
    FluidResuscitationVectorEnv,
    SepsisManagementEnv,
    SepsisManagementVectorEnv,
    VasopressorTitrationEnv,
    VasopressorTitrationVectorEnv,
)
from clinsim.sepsisim.heuristics import HEURISTICS

ENVIRONMENTS = (
    (FluidResuscitationEnv, FluidResuscitationVectorEnv),
    (VasopressorTitrationEnv, VasopressorTitrationVectorEnv),
    (SepsisManagementEnv, SepsisManagementVectorEnv),
)


def registrations() -> list[tuple[type, type, dict]]:
    """(env, vector env, register kwargs): the default ID (medium tier) and one ID per tier."""
    out = []
    for env, vec in ENVIRONMENTS:
        base = env.task_class.env_id
        out.append((env, vec, {}))
        for tier in TIERS:
            out.append((env, vec, {"id": base.replace("-v0", f"{tier.capitalize()}-v0"), "kwargs": {"tier": tier}}))
    return out


TIER_IDS = {kw.get("id", env.task_class.env_id): kw.get("kwargs", {}).get("tier", "medium")
            for env, _vec, kw in registrations()}


PARAMETER_MODULES = (models,)

__all__ = ["ENVIRONMENTS", "HEURISTICS", "PARAMETER_MODULES", "TIER_IDS", "TIERS", "registrations"]
