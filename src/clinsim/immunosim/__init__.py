"""ImmunoSim: cancer immunotherapy decision environments."""

from clinsim.immunosim.checkpoint import (
    CheckpointInhibitorEnv,
    CheckpointInhibitorVectorEnv,
    CombinationTherapyEnv,
    CombinationTherapyVectorEnv,
)

ENVIRONMENTS = (
    (CheckpointInhibitorEnv, CheckpointInhibitorVectorEnv),
    (CombinationTherapyEnv, CombinationTherapyVectorEnv),
)
