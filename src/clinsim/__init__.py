"""clinsim: Gymnasium environments for clinical treatment decisions on literature ODE physiology.

``import clinsim`` registers every environment under the papers' IDs (``immunosim/...``, ``sepsisim/...``).
"""

from clinsim.core.registration import register_task_env
from clinsim.immunosim import ENVIRONMENTS as _IMMUNOSIM
from clinsim.immunosim import adaptive_models as _adaptive_models
from clinsim.immunosim import cart_models as _cart_models
from clinsim.immunosim import models as _immunosim_models
from clinsim.sepsisim import models as _sepsisim_models
from clinsim.sepsisim import registrations as _sepsisim_registrations

__version__ = "0.1.0"

ENV_IDS: tuple[str, ...] = tuple(register_task_env(env, vec) for env, vec in _IMMUNOSIM) + tuple(
    register_task_env(env, vec, **kwargs) for env, vec, kwargs in _sepsisim_registrations()
)
# where the literature parameter tables live (``clinsim params``)
PARAMETER_MODULES = (_immunosim_models, _cart_models, _adaptive_models, _sepsisim_models)

__all__ = ["ENV_IDS", "PARAMETER_MODULES", "__version__"]
