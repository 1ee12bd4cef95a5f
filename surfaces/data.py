"""Data surfaces: two-parameter models whose loss is a mean over real data; a path still lives in a plane.

Three models, θ = (p, q):

* ``linear`` — θ = (w, b), L(θ) = mean_i (w·x_i + b − y_i)²;
* ``logistic`` — θ = (w, b), z_i = w·x_i + b, L(θ) = mean_i [log(1 + e^{z_i}) − y_i·z_i] (binary
  cross-entropy, labels 0/1), with log(1 + e^z) computed as max(z, 0) + log1p(e^{−|z|}), which never
  overflows;
* ``deep_linear`` — θ = (w₁, w₂), L(θ) = mean_i (w₂·w₁·x_i − y_i)²: the smallest "network", with a saddle
  at (0, 0) and a valley of minima along the hyperbola w₁·w₂ = w*.

x (and y, for the regressions) are standardized by default (mean 0, standard deviation 1, computed with
``math.fsum``); ``DataSurface.x`` and ``.y`` are the arrays the loss really uses.

Every number a run uses — the loss and gradient of a mini-batch, the full-data loss at each point — comes
from the compiled functions below (numba through ``optimizers.jit``: no fast-math, the C library's
``exp``/``log1p``), never from NumPy's transcendental ufuncs, so a run gives the same bits on every CPU. A
mini-batch is a slice ``order[lo:hi]`` of an index array and its terms are summed in that order.

* ``value`` (the full-data loss) of ``linear`` and ``deep_linear`` is computed from the data's moments
  (mean x, y, x², xy, y²), in O(1) per point, which is what lets a run record the full-data loss of each
  of its 1,000 steps on 10,000 rows in microseconds; ``logistic`` sums over the samples. It equals
  ``sample_loss`` over all samples up to rounding.
* ``gradient`` is the mean of the per-sample gradients in the natural order: ``sample_gradient`` over
  ``range(n)`` gives the same bits, and so does a full-batch run's step.

The contour grid (``grid``) is computed once per surface and resolution and kept (at most a few grids per
surface). For a logistic data set over 2,048 rows it sums over the x values rounded to 512 bins: a picture,
and no path uses it.

Data sets (``datasets()``, ``get_dataset``) are small CSV files shipped in ``surfaces/datasets`` (sources
and licences in ``surfaces/datasets/SOURCES.md``); nothing is downloaded at run time. A visitor's data come
in through ``from_data``. This module imports neither streamlit nor plotly.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from optimizers.jit import kernel
from surfaces.base import Surface, _frozen_points

LINEAR, LOGISTIC, DEEP_LINEAR = 0, 1, 2
MAX_ROWS = 10_000  # the largest data set a surface is built from (the upload limit)
GRID_EXACT = 2048  # up to this many samples the contour grid sums over every one
GRID_BINS = 512  # beyond, the grid of a logistic data set sums over this many bins of x
_GRID_CACHE = 4  # grids kept per surface


@dataclass(frozen=True)
class Model:
    name: str  # slug: "linear"
    code: int  # what the compiled functions switch on
    title: str
    parameters: tuple[str, str]  # names of θ's coordinates (axis titles)
    latex: str
    description: str
    classification: bool = False  # labels 0/1, y not standardized


MODELS: dict[str, Model] = {m.name: m for m in [
    Model("linear", LINEAR, "Linear regression", ("w", "b"),
          r"L(w, b) = \frac{1}{N}\sum_{i=1}^{N} (w x_i + b - y_i)^2",
          "Least squares: a bowl whose bottom is the least-squares line."),
    Model("logistic", LOGISTIC, "Logistic regression", ("w", "b"),
          r"L(w, b) = \frac{1}{N}\sum_{i=1}^{N} \left[\log(1 + e^{z_i}) - y_i z_i\right],"
          r"\quad z_i = w x_i + b",
          "Binary cross-entropy of a sigmoid fit to labels 0/1.", classification=True),
    Model("deep_linear", DEEP_LINEAR, "Two-layer linear net", ("w₁", "w₂"),
          r"L(w_1, w_2) = \frac{1}{N}\sum_{i=1}^{N} (w_2 w_1 x_i - y_i)^2",
          "The smallest network: a saddle at (0, 0) and a valley of minima along the hyperbola w₁w₂ = w*."),
]}


# --- the compiled loss ------------------------------------------------------------------------------------
@kernel
def softplus(z):
    """log(1 + e^z) without overflow: max(z, 0) + log1p(e^{−|z|}). Written without a branch around the
    calls (the sign of z is a coin toss over real data, and a mispredicted branch cost ~8 % of the
    full-data loss); the same bits as z + log1p(e^{−z}) for z > 0 and log1p(e^z) otherwise."""
    return (z if z > 0.0 else 0.0) + math.log1p(math.exp(-abs(z)))


@kernel
def sample_terms(model, p, q, xi, yi):
    """One sample's loss, its gradient (∂/∂p, ∂/∂q) and Hessian (pp, pq, qq) at θ = (p, q)."""
    if model == LINEAR:
        r = p * xi + q - yi
        return r * r, 2.0 * r * xi, 2.0 * r, 2.0 * xi * xi, 2.0 * xi, 2.0
    if model == LOGISTIC:
        # sigmoid(z) and softplus(z) from one e^{−|z|} (the exp they would each take is the same): the same
        # bits as calling both, with one exp per sample instead of two.
        z = p * xi + q
        t = math.exp(-abs(z))
        s = 1.0 / (1.0 + t) if z >= 0.0 else t / (1.0 + t)
        e = s - yi
        c = s * (1.0 - s)
        return (z if z > 0.0 else 0.0) + math.log1p(t) - yi * z, e * xi, e, c * xi * xi, c * xi, c
    u = p * q  # deep linear: the product of the two layers
    r = u * xi - yi
    return (r * r, 2.0 * r * xi * q, 2.0 * r * xi * p, 2.0 * xi * xi * q * q, 2.0 * xi * (xi * u + r),
            2.0 * xi * xi * p * p)


@kernel
def batch_terms(model, p, q, x, y, order, lo, hi, hessian):
    """Mean loss, gradient and (when ``hessian``) Hessian over the samples order[lo:hi], summed in that
    order: (loss, gp, gq, hpp, hpq, hqq)."""
    loss = gp = gq = hpp = hpq = hqq = 0.0
    for j in range(lo, hi):
        i = order[j]
        a, b, c, d, e, f = sample_terms(model, p, q, x[i], y[i])
        loss += a
        gp += b
        gq += c
        if hessian:
            hpp += d
            hpq += e
            hqq += f
    m = float(hi - lo)
    return loss / m, gp / m, gq / m, hpp / m, hpq / m, hqq / m


@kernel
def full_loss(model, p, q, x, y, stats):
    """The full-data loss at θ = (p, q). ``stats`` holds the means of x, y, x², xy, y² (``moments``)."""
    mx, my, mxx, mxy, myy = stats[0], stats[1], stats[2], stats[3], stats[4]
    if model == LINEAR:
        loss = p * p * mxx + 2.0 * p * q * mx + q * q - 2.0 * p * mxy - 2.0 * q * my + myy
        return loss if loss > 0.0 else 0.0  # ≥ 0; rounding could take a perfect fit just below
    if model == DEEP_LINEAR:
        u = p * q
        loss = u * u * mxx - 2.0 * u * mxy + myy
        return loss if loss > 0.0 else 0.0
    total = 0.0
    for i in range(x.shape[0]):
        z = p * x[i] + q
        total += softplus(z) - y[i] * z
    return total / x.shape[0]


@kernel
def losses_at(model, points, x, y, stats):
    """``full_loss`` at each of P points (P, 2)."""
    out = np.empty(points.shape[0])
    for k in range(points.shape[0]):
        out[k] = full_loss(model, points[k, 0], points[k, 1], x, y, stats)
    return out


@kernel
def terms_at(model, points, x, y, order, hessian):
    """``batch_terms`` over all of ``order`` at each of P points: (P, 6)."""
    out = np.empty((points.shape[0], 6))
    for k in range(points.shape[0]):
        r = batch_terms(model, points[k, 0], points[k, 1], x, y, order, 0, order.shape[0], hessian)
        for j in range(6):
            out[k, j] = r[j]
    return out


@kernel
def weighted_logistic_grid(points, centers, weights, labelled):
    """Pictures only: the logistic loss at P points with the samples replaced by weighted bin centres;
    ``labelled`` = mean of y·x and of y (the linear part, exact)."""
    out = np.empty(points.shape[0])
    for k in range(points.shape[0]):
        p, q = points[k, 0], points[k, 1]
        total = 0.0
        for j in range(centers.shape[0]):
            total += weights[j] * softplus(p * centers[j] + q)
        out[k] = total - p * labelled[0] - q * labelled[1]
    return out


# --- helpers in Python floats -----------------------------------------------------------------------------
def _mean(values: np.ndarray) -> float:
    return math.fsum(values.tolist()) / len(values)


def moments(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Means of x, y, x², xy, y² (exactly rounded sums)."""
    return np.array([_mean(x), _mean(y), _mean(x * x), _mean(x * y), _mean(y * y)])


def standardize(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(values − mean) / standard deviation, with the mean and the (population) deviation."""
    mean = _mean(values)
    centred = values - mean
    scale = math.sqrt(_mean(centred * centred))
    return centred / scale, mean, scale


def _as_column(values, label: str) -> np.ndarray:
    try:
        arr = np.array(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be numbers") from None
    return arr


def _check(x: np.ndarray, y: np.ndarray, model: Model) -> None:
    """The plain messages a visitor's data get (``lab.data`` shows them as they are)."""
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length ({len(x)} and {len(y)})")
    if len(x) < 2:
        raise ValueError(f"At least 2 rows are needed (got {len(x)})")
    if len(x) > MAX_ROWS:
        raise ValueError(f"At most {MAX_ROWS:,} rows (got {len(x):,})")
    for label, arr in (("x", x), ("y", y)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if len(bad):
            raise ValueError(f"{label} has a value that is not a finite number (NaN or infinity) in row "
                             f"{bad[0] + 1}")
    if float(x.max()) == float(x.min()):
        raise ValueError("x is constant: a model cannot learn from one x value")
    if model.classification:
        labels = set(np.unique(y).tolist())
        if not labels <= {0.0, 1.0}:
            raise ValueError("logistic needs labels 0 and 1 in y; found "
                             + ", ".join(f"{v:g}" for v in sorted(labels - {0.0, 1.0})[:3]))
        if len(labels) < 2:
            raise ValueError(f"logistic needs both labels 0 and 1 in y; all are {int(y[0])}")
    elif float(y.max()) == float(y.min()):
        raise ValueError("y is constant: there is nothing to fit")


def _newton_logistic(x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """The minimizer of the logistic loss by Newton's method on the full data, or None when there is no
    finite one (separable labels: the loss keeps falling as |w| grows)."""
    order = np.arange(len(x))
    p = q = 0.0
    for _ in range(100):
        _, gp, gq, hpp, hpq, hqq = batch_terms(LOGISTIC, p, q, x, y, order, 0, len(x), True)
        det = hpp * hqq - hpq * hpq
        if not det > 1e-300:
            return None
        dp = (hqq * gp - hpq * gq) / det
        dq = (hpp * gq - hpq * gp) / det
        p, q = p - dp, q - dq
        if abs(p) > 1e3 or abs(q) > 1e3:
            return None
        if math.hypot(dp, dq) < 1e-13 * (1.0 + math.hypot(p, q)):
            return p, q
    return None


# --- the surface ------------------------------------------------------------------------------------------
class DataSurface(Surface):
    """A ``Surface`` whose loss is a mean over data: ``value`` is the full-data loss, ``gradient`` and
    ``hessian`` its exact derivatives, ``minima`` the known minimizers (``linear``: the exact
    least-squares solution).

    Also: ``x``, ``y`` (read-only, the arrays the loss uses), ``model`` (slug), ``n_samples``,
    ``sample_loss(points, indices)`` and ``sample_gradient(points, indices)`` (the mean over those
    samples), ``x_label``/``y_label``, ``dataset`` (the data set's slug, or the upload's name) and
    ``standardization`` ((mean, scale) of x and of y; scale 1 where not standardized).

    It has no formula: ``expression`` and ``program`` are None, and the optimizer engine sends it to
    ``optimizers.data`` (mini-batches, epochs).
    """

    def __init__(self, x, y, model: str, *, name: str = "data", title: str | None = None,
                 dataset: str | None = None, x_label: str = "x", y_label: str = "y", description: str = "",
                 standardized: bool = True):
        if model not in MODELS:
            raise ValueError(f"Unknown model {model!r}; choose one of: {', '.join(MODELS)}")
        spec = MODELS[model]
        raw_x, raw_y = _as_column(x, "x"), _as_column(y, "y")
        _check(raw_x, raw_y, spec)
        xs, x_mean, x_scale = standardize(raw_x) if standardized else (raw_x.copy(), 0.0, 1.0)
        if standardized and not spec.classification:
            ys, y_mean, y_scale = standardize(raw_y)
        else:
            ys, y_mean, y_scale = raw_y.copy(), 0.0, 1.0
        for arr in (xs, ys):
            arr.flags.writeable = False
        stats = moments(xs, ys)
        stats.flags.writeable = False
        minima = self._minima(spec, xs, ys, stats)
        bounds, starts = self._window(spec, minima, stats)
        setter = object.__setattr__
        for key, value in dict(
                name=name, title=title or f"{dataset or name} · {spec.title}", expression=None,
                latex=spec.latex,
                bounds=bounds, minima=_frozen_points(minima), starts=starts,
                log_scale=spec.code == DEEP_LINEAR,  # a quartic: its walls rise fast
                description=description or spec.description, local_minima=np.zeros((0, 2)),
                _value=None, _gradient=None, _hessian=None, gradient_expressions=None, program=None,
                x=xs, y=ys, model=model, model_code=spec.code, stats=stats, dataset=dataset or name,
                x_label=x_label, y_label=y_label, standardization=((x_mean, x_scale), (y_mean, y_scale)),
                _order=np.arange(len(xs)), _grids={}).items():
            setter(self, key, value)

    # -- construction helpers ---------------------------------------------------------------------------
    @staticmethod
    def _minima(spec: Model, x: np.ndarray, y: np.ndarray, stats: np.ndarray) -> np.ndarray:
        mx, my = float(stats[0]), float(stats[1])
        if spec.code == LINEAR:  # the exact least-squares line, from centred sums
            dx, dy = x - mx, y - my
            w = math.fsum((dx * dy).tolist()) / math.fsum((dx * dx).tolist())
            return np.array([[w, my - w * mx]])
        if spec.code == DEEP_LINEAR:  # w₁w₂ = w*, the slope of the least-squares line through 0
            u = float(stats[3]) / float(stats[2])
            r = math.sqrt(abs(u))
            s = 1.0 if u >= 0 else -1.0
            return np.array([[r, s * r], [-r, -s * r]])
        found = _newton_logistic(x, y)
        return np.zeros((0, 2)) if found is None else np.array([found])

    @staticmethod
    def _window(spec: Model, minima: np.ndarray, stats: np.ndarray):
        if spec.code == DEEP_LINEAR:
            a = max(2.0, 2.0 * float(abs(minima[0, 0]))) if len(minima) else 2.0
            return ((-a, a), (-a, a)), ((-0.8 * a, 0.7 * a), (0.02, -0.01), (0.6 * a, -0.7 * a))
        c = minima[0] if len(minima) else np.zeros(2)
        half = max(3.0, 1.25 * float(np.abs(c).max()))
        cx, cy = float(c[0]), float(c[1])
        bounds = ((cx - half, cx + half), (cy - half, cy + half))
        if spec.code == LOGISTIC:  # from θ = 0, where logistic regression usually starts, or near it
            start0 = (0.0, 0.0) if abs(cx) < 0.8 * half and abs(cy) < 0.8 * half else (cx - 0.7 * half, cy)
            return bounds, (start0, (cx - 0.8 * half, cy + 0.7 * half))
        return bounds, ((cx - 0.8 * half, cy + 0.7 * half), (cx + 0.8 * half, cy - 0.6 * half))

    # -- data ----------------------------------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        return len(self.x)

    def _points(self, points) -> tuple[np.ndarray, tuple[int, ...]]:
        pts = np.asarray(points, dtype=np.float64)
        return np.ascontiguousarray(pts.reshape(-1, 2)), pts.shape[:-1]

    def _indices(self, indices) -> np.ndarray:
        idx = np.ascontiguousarray(np.asarray(indices, dtype=np.int64).ravel())
        if len(idx) == 0:
            raise ValueError("sample indices must not be empty")
        if idx.min() < 0 or idx.max() >= self.n_samples:
            raise ValueError(f"sample indices must be in 0 … {self.n_samples - 1}")
        return idx

    def _terms(self, points, order: np.ndarray, hessian: bool) -> tuple[np.ndarray, tuple[int, ...]]:
        pts, shape = self._points(points)
        return terms_at(self.model_code, pts, self.x, self.y, order, hessian), shape

    def sample_loss(self, points, indices) -> np.ndarray:
        """The mean loss over the samples ``indices`` at points (..., 2) -> (...)."""
        terms, shape = self._terms(points, self._indices(indices), False)
        return terms[:, 0].reshape(shape)

    def sample_gradient(self, points, indices) -> np.ndarray:
        """The gradient of the mean loss over the samples ``indices`` at points (..., 2) -> (..., 2)."""
        terms, shape = self._terms(points, self._indices(indices), False)
        return terms[:, 1:3].reshape((*shape, 2))

    # -- the Surface API -----------------------------------------------------------------------------------
    def value(self, points) -> np.ndarray:
        pts, shape = self._points(points)
        return losses_at(self.model_code, pts, self.x, self.y, self.stats).reshape(shape)

    def gradient(self, points) -> np.ndarray:
        terms, shape = self._terms(points, self._order, False)
        return terms[:, 1:3].reshape((*shape, 2))

    def hessian(self, points) -> np.ndarray:
        terms, shape = self._terms(points, self._order, True)
        h = terms[:, 3:6]
        return np.stack([h[:, [0, 1]], h[:, [1, 2]]], axis=-2).reshape((*shape, 2, 2))

    def scalar_value(self, x: float, y: float) -> float:
        return float(self.value([x, y]))

    def scalar_gradient(self, x: float, y: float) -> tuple[float, float]:
        gx, gy = self.gradient([x, y]).tolist()
        return gx, gy

    def value_xy(self, xy: np.ndarray) -> np.ndarray:
        return self.value(np.asarray(xy).T)

    def gradient_xy(self, xy: np.ndarray, out: np.ndarray) -> np.ndarray:
        out[:] = self.gradient(np.asarray(xy).T).T
        return out

    def grid(self, resolution: int = 120, bounds=None):
        """(xs, ys, Z) over the bounds, computed once per resolution and bounds (a few kept)."""
        key = (int(resolution), bounds or self.bounds)
        found = self._grids.get(key)
        if found is None:
            (x0, x1), (y0, y1) = key[1]
            xs = np.linspace(x0, x1, key[0])
            ys = np.linspace(y0, y1, key[0])
            gx, gy = np.meshgrid(xs, ys)
            pts = np.ascontiguousarray(np.stack([gx.ravel(), gy.ravel()], axis=-1))
            z = self._grid_values(pts).reshape(gx.shape)
            z[~np.isfinite(z)] = np.nan
            z.flags.writeable = False
            while len(self._grids) >= _GRID_CACHE:
                self._grids.pop(next(iter(self._grids)))
            found = self._grids[key] = (xs, ys, z)
        xs, ys, z = found
        return xs, ys, z.copy()

    def _grid_values(self, pts: np.ndarray) -> np.ndarray:
        if self.model_code != LOGISTIC or self.n_samples <= GRID_EXACT:
            return losses_at(self.model_code, pts, self.x, self.y, self.stats)
        lo, hi = float(self.x.min()), float(self.x.max())
        edges = np.linspace(lo, hi, GRID_BINS + 1)
        counts, _ = np.histogram(self.x, edges)
        centers = 0.5 * (edges[:-1] + edges[1:])
        keep = counts > 0
        weights = counts[keep] / self.n_samples
        labelled = np.array([self.stats[3], self.stats[1]])
        return weighted_logistic_grid(pts, np.ascontiguousarray(centers[keep]), weights, labelled)

    def fit(self, theta, xs) -> np.ndarray:
        """The model's prediction at inputs ``xs`` for parameters θ (pictures: the fitted line or sigmoid)."""
        p, q = float(theta[0]), float(theta[1])
        xs = np.asarray(xs, dtype=np.float64)
        if self.model_code == LINEAR:
            return p * xs + q
        if self.model_code == DEEP_LINEAR:
            return p * q * xs
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-(p * xs + q)))

    def __repr__(self) -> str:
        return f"DataSurface({self.name!r}, model={self.model!r}, n_samples={self.n_samples})"


def from_data(x, y, model: str, name: str = "data", **options) -> DataSurface:
    """A DataSurface on the visitor's (or any) data; ValueError with a plain message when refused."""
    return DataSurface(x, y, model, name=name, **options)


# --- the shipped data sets --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dataset:
    name: str
    file: str
    title: str
    x_label: str
    y_label: str
    model: str  # its natural model
    description: str


FOLDER = Path(__file__).resolve().parent / "datasets"
DATASETS: dict[str, Dataset] = {d.name: d for d in [
    Dataset("iris", "iris_petals.csv", "Iris petals", "petal length (cm)", "petal width (cm)", "linear",
            "150 iris flowers (Fisher 1936): petal length against petal width, a clear linear trend."),
    Dataset("diabetes", "diabetes_bmi.csv", "Diabetes", "body mass index", "disease progression after a year",
            "linear", "442 diabetes patients (Efron et al. 2004): BMI against a measure of disease "
                      "progression one year later, a noisy trend."),
    Dataset("breast_cancer", "breast_cancer_radius.csv", "Breast cancer", "mean radius of the cell nuclei",
            "malignant (1) or benign (0)", "logistic",
            "569 breast tumours (Wisconsin diagnostic data, Street, Wolberg & Mangasarian 1993): the mean "
            "radius of the nuclei against the diagnosis."),
]}


def datasets() -> list[str]:
    """Slugs of the shipped data sets."""
    return list(DATASETS)


def read_columns(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The two numeric columns of a shipped CSV file (one header row)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    return (np.array([float(r[0]) for r in rows]), np.array([float(r[1]) for r in rows]))


@lru_cache(maxsize=3 * len(DATASETS))  # every data set × model: bounded
def get_dataset(name: str, model: str | None = None) -> DataSurface:
    """The shipped data set ``name`` with ``model`` (default: its natural one), cached and shared."""
    if name not in DATASETS:
        raise ValueError(f"Unknown data set {name!r}; choose one of: {', '.join(DATASETS)}")
    d = DATASETS[name]
    model = model or d.model
    x, y = read_columns(FOLDER / d.file)
    return DataSurface(x, y, model, name=f"{name}-{model}", title=f"{d.title} · {MODELS[model].title}"
                       if model in MODELS else d.title, dataset=name, x_label=d.x_label, y_label=d.y_label)
