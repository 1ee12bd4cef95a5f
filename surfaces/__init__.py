"""Loss surfaces: the catalogue of classic 2-D test functions and safe visitor formulas.

Public API: ``available()``, ``get(name)``, ``from_expression(text, bounds=None)`` and the ``Surface`` type;
for data (``surfaces.data``, loaded on first use: it brings numba): ``datasets()``,
``get_dataset(name, model=None)``, ``from_data(x, y, model, name=...)`` and the ``DataSurface`` type.
Imports neither streamlit nor plotly.
"""

from __future__ import annotations

from surfaces.base import Bounds, Surface, X, Y
from surfaces.catalogue import CATALOGUE
from surfaces.memo import shared_memo

__all__ = ["Bounds", "DataSurface", "Surface", "X", "Y", "available", "datasets", "from_data",
           "from_expression", "get", "get_dataset"]
_DATA = ("DataSurface", "datasets", "from_data", "get_dataset")


def __getattr__(name: str):
    """The data names, from ``surfaces.data`` on first use (so ``import surfaces`` stays light: the
    formula sandbox's worker imports it)."""
    if name in _DATA:
        from surfaces import data

        return getattr(data, name)
    raise AttributeError(f"module 'surfaces' has no attribute {name!r}")


def available() -> list[str]:
    """Slugs of the catalogue surfaces, in display order."""
    return list(CATALOGUE)


# Bounded by the catalogue's size; compiling costs 0.05-1 s per surface, so concurrent first visitors of a
# surface wait for one compile instead of each doing their own (surfaces.memo).
@shared_memo(maxsize=None)
def get(name: str) -> Surface:
    """The catalogue surface called ``name``; ValueError listing the valid names otherwise."""
    if name not in CATALOGUE:
        raise ValueError(f"Unknown surface {name!r}; choose one of: {', '.join(CATALOGUE)}")
    return CATALOGUE[name]()


def from_expression(text: str, bounds: Bounds | None = None) -> Surface:
    """A Surface from a visitor's formula f(x, y); ValueError with a plain message when refused."""
    from surfaces.expression import from_expression as build

    return build(text, bounds)
