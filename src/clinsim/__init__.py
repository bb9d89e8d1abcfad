"""clinsim: Gymnasium environments for clinical treatment decisions on literature ODE physiology.

``import clinsim`` registers every environment under the papers' IDs (``immunosim/...``, ``sepsisim/...``).
Each disease is one package ``clinsim.<disease>`` exposing ``registrations()`` (env class, native vector
env class, registration keywords), ``HEURISTICS`` (env ID -> clinical-protocol policy) and
``PARAMETER_MODULES`` (modules holding its literature ``ParameterSet`` tables); adding a disease is adding
its folder and its name to ``DISEASES``.
"""

import importlib

from clinsim.core.registration import register_task_env

__version__ = "0.1.0"

DISEASES: tuple[str, ...] = ("immunosim", "sepsisim")
DISEASE_PACKAGES = tuple(importlib.import_module(f"clinsim.{name}") for name in DISEASES)

ENV_IDS: tuple[str, ...] = tuple(
    register_task_env(env, vec, **kwargs) for pkg in DISEASE_PACKAGES for env, vec, kwargs in pkg.registrations()
)
# where the literature parameter tables live (``clinsim params``)
PARAMETER_MODULES = tuple(module for pkg in DISEASE_PACKAGES for module in pkg.PARAMETER_MODULES)

__all__ = ["DISEASES", "DISEASE_PACKAGES", "ENV_IDS", "PARAMETER_MODULES", "__version__"]
