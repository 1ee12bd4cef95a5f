"""numba, configured once for exact, portable arithmetic; every compiled function of the core comes here.

* No fast-math: LLVM may not reorder, fuse (FMA) or approximate any floating-point operation.
* Intel's SVML is switched off *before* numba is imported: with it, LLVM would replace loops of ``exp`` or
  ``log`` by SVML's vector versions, which round differently from the C library. Without it, every
  ``math.exp``/``math.log``/``math.pow`` in compiled code is a call to the C library — the same function
  Python's ``math`` module calls — on any CPU, and ``import optimizers`` refuses to load otherwise.
* NumPy's error model: a division by zero gives ±inf or NaN (which the engine reports as divergence),
  never an exception inside a compiled loop.
* Compiled code is cached on disk (``cache=True``). Where the package directory is not writable (a
  read-only image), numba keeps the cache in ``NUMBA_CACHE_DIR``; the Dockerfile points that at a
  directory it fills at build time (``python -m optimizers --warm``).
"""

from __future__ import annotations

import os

os.environ["NUMBA_DISABLE_INTEL_SVML"] = "1"

import numba  # noqa: E402  (after the environment above)

if numba.config.USING_SVML:  # pragma: no cover - only if the setting above was overridden
    raise ImportError("numba uses Intel SVML: results would differ from the C library's math")

OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": False}


def rule(function):
    """Compile an update-rule helper (inlined into the kernels by LLVM)."""
    return numba.njit(**OPTIONS)(function)


def kernel(function):
    """Compile an engine kernel."""
    return numba.njit(**OPTIONS)(function)
