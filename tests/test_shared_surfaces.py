"""Cached surfaces are shared by every session: none of their arrays can be written by a page or caller."""

from __future__ import annotations

import numpy as np
import pytest

import surfaces
from surfaces.base import Surface, X, Y
from ui.surfaces import catalogue_surface

ARRAYS = ("minima", "local_minima")


def _attempts(arr: np.ndarray):
    """Ways a careless caller might write into an array; each must raise ValueError."""
    yield lambda: arr.__setitem__((0, 0) if arr.size else (slice(None),), 1.0)
    yield lambda: arr.__iadd__(1.0)
    yield lambda: np.copyto(arr, 0.0)
    yield lambda: arr.sort(axis=0)
    yield lambda: arr.reshape(-1).__setitem__(slice(None), 0.0)  # a view of a read-only array is read-only


@pytest.mark.parametrize("name", surfaces.available())
def test_catalogue_surface_arrays_are_read_only(name):
    surface = surfaces.get(name)
    for field in ARRAYS:
        arr = getattr(surface, field)
        before = arr.copy()
        assert not arr.flags.writeable, field
        for attempt in _attempts(arr):
            with pytest.raises(ValueError, match="read-only"):
                attempt()
        np.testing.assert_array_equal(arr, before)
    for arr in (surface.program.code, surface.program.constants, surface.program.outputs):
        assert not arr.flags.writeable


def test_the_resolver_hands_every_session_the_same_read_only_surface():
    first, second = catalogue_surface("himmelblau"), catalogue_surface("himmelblau")
    assert first is second is surfaces.get("himmelblau")  # one object for every session …
    with pytest.raises(ValueError, match="read-only"):
        first.minima[0, 0] = 0.0  # … so one session's write would be everyone's
    np.testing.assert_array_equal(first.minima, surfaces.get("himmelblau").minima)


def test_custom_formula_surface_arrays_are_read_only():
    surface = surfaces.from_expression("(x^2 - 1)^2 + 2*y^2", ((-2.0, 2.0), (-1.5, 1.5)))
    assert len(surface.minima) == 2
    for field in ARRAYS:
        arr = getattr(surface, field)
        assert not arr.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            arr[...] = 0.0


def test_construction_copies_the_callers_array_and_all_minima_is_fresh_and_writable():
    mine = np.array([[1.0, 2.0]])
    surface = Surface(name="t", title="t", expression=(X - 1) ** 2 + (Y - 2) ** 2, latex="",
                      bounds=((0, 3), (0, 3)), minima=mine, starts=((0.0, 0.0),), local_minima=[(2.5, 2.5)])
    assert mine.flags.writeable and not np.shares_memory(mine, surface.minima)
    mine[0, 0] = 9.0  # the caller's own array stays theirs
    assert surface.minima[0, 0] == 1.0
    everything = surface.all_minima  # the engine passes this to its compiled kernels as a writable array
    assert everything.flags.writeable and everything.flags.c_contiguous
    np.testing.assert_array_equal(everything, [[1.0, 2.0], [2.5, 2.5]])
    everything[0, 0] = 5.0
    assert surface.minima[0, 0] == 1.0
