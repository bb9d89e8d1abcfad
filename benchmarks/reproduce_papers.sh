#!/usr/bin/env bash
# The papers' protocol as run for results/reproduction (see docs/results.md): PPO with the Table 2
# hyperparameters and timesteps, training seeds 42.., evaluation on patient seeds 0..N-1 (N = 100 ImmunoSim,
# 50 SepsiSim), next to random, no treatment, the clinical protocol and the rollout planner.
# Resumable: rerunning continues from the last checkpoint of every unfinished run.
set -euo pipefail
cd "$(dirname "$0")/.."
IMMUNO=(--env immunosim/CheckpointInhibitor-v1 --env immunosim/CombinationTherapy-v1
        --env immunosim/CARTCell-v1 --env immunosim/AdaptiveDosing-v1)
SEPSIS=(--env sepsisim/FluidResuscitation-v1 --env sepsisim/VasopressorTitration-v1
        --env sepsisim/SepsisManagement-v1)
# two processes, one per core (torch uses one thread per process)
# PPO collects from the native vector env, 16 patients per batch, the papers' rollout kept (docs/benchmark.md)
clinsim reproduce "${IMMUNO[@]}" --seeds "${IMMUNO_SEEDS:-5}" --n-envs 16 --root results/reproduction/immunosim &
clinsim reproduce "${SEPSIS[@]}" --seeds "${SEPSIS_SEEDS:-5}" --n-envs 16 --root results/reproduction/sepsisim &
wait
