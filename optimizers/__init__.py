"""Optimizers on 2-D surfaces: the ten rules of Ruder's overview and two second-order methods; runs, sweeps.

Public API: ``available()``, ``defaults(name)``, ``run(name, surface, start, steps, **hyperparameters)``,
``sweep(name, surface, starts, steps, tol=..., **hyperparameters)``, ``sweeps(jobs, surface, starts, steps,
tol=..., on_done=...)`` (several at once), the table ``OPTIMIZERS`` and the
result types ``Path`` and ``Sweep``. Imports neither streamlit nor plotly.
"""

from optimizers.engine import (
    LIMIT,
    STOP_REASONS,
    Path,
    StepRecord,
    Sweep,
    available,
    defaults,
    evaluate,
    get,
    run,
    settings,
    sweep,
    sweeps,
    trace,
)
from optimizers.schedules import RUN_OPTIONS
from optimizers.table import OPTIMIZERS, Hyperparameter, Optimizer

__all__ = [
    "LIMIT", "OPTIMIZERS", "STOP_REASONS", "RUN_OPTIONS", "Hyperparameter", "Optimizer", "Path", "StepRecord",
    "Sweep",
    "available", "defaults", "evaluate", "get", "run", "settings", "sweep", "sweeps", "trace",
]
