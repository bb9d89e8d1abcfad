"""Offline clinical RL: logged datasets (Minari) under behaviour policies with known action probabilities, the
true values of target policies, and off-policy evaluation against them (docs/offline.md)."""
