"""ImmunoSim: cancer immunotherapy decision environments."""

from clinsim.immunosim.adaptive import AdaptiveDosingEnv, AdaptiveDosingVectorEnv
from clinsim.immunosim.cart import CARTCellEnv, CARTCellVectorEnv
from clinsim.immunosim.checkpoint import (
    CheckpointInhibitorEnv,
    CheckpointInhibitorVectorEnv,
    CombinationTherapyEnv,
    CombinationTherapyVectorEnv,
)

ENVIRONMENTS = (
    (CheckpointInhibitorEnv, CheckpointInhibitorVectorEnv),
    (CombinationTherapyEnv, CombinationTherapyVectorEnv),
    (CARTCellEnv, CARTCellVectorEnv),
    (AdaptiveDosingEnv, AdaptiveDosingVectorEnv),
)
