"""Parsing and writing the query-string parameters that make a race reproducible from a link.

One codec for every page and every link between them (Race, Custom surface, Atlas, Classic figures): a
run's parameters are read by ``run_parsers`` and written by ``run_params``. Pure functions: each parser
takes the text from the URL and returns a value or raises ValueError with a short reason; the UI layer
turns that into a visible warning and keeps the default.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from urllib.parse import urlencode

import optimizers
import surfaces
from optimizers.schedules import RUN_OPTIONS, validate_run_option
from surfaces.expression import MAX_BOUND
from surfaces.spec import SurfaceSpec

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
VIEWS = ("both", "contour", "3d")
OVERLAYS = ("gradient", "step", "lookahead", "effective")  # the race player's overlay toggles


def parse_choice(text: str, choices) -> str:
    value = text.strip().lower()
    if value not in choices:
        raise ValueError(f"'{text}' is not one of {', '.join(map(str, choices))}")
    return value


def parse_surface(text: str) -> str:
    """A catalogue surface's name (``surface``, the Race and Atlas pages)."""
    return parse_choice(text, surfaces.available())


def parse_speed(text: str) -> float:
    value = parse_float(text, min(SPEEDS), max(SPEEDS))
    if value not in SPEEDS:
        raise ValueError(f"choose one of {', '.join(f'{s:g}' for s in SPEEDS)}")
    return value


def parse_bounds(text: str) -> tuple[float, float, float, float]:
    """'xmin,xmax,ymin,ymax' (the Custom-surface and Atlas pages' plotting window)."""
    parts = text.split(",")
    if len(parts) != 4:
        raise ValueError(f"'{text}' is not of the form xmin,xmax,ymin,ymax")
    x0, x1, y0, y1 = (parse_float(p, -MAX_BOUND, MAX_BOUND) for p in parts)
    if not (x0 < x1 and y0 < y1):
        raise ValueError("each minimum must be below its maximum")
    return x0, x1, y0, y1


def surface_params(spec) -> dict[str, str]:
    """A ``surfaces.spec.SurfaceSpec`` as URL parameters: ``surface`` for a catalogue surface, ``expr`` and
    ``bounds`` for a formula (``surface_spec`` reads them back)."""
    if spec[0] == "catalogue":
        return {"surface": spec[1]}
    return {"expr": spec[1], "bounds": format_bounds(spec[2])}


def surface_spec(params: Mapping[str, str]):
    """The ``SurfaceSpec`` that URL parameters name (``surface_params``' inverse); ValueError if invalid."""
    if "expr" in params:
        bounds = parse_bounds(params["bounds"]) if "bounds" in params else None
        box = ((bounds[0], bounds[1]), (bounds[2], bounds[3])) if bounds else None
        return SurfaceSpec.formula(params["expr"], box)
    return SurfaceSpec.catalogue(parse_surface(params.get("surface", "")))


def format_bounds(bounds) -> str:
    """``((xmin, xmax), (ymin, ymax))`` (a Surface's ``bounds``) as ``parse_bounds`` reads it."""
    (x0, x1), (y0, y1) = bounds
    return ",".join(format_number(v) for v in (x0, x1, y0, y1))


def parse_optimizers(text: str) -> list[str]:
    """'all' or a comma list of optimizer slugs (case-insensitive, duplicates dropped)."""
    value = text.strip().lower()
    names = optimizers.available()
    if value == "all":
        return names
    chosen = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        if part not in names:
            raise ValueError(f"unknown optimizer '{part}' (valid: all, {', '.join(names)})")
        if part not in chosen:
            chosen.append(part)
    if not chosen:
        raise ValueError("no optimizer named")
    return chosen


def format_optimizers(chosen: list[str]) -> str:
    return "all" if list(chosen) == optimizers.available() else ",".join(chosen)


def parse_float(text: str, low: float, high: float) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"'{text}' is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{text} is outside {low:g} … {high:g}")
    return value


def parse_int(text: str, low: int, high: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"'{text}' is not a whole number") from None
    if not low <= value <= high:
        raise ValueError(f"{value} is outside {low} … {high}")
    return value


def parse_point(text: str, limit: float = optimizers.LIMIT) -> tuple[float, float]:
    """'x,y' with finite coordinates."""
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError(f"'{text}' is not of the form x,y")
    return parse_float(parts[0], -limit, limit), parse_float(parts[1], -limit, limit)


def format_number(value: float) -> str:
    """Shortest text that reads back as the same float."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def format_point(point) -> str:
    return f"{format_number(point[0])},{format_number(point[1])}"


def hyperparameter_key(optimizer: str, parameter: str) -> str:
    """URL key of one optimizer's hyperparameter: lr_adam, momentum_nag, beta2_adamax."""
    return f"{parameter}_{optimizer}"


def parse_hyperparameter(optimizer: str, parameter: str, text: str) -> float:
    """A value the optimizer accepts and the UI control can show."""
    p = optimizers.get(optimizer).hyperparameter(parameter)
    value = parse_float(text, p.ui_min, p.ui_max)
    if not p.is_valid(value):
        raise ValueError(f"{text} is not a valid {p.label} (valid: {p.valid_range})")
    return value


def hyperparameter_parsers() -> dict[str, Callable[[str], float]]:
    """A parser for every optimizer's every hyperparameter, keyed ``lr_adam``, ``momentum_nag``, …"""
    return {hyperparameter_key(name, p.name): partial(parse_hyperparameter, name, p.name)
            for name in optimizers.available() for p in optimizers.get(name).hyperparameters}


def hyperparameter_params(hyperparameters: dict[str, dict[str, float]]) -> dict[str, str]:
    """``{optimizer: {parameter: value}}`` as URL parameters: each learning rate always (a page would use its
    per-surface preset otherwise), the other hyperparameters where they differ from the published defaults."""
    params = {}
    for name, hyper in hyperparameters.items():
        defaults = optimizers.defaults(name)
        for key, value in hyper.items():
            if key == "lr" or value != defaults.get(key):
                params[hyperparameter_key(name, key)] = format_number(value)
    return params


def run_parsers(max_steps: int) -> dict[str, Callable[[str], object]]:
    """Parsers of the parameters every page with optimizers shares (``run_params`` writes them)."""
    return {"optimizers": parse_optimizers, "steps": lambda text: parse_int(text, 1, max_steps),
            "start": parse_point, **hyperparameter_parsers()}


def run_params(names, steps: int, start, hyperparameters: dict[str, dict[str, float]]) -> dict[str, str]:
    """``optimizers``, ``steps``, ``start`` and the ``hyperparameter_params`` of ``hyperparameters``."""
    return {"optimizers": format_optimizers(names), "steps": str(int(steps)), "start": format_point(start),
            **hyperparameter_params(hyperparameters)}


def parse_run_option(name: str, text: str):
    option = RUN_OPTIONS[name]
    if option.choices:
        return parse_choice(text, option.choices)
    if isinstance(option.default, int):
        return parse_int(text, int(option.low), int(min(option.high, 2**31 - 1)))
    value = parse_float(text, option.low, option.high)
    return validate_run_option(name, value)


def parse_overlays(text: str) -> list[str]:
    """A comma list of overlay names (gradient, step, lookahead, effective), in canonical order."""
    chosen = set()
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        if part not in OVERLAYS:
            raise ValueError(f"unknown overlay '{part}' (valid: {', '.join(OVERLAYS)})")
        chosen.add(part)
    return [o for o in OVERLAYS if o in chosen]


def format_overlays(chosen) -> str:
    return ",".join(o for o in OVERLAYS if o in set(chosen))


# --- links --------------------------------------------------------------------------------------------------
def query_string(params: Mapping[str, str]) -> str:
    """The query string of ``params`` (commas left readable: ``optimizers=sgd,adam``)."""
    return urlencode(params, safe=",")


def link(path: str, params: Mapping[str, str]) -> str:
    """``path?query``: every link between pages is written here (the page's ``path`` comes from
    ``app.py``'s navigation table, see ``ui.links``)."""
    query = query_string(params)
    return f"{path}?{query}" if query else path


def race_params(surface: str, names, steps: int, start, hyperparameters: dict[str, dict[str, float]]
                ) -> dict[str, str]:
    """The Race page's parameters of a race on a catalogue ``surface`` (``run_params`` plus the surface)."""
    return {"surface": surface, **run_params(names, steps, start, hyperparameters)}


def explain_params(optimizer: str, surface: str, steps: int, start, settings: dict[str, object],
                   t: int | None = None) -> dict[str, str]:
    """The explainer's parameters for one optimizer's run: ``optimizer``, ``surface``, ``steps``,
    ``start``, its hyperparameters (``<param>_<optimizer>``, as ``hyperparameter_params`` writes them), any
    run option that differs from its default (``lr_schedule``, ``noise``, …), and the step ``t``."""
    options = {k: v for k, v in settings.items() if k in RUN_OPTIONS}
    hyper = {k: float(v) for k, v in settings.items() if k not in RUN_OPTIONS}
    params = {"optimizer": optimizer, "surface": surface, "steps": str(int(steps)),
              "start": format_point(start), **hyperparameter_params({optimizer: hyper})}
    for key, value in options.items():
        if value != RUN_OPTIONS[key].default:
            params[key] = value if isinstance(value, str) else format_number(value)
    if t is not None:
        params["t"] = str(int(t))
    return params


def explain_parsers(max_steps: int) -> dict[str, Callable[[str], object]]:
    """Parsers of what ``explain_params`` writes (plus ``zoom``, the explainer's own 1/0 switch)."""
    def step(text: str) -> int:
        return parse_int(text, 1, max_steps)

    return {"optimizer": lambda text: parse_choice(text, optimizers.available()), "surface": parse_surface,
            "steps": step, "t": step, "start": parse_point,
            "zoom": lambda text: parse_choice(text, ("0", "1")) == "1",
            **hyperparameter_parsers(), **{name: partial(parse_run_option, name) for name in RUN_OPTIONS}}
