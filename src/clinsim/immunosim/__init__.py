"""ImmunoSim: cancer immunotherapy decision environments.

The disease's registry entries (``SPECS``) and parameter tables (``PARAMETER_MODULES``); see clinsim/__init__.py.
"""

from clinsim.core.registration import PAPER, EnvSpec
from clinsim.immunosim import adaptive_models, cart_models, heuristics, models
from clinsim.immunosim.adaptive import AdaptiveDosingEnv, AdaptiveDosingVectorEnv
from clinsim.immunosim.cart import CARTCellEnv, CARTCellVectorEnv
from clinsim.immunosim.checkpoint import (
    CheckpointInhibitorEnv,
    CheckpointInhibitorVectorEnv,
    CombinationTherapyEnv,
    CombinationTherapyVectorEnv,
)

EPISODES = 100  # the ImmunoSim paper's evaluation protocol: 100 patients
PAPER_TAGS = frozenset({PAPER})

# PPO: the ImmunoSim paper's Table 2 (steps, learning rate, n_steps, batch, gamma)
SPECS = (
    EnvSpec(CheckpointInhibitorEnv, CheckpointInhibitorVectorEnv, heuristics.nivolumab_q2w,
            dict(total_timesteps=200_000, learning_rate=3e-4, n_steps=2048, batch_size=64, gamma=0.99),
            EPISODES, PAPER_TAGS),
    EnvSpec(CombinationTherapyEnv, CombinationTherapyVectorEnv, heuristics.checkmate067,
            dict(total_timesteps=500_000, learning_rate=1e-4, n_steps=2048, batch_size=128, gamma=0.995),
            EPISODES, PAPER_TAGS),
    EnvSpec(CARTCellEnv, CARTCellVectorEnv, heuristics.zuma1,
            dict(total_timesteps=300_000, learning_rate=3e-4, n_steps=2048, batch_size=64, gamma=0.99),
            EPISODES, PAPER_TAGS),
    EnvSpec(AdaptiveDosingEnv, AdaptiveDosingVectorEnv, heuristics.irecist_guided,
            dict(total_timesteps=500_000, learning_rate=1e-4, n_steps=4096, batch_size=128, gamma=0.998),
            EPISODES, PAPER_TAGS),
)

PARAMETER_MODULES = (models, cart_models, adaptive_models)
# virtual-population calibrations (``clinsim calibrate NAME``; clinsim.core.calibration)
CALIBRATIONS = {"checkmate067": "clinsim.immunosim.calibration:calibrate_checkmate067",
                "adaptive_melanoma": "clinsim.immunosim.calibration:calibrate_adaptive",
                "zuma1": "clinsim.immunosim.cart_calibration:calibrate_zuma1"}

__all__ = ["CALIBRATIONS", "PARAMETER_MODULES", "SPECS"]
