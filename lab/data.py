"""The Data page's logic without Streamlit: racers (optimizer × batch size), the race, its URL codec and
presets, and reading a visitor's CSV file (every bad file gets a plain message, never an exception).
"""

from __future__ import annotations

import csv
import html
import io
import math
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

import optimizers
import surfaces
from lab import urlstate
from optimizers import data as engine_data
from surfaces.data import DATASETS, MAX_ROWS, MODELS

MAX_BYTES = 1_000_000  # an upload's size limit (1 MB)
MAX_STEPS = 3000
MAX_RACERS = 10
DEFAULT_STEPS = 300
BATCH_SIZES = (1, 8, 32, 128, None)  # what the page offers; None: the full batch
UPLOAD = "upload"  # the data-set choice of a visitor's file (it cannot travel in a URL)
DEFAULT_DATASET = "iris"
# Learning rates that make every rule move visibly on standardized data (the published defaults are tuned
# for networks); logistic gradients are about 4× smaller than least squares', hence the factor.
DATA_LR = {"sgd": 0.05, "momentum": 0.01, "nag": 0.01, "adagrad": 0.3, "adadelta": 1.0, "rmsprop": 0.01,
           "adam": 0.05, "adamax": 0.05, "nadam": 0.05, "amsgrad": 0.05}
LOGISTIC_FACTOR = {"sgd": 4.0, "momentum": 4.0, "nag": 4.0}


def first_order() -> list[str]:
    """The optimizers the page races (the second-order ones need the Hessian of each batch; the API runs
    them, the page keeps to the rules people train with)."""
    return [n for n in optimizers.available() if not optimizers.get(n).second_order]


def default_lr(name: str, model: str) -> float:
    return DATA_LR.get(name, optimizers.defaults(name)["lr"]) * (
        LOGISTIC_FACTOR.get(name, 1.0) if model == "logistic" else 1.0)


# --- racers -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Racer:
    optimizer: str
    batch_size: int | None  # None: the full batch

    @property
    def key(self) -> str:
        return f"{self.optimizer}:{'full' if self.batch_size is None else self.batch_size}"

    @property
    def label(self) -> str:
        title = optimizers.get(self.optimizer).title
        return f"{title}, full batch" if self.batch_size is None else f"{title}, B = {self.batch_size}"


def parse_racer(text: str) -> Racer:
    name, sep, batch = text.strip().lower().partition(":")
    if name not in first_order():
        raise ValueError(f"unknown optimizer '{name}' (valid: {', '.join(first_order())})")
    if not sep or batch == "full":
        return Racer(name, None)
    return Racer(name, urlstate.parse_int(batch, 1, MAX_ROWS))


def parse_racers(text: str) -> list[Racer]:
    """'sgd:1,sgd:32,sgd:full,adam:32' (duplicates dropped, at most MAX_RACERS)."""
    racers = []
    for part in text.split(","):
        if part.strip():
            racer = parse_racer(part)
            if racer not in racers:
                racers.append(racer)
    if not racers:
        raise ValueError("no racer named")
    if len(racers) > MAX_RACERS:
        raise ValueError(f"at most {MAX_RACERS} racers")
    return racers


def format_racers(racers) -> str:
    return ",".join(r.key for r in racers)


def racer_choices() -> list[Racer]:
    """Every optimizer × every offered batch size, in the table's order."""
    return [Racer(n, b) for n in first_order() for b in BATCH_SIZES]


# --- the race -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataRace:
    """The settings of a data race; hashable, so its results can be cached by them."""

    racers: tuple[Racer, ...]
    steps: int
    start: tuple[float, float]
    learning_rates: tuple[tuple[str, float], ...]  # per optimizer, shared by its batch sizes
    seed: int = 0
    decay_epochs: int = 0  # 0: a constant learning rate; k: multiply it by decay_rate every k epochs
    decay_rate: float = 0.5

    def lr(self, name: str) -> float:
        return dict(self.learning_rates)[name]

    def options_for(self, racer: Racer, n_samples: int) -> dict:
        """The run's keyword arguments: "every k epochs" converted to steps for this racer's batch size.
        The seed only orders mini-batches (the page adds no gradient noise), so a full-batch racer does not
        get it: its path is the same for every seed, and a new seed does not run it again."""
        options = {"lr": self.lr(racer.optimizer), "batch_size": racer.batch_size}
        if racer.batch_size is not None and racer.batch_size < n_samples:
            options["seed"] = self.seed
        if self.decay_epochs:
            per = engine_data.steps_per_epoch(n_samples, racer.batch_size)
            options.update(lr_schedule="step", decay_rate=self.decay_rate,
                           decay_steps=self.decay_epochs * per)
        return options

    def run_key(self, racer: Racer, n_samples: int, every: int) -> tuple:
        """Everything one racer's path depends on (on a given surface): what ``PathMemo`` keys it by."""
        return (racer.optimizer, self.steps, self.start, every, *sorted(self.options_for(racer,
                                                                                         n_samples).items()))


# Logistic regression has no moments to shortcut the full-data loss a path records: each recorded step
# costs N sample losses (an exp and a log1p each). The page records it at about this many samples' worth per
# racer (every k-th step, each epoch's end, the last step); the path is the same either way.
LOSS_BUDGET = 60_000


def loss_every(surface, steps: int) -> int:
    """k: the page records the full-data loss at every k-th step (1 but for logistic on large data)."""
    if surface.model != "logistic":
        return 1
    return max(1, -(-surface.n_samples * steps // LOSS_BUDGET))


class PathMemo:
    """The paths already run on one data surface, keyed by what each depends on (``DataRace.run_key``), so a
    rerun computes only the racers whose settings changed: a new learning rate for Adam reruns Adam's
    racers, not SGD's. At most ``max_bytes`` of arrays, the least recently used path dropped first.

    One memo serves every session's script thread: a lock guards the table, and a path's arrays are made
    read-only when it is stored, so no caller can change what another is shown.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self._paths: OrderedDict[tuple, engine_data.DataPath] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._paths)

    def get(self, key: tuple) -> engine_data.DataPath | None:
        with self._lock:
            path = self._paths.get(key)
            if path is not None:
                self._paths.move_to_end(key)
            return path

    def put(self, key: tuple, path: engine_data.DataPath) -> None:
        size = _freeze(path)
        with self._lock:
            if key in self._paths:
                return
            self._paths[key] = path
            self._bytes += size
            while self._bytes > self.max_bytes and len(self._paths) > 1:
                _, dropped = self._paths.popitem(last=False)
                self._bytes -= _nbytes(dropped)


def _arrays(path) -> tuple[np.ndarray, ...]:
    return path.points, path.values, path.batch_losses


def _nbytes(path) -> int:
    return sum(a.nbytes for a in _arrays(path))


def _freeze(path) -> int:
    """Make the path's arrays read-only (it is shared); its size in bytes."""
    for a in _arrays(path):
        a.flags.writeable = False
    return _nbytes(path)


# Racers run side by side on the server's cores when a race has enough work to gain from it and the cores
# are idle: the compiled loops release the GIL, and each racer's path is computed alone, so the bits do not
# depend on it. The script thread runs racers itself and the pool's threads help (one fewer than the cores).
# On a busy machine a helper thread waits for a core while the script thread waits for it: measured on the
# 2-core dev machine, 6 logistic racers on 10,000 rows took 9 ms split against 19 ms in turn at load 2.3,
# but 43 ms split against 23 ms at load 4.2. So a race is split only while the load average leaves a core.
_THREADS = max(1, min(4, os.cpu_count() or 1))
PARALLEL_WORK = 200_000  # sample terms (a sample's loss and gradient) from which a race is split
_helpers: ThreadPoolExecutor | None = None
_helpers_lock = threading.Lock()


def _cores_idle() -> bool:
    """Whether the 1-minute load average (this rerun's own thread included) leaves a core free."""
    try:
        return os.getloadavg()[0] < _THREADS
    except OSError:  # no load average on this platform: do not split
        return False


def _helper_pool() -> ThreadPoolExecutor:
    global _helpers
    with _helpers_lock:
        if _helpers is None:
            _helpers = ThreadPoolExecutor(max(1, _THREADS - 1), thread_name_prefix="lab.data")
        return _helpers


def _run_split(run, racers: list) -> list:
    """``[run(r) for r in racers]`` with the pool's threads helping. The caller runs the first racer, then
    each one no helper has started yet (cancelled in the pool): a visitor's rerun never waits behind other
    visitors' racers queued in the pool, only for its own racers already running there."""
    pool = _helper_pool()
    futures = [pool.submit(run, r) for r in racers[1:]]
    done = {0: run(racers[0])}
    for i, future in enumerate(futures, 1):
        if future.cancel():  # not started: the caller takes it
            done[i] = run(racers[i])
    for i, future in enumerate(futures, 1):
        if i not in done:
            done[i] = future.result()
    return [done[i] for i in range(len(racers))]


def racer_work(surface, race: DataRace, racer: Racer, every: int) -> int:
    """About how many sample terms a racer's run evaluates: B per step for its batches, and, for logistic
    regression (no moments), N per recorded full-data loss. What decides whether a race is split."""
    n, steps = surface.n_samples, race.steps
    batch = n if racer.batch_size is None else min(racer.batch_size, n)
    work = steps * batch
    if surface.model == "logistic":
        per = engine_data.steps_per_epoch(n, racer.batch_size)
        work += n * (steps // every + steps // per + 2)
    return work


def run_data_race(surface, race: DataRace, memo: PathMemo | None = None) -> dict[str, engine_data.DataPath]:
    """One path per racer (keyed by ``Racer.key``), in the race's order. With ``memo`` (one per surface),
    the racers it already holds are not run again and the new ones are added to it. Racers to run are split
    over the cores when their work is large (``PARALLEL_WORK``) and the cores are idle; each path is the
    same bits either way."""
    every = loss_every(surface, race.steps)
    n = surface.n_samples
    keys = {r: race.run_key(r, n, every) for r in race.racers}
    paths = {r: memo.get(keys[r]) for r in race.racers} if memo is not None else {}
    missing = [r for r in race.racers if paths.get(r) is None]

    def run(racer: Racer) -> engine_data.DataPath:
        return optimizers.run(racer.optimizer, surface, race.start, race.steps, loss_every=every,
                              **race.options_for(racer, n))

    split = (_THREADS > 1 and len(missing) > 1
             and sum(racer_work(surface, race, r, every) for r in missing) >= PARALLEL_WORK and _cores_idle())
    done = _run_split(run, missing) if split else [run(r) for r in missing]
    for racer, path in zip(missing, done, strict=True):
        paths[racer] = path
        if memo is not None:
            memo.put(keys[racer], path)
    return {r.key: paths[r] for r in race.racers}


def results_rows(surface, race: DataRace, paths) -> list[dict]:
    """Final full-data loss, parameters, epochs and distance to the nearest known minimum, per racer."""
    rows = []
    minima = surface.all_minima
    for racer in race.racers:
        path = paths[racer.key]
        end = path.points[-1]
        distance = float(np.sqrt(((minima - end) ** 2).sum(axis=1)).min()) if len(minima) else None
        rows.append({"Racer": racer.label, "Final loss": float(path.values[-1]),
                     f"Final {surface_parameters(surface)[0]}": float(end[0]),
                     f"Final {surface_parameters(surface)[1]}": float(end[1]),
                     "Epochs": round(path.steps / path.steps_per_epoch, 2),
                     "Distance to the nearest minimum": distance, "Diverged at step": path.diverged_at})
    return rows


def surface_parameters(surface) -> tuple[str, str]:
    return MODELS[surface.model].parameters


def trajectories_csv(race: DataRace, paths) -> str:
    """racer, step, both parameters, the full-data loss and the step's batch loss (full precision)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["racer", "step", "theta1", "theta2", "loss", "batch_loss"])
    for racer in race.racers:
        path = paths[racer.key]
        batch = [math.nan, *path.batch_losses.tolist()]
        for step, ((p, q), f) in enumerate(zip(path.points.tolist(), path.values.tolist(), strict=True)):
            writer.writerow([racer.key, step, repr(p), repr(q), repr(f), repr(batch[step])])
    return out.getvalue()


def data_csv(surface) -> str:
    """The data the loss uses (standardized), and the raw columns they came from."""
    (mx, sx), (my, sy) = surface.standardization
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["x", "y", "x_standardized", "y_as_used"])
    for a, b in zip(surface.x.tolist(), surface.y.tolist(), strict=True):
        writer.writerow([repr(a * sx + mx), repr(b * sy + my), repr(a), repr(b)])
    return out.getvalue()


# --- URL ----------------------------------------------------------------------------------------------------
def parse_dataset(text: str) -> str:
    return urlstate.parse_choice(text, [*DATASETS, UPLOAD])


def parse_model(text: str) -> str:
    return urlstate.parse_choice(text, list(MODELS))


def url_parsers() -> dict:
    return {
        "dataset": parse_dataset, "model": parse_model, "racers": parse_racers,
        "steps": lambda t: urlstate.parse_int(t, 1, MAX_STEPS), "start": urlstate.parse_point,
        "seed": lambda t: urlstate.parse_int(t, 0, 2**31 - 1),
        "decay_epochs": lambda t: urlstate.parse_int(t, 0, 1000),
        "decay_rate": lambda t: urlstate.parse_float(t, 0.01, 1.0),
        **{urlstate.hyperparameter_key(n, "lr"): (lambda t, n=n: urlstate.parse_hyperparameter(n, "lr", t))
           for n in first_order()},
    }


def url_params(dataset: str, model: str, race: DataRace) -> dict[str, str]:
    params = {"dataset": dataset, "model": model, "racers": format_racers(race.racers),
              "steps": str(race.steps), "start": urlstate.format_point(race.start), "seed": str(race.seed)}
    for name in dict.fromkeys(r.optimizer for r in race.racers):
        params[urlstate.hyperparameter_key(name, "lr")] = urlstate.format_number(race.lr(name))
    if race.decay_epochs:
        params["decay_epochs"] = str(race.decay_epochs)
        if race.decay_rate != 0.5:
            params["decay_rate"] = urlstate.format_number(race.decay_rate)
    return params


@dataclass(frozen=True)
class Preset:
    title: str
    watch: str
    query: dict


PRESETS = (
    Preset("Batch vs mini-batch vs stochastic",
           "The full batch slides straight down the bowl; B = 32 wobbles around that line; B = 1 "
           "(stochastic gradient descent) zig-zags, and keeps jittering around the least-squares line "
           "instead of settling.",
           {"dataset": "iris", "model": "linear", "racers": "sgd:1,sgd:32,sgd:full", "steps": "300",
            "start": "-1.44,2.1", "seed": "0", "lr_sgd": "0.05"}),
    Preset("Halve the learning rate every 7 epochs",
           "With a constant rate the mini-batch paths end in a noise ball around the minimum; each halving "
           "(every 7 epochs: 98 steps at B = 32, 392 at B = 8) shrinks the ball, as the cheatsheet's "
           "schedule does. Compare with the same race at a constant rate (set k to 0).",
           {"dataset": "diabetes", "model": "linear", "racers": "sgd:8,sgd:32,momentum:32", "steps": "1000",
            "start": "-1.8,2.1", "seed": "0", "lr_sgd": "0.2", "lr_momentum": "0.05", "decay_epochs": "7"}),
    Preset("Mini-batch noise at the saddle of a two-layer linear net",
           "All start next to the saddle at (0, 0), where every sample's gradient is small. The full batch "
           "creeps out along the unstable direction; the mini-batches' noise is proportional to θ too, so "
           "near the saddle it hardly helps — Adam's normalized steps leave first.",
           {"dataset": "iris", "model": "deep_linear", "racers": "sgd:1,sgd:8,sgd:full,adam:8",
            "steps": "400", "start": "0.02,-0.01", "seed": "0", "lr_sgd": "0.05", "lr_adam": "0.05"}),
)


# --- a visitor's CSV file -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Upload:
    x: np.ndarray
    y: np.ndarray
    x_label: str
    y_label: str
    rows: int


def _number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def parse_upload(content: bytes) -> Upload:
    """Two numeric columns (a header row optional, commas, semicolons or tabs); ValueError with a plain
    message for anything else: too large, not text, not two columns, text in a number column, NaN or
    infinity, fewer than 2 rows, more than 10,000."""
    if len(content) > MAX_BYTES:
        raise ValueError(f"The file is {len(content) / 1e6:.1f} MB; at most 1 MB is accepted")
    if b"\x00" in content:
        raise ValueError("This is not a CSV file: it is not text (it holds binary data)")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("This is not a CSV file: it is not UTF-8 text") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("The file is empty")
    delimiter = max(",;\t", key=lines[0].count)
    rows = list(csv.reader(lines, delimiter=delimiter))
    widths = {len(r) for r in rows}
    if widths != {2}:
        row = next(i for i, r in enumerate(rows, 1) if len(r) != 2)
        raise ValueError(f"Row {row} has {len(rows[row - 1])} column(s); the file needs exactly two columns "
                         "(x and y), separated by commas")
    header = [c.strip() for c in rows[0]]
    has_header = any(_number(c) is None for c in header)
    labels = header if has_header else ["x", "y"]
    body = rows[1:] if has_header else rows
    if len(body) > MAX_ROWS:
        raise ValueError(f"The file has {len(body):,} rows; at most {MAX_ROWS:,} are accepted")
    values = np.empty((len(body), 2))
    first_row = 2 if has_header else 1
    for i, row in enumerate(body):
        for c in range(2):
            v = _number(row[c])
            if v is None:
                raise ValueError(f"Row {i + first_row}, column {c + 1} ({labels[c] or '?'}): "
                                 f"'{row[c].strip()[:40]}' is not a number")
            if not math.isfinite(v):
                raise ValueError(f"Row {i + first_row}, column {c + 1} ({labels[c] or '?'}): "
                                 f"{row[c].strip()[:40]} is not a finite number")
            values[i, c] = v
    if len(body) < 2:
        raise ValueError(f"The file has {len(body)} data row(s); at least 2 are needed")
    return Upload(values[:, 0].copy(), values[:, 1].copy(), labels[0] or "x", labels[1] or "y", len(body))


def picture_text(text, limit: int = 60) -> str:
    """Visitor text (a file name, a column header) for a plotly title or axis: one line, shortened, and with
    < > & as entities, so plotly's own markup (<b>, <a href>, <br>) shows as the literal text it is."""
    one_line = " ".join(str(text).split())
    if len(one_line) > limit:
        one_line = one_line[: limit - 1] + "…"
    return html.escape(one_line, quote=False)


def upload_surface(upload: Upload, model: str, name: str) -> surfaces.DataSurface:
    """The visitor's data as a surface; ValueError (a constant column, labels not 0/1) as ``from_data``.
    Its title and axis labels are the file's name and headers as literal picture text (``picture_text``)."""
    return surfaces.from_data(upload.x, upload.y, model, name="upload",
                              title=f"{picture_text(name)} · {MODELS[model].title}", dataset=name,
                              x_label=picture_text(upload.x_label), y_label=picture_text(upload.y_label))


def natural_model(upload: Upload) -> str:
    """logistic for labels 0/1, linear otherwise."""
    return "logistic" if set(np.unique(upload.y).tolist()) == {0.0, 1.0} else "linear"
