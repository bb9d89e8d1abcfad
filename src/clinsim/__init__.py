"""clinsim: Gymnasium environments for clinical treatment decisions on literature ODE physiology.

``import clinsim`` registers every environment under the papers' IDs (``immunosim/...``, ``sepsisim/...``).
Each disease is one package exposing ``SPECS`` (its :class:`clinsim.core.registration.EnvSpec` entries:
environment classes, clinical protocol, training hyperparameters, evaluation episodes, tags) and
``PARAMETER_MODULES`` (modules holding its literature ``ParameterSet`` tables), and optionally
``CALIBRATIONS`` (its virtual-population calibrations, see :mod:`clinsim.core.calibration`). Adding a disease is adding
its folder and its name to ``DISEASES``; a disease outside the package (a module path) is added with the
environment variable ``CLINSIM_EXTRA_DISEASES`` (comma-separated, read at import).
"""

import importlib
import os

from clinsim.core.registration import PAPER, TIER, EnvSpec

__version__ = "0.1.0"

DISEASES: tuple[str, ...] = ("immunosim", "sepsisim")
_EXTRA = tuple(name.strip() for name in os.environ.get("CLINSIM_EXTRA_DISEASES", "").split(",") if name.strip())
DISEASE_PACKAGES = tuple(importlib.import_module(f"clinsim.{name}") for name in DISEASES) + tuple(
    importlib.import_module(name) for name in _EXTRA)

SPECS: dict[str, EnvSpec] = {spec.id: spec for pkg in DISEASE_PACKAGES for spec in pkg.SPECS}
for _spec in SPECS.values():
    _spec.register()
ENV_IDS: tuple[str, ...] = tuple(SPECS)
# the papers' environments (benchmarked by default, reproduced) and the families (one ID per task)
PAPER_IDS: tuple[str, ...] = tuple(k for k, s in SPECS.items() if PAPER in s.tags)
FAMILY_IDS: tuple[str, ...] = tuple(k for k, s in SPECS.items() if TIER not in s.tags)
# where the literature parameter tables live (``clinsim params``)
PARAMETER_MODULES = tuple(module for pkg in DISEASE_PACKAGES for module in pkg.PARAMETER_MODULES)
# virtual-population calibrations (``clinsim calibrate NAME``): name -> "module:function", imported when run
CALIBRATIONS: dict[str, str] = {k: v for pkg in DISEASE_PACKAGES for k, v in getattr(pkg, "CALIBRATIONS", {}).items()}


def spec(env_id: str) -> EnvSpec:
    """The registry entry of ``env_id`` (a clear error naming the registered IDs otherwise)."""
    try:
        return SPECS[env_id]
    except KeyError:
        raise KeyError(f"unknown environment {env_id!r}; registered: {', '.join(ENV_IDS)}") from None


__all__ = ["CALIBRATIONS", "DISEASES", "DISEASE_PACKAGES", "ENV_IDS", "FAMILY_IDS", "PAPER_IDS", "PARAMETER_MODULES",
           "SPECS", "EnvSpec", "__version__", "spec"]
