"""A test disease: insulin dosing on the Bergman minimal model, one folder and nothing else.

It proves that adding a disease needs no edit outside its folder: with ``CLINSIM_EXTRA_DISEASES=tests.glucose``
(set by ``tests/conftest.py``) it registers, passes every registry-wide test and runs through ``clinsim
evaluate``, ``train`` and ``benchmark``. Its insulin-action state is a deviation variable (it goes negative),
so its declared state bounds differ from the shipped models'.
"""

from clinsim.core.registration import EnvSpec
from tests.glucose import model
from tests.glucose.task import InsulinDosingEnv, InsulinDosingVectorEnv, protocol

SPECS = (
    EnvSpec(InsulinDosingEnv, InsulinDosingVectorEnv, protocol,
            dict(total_timesteps=1024, learning_rate=3e-4, n_steps=256, batch_size=64, gamma=0.99), episodes=8),
)
PARAMETER_MODULES = (model,)
