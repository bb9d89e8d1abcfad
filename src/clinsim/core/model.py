"""Base class for literature ODE models: ``derivatives()``, ``simulate()``, ``validate_parameters()``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from clinsim.core.integrate import BlockIntegrator, derivative, fixed_step, fixed_step_block, solve_reference
from clinsim.core.parameters import ParameterSet


class ODEModel:
    """A literature ODE model with a compiled per-patient kernel.

    Subclasses set ``parameters`` (the single source of truth), ``state_names``, ``input_names``
    and ``kernel`` (a compiled ``rhs(y, u, p, dy)``; wrap it in ``staticmethod``). Inputs are
    drug infusion rates or treatment flags held constant over an integration interval; they never
    change the parameter vector.
    """

    parameters: ClassVar[ParameterSet]
    state_names: ClassVar[tuple[str, ...]]
    input_names: ClassVar[tuple[str, ...]] = ()
    time_unit: ClassVar[str] = "day"
    kernel: ClassVar
    # compiled ``integrate_patient(y, u, p, duration, n_steps)`` for one patient (for compiled env steps)
    integrate_patient: ClassVar
    _fixed_step: ClassVar[BlockIntegrator]

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.integrate_patient = fixed_step(cls.kernel, len(cls.state_names))
        cls._fixed_step = BlockIntegrator(fixed_step_block(
            cls.kernel, len(cls.state_names), len(cls.input_names), len(cls.parameters.names)))

    def __init__(self, overrides: Mapping[str, float] | None = None, *, allow_out_of_range: bool = False) -> None:
        self.params = self.parameters.vector(overrides, allow_out_of_range=allow_out_of_range)

    def _inputs(self, u: np.ndarray | None) -> np.ndarray:
        if u is None:
            return np.zeros(len(self.input_names))
        u = np.asarray(u, dtype=np.float64)
        if u.shape != (len(self.input_names),):
            raise ValueError(f"{type(self).__name__}: inputs must have shape ({len(self.input_names)},) "
                             f"for {self.input_names}, got {u.shape}")
        return u

    def derivatives(self, y: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """Time derivative of the state ``y`` (units of ``state_names`` per ``time_unit``)."""
        return derivative(self.kernel, y, self._inputs(u), self.params)

    def simulate(self, y0: np.ndarray, t_span: tuple[float, float], u: np.ndarray | None = None, **kwargs):
        """Adaptive scipy solve (reference accuracy) with constant inputs; returns scipy's OdeResult."""
        return solve_reference(self.kernel, y0, self._inputs(u), self.params, t_span, **kwargs)

    def validate_parameters(self) -> list[str]:
        """Values outside their literature range (empty list when all are valid)."""
        return self.parameters.violations(self.params)

    @classmethod
    def integrate(cls, y: np.ndarray, u: np.ndarray, p: np.ndarray, duration: float | np.ndarray,
                  n_steps: int) -> None:
        """Advance a batch ``y`` (batch, n_state) in place over ``duration`` (one for all, or one per
        patient) with ``n_steps`` DOP853 steps (blocks of patients in SIMD lanes; the same numbers as
        ``integrate_patient`` patient by patient)."""
        cls._fixed_step(y, u, p, duration, int(n_steps))
