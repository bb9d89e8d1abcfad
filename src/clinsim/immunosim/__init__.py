"""ImmunoSim: cancer immunotherapy decision environments.

A disease package exposes ``registrations()``, ``HEURISTICS`` and ``PARAMETER_MODULES`` (see clinsim/__init__.py).
"""

from clinsim.immunosim import adaptive_models, cart_models, models
from clinsim.immunosim.adaptive import AdaptiveDosingEnv, AdaptiveDosingVectorEnv
from clinsim.immunosim.cart import CARTCellEnv, CARTCellVectorEnv
from clinsim.immunosim.checkpoint import (
    CheckpointInhibitorEnv,
    CheckpointInhibitorVectorEnv,
    CombinationTherapyEnv,
    CombinationTherapyVectorEnv,
)
from clinsim.immunosim.heuristics import HEURISTICS  # noqa: E402

ENVIRONMENTS = (
    (CheckpointInhibitorEnv, CheckpointInhibitorVectorEnv),
    (CombinationTherapyEnv, CombinationTherapyVectorEnv),
    (CARTCellEnv, CARTCellVectorEnv),
    (AdaptiveDosingEnv, AdaptiveDosingVectorEnv),
)


def registrations() -> list[tuple[type, type, dict]]:
    """(env, vector env, register kwargs) for every ImmunoSim ID."""
    return [(env, vec, {}) for env, vec in ENVIRONMENTS]


PARAMETER_MODULES = (models, cart_models, adaptive_models)

__all__ = ["ENVIRONMENTS", "HEURISTICS", "PARAMETER_MODULES", "registrations"]
