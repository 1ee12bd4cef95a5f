"""One name for a surface: ``SurfaceSpec``, and the one resolver that turns it into a ``Surface``.

A spec is small, hashable and picklable, and it is valid by construction (the constructor checks it, with
bounded work), so pages, caches, the URL codec and worker processes can all key on it and pass it on:

* ``SurfaceSpec.catalogue("beale")`` — a catalogue surface (an unknown name is a ValueError);
* ``SurfaceSpec.formula("x^2 + 3*y^2", ((-3, 3), (-3, 3)))`` — a visitor's formula over a window; the
  text passes ``surfaces.expression.check_syntax`` (the whitelist, sizes and constant values, no SymPy)
  and the window ``validate_bounds`` before a spec exists. ``bounds=None`` is the default window.

A spec *is* the tuple the code used before it (``("catalogue", name)`` or ``("custom", text, bounds)``):
it equals that tuple, hashes like it and indexes like it, so older callers that read ``spec[0]`` keep
working while new code reads ``spec.kind``, ``spec.name``, ``spec.text``, ``spec.bounds``.

``resolve(spec)`` is the only way from a spec to a Surface. Its work is bounded: a catalogue surface comes
from ``surfaces.get`` (compiled once per process), a formula from ``surfaces.expression.from_expression``
(sandboxed worker, at most ``TIME_LIMIT`` seconds, a bounded cache of surfaces and refusals, one worker per
formula however many sessions ask at once). It raises ``ValueError`` for a refused formula and
``Unavailable`` — which is not a ValueError — when the formula could not be judged in time (busy, too
slow, a crashed worker): a page keeps the formula and offers to try again, it never switches surfaces.

New kinds (data surfaces) register a checker and a builder in ``KINDS``. Imports neither streamlit nor
plotly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import surfaces
from surfaces import expression
from surfaces.base import Bounds, Surface

Unavailable = expression.Unavailable

CATALOGUE = "catalogue"
FORMULA = "custom"  # the kind's name in URLs and caches since the first version


class Kind(NamedTuple):
    """How specs of one kind are checked (returning the parts to keep, normalised) and resolved."""

    check: Callable[..., tuple]
    build: Callable[..., Surface]


def _check_catalogue(name) -> tuple:
    if not isinstance(name, str) or name not in surfaces.available():
        choices = ", ".join(surfaces.available())
        raise ValueError(f"Unknown surface {str(name)[:40]!r}; choose one of: {choices}")
    return (name,)


def _check_formula(text, bounds=None) -> tuple:
    if not isinstance(text, str):
        raise ValueError("The formula must be text")
    text = text.strip()
    expression.check_syntax(text)
    return (text, expression.validate_bounds(bounds))


KINDS: dict[str, Kind] = {
    CATALOGUE: Kind(_check_catalogue, surfaces.get),
    FORMULA: Kind(_check_formula, expression.from_expression),
}


class SurfaceSpec(tuple):
    """``(kind, *parts)``, checked when made: see the module's docstring."""

    __slots__ = ()

    def __new__(cls, kind: str, *parts):
        if not isinstance(kind, str) or kind not in KINDS:
            raise ValueError(f"Unknown kind of surface {str(kind)[:40]!r}")
        try:
            checked = KINDS[kind].check(*parts)
        except TypeError:  # too few or too many parts for this kind
            raise ValueError(f"A {kind} surface spec takes other parts than {len(parts)}") from None
        return super().__new__(cls, (kind, *checked))

    def __getnewargs__(self):
        return tuple(self)

    @classmethod
    def catalogue(cls, name: str) -> SurfaceSpec:
        return cls(CATALOGUE, name)

    @classmethod
    def formula(cls, text: str, bounds: Bounds | None = None) -> SurfaceSpec:
        return cls(FORMULA, text, bounds)

    @classmethod
    def of(cls, spec) -> SurfaceSpec:
        """A SurfaceSpec from a spec or an old-style tuple (``("custom", text, bounds)``); ValueError if it
        is not a valid one."""
        if isinstance(spec, SurfaceSpec):
            return spec
        if not isinstance(spec, tuple) or not spec:
            raise ValueError("Invalid surface spec")
        return cls(*spec)

    @property
    def kind(self) -> str:
        return self[0]

    @property
    def name(self) -> str:
        """The catalogue name; "custom" for a formula (as ``Surface.name``)."""
        return self[1] if self.kind == CATALOGUE else self.kind

    @property
    def text(self) -> str | None:
        return self[1] if self.kind == FORMULA else None

    @property
    def bounds(self) -> Bounds | None:
        """The formula's window; None for a catalogue surface (its bounds are the surface's own)."""
        return self[2] if self.kind == FORMULA else None

    @property
    def is_formula(self) -> bool:
        return self.kind == FORMULA

    def __repr__(self) -> str:
        return f"SurfaceSpec{tuple.__repr__(self)}"


def resolve(spec) -> Surface:
    """The Surface ``spec`` names (a SurfaceSpec or its tuple). Bounded: see the module's docstring.

    ValueError for an invalid spec or a refused formula; ``Unavailable`` when a formula could not be
    judged in time.
    """
    spec = SurfaceSpec.of(spec)
    return KINDS[spec.kind].build(*spec[1:])
