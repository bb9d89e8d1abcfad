"""Safety costs and separate objectives: one convention for every environment.

Costs (a constrained MDP: maximise the return with the expected episode cost under a budget): every step's
``info["cost"]`` is the sum of the named components ``info["cost_<name>"]``, each a count of harmful events or
hours in that step (grade >= 3 irAE, CRS or ICANS grade >= 3, an hour with MAP < 65 mmHg, ...; each task's
docstring lists its own). Objectives (multi-objective RL): the scalar reward is split into
``info["reward_efficacy"]`` (disease control and survival), ``info["reward_safety"]`` (toxicity and treatment
harm penalties) and ``info["reward_burden"]`` (drug, cell or fluid costs), which sum to the reward.
:mod:`clinsim.wrappers` turns them into Safety-Gymnasium's and MO-Gymnasium's interfaces.
"""

from __future__ import annotations

from clinsim.core.state import Field
from clinsim.core.views import Info

OBJECTIVES = ("efficacy", "safety", "burden")


def declarations(costs: tuple[str, ...]) -> tuple[tuple[Field, ...], tuple[Info, ...]]:
    """The clinical fields a task's ``after`` sets (``cost``, ``cost_<name>``, ``reward_<objective>``) and their
    infos."""
    names = ("cost", *(f"cost_{c}" for c in costs), *(f"reward_{o}" for o in OBJECTIVES))
    return tuple(Field(n) for n in names), tuple(Info(n, n) for n in names)
