"""Loading the generated kernels: content-addressed files, numba's disk cache, and background compiles.

``kernels()`` returns the interpreting kernels and ``fused_kernels(surface)`` a surface's fused ones
(``optimizers.codegen``), by optimizer name. Their source is written to a file named by the hash of its
text (and of the code it calls) in ``cache_dir()`` and imported from there, so numba can cache the
compiled code next to it: a process loads a kernel compiled by another in milliseconds.

Compiling costs about a second per kernel, so nobody waits for it while serving:

* ``python -m optimizers --warm`` compiles the interpreting kernels and the fused kernels of every
  catalogue surface (``make`` and the Dockerfile run it before the server starts);
* a visitor's formula is raced and swept with the interpreting kernels at once, while a background
  process compiles its fused kernels (``fused_kernels_when_ready``); later sweeps use them. Both give
  the same bits, so the switch is invisible but for the speed.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from optimizers.codegen import module_source

MAX_LOADED = 64  # fused modules kept in one process (each holds ten compiled kernels)
MAX_FILES = 400  # generated files kept in the cache directory (the oldest go first)
MAX_PENDING = 8  # background compiles queued at once; more requests wait for a later sweep


def cache_dir() -> Path:
    """Where generated modules and numba's cache of them live: writable, outside the app directory.

    ``DESCENT_LAB_KERNEL_DIR`` when set (the Docker image sets it), else ``$XDG_CACHE_HOME/descent-lab``
    (``~/.cache/descent-lab``), else a folder in the temporary directory.
    """
    configured = os.environ.get("DESCENT_LAB_KERNEL_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "descent-lab"
    try:
        path.mkdir(parents=True, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    return Path(tempfile.gettempdir()) / f"descent-lab-{os.getuid()}"


@functools.cache
def _dependencies() -> bytes:
    """The code a generated module calls, and numba's version: read once per process."""
    import numba

    here = Path(__file__).resolve().parent
    return b"".join((here / name).read_bytes() for name in ("kernel.py", "rules.py", "jit.py")) + \
        numba.__version__.encode()


def _fingerprint(source: str) -> str:
    """Hash of the generated text and of the code it calls (numba only checks the file's own date)."""
    return hashlib.sha256(source.encode() + _dependencies()).hexdigest()[:16]


def _module_name(source: str, fused: bool) -> str:
    return f"descent_lab_{'fused' if fused else 'kernels'}_{_fingerprint(source)}"


def _write(source: str, name: str) -> Path:
    """The generated file, written once (numba's cache is keyed on its date, so it is never rewritten)."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(source)
        os.replace(tmp, path)
        _prune(folder)
    return path


def _prune(folder: Path, keep: int = MAX_FILES) -> None:
    """Delete the oldest generated files (and numba's cache of them) beyond ``keep``."""
    files = sorted(folder.glob("descent_lab_*.py"), key=lambda p: p.stat().st_mtime)
    for old in files[:-keep] if len(files) > keep else []:
        for path in [old, *(folder / "__pycache__").glob(f"{old.stem}.*")]:
            path.unlink(missing_ok=True)


_lock = threading.Lock()
_modules: dict[str, dict] = {}  # module name -> {optimizer name: kernel}


def _load(source: str, fused: bool) -> dict:
    """Import the generated module (writing it first if need be) and return its kernels by name."""
    from optimizers.table import OPTIMIZERS

    name = _module_name(source, fused)
    with _lock:
        if name in _modules:
            return _modules[name]
        path = _write(source, name)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        loaded = [n for n in _modules if n.startswith("descent_lab_fused")]
        if fused and len(loaded) >= MAX_LOADED:
            sys.modules.pop(loaded[0], None)
            _modules.pop(loaded[0])
        _modules[name] = {n: getattr(module, f"run_{n}") for n in OPTIMIZERS}
        return _modules[name]


@functools.cache
def kernels() -> dict:
    """{optimizer name: kernel that interprets any surface's program} (loaded once per process)."""
    return _load(module_source(), fused=False)


_sources: dict[tuple[str, bytes], str] = {}  # (program fingerprint, minima) -> fused module text


def _source_of(surface) -> str:
    """The fused module's text, generated once per program and minima (not on every sweep)."""
    minima = surface.all_minima
    key = (surface.program.fingerprint, minima.tobytes() + str(minima.shape).encode())
    text = _sources.get(key)
    if text is None:
        text = _sources[key] = module_source(surface)
        while len(_sources) > MAX_LOADED:
            _sources.pop(next(iter(_sources)))
    return text


def fused_kernels(surface) -> dict:
    """{optimizer name: kernel with this surface compiled in}; compiles (or loads) now."""
    return _load(_source_of(surface), fused=True)


def _is_catalogue(surface) -> bool:
    import surfaces

    return surface.name in surfaces.available() and surfaces.get(surface.name) is surface


_pending: dict[str, Future] = {}
_compiler: ProcessPoolExecutor | None = None


def fused_kernels_when_ready(surface) -> dict | None:
    """The fused kernels of ``surface`` if they can be had without waiting for LLVM, else None.

    A catalogue surface's are compiled at start-up (``warm``), so they load from the disk cache. Any
    other surface's are compiled in a background process on first request; until that is done this
    returns None and the caller uses the interpreting kernels (the same bits, slower).
    """
    if _is_catalogue(surface):
        return fused_kernels(surface)
    source = _source_of(surface)
    name = _module_name(source, fused=True)
    with _lock:
        if name in _modules:
            return _modules[name]
        job = _pending.get(name)
        if job is None:
            if len(_pending) < MAX_PENDING:
                _pending[name] = _compile_in_background(source, name)
            return None
        if not job.done():
            return None
        del _pending[name]
        if job.exception() is not None:
            return None
    return _load(source, fused=True)


def _compile_in_background(source: str, name: str) -> Future:
    global _compiler
    if _compiler is None:
        import multiprocessing

        _compiler = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=os.nice, initargs=(10,))
    return _compiler.submit(_compile, source)


def _compile(source: str) -> None:
    """(In the compiling process.) Load the module and run each kernel once, so numba caches them."""
    _touch(_load(source, fused=True))


def _touch(table: dict) -> None:
    """Run each kernel of ``table`` on three starts through the engine, so the argument types (and so
    numba's cache entries) are exactly those of real runs. A fused kernel ignores the program given."""
    from optimizers import engine
    from surfaces.base import X, Y
    from surfaces.program import compile_program

    proxy = SimpleNamespace(name="touch", program=compile_program((X + Y, X, Y, X, X, X), X, Y))
    for name in table:
        engine.execute(engine.settings(name, 2), proxy, np.zeros((3, 2)), keep_path=False,
                       minima=np.zeros((0, 2)), table=table)


def _warm_one(name: str | None) -> str:
    """Compile (or load) the interpreting kernels, or the fused kernels of catalogue surface ``name``."""
    import surfaces

    _touch(kernels() if name is None else fused_kernels(surfaces.get(name)))
    return name or "interpreter"


def warm(processes: int | None = None) -> None:
    """Compile every kernel into the disk cache: the interpreting ones and the data surfaces' mini-batch
    loops, then each catalogue surface's fused ones, in ``processes`` worker processes (default: one per
    core)."""
    import multiprocessing

    import surfaces
    from optimizers import data

    _warm_one(None)
    data.warm()  # the mini-batch loops of the data surfaces (optimizers.data)
    names = surfaces.available()
    processes = processes or os.cpu_count() or 1
    if processes == 1:
        for name in names:
            _warm_one(name)
        return
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        for _ in pool.imap_unordered(_warm_one, names):
            pass
