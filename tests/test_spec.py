"""SurfaceSpec (one hashable name for a surface) and the one resolver (surfaces.spec)."""

from __future__ import annotations

import pickle
import threading

import pytest

import surfaces
from surfaces import expression, sandbox
from surfaces.spec import SurfaceSpec, Unavailable, resolve


@pytest.fixture(scope="module", autouse=True)
def workers():
    assert expression.warm_up(wait=60.0), "sandbox workers did not start"


def test_specs_are_small_hashable_and_equal_to_the_old_tuples():
    cat = SurfaceSpec.catalogue("beale")
    formula = SurfaceSpec.formula(" x^2 + 3*y^2 ", ((-2, 2), (-1, 3)))
    assert cat == ("catalogue", "beale") and hash(cat) == hash(("catalogue", "beale"))
    assert formula == ("custom", "x^2 + 3*y^2", ((-2.0, 2.0), (-1.0, 3.0)))
    assert {cat: 1, formula: 2}[("custom", "x^2 + 3*y^2", ((-2.0, 2.0), (-1.0, 3.0)))] == 2
    assert (cat.kind, cat.name, cat.text, cat.bounds) == ("catalogue", "beale", None, None)
    assert (formula.kind, formula.name, formula.text) == ("custom", "custom", "x^2 + 3*y^2")
    assert formula.is_formula and not cat.is_formula
    assert SurfaceSpec.formula("x^2").bounds == expression.DEFAULT_BOUNDS
    for spec in (cat, formula):
        back = pickle.loads(pickle.dumps(spec))
        assert back == spec and type(back) is SurfaceSpec
        assert SurfaceSpec.of(tuple(spec)) == spec and SurfaceSpec.of(spec) is spec


@pytest.mark.parametrize(
    ("parts", "fragment"),
    [
        (("catalogue", "nope"), "Unknown surface 'nope'"),
        (("catalogue", 3), "Unknown surface"),
        (("custom", "'rm -rf'"), "Text in quotes is not allowed"),
        (("custom", "x^2", ((1, 0), (0, 1))), "must be below its maximum"),
        (("custom", 42), "must be text"),
        (("custom", "x" * 300), "too long"),
        (("data", "iris"), "Unknown kind of surface"),
    ],
)
def test_a_spec_is_valid_when_made(parts, fragment):
    with pytest.raises(ValueError, match=fragment):
        SurfaceSpec(*parts)
    with pytest.raises(ValueError):
        SurfaceSpec.of(parts)


def test_resolve_gives_the_shared_surfaces():
    assert resolve(SurfaceSpec.catalogue("himmelblau")) is surfaces.get("himmelblau")  # the engine's identity
    spec = SurfaceSpec.formula("x^2 + 2*y^2 + 0.125", ((-2, 2), (-2, 2)))
    surface = resolve(spec)
    assert surface is resolve(tuple(spec))
    assert surface is surfaces.from_expression("x^2 + 2*y^2 + 0.125", ((-2, 2), (-2, 2)))
    assert surface.bounds == spec.bounds and surface.title.endswith("x^2 + 2*y^2 + 0.125")
    with pytest.raises(ValueError):
        resolve(("custom", "x + ", None))


def test_unavailable_is_no_verdict(monkeypatch):
    """Busy is not no: a formula the checker could not judge in time raises Unavailable, which is not a
    ValueError (pages that catch refusals do not catch it), and nothing is cached."""
    assert not issubclass(Unavailable, ValueError) and issubclass(sandbox.Rejected, ValueError)

    def busy(*args, **kwargs):
        raise sandbox.Unavailable(sandbox.BUSY)

    monkeypatch.setattr(expression._SANDBOX, "run", busy)
    spec = SurfaceSpec.formula("x^2 + 5.5*y^2")
    with pytest.raises(Unavailable, match="busy"):
        resolve(spec)
    monkeypatch.undo()
    assert resolve(spec).title.endswith("x^2 + 5.5*y^2")  # judged now; nothing wrong was remembered


def test_many_sessions_asking_for_one_new_formula_use_one_worker(monkeypatch):
    calls = []
    real = expression._SANDBOX.run

    def counting(request, *args, **kwargs):
        calls.append(request)
        return real(request, *args, **kwargs)

    monkeypatch.setattr(expression._SANDBOX, "run", counting)
    spec = SurfaceSpec.formula("x^2 + 4.75*y^2 + sin(x)")
    results = []
    threads = [threading.Thread(target=lambda: results.append(resolve(spec))) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 12 and all(r is results[0] for r in results)
    assert len(calls) == 1


def test_the_url_codec_writes_and_reads_specs():
    from lab import urlstate

    formula = SurfaceSpec.formula("x^2 - y^2 + 0.5*x", ((-2, 2.5), (-1, 1)))
    for spec in (SurfaceSpec.catalogue("rosenbrock"), formula):
        params = urlstate.surface_params(spec)
        assert urlstate.surface_spec(params) == spec
    assert urlstate.surface_params(SurfaceSpec.formula("x^2")) == {"expr": "x^2", "bounds": "-3,3,-3,3"}
    for bad in ({"surface": "nope"}, {"expr": "x^2", "bounds": "1,0,0,1"}, {"expr": "'quoted'"}):
        with pytest.raises(ValueError):
            urlstate.surface_spec(bad)
