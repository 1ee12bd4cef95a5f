"""What Python hands the race player: palette, background figures, path encoding, the component's data,
the standalone HTML file and the static plotly.js copy. AppTest runs no JavaScript, so the drawing itself
is checked in tests/test_browser_animation.py."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import re
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from streamlit.testing.v1 import AppTest

from figures import background, palette
from surfaces.base import Surface, X, Y
from ui import animation, assets

REPO = Path(__file__).resolve().parent.parent
SLUGS = ["sgd", "momentum", "nag", "adagrad", "adadelta", "rmsprop", "adam", "adamax", "nadam", "amsgrad"]


def beale() -> Surface:
    return Surface(
        name="beale", title="Beale",
        expression=(1.5 - X + X * Y) ** 2 + (2.25 - X + X * Y**2) ** 2 + (2.625 - X + X * Y**3) ** 2,
        latex="", bounds=((-4.5, 4.5), (-4.5, 4.5)), minima=[(3, 0.5)], starts=[(1, 1.5)], log_scale=True,
    )


def log_bowl() -> Surface:
    """Undefined (NaN) for x <= 0: a third of the picture is blank."""
    return Surface(
        name="logbowl", title="Log bowl", expression=(X - 2) ** 2 + Y**2 - sp.log(X), latex="",
        bounds=((-1.0, 4.0), (-2.0, 2.0)), minima=[(2.2247, 0.0)], starts=[(0.5, 1.5)],
        local_minima=[(1.0, 1.5)],
    )


def spiral(n: int, seed: int = 0) -> np.ndarray:
    t = np.linspace(0, 6 * np.pi, n)
    r = np.exp(-t / 8) * (1 + 0.05 * seed)
    return np.stack([3 + r * np.cos(t + seed), 0.5 + r * np.sin(t + seed)], axis=1)


def ten_paths(steps: int = 1000) -> list[dict]:
    out = []
    for i, slug in enumerate(SLUGS):
        pts = spiral(steps + 1, i)
        out.append(animation.path_payload(slug.title(), slug, None, pts, np.hypot(*(pts - [3, 0.5]).T), None))
    return out


# --- palette --------------------------------------------------------------------------------------------
def test_every_optimizer_has_its_own_fixed_colour():
    colours = [palette.color_for(s) for s in SLUGS]
    assert len(set(colours)) == 10
    assert colours == [palette.OPTIMIZER_COLORS[s] for s in SLUGS]
    assert set(palette.OKABE_ITO) <= set(colours)
    assert palette.color_for("sgd") == "#000000" and palette.color_for(" Adam ") == palette.color_for("adam")
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in colours)


def test_unknown_names_get_a_stable_palette_colour():
    assert palette.color_for("lbfgs") == palette.color_for("lbfgs") == palette.color_for("LBFGS")
    assert palette.color_for("lbfgs") in palette.PALETTE
    assert len({palette.color_for(f"custom-{i}") for i in range(40)}) > 5


# --- background figures -------------------------------------------------------------------------------
def test_contour_payload_carries_log_levels_minima_and_fixed_axes():
    s = beale()
    fig = background.contour_figure(s)
    payload = background.figure_payload(fig)
    contour = payload["data"][0]
    assert contour["type"] == "contour"
    assert contour["z"]["dtype"] == "f4" and "bdata" in contour["z"]  # typed array, not a JSON list
    xs, ys, z = s.grid(160)
    mapping = background.color_mapping(s, z)
    decoded = animation.decode_array(contour["z"]).reshape(160, 160)
    np.testing.assert_allclose(decoded, mapping.transform(z).astype(np.float32))
    np.testing.assert_allclose(animation.decode_array(contour["customdata"]).reshape(160, 160),
                               z.astype(np.float32))
    bar = contour["colorbar"]
    assert bar["ticktext"][0] == "0" and "1e4" in bar["ticktext"] and "1" in bar["ticktext"]
    # Each tick label is the real value of f at that colour.
    for t, label in zip(bar["tickvals"][1:], bar["ticktext"][1:], strict=True):
        assert math.isclose(mapping.real(t), float(label), rel_tol=1e-6)
    names = [t.get("name") for t in payload["data"][1:]]
    assert names == ["Global minimum"]
    assert payload["data"][1]["marker"]["symbol"] == "star"
    layout = payload["layout"]
    assert layout["uirevision"] == background.UIREVISION
    assert layout["yaxis"]["scaleanchor"] == "x" and layout["yaxis"]["scaleratio"] == 1
    assert layout["xaxis"]["range"] == [-4.5, 4.5] and layout["xaxis"]["autorange"] is False
    assert layout["meta"]["log"] is True


def test_undefined_values_stay_blank_and_local_minima_are_marked():
    s = log_bowl()
    payload = background.figure_payload(background.contour_figure(s, resolution=60))
    z = animation.decode_array(payload["data"][0]["z"]).reshape(60, 60)
    xs = np.linspace(-1, 4, 60)
    assert np.isnan(z[:, xs <= 0]).all() and np.isfinite(z[:, xs > 0.1]).all()
    assert payload["data"][0]["connectgaps"] is False
    assert [t["name"] for t in payload["data"][1:]] == ["Global minimum", "Local minimum"]
    assert payload["layout"]["meta"]["log"] is False
    surf = background.figure_payload(background.surface3d_figure(s, resolution=40))
    assert surf["layout"]["meta"]["zmode"] == "linear"
    assert np.isnan(animation.decode_array(surf["data"][0]["z"])).any()


def test_3d_surface_is_clipped_and_tells_the_player_how_to_lift_trails():
    s = beale()
    fig = background.surface3d_figure(s, resolution=50)
    payload = background.figure_payload(fig)
    meta = payload["layout"]["meta"]
    assert meta["zmode"] == "log" and meta["zoffset"] > 0
    height = animation.decode_array(payload["data"][0]["z"])
    assert np.nanmax(height) <= meta["zclip"] + 1e-5
    # The huge corners are clipped: a plateau at zclip covers (about) the top 5% of the grid.
    assert 0.02 < np.mean(np.isclose(height, meta["zclip"], atol=1e-5)) < 0.1
    scene = payload["layout"]["scene"]
    assert scene["uirevision"] == background.UIREVISION
    assert scene["zaxis"]["range"][1] > meta["zclip"]
    # The global minimum's marker sits on the lifted surface.
    marker = payload["data"][1]
    assert marker["type"] == "scatter3d"
    z_min = animation.decode_array(marker["z"])[0]
    lifted = min(background.color_mapping(s, s.grid(160)[2]).transform(np.array([0.0]))[0], meta["zclip"])
    assert math.isclose(z_min, lifted + meta["zoffset"], rel_tol=1e-5)


# --- paths ------------------------------------------------------------------------------------------------
def test_encoding_round_trips_float32_and_turns_non_finite_into_nan():
    values = np.array([0.0, 1.5, -2.25, np.nan, np.inf, -np.inf, 1e300, 3.14159265358979])
    enc = animation.encode_array(values)
    assert enc["dtype"] == "f4" and isinstance(enc["bdata"], str)
    back = animation.decode_array(enc)
    assert back.shape == values.shape
    np.testing.assert_array_equal(back[:3], values[:3])
    assert np.isnan(back[3:7]).all()
    assert back[7] == np.float32(values[7])
    assert animation.decode_array(animation.encode_array(None)).size == 0
    assert animation.decode_array([1, None, 2]).tolist()[::2] == [1.0, 2.0]


def test_path_payload_decodes_back_to_the_input():
    pts = spiral(301)
    vals = np.linspace(10, 0, 301)
    p = animation.path_payload("Adam", "adam", None, pts, vals, None)
    assert p["name"] == "Adam" and p["slug"] == "adam" and p["color"] == palette.color_for("adam")
    np.testing.assert_array_equal(animation.decode_array(p["x"]), pts[:, 0].astype(np.float32))
    np.testing.assert_array_equal(animation.decode_array(p["y"]), pts[:, 1].astype(np.float32))
    np.testing.assert_array_equal(animation.decode_array(p["z"]), vals.astype(np.float32))
    assert p["diverged_at"] is None and p["note"] == ""
    json.dumps(p)  # JSON-ready


def test_divergence_becomes_a_note():
    pts = np.array([[1.0, 1.0], [5.0, -3.0], [1e7, np.inf]])
    p = animation.path_payload("Adagrad", "adagrad", "#123456", pts, np.array([1.0, 2.0, np.nan]),
                               np.int64(37))
    assert p["diverged_at"] == 37 and type(p["diverged_at"]) is int
    assert p["note"] == "Adagrad diverged at step 37"
    assert p["color"] == "#123456"
    assert np.isnan(animation.decode_array(p["y"])[2])
    custom = animation.path_payload("SGD", "sgd", None, pts, None, 2, note="SGD left the picture")
    assert custom["note"] == "SGD left the picture"
    assert np.isnan(animation.decode_array(custom["z"])).all()


def test_encode_paths_fills_slug_and_colour():
    runs = [{"name": "RMSprop", "points": spiral(11), "values": np.ones(11)},
            {"name": "Mine", "slug": "mine", "points": spiral(11), "diverged_at": 3}]
    a, b = animation.encode_paths(runs)
    assert a["slug"] == "rmsprop" and a["color"] == palette.color_for("rmsprop")
    assert b["diverged_at"] == 3 and b["note"] == "Mine diverged at step 3"


def test_payload_for_ten_paths_of_1000_steps_is_small():
    s = beale()
    contour = background.figure_payload(background.contour_figure(s))
    surf = background.figure_payload(background.surface3d_figure(s))
    data = animation.race_data(contour, surf, ten_paths(1000), steps=1000)
    size = len(json.dumps(data))
    assert size < 1_500_000, size
    assert data["steps"] == 1000 and len(data["paths"]) == 10
    assert (data["plotly_src"], data["plotly_3d_src"]) == assets.player_sources()
    # Same race, same id (a rerun keeps playing); another race, another id.
    assert animation.race_data(contour, surf, ten_paths(1000), steps=1000)["id"] == data["id"]
    assert animation.race_data(contour, surf, ten_paths(999), steps=999)["id"] != data["id"]
    # A new speed alone is applied to the running player, not a reason to start over.
    assert animation.race_data(contour, surf, ten_paths(1000), steps=1000, speed=4)["id"] == data["id"]


def test_raw_arrays_are_encoded_too():
    data = animation.race_data({"data": [], "layout": {}}, None,
                               [{"name": "NAG", "x": [0.0, 1.0], "y": np.array([1.0, np.nan]), "z": None}],
                               steps=1)
    (p,) = data["paths"]
    assert p["slug"] == "nag" and p["color"] == palette.color_for("nag") and p["diverged_at"] is None
    assert animation.decode_array(p["x"]).tolist() == [0.0, 1.0]
    assert np.isnan(animation.decode_array(p["y"])[1])


# --- standalone HTML -----------------------------------------------------------------------------------
def test_standalone_html_is_self_contained_and_escapes_visitor_text():
    s = beale()
    contour = background.figure_payload(background.contour_figure(s, resolution=40))
    hostile = "</script><script>alert(1)</script>"
    paths = [animation.path_payload(hostile, "x", None, spiral(21), np.ones(21), 4)]
    page = animation.standalone_html(contour, None, paths, 20, f"Race <b>{hostile}</b>")
    assert page.startswith("<!DOCTYPE html>")
    skeleton = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    assert not re.search(r"src=|href=|url\(", skeleton) and "<script src" not in page  # nothing fetched
    assert "window.Plotly = Plotly" in page  # plotly.js inlined
    assert animation.PLAYER_JS.split("\n", 3)[2] in page and "mountRace({data:" in page
    assert page.count("</script>") == page.count("<script")  # no visitor text closes a script
    assert "<title>Race &lt;b&gt;&lt;/script&gt;" in page
    raw = re.search(r'<script id="race-data" type="application/json">(.*?)</script>', page, re.S).group(1)
    data = json.loads(raw)
    assert data["paths"][0]["name"] == hostile and data["steps"] == 20


# --- static plotly.js ----------------------------------------------------------------------------------
def test_ensure_plotly_js_copies_once(tmp_path):
    target = assets.ensure_plotly_js(tmp_path / "static")
    source = assets.plotly_js_source()
    assert target == tmp_path / "static" / "plotly.min.js"
    assert target.stat().st_size == source.stat().st_size
    mtime = target.stat().st_mtime_ns
    assert assets.ensure_plotly_js(tmp_path / "static") == target
    assert target.stat().st_mtime_ns == mtime  # not copied again
    target.write_text("stale")
    assets.ensure_plotly_js(tmp_path / "static")
    assert target.read_bytes() == source.read_bytes()
    assert not list((tmp_path / "static").glob(".*tmp"))


def test_ensure_plotly_js_tolerates_a_read_only_folder(tmp_path, monkeypatch):
    folder = tmp_path / "static"
    folder.mkdir()
    shutil.copyfile(assets.plotly_js_source(), folder / "plotly.min.js")

    def refuse(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(assets.shutil, "copyfile", refuse)
    assert assets.ensure_plotly_js(folder) == folder / "plotly.min.js"  # right size: nothing to do
    (folder / "plotly.min.js").write_text("older build")
    assert assets.ensure_plotly_js(folder) == folder / "plotly.min.js"  # cannot refresh: served as is
    (folder / "plotly.min.js").unlink()
    with pytest.raises(PermissionError):
        assets.ensure_plotly_js(folder)


def test_the_player_prefers_the_partial_bundles_and_falls_back_to_the_full_one(tmp_path):
    # Nothing there (never provisioned): the plotly package's own full bundle for both, nothing written.
    assert assets.player_sources(tmp_path) == (assets.PACKAGE_URL, assets.PACKAGE_URL)
    assets.ensure_plotly_js(tmp_path)
    if all(assets.has_bundle(assets.STATIC_DIR, b) for b in assets.PARTIAL_BUNDLES):
        # ensure_plotly_js gave this other folder the checkout's partial bundles too.
        assert all(assets.has_bundle(tmp_path, b) for b in assets.PARTIAL_BUNDLES)
        assert assets.player_sources(tmp_path) == ("./app/static/plotly-cartesian.min.js",
                                                   "./app/static/plotly-gl3d.min.js")


def test_partial_bundles_are_pinned_to_the_plotly_packages_version():
    import plotly.offline

    assert assets.PARTIAL_VERSION == plotly.offline.get_plotlyjs_version()
    for bundle in assets.PARTIAL_BUNDLES:
        assert bundle.integrity.startswith("sha512-") and len(bundle.sha256) == 64
        assert assets._tarball_url(bundle).endswith(f"/{bundle.package}/-/{bundle.package}-4.1.1.tgz")


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, blob in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return buffer.getvalue()


def _integrity(blob: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(blob).digest()).decode()


def test_a_bundle_is_taken_only_from_the_pinned_tarball_and_file():
    script = b"/* plotly */ window.Plotly = {};"
    tarball = _tarball({"package/plotly-x.min.js": script})
    good = assets.Bundle("plotly-x.min.js", "plotly.js-x-dist-min", _integrity(tarball),
                         hashlib.sha256(script).hexdigest())
    assert assets.extract_bundle(tarball, good) == script
    with pytest.raises(ValueError, match="integrity"):
        assets.extract_bundle(tarball + b"\0", good)  # another tarball than npm published
    other = good._replace(sha256="0" * 64)
    with pytest.raises(ValueError, match="not the pinned file"):
        assets.extract_bundle(tarball, other)  # right tarball, but not the file we pinned
    with pytest.raises(KeyError):
        assets.extract_bundle(tarball, good._replace(file="plotly-y.min.js"))


def test_has_bundle_rejects_a_damaged_copy(tmp_path):
    bundle = assets.CARTESIAN
    assert not assets.has_bundle(tmp_path, bundle)
    (tmp_path / bundle.file).write_text("half a file")
    assert not assets.has_bundle(tmp_path, bundle)


def test_race_data_carries_the_charts():
    chart = {"data": [{"type": "scatter", "x": [0, 1], "y": [2.0, 1.0]}], "layout": {"height": 300}}
    charts = [{"kind": "loss", "figure": chart}, {"kind": "distance", "note": "none"}]
    data = animation.race_data({"data": [], "layout": {}}, None, ten_paths(5), steps=5, charts=charts)
    assert data["charts"] == charts
    assert "charts" not in animation.race_data({"data": [], "layout": {}}, None, ten_paths(5), steps=5)


# --- AppTest: the component in a script ---------------------------------------------------------------
SCRIPT = """
import numpy as np
import streamlit as st
from figures.background import contour_figure, figure_payload, surface3d_figure
from surfaces.base import Surface, X, Y
from ui.animation import path_payload, race_animation

s = Surface(name="bowl", title="Bowl", expression=X**2 + 3 * Y**2, latex="", bounds=((-2, 2), (-2, 2)),
            minima=[(0, 0)], starts=[(1.5, 1.5)])
steps = int(st.query_params.get("steps", 1000))
n = int(st.query_params.get("paths", 10))
t = np.linspace(0, 1, steps + 1)[:, None]
paths = []
for i, slug in enumerate(["sgd", "momentum", "nag", "adagrad", "adadelta", "rmsprop", "adam", "adamax",
                          "nadam", "amsgrad"][:n]):
    pts = (1 - t) * np.array([1.5, 1.5 - 0.3 * i])
    paths.append(path_payload(slug.upper(), slug, None, pts, s.value(pts), 3 if i == 1 else None))
race_animation(figure_payload(contour_figure(s, 60)), figure_payload(surface3d_figure(s, 30)), paths,
               steps=steps, key="race", speed=2.0)
st.write("after the player")
"""


@pytest.mark.parametrize(("steps", "n"), [(1000, 10), (1, 1), (5000, 2)])
def test_a_script_with_the_player_runs_under_apptest(tmp_path, steps, n):
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    at = AppTest.from_file(str(script), default_timeout=60)
    at.query_params["steps"] = str(steps)
    at.query_params["paths"] = str(n)
    at.run()
    assert not at.exception
    assert at.markdown[0].value == "after the player"
    (element,) = at.get("bidi_component")
    assert element.proto.component_name == animation.COMPONENT_NAME
    # Streamlit sends the small loader with every rerun; the player's code rides in the data's chunks.
    assert element.proto.js_content == animation.LOADER_JS and not element.proto.css_content
    data = animation.element_data(element.proto)
    player, _ = unpack(data, {})
    assert player == {"js": animation.PLAYER_MODULE, "css": animation.PLAYER_CSS}
    assert data["steps"] == steps and len(data["paths"]) == n and data["speed"] == 2.0
    assert data["contour"]["layout"]["uirevision"]
    assert data["surface3d"]["layout"]["meta"]["zmode"] == "linear"
    assert len(animation.decode_array(data["paths"][0]["x"])) == steps + 1
    if n > 1:
        assert data["paths"][1]["note"] == "MOMENTUM diverged at step 3"
    # A render writes nothing next to the script (`make assets` / the Dockerfile provision static/).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.py"]
    # A rerun sends the same race (same id): the browser keeps playing instead of starting over.
    at.run()
    assert animation.element_data(at.get("bidi_component")[0].proto)["id"] == data["id"]


def test_a_browser_session_gets_the_same_race_as_references(tmp_path, monkeypatch):
    """The branch of race_animation that a connected browser takes (AppTest has no request headers, so it
    is forced here): its chunk references rebuild exactly the data sent whole, speed_seq and id included,
    and the session's record then holds every chunk."""
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    at = AppTest.from_file(str(script), default_timeout=60)
    at.query_params["steps"] = "300"
    at.run()
    whole = animation.element_data(at.get("bidi_component")[0].proto)
    sent = animation.SentChunks()
    monkeypatch.setattr(animation, "_session_chunks", lambda: sent)
    at.run()
    referred = animation.element_data(at.get("bidi_component")[0].proto)
    assert not at.exception
    assert referred["blobs"] and len(sent) == len(referred["blobs"])
    player, rebuilt = unpack(referred, {})
    assert player == {"js": animation.PLAYER_MODULE, "css": animation.PLAYER_CSS}
    assert rebuilt == {k: v for k, v in whole.items() if k not in ("blobs", "player")}
    assert rebuilt["speed_seq"] == 0 and rebuilt["id"] == whole["id"]
    at.run()  # the same race again: nothing travels twice
    again = animation.element_data(at.get("bidi_component")[0].proto)
    assert again["blobs"] == {} and again["id"] == whole["id"]


def test_without_the_npm_registry_the_app_falls_back_to_the_full_bundle(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(assets, "REGISTRY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setattr(assets, "STATIC_DIR", tmp_path / "checkout-static")  # no bundles to copy from
    folder = tmp_path / "static"
    assert assets.main(["--static", str(folder)]) == 0  # `make run`: warn and carry on
    assert "WARNING: could not fetch plotly's partial bundles" in capsys.readouterr().err
    assert (folder / "plotly.min.js").is_file()
    assert assets.player_sources(folder) == ("./app/static/plotly.min.js",) * 2
    assert assets.main(["--static", str(folder), "--strict"]) == 1  # `make test` and the image: fail


@pytest.mark.parametrize(("value", "expected"), [
    ({"speed": {"speed": 2, "seq": 3}}, (2.0, 3)),
    ({"speed": {"speed": 0.5, "seq": 1}, "step": 40}, (0.5, 1)),
    ({"speed": 2}, (None, 0)),  # not the player's report
    ({"speed": {"speed": "fast", "seq": "x"}}, (None, 0)),
    ({"speed": {"speed": True, "seq": -4}}, (None, 0)),
    (None, (None, 0)),
    ({}, (None, 0)),
])
def test_player_speed_reads_the_players_numbered_report(value, expected):
    assert animation.player_speed(value) == expected


def test_the_speed_report_number_is_no_part_of_the_race_identity():
    bg = {"data": [], "layout": {}}
    a = animation.race_data(bg, None, [], steps=10, speed=1.0)
    b = animation.race_data(bg, None, [], steps=10, speed=2.0)
    assert a["id"] == b["id"] and "speed_seq" not in a


# --- transport: chunks the browser window keeps (ui/player_loader.js undoes browser_payload) ------------
def unpack(payload: dict, window: dict) -> tuple[dict, dict]:
    """What the loader does, in Python: (player code and stylesheet, the data with every chunk reference
    replaced by its text). ``window`` is the browser's store (hash -> text), filled from ``blobs``; a
    missing chunk is a KeyError."""
    window.update(payload["blobs"])

    def walk(value):
        if isinstance(value, dict):
            if isinstance(value.get("chunks"), list):
                text = "".join(window[h] for h in value["chunks"])
                if "dtype" not in value:
                    return text
                return {**{k: v for k, v in value.items() if k != "chunks"}, "bdata": text}
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    data = {k: walk(v) for k, v in payload.items() if k not in ("blobs", "player")}
    return walk(payload["player"]), data


def run_of(steps: int, seed: int) -> np.ndarray:
    """A spiral walked one fixed step at a time: like a real run, a shorter one is a prefix of a longer."""
    t = np.arange(steps + 1) * (6 * np.pi / 1000)
    r = np.exp(-t / 8) * (1 + 0.05 * seed)
    return np.stack([3 + r * np.cos(t + seed), 0.5 + r * np.sin(t + seed)], axis=1)


def beale_race(steps: int, build=animation.race_data, **options) -> dict:
    """The 10-optimizer race on Beale as the Race page sends it: backgrounds, paths and a loss chart."""
    s = beale()
    contour, surf = background.contour_payload(s), background.surface3d_payload(s)
    runs = [run_of(steps, i) for i in range(10)]
    paths = [animation.path_payload(slug.title(), slug, None, pts, s.value(pts), None)
             for slug, pts in zip(SLUGS, runs, strict=True)]
    loss = {"data": [{"type": "scatter", "x": background.typed_array(np.arange(steps + 1), "i4"),
                      "y": background.typed_array(s.value(pts))} for pts in runs], "layout": {}}
    return build(contour, surf, paths, steps=steps, charts=[{"kind": "loss", "figure": loss}], **options)


def json_size(value) -> int:
    return len(json.dumps(value))


def test_a_session_sends_each_chunk_once_and_the_window_rebuilds_every_race_exactly():
    sent, window = animation.SentChunks(), {}
    first = beale_race(1000)
    payload, new = animation.browser_payload(first, sent)
    sent.add(new)
    assert unpack(payload, window) == ({"js": animation.PLAYER_MODULE, "css": animation.PLAYER_CSS}, first)
    assert json_size(payload) < json_size(first) + len(animation.PLAYER_MODULE) + len(animation.PLAYER_CSS)
    # Fewer steps: each array shares its leading chunks with the longer race, so only the tails travel.
    shorter = beale_race(999)
    payload, new = animation.browser_payload(shorter, sent)
    sent.add(new)
    assert unpack(payload, window)[1] == shorter
    assert json_size(payload) < 50_000 < json_size(shorter) // 10, json_size(payload)
    assert animation.PLAYER_MODULE not in payload["blobs"].values()  # the code went with the first run
    # The same race at another speed: nothing new at all.
    again, new = animation.browser_payload(beale_race(999, speed=2.0), sent)
    assert again["blobs"] == {} and new == {} and again["id"] == shorter["id"]
    assert unpack(again, window)[1]["paths"] == shorter["paths"]


def test_the_players_one_walk_sends_what_browser_payload_sends():
    """race_animation builds the payload from race_data's own walk (``_race_parts``): the same payload and
    chunks as ``browser_payload``, and as a walk that checks ``sent`` as it goes."""
    sent_a, sent_b, sent_c = animation.SentChunks(), animation.SentChunks(), animation.SentChunks()
    first = beale_race(1000)
    for sent in (sent_a, sent_b, sent_c):
        sent.add(animation.browser_payload(first, sent)[1])
    data, skeleton, chunks = beale_race(999, build=animation._race_parts, speed=2.0)
    assert data == beale_race(999, speed=2.0) and skeleton["id"] == data["id"]
    one_walk = animation._payload(skeleton, chunks, sent_a)
    assert one_walk == animation.browser_payload(data, sent_b)
    walked_new: dict[str, str] = {}
    walked = animation._refer_arrays(data, sent_c, walked_new)[0]
    assert {k: v for k, v in one_walk[0].items() if k not in ("player", "blobs")} == walked
    player = (animation.PLAYER_MODULE, animation.PLAYER_CSS)
    assert {h: t for h, t in one_walk[1].items() if t not in player} == walked_new
    assert 0 < len(walked_new) < len(chunks)  # only the 999-step race's new tails


def test_without_a_browser_session_the_arrays_stay_whole():
    data = beale_race(50)
    payload, new = animation.browser_payload(data, None)
    assert {k: v for k, v in payload.items() if k not in ("player", "blobs")} == data
    assert set(new.values()) == {animation.PLAYER_MODULE, animation.PLAYER_CSS} and payload["blobs"] == new
    assert data.keys() == beale_race(50).keys()  # browser_payload leaves its input alone


def test_small_arrays_travel_inline_and_equal_arrays_share_their_chunks():
    tiny = animation.path_payload("Adam", "adam", None, spiral(3), np.ones(3), None)
    payload, _ = animation.browser_payload(animation.race_data({"data": [], "layout": {}}, None, [tiny],
                                                               steps=2), animation.SentChunks())
    assert payload["paths"][0]["x"] == tiny["x"]  # 12 bytes: a reference would be longer
    same = animation.path_payload("Adam", "adam", None, spiral(500), np.ones(500), None)
    payload, new = animation.browser_payload(animation.race_data({"data": [], "layout": {}}, None,
                                                                 [same, dict(same, slug="nag")], steps=499),
                                             animation.SentChunks())
    a, b = payload["paths"]
    assert a["x"] == b["x"] and a["x"]["chunks"] and sum(len(t) for t in new.values()) < json_size(same) + \
        len(animation.PLAYER_MODULE) + len(animation.PLAYER_CSS)


def test_sent_chunks_forget_the_least_recently_used_beyond_their_limit():
    sent = animation.SentChunks(limit=30)
    sent.add({"a": "x" * 10, "b": "y" * 10, "c": "z" * 10})
    assert "a" in sent  # a use: b is now the oldest
    sent.add({"d": "w" * 10})
    assert [h in sent for h in "abcd"] == [True, False, True, True] and sent.size == 30
    sent.forget(["c", "nope"])
    assert len(sent) == 2 and sent.size == 20
    sent.clear()
    assert len(sent) == 0 and sent.size == 0


@pytest.mark.parametrize(("report", "left"), [
    (["AAAAAAAAAAAAAAAA"], {"BBBBBBBBBBBBBBBB"}),  # forget exactly what the window lacks
    (["AAAAAAAAAAAAAAAA", "not a chunk name"], set()),  # anything else: forget everything
    ("AAAAAAAAAAAAAAAA", set()),
    (None, set()),
])
def test_the_missing_trigger_makes_python_send_the_chunks_again(monkeypatch, report, left):
    sent = animation.SentChunks()
    sent.add({"AAAAAAAAAAAAAAAA": "x", "BBBBBBBBBBBBBBBB": "y"})
    state = {animation.SENT_KEY: sent, "race": {"missing": report}}
    monkeypatch.setattr(animation.st, "session_state", state)
    animation._forget_missing("race")
    assert {h for h in ("AAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBB") if h in sent} == left


def test_a_race_seen_before_reuses_its_walk_only_for_the_very_same_inputs():
    """``race_animation`` takes the data's walk from a memo when the page hands over the very objects it
    handed over before (its caches do, for the same race): equal data to a fresh walk, and never the walk
    of other inputs, even equal ones."""
    contour, paths = {"data": [], "layout": {}}, ten_paths(50)
    scalars = {"steps": 50, "height": 560, "overlays": (), "gradient_scale": None, "step_scale": None,
               "clickable": False}

    def parts(contour, paths, **changed):
        return animation._shared_parts(contour, None, paths, charts=(), present=None, links=None,
                                       **{**scalars, **changed})

    first = parts(contour, paths)
    assert parts(contour, paths) is first  # the very same inputs: the memo's entry
    assert first[0] == animation.race_data(contour, None, paths, steps=50)
    equal = parts(contour, [dict(p) for p in paths])  # equal paths, other objects: walked again
    assert equal is not first and equal[0] == first[0]
    longer = parts(contour, paths, steps=49)
    assert longer[0]["steps"] == 49 and longer[0]["id"] != first[0]["id"]
    for _ in range(animation._PARTS_LIMIT + 1):  # the memo is bounded: the first entry is gone
        parts({"data": [], "layout": {}}, paths)
    assert len(animation._parts_memo) == animation._PARTS_LIMIT
    assert parts(contour, paths) is not first and parts(contour, paths)[0] == first[0]
