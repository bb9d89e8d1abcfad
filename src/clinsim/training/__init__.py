"""Training and evaluation pipeline: agents (Stable-Baselines3), planner, run directories, statistics."""
