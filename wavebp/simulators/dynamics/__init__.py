"""The seed paper's equation (1), ``dx_l/dt = sigma(W_l x_{l-1}) - gamma_l x_l``: a chain of
leaky integrators (fixed-step RK4), its steady state and settling time."""

from wavebp.simulators.dynamics._leaky import (
    ACTIVATIONS,
    LeakyTrajectory,
    activation_function,
    integrate_leaky,
    leaky_rhs,
    settling_time,
    steady_state,
)

__all__ = [
    "ACTIVATIONS",
    "LeakyTrajectory",
    "activation_function",
    "integrate_leaky",
    "leaky_rhs",
    "settling_time",
    "steady_state",
]
