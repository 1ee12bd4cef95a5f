"""Gradient-descent optimizers on 2-D surfaces: the ten rules of Ruder's overview, runs and sweeps.

Public API: ``available()``, ``defaults(name)``, ``run(name, surface, start, steps, **hyperparameters)``,
``sweep(name, surface, starts, steps, tol=..., **hyperparameters)``, the table ``OPTIMIZERS`` and the
result types ``Path`` and ``Sweep``. Imports neither streamlit nor plotly.
"""

from optimizers.engine import (
    LIMIT,
    Path,
    StepRecord,
    Sweep,
    available,
    defaults,
    get,
    run,
    settings,
    sweep,
    trace,
)
from optimizers.schedules import RUN_OPTIONS
from optimizers.table import OPTIMIZERS, Hyperparameter, Optimizer

__all__ = [
    "LIMIT", "OPTIMIZERS", "RUN_OPTIONS", "Hyperparameter", "Optimizer", "Path", "StepRecord", "Sweep",
    "available", "defaults", "get", "run", "settings", "sweep", "trace",
]
