"""An animated GIF of a race, for slides: the contour background, coloured trails, a legend, a step counter.

Rendered with NumPy and Pillow only (no matplotlib, no browser):

* the background is computed once: f on the pixel grid, mapped to colour exactly as the contour map of
  ``figures.background`` does (its ``color_mapping`` and ``COLORSCALE``, the same 24 levels), drawn as
  filled bands with darker level lines, and the known minima marked (star: global, diamond: local);
* the trails only grow, so each frame draws just the new segments onto one persistent image, then copies
  it and adds the heads and the step counter;
* every frame is a palette ("P") image sharing one fixed palette — the bands, the lines, the optimizer
  colours of ``figures.palette`` and a few greys — so nothing is quantized and the GIF stays small.

Measured (bench/bench_gif.py): ten optimizers × 300 steps, 301 frames at 480×400, in 1.3–1.9 s and
190–310 kB (two busy shared cores).
MP4 is not offered: it would need a new dependency (imageio-ffmpeg or PyAV) for an encoder.

For slides (``GifStyle``): the sizes of ``SLIDE_SIZES`` (1280 × 720 and 960 × 540, 16:9), a title, the
formula under it, axes with the bounds' values, and type scaled for a room (``font_scale``).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw, ImageFont

import optimizers
from lab.colors import COLORSCALE, LINE_COLOR, color_for, color_mapping  # plotly-free (lab below figures)

LEVELS = 24  # as figures.background.contour_figure
MAPPING_RESOLUTION = 160  # the grid contour_figure takes its colour range from
MAX_FRAMES = 301
FRAME_MS = 40  # 25 frames a second
LAST_FRAME_MS = 2500  # hold the finish
HEADER = 24
LEGEND_ROW = 20
TRAIL_WIDTH = 2
HEAD_RADIUS = 4

SIZES = {"480x400": (480, 400), "960x540": (960, 540), "1280x720": (1280, 720)}  # "web", then 16:9 slides
SLIDE_SIZES = ("1280x720", "960x540")


@dataclass(frozen=True)
class GifStyle:
    """What goes into the picture besides the race: size in pixels, the title (None: the surface's),
    the formula line (None: none), axes with the bounds' values, and the type's scale (1: 14 px titles)."""

    size: tuple[int, int] = (480, 400)
    title: str | None = None
    formula: str | None = None
    axes: bool = False
    font_scale: float = 1.0

    def px(self, base: float) -> int:
        return max(8, int(round(base * self.font_scale)))


# Palette indices
WHITE, BLACK, DARK, GREY, LIGHT = 0, 1, 2, 3, 4
BAND0 = 8  # LEVELS fill colours, then LEVELS line colours
LINE0 = BAND0 + LEVELS
TRAIL0 = LINE0 + LEVELS  # one per optimizer in the race


def _hex(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


def _rgba(text: str) -> tuple[tuple[float, float, float], float]:
    r, g, b, a = (float(v) for v in re.findall(r"[\d.]+", text))
    return (r, g, b), a


def _colorscale(positions: np.ndarray) -> np.ndarray:
    """RGB (n, 3) of the background colour scale at positions in [0, 1] (linear between stops)."""
    stops = np.array([p for p, _ in COLORSCALE], dtype=float)
    rgb = np.array([_hex(c) for _, c in COLORSCALE], dtype=float)
    return np.stack([np.interp(positions, stops, rgb[:, i]) for i in range(3)], axis=-1)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError, AttributeError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


class _Layout:
    """Where the surface's bounds go in the image (equal aspect, centred), and the legend's rows."""

    def __init__(self, surface, size: tuple[int, int], item_widths: list[float],
                 style: GifStyle | None = None):
        style = style or GifStyle(size=size)
        self.width, self.height = int(size[0]), int(size[1])
        self.header = style.px(HEADER) * (2 if style.formula else 1)
        self.row = style.px(LEGEND_ROW)
        # Legend items flow left to right and wrap: (x, row) of each.
        self.items: list[tuple[float, int]] = []
        x, row = 8.0, 0
        for w in item_widths:
            if x > 8.0 and x + w > self.width - 4:
                x, row = 8.0, row + 1
            self.items.append((x, row))
            x += w
        rows = row + 1 if item_widths else 0
        self.legend_top = self.height - rows * self.row - (6 if rows else 0)
        # Axes: room for the values left of and under the picture.
        self.axis_left = style.px(44) if style.axes else 0
        self.axis_bottom = style.px(22) if style.axes else 0
        (x0, x1), (y0, y1) = surface.bounds
        self.x0, self.y1 = x0, y1
        room_w = self.width - 8 - 2 * self.axis_left
        room_h = self.legend_top - self.header - 4 - self.axis_bottom
        if room_w < 20 or room_h < 20:
            raise ValueError(f"Invalid GIF size {size}: too small for the picture and its legend")
        self.scale = min(room_w / (x1 - x0), room_h / (y1 - y0))
        self.plot_w = max(1, int(round((x1 - x0) * self.scale)))
        self.plot_h = max(1, int(round((y1 - y0) * self.scale)))
        self.left = (self.width - self.plot_w) // 2
        self.top = self.header + (room_h - self.plot_h) // 2

    def pixels(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) surface coordinates -> (N, 2) float pixel coordinates."""
        px = self.left + (points[:, 0] - self.x0) * self.scale
        py = self.top + (self.y1 - points[:, 1]) * self.scale
        return np.stack([px, py], axis=-1)

    @property
    def box(self) -> tuple[float, float, float, float]:
        return self.left, self.top, self.left + self.plot_w - 1, self.top + self.plot_h - 1


def _palette(names: list[str]) -> list[int]:
    colors = [(255, 255, 255), (0, 0, 0), (31, 35, 40), (110, 118, 129), (208, 215, 222)]
    colors += [(0, 0, 0)] * (BAND0 - len(colors))
    positions = (np.arange(LEVELS) + 0.5) / LEVELS
    bands = _colorscale(positions)
    line_rgb, alpha = _rgba(LINE_COLOR)
    lines = bands * (1 - alpha) + np.array(line_rgb) * alpha
    colors += [tuple(int(round(c)) for c in row) for row in bands]
    colors += [tuple(int(round(c)) for c in row) for row in lines]
    colors += [_hex(color_for(n)) for n in names]
    flat = [c for rgb in colors for c in rgb]
    return flat + [0] * (768 - len(flat))


def _background(surface, layout: _Layout, palette: list[int]) -> Image.Image:
    """The contour picture as palette indices: filled bands, darker level lines, minima, frame."""
    _, _, reference = surface.grid(MAPPING_RESOLUTION)
    mapping = color_mapping(surface, reference)
    xs = layout.x0 + (np.arange(layout.plot_w) + 0.5) / layout.scale
    ys = layout.y1 - (np.arange(layout.plot_h) + 0.5) / layout.scale
    gx, gy = np.meshgrid(xs, ys)
    z = surface.value(np.stack([gx, gy], axis=-1))
    t = mapping.transform(z)
    size = (mapping.hi - mapping.lo) / LEVELS
    with np.errstate(invalid="ignore"):
        band = np.floor((t - mapping.lo) / size)
    nan = ~np.isfinite(band)
    band = np.clip(np.nan_to_num(band, nan=0.0), 0, LEVELS - 1).astype(np.int16)
    edge = np.zeros(band.shape, dtype=bool)
    edge[:, 1:] |= band[:, 1:] != band[:, :-1]
    edge[1:, :] |= band[1:, :] != band[:-1, :]
    index = np.where(edge, LINE0 + band, BAND0 + band).astype(np.uint8)
    index[nan] = WHITE
    image = Image.new("P", (layout.width, layout.height), WHITE)
    image.putpalette(palette)
    image.paste(Image.fromarray(index, mode="P"), (layout.left, layout.top))
    draw = ImageDraw.Draw(image)
    draw.rectangle(layout.box, outline=GREY)
    x0, y0, x1, y1 = layout.box
    for points, star in ((surface.minima, True), (surface.local_minima, False)):
        for px, py in layout.pixels(np.asarray(points, dtype=float).reshape(-1, 2)).tolist():
            if x0 <= px <= x1 and y0 <= py <= y1:
                _marker(draw, px, py, star)
    return image


def _marker(draw: ImageDraw.ImageDraw, x: float, y: float, star: bool) -> None:
    if star:
        outer, inner = 9.0, 4.0
        pts = []
        for k in range(10):
            r = outer if k % 2 == 0 else inner
            angle = -math.pi / 2 + k * math.pi / 5
            pts.append((x + r * math.cos(angle), y + r * math.sin(angle)))
        draw.polygon(pts, fill=BLACK, outline=WHITE)
    else:
        r = 5.0
        draw.polygon([(x, y - r), (x + r, y), (x, y + r), (x - r, y)], fill=GREY, outline=WHITE)


def _clip_segments(a: np.ndarray, b: np.ndarray, box) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Liang–Barsky: segments a→b (N, 2) clipped to box (x0, y0, x1, y1); returns a', b', visible."""
    x0, y0, x1, y1 = box
    d = b - a
    t0 = np.zeros(len(a))
    t1 = np.ones(len(a))
    visible = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        for p, q in ((-d[:, 0], a[:, 0] - x0), (d[:, 0], x1 - a[:, 0]),
                     (-d[:, 1], a[:, 1] - y0), (d[:, 1], y1 - a[:, 1])):
            parallel = p == 0
            visible &= ~(parallel & (q < 0))
            r = q / p
            entering = (p < 0) & ~parallel
            leaving = (p > 0) & ~parallel
            t0 = np.where(entering, np.maximum(t0, r), t0)
            t1 = np.where(leaving, np.minimum(t1, r), t1)
    visible &= t0 <= t1
    return a + t0[:, None] * d, a + t1[:, None] * d, visible


class _Trail:
    """One optimizer's path in pixels, with its segments clipped to the plot once."""

    def __init__(self, layout: _Layout, points: np.ndarray, color: int):
        pix = layout.pixels(np.asarray(points, dtype=float))
        self.pixels = pix
        self.color = color
        self.a, self.b, self.visible = _clip_segments(pix[:-1], pix[1:], layout.box)
        x0, y0, x1, y1 = layout.box
        self.inside = (pix[:, 0] >= x0) & (pix[:, 0] <= x1) & (pix[:, 1] >= y0) & (pix[:, 1] <= y1)

    def draw_segments(self, draw: ImageDraw.ImageDraw, start: int, stop: int) -> None:
        """Segments from step ``start`` to step ``stop`` (points start … stop)."""
        seg = np.arange(start, min(stop, len(self.a)))
        seg = seg[self.visible[seg]]
        for a, b in zip(self.a[seg].tolist(), self.b[seg].tolist(), strict=True):
            draw.line((a[0], a[1], b[0], b[1]), fill=self.color, width=TRAIL_WIDTH)

    def draw_head(self, draw: ImageDraw.ImageDraw, step: int) -> None:
        step = min(step, len(self.pixels) - 1)
        if not self.inside[step]:
            return
        x, y = self.pixels[step]
        r = HEAD_RADIUS
        draw.ellipse((x - r, y - r, x + r, y + r), fill=self.color, outline=DARK)


def _title(name: str) -> str:
    return optimizers.get(name).title if name in optimizers.OPTIMIZERS else name


def _legend_widths(names: list[str], font) -> list[float]:
    return [22 + font.getlength(_title(n)) + 16 for n in names]


def _tick(value: float) -> str:
    return f"{value:.4g}"


def _axes(draw: ImageDraw.ImageDraw, layout: _Layout, surface, font) -> None:
    """The bounds' values (ends and middle) under and left of the picture, and the axis names."""
    (x0, x1), (y0, y1) = surface.bounds
    left, top, right, bottom = layout.box
    for value, anchor in ((x0, "lt"), ((x0 + x1) / 2, "mt"), (x1, "rt")):
        px = layout.pixels(np.array([[value, y1]]))[0, 0]
        draw.line((px, bottom, px, bottom + 4), fill=GREY)
        draw.text((px, bottom + 5), _tick(value), fill=DARK, font=font, anchor=anchor)
    for value, anchor in ((y0, "rb"), ((y0 + y1) / 2, "rm"), (y1, "rt")):
        py = layout.pixels(np.array([[x0, value]]))[0, 1]
        draw.line((left - 4, py, left, py), fill=GREY)
        draw.text((left - 6, py), _tick(value), fill=DARK, font=font, anchor=anchor)
    draw.text((right + 6, bottom), "x", fill=DARK, font=font, anchor="lb")
    draw.text((left + 4, top - 3), "y", fill=DARK, font=font, anchor="lb")


def _legend(draw: ImageDraw.ImageDraw, layout: _Layout, names: list[str], font) -> None:
    for i, (name, (x, row)) in enumerate(zip(names, layout.items, strict=True)):
        y = layout.legend_top + 4 + row * layout.row + layout.row / 2
        draw.line((x, y, x + 16, y), fill=TRAIL0 + i, width=3)
        draw.ellipse((x + 8 - 4, y - 4, x + 8 + 4, y + 4), fill=TRAIL0 + i, outline=DARK)
        draw.text((x + 22, y), _title(name), fill=DARK, font=font, anchor="lm")


def frame_steps(steps: int, frames: int) -> list[int]:
    """The step shown in each frame: 0 first, ``steps`` last, evenly spread, strictly increasing."""
    if frames < 2:
        raise ValueError(f"Invalid number of frames: {frames} (at least 2)")
    frames = min(frames, steps + 1)
    return [round(k * steps / (frames - 1)) for k in range(frames)]


def race_gif(surface, paths: Mapping[str, optimizers.Path], *, frames: int | None = None,
             size: tuple[int, int] | None = None, progress: Callable[[float], None] | None = None,
             title: str | None = None, style: GifStyle | None = None) -> bytes:
    """An animated GIF (bytes) of the race: one frame per shown step, trails growing, looping.

    paths: {optimizer slug: Path of one start} (as ``lab.race.run_race`` returns), all of the same length.
    frames: how many frames (default: one per step up to MAX_FRAMES; never more than steps + 1).
    progress: called with the fraction done (0 … 1) as frames render and once more when encoded.
    style: size, title, formula, axes and type size (``GifStyle``); ``size`` and ``title`` override it.
    """
    style = style or GifStyle()
    if size is not None:
        style = replace(style, size=tuple(size))
    if title is not None:
        style = replace(style, title=title)
    size = style.size
    names = list(paths)
    if not names:
        raise ValueError("Nothing to draw: the race has no optimizers")
    if len(names) > 256 - TRAIL0:
        raise ValueError(f"Too many paths for one GIF palette: {len(names)}")
    points = {n: np.asarray(paths[n].points, dtype=float) for n in names}
    if any(p.ndim != 2 or p.shape[1] != 2 for p in points.values()):
        raise ValueError("Each path must hold the points of one start, shape (steps + 1, 2)")
    steps = max(len(p) for p in points.values()) - 1
    if steps < 1:
        raise ValueError("Nothing to animate: the paths have no steps")
    shown = frame_steps(steps, frames if frames is not None else MAX_FRAMES)
    legend_font = _font(style.px(13))
    layout = _Layout(surface, size, _legend_widths(names, legend_font), style)
    palette = _palette(names)
    canvas = _background(surface, layout, palette)
    draw = ImageDraw.Draw(canvas)
    _legend(draw, layout, names, legend_font)
    header_font = _font(style.px(14))
    line = layout.header / (2 if style.formula else 1)
    if style.axes:
        _axes(draw, layout, surface, _font(style.px(12)))
    if style.formula:
        draw.text((8, line * 1.5), style.formula, fill=DARK, font=_font(style.px(13)), anchor="lm")
    trails = [_Trail(layout, points[n], TRAIL0 + i) for i, n in enumerate(names)]
    heading = style.title if style.title is not None else surface.title
    images = []
    previous = 0
    for k, step in enumerate(shown):
        for trail in trails:
            trail.draw_segments(draw, previous, step)
        previous = step
        frame = canvas.copy()
        fd = ImageDraw.Draw(frame)
        for trail in trails:
            trail.draw_head(fd, step)
        fd.text((8, line / 2), heading, fill=DARK, font=header_font, anchor="lm")
        fd.text((layout.width - 8, line / 2), f"step {step} / {steps}", fill=DARK, font=header_font,
                anchor="rm")
        images.append(frame)
        if progress is not None:
            progress(0.9 * (k + 1) / len(shown))
    durations = [FRAME_MS] * (len(images) - 1) + [LAST_FRAME_MS]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0,
                   optimize=True, disposal=1)
    if progress is not None:
        progress(1.0)
    return out.getvalue()
