"""GIF export: the file decodes, has the frames and size asked for, uses the optimizers' colours; the UI
renders once per race. The 10 × 300 timing is reported by bench/bench_gif.py, not asserted here."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

import optimizers
import surfaces
from figures.palette import color_for
from lab import gif, race
from lab.race import Race, run_race


def _paths(surface_name: str, names, steps: int, **hyper) -> dict[str, optimizers.Path]:
    surface = surfaces.get(surface_name)
    race = Race.make(names, steps, surface.start, {n: dict(hyper) for n in names})
    return run_race(surface, race)


def _rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


def _frames(data: bytes) -> list[np.ndarray]:
    image = Image.open(io.BytesIO(data))
    out = []
    for k in range(image.n_frames):
        image.seek(k)
        out.append(np.asarray(image.convert("RGB")))
    return out


def test_gif_decodes_with_one_frame_per_step_and_the_requested_size():
    surface = surfaces.get("ravine")
    paths = _paths("ravine", ["sgd", "momentum", "adam"], 20)
    data = gif.race_gif(surface, paths)
    image = Image.open(io.BytesIO(data))
    assert image.format == "GIF"
    assert image.size == (480, 400)
    assert image.is_animated and image.n_frames == 21
    assert image.info.get("loop") == 0
    last = _frames(data)[-1]
    colours = {tuple(c) for c in last.reshape(-1, 3).tolist()}
    for name in paths:
        assert _rgb(color_for(name)) in colours, name


@pytest.mark.parametrize(("frames", "size"), [(10, (320, 240)), (2, (480, 400)), (500, (640, 360))])
def test_frame_count_and_size_are_as_asked(frames, size):
    surface = surfaces.get("beale")
    paths = _paths("beale", optimizers.available(), 60)
    data = gif.race_gif(surface, paths, frames=frames, size=size)
    image = Image.open(io.BytesIO(data))
    assert image.size == size
    assert image.n_frames == min(frames, 61)


def test_progress_is_reported_in_order_and_ends_at_one():
    seen = []
    surface = surfaces.get("two_minima")
    gif.race_gif(surface, _paths("two_minima", ["nag", "adagrad"], 30), frames=16, progress=seen.append)
    assert len(seen) >= 16
    assert seen == sorted(seen)
    assert 0 < seen[0] and seen[-1] == 1.0


def test_paths_that_leave_the_picture_or_diverge_are_drawn_without_error():
    surface = surfaces.get("saddle")  # unbounded below: adaptive methods leave the window fast
    paths = _paths("saddle", ["sgd", "rmsprop", "adagrad"], 200, lr=1.0)
    assert any(p.diverged_at is not None or np.abs(p.points).max() > 1.5 for p in paths.values())
    frames = _frames(gif.race_gif(surface, paths, frames=20))
    assert len(frames) == 20
    # Trails are clipped to the picture: the white margins beside the (square) map stay white.
    for frame in frames:
        assert (frame[gif.HEADER + 6:360, :40] == 255).all()
        assert (frame[gif.HEADER + 6:360, -40:] == 255).all()


def test_frames_show_the_trail_growing():
    surface = surfaces.get("ravine")
    paths = _paths("ravine", ["momentum"], 100, lr=0.01)
    frames = _frames(gif.race_gif(surface, paths, frames=11))
    orange = np.array(_rgb(color_for("momentum")))
    counts = [int((f == orange).all(axis=-1).sum()) for f in frames]
    assert counts[-1] > counts[1] > 0


def test_frame_steps():
    assert gif.frame_steps(300, 301) == list(range(301))
    steps = gif.frame_steps(1000, 301)
    assert steps[0] == 0 and steps[-1] == 1000 and len(steps) == 301
    assert all(b > a for a, b in zip(steps, steps[1:], strict=False))
    assert gif.frame_steps(5, 100) == [0, 1, 2, 3, 4, 5]
    with pytest.raises(ValueError):
        gif.frame_steps(10, 1)


def test_bad_input_is_refused():
    surface = surfaces.get("beale")
    with pytest.raises(ValueError, match="no optimizers"):
        gif.race_gif(surface, {})
    with pytest.raises(ValueError, match="too small"):
        gif.race_gif(surface, _paths("beale", ["sgd"], 5), size=(40, 40))


# --- the UI: rendered once per race, only the latest kept ----------------------------------------------
def _script():
    import streamlit as st

    import surfaces
    from lab.race import Race, run_race
    from ui.gif_export import gif_download

    surface = surfaces.get("ravine")
    steps = st.session_state.get("steps", 10)
    race = Race.make(["sgd", "adam"], steps, surface.start, {})
    gif_download(surface, run_race(surface, race), key=("catalogue", "ravine", race))


def test_gif_download_renders_once_per_race_and_keeps_only_the_latest(monkeypatch):
    import ui.gif_export as gif_export

    calls = []
    real = gif_export.race_gif

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(gif_export, "race_gif", counting)
    at = AppTest.from_function(_script, default_timeout=60)
    at.run()
    assert not at.exception
    # The pop-over's options run only while it is open (a rerun when the visitor opens it).
    assert not at.button and not at.selectbox and not at.get("download_button")
    at.session_state[gif_export.OPEN_KEY] = True
    at.run()
    assert [b.label for b in at.button] == ["Make the GIF"]
    assert [s.key for s in at.selectbox] == ["gif_export.size"]
    assert not at.get("download_button")
    at.button(key="gif_export.make").click().run()
    assert not at.exception
    assert len(calls) == 1
    assert len(at.get("download_button")) == 1
    stored = at.session_state[gif_export.STATE_KEY]
    assert Image.open(io.BytesIO(stored["data"])).n_frames == 11
    at.run()  # a rerun offers the same GIF without rendering again
    assert len(calls) == 1 and len(at.get("download_button")) == 1
    at.session_state["steps"] = 12  # another race: the button again, then only its GIF is kept
    at.run()
    assert not at.get("download_button")
    at.button(key="gif_export.make").click().run()
    assert len(calls) == 2
    assert Image.open(io.BytesIO(at.session_state[gif_export.STATE_KEY]["data"])).n_frames == 13
    # Slide sizes: the visitor's choice is the GIF's size (and another choice is another GIF).
    at.selectbox(key="gif_export.size").set_value("960x540").run()
    assert not at.get("download_button")
    at.button(key="gif_export.make").click().run()
    assert Image.open(io.BytesIO(at.session_state[gif_export.STATE_KEY]["data"])).size == (960, 540)
    # Closed again, the options are kept: the same GIF is offered, without its widgets and without a render.
    at.session_state[gif_export.OPEN_KEY] = False
    at.run()
    assert not at.selectbox and len(at.get("download_button")) == 1 and len(calls) == 3
    at.session_state[gif_export.OPEN_KEY] = True
    at.run()
    assert at.selectbox(key="gif_export.size").value == "960x540" and len(at.get("download_button")) == 1


def test_slide_sizes_are_16_9_and_offered_first():
    from ui import gif_export

    assert gif.SLIDE_SIZES == ("1280x720", "960x540")
    assert all(gif.SIZES[s][0] * 9 == gif.SIZES[s][1] * 16 for s in gif.SLIDE_SIZES)
    assert list(gif_export.SIZE_LABELS)[:2] == list(gif.SLIDE_SIZES)


def _ink(frame: np.ndarray, box) -> int:
    """Pixels darker than the page in ``box`` (x0, y0, x1, y1) of an RGB frame: text drawn there."""
    x0, y0, x1, y1 = box
    return int((frame[y0:y1, x0:x1].sum(axis=-1) < 300).sum())


def test_a_slide_gif_has_title_formula_axes_and_larger_type():
    surface = surfaces.get("saddle")
    paths = _paths("saddle", ["sgd", "adam"], 20)
    plain = _frames(gif.race_gif(surface, paths, style=gif.GifStyle((1280, 720))))[-1]
    style = gif.GifStyle((1280, 720), "Who leaves first?", race.formula_text(surface), True, 1.8)
    slide = _frames(gif.race_gif(surface, paths, style=style))[-1]
    assert slide.shape == (720, 1280, 3)
    assert race.formula_text(surface) == "f(x, y) = x^2 - y^2"
    # The formula's line (under the title) carries text only when asked for.
    line = (0, 45, 400, 85)
    assert _ink(slide, line) > 100 and _ink(plain, line) == 0
    # Larger type: the title takes more ink than at the default size.
    title = (0, 0, 500, 40)
    assert _ink(slide, title) > 1.5 * _ink(plain, title) > 0
