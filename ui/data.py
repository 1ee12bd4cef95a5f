"""The Data page's UI: data set and model (or the visitor's CSV file), racers = optimizer × batch size, the
race player for the paths on the full-data loss, the data scatter whose fits follow the player's scrubber,
and the loss per step and per epoch.

Every setting lives in the URL (``lab.data.url_params``); an uploaded file cannot, and the page says so.

The scatter is a small components-v2 element of its own (``SCATTER_JS`` below). It follows the race player
through the one thing the player publishes in the page: its root element ``.dl-race`` carries the shown step
in ``data-step`` (set on every frame, on pause and on seek). The element reads it once per animation frame
and redraws the fitted curves (a line, or a sigmoid) from each racer's parameters at that step, which it
received once, like the player's paths. No change to the player is needed.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import streamlit as st

from figures import background
from figures import data as data_figures
from lab import data as lab_data
from lab import literal
from lab.data import UPLOAD, DataRace, Racer
from surfaces.data import DATASETS, MODELS
from ui import animation, urlsync
from ui.assets import player_sources
from ui.controls import restore
from ui.links import page_url
from ui.urlsync import PageState

PAGE = "pages/data.py"
SCATTER_NAME = "descent_lab_data_scatter"
SCATTER_CSS = ".dl-data-scatter { width: 100%; min-height: 300px; }"
SCATTER_JS = r"""
function dlDecode(t) {
  const bin = atob(t.bdata);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  if (t.dtype === "i4") return new Int32Array(bytes.buffer);
  return t.dtype === "f4" ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer);
}

// plotly.js as the race player loaded it (the player keeps it off window.Plotly and publishes itself in
// window.__descentLabPlayers); without a player within 8 s, this element loads the bundle the same way.
function dlPlayerPlotly() {
  const players = (window.__descentLabPlayers || []).filter((p) => p && p.alive && p.Plotly);
  return players.length ? players[players.length - 1].Plotly : null;
}

function dlLoadPlotly(src, done) {
  const had = Object.prototype.hasOwnProperty.call(window, "Plotly");
  const before = window.Plotly;
  const s = document.createElement("script");
  s.src = src;
  s.onload = () => {
    const P = window.Plotly;
    if (had) window.Plotly = before;
    else delete window.Plotly;
    if (P) done(P);
  };
  document.head.append(s);
}

function dlWhenPlotly(src, done) {
  let waited = 0;
  const poll = () => {
    const P = dlPlayerPlotly();
    if (P) return done(P);
    waited += 100;
    if (waited === 8000 && src) return dlLoadPlotly(src, done);
    if (waited < 8000) setTimeout(poll, 100);
  };
  poll();
}

export default function mountDataScatter(component) {
  const { data, parentElement } = component;
  const host = parentElement;
  if (host.__dlScatter && host.__dlScatter.alive && data && host.__dlScatter.id === data.id) {
    return () => host.__dlScatter.stop();
  }
  if (host.__dlScatter) host.__dlScatter.stop();
  if (!data) return undefined;
  const root = document.createElement("div");
  root.className = "dl-data-scatter";
  root.style.height = `${Number(data.figure.layout.height) || 440}px`;
  root.setAttribute("role", "img");
  root.setAttribute("aria-label", "The data as a scatter plot with each racer's fit at the shown step");
  host.append(root);
  const grid = Array.from(dlDecode(data.grid));
  const params = data.params.map(([p, q]) => [dlDecode(p), dlDecode(q)]);
  const model = data.model;
  const batch = data.batch ? { ...data.batch, x: dlDecode(data.batch.x), y: dlDecode(data.batch.y),
    orders: dlDecode(data.batch.orders) } : null;
  const curve = (p, q) => grid.map((x) => (model === "linear" ? p * x + q
    : model === "deep_linear" ? p * q * x : 1 / (1 + Math.exp(-(p * x + q)))));
  const state = { id: data.id, alive: true, shown: -1, drawn: false, busy: false };
  state.stop = () => {
    if (!state.alive) return;
    state.alive = false;
    if (window.Plotly && root.data) window.Plotly.purge(root);
    root.remove();
  };
  host.__dlScatter = state;
  const stepShown = () => {
    const player = document.querySelector(".dl-race[data-step]");
    const k = player ? Number(player.dataset.step) : 0;
    return Number.isFinite(k) && k >= 0 ? Math.floor(k) : 0;
  };
  const update = async (P, k) => {
    state.busy = true;
    try {
      const ys = params.map(([p, q]) => { const i = Math.min(k, p.length - 1); return curve(p[i], q[i]); });
      await P.restyle(root, { x: params.map(() => grid), y: ys }, params.map((_, i) => i + 1));
      if (batch) {
        // Step k (k >= 1) took its gradient on slice k - 1 of its epoch's permutation.
        const t = k - 1;
        const idx = t < 0 ? [] : Array.from(batch.orders.subarray(
          Math.floor(t / batch.per) * batch.n + (t % batch.per) * batch.size,
          Math.floor(t / batch.per) * batch.n + Math.min((t % batch.per + 1) * batch.size, batch.n)));
        await P.restyle(root, { x: [idx.map((i) => batch.x[i])], y: [idx.map((i) => batch.y[i])] },
          [params.length + 1]);
      }
      root.dataset.step = String(k);
    } catch (err) {
      console.warn("Descent Lab: the fit could not be redrawn", err);
    } finally {
      state.busy = false;
    }
  };
  const tick = (P) => {
    if (!state.alive) return;
    const k = stepShown();
    if (state.drawn && !state.busy && k !== state.shown) {
      state.shown = k;
      update(P, k);
    }
    requestAnimationFrame(() => tick(P));
  };
  dlWhenPlotly(data.plotly_src, async (P) => {
    if (!state.alive) return;
    try {
      const config = { displayModeBar: false, responsive: true };
      await P.newPlot(root, data.figure.data, data.figure.layout, config);
      state.drawn = true;
      root.dataset.ready = "true";
      tick(P);
    } catch (err) {
      console.warn("Descent Lab: the data could not be drawn", err);
      root.textContent = "The data could not be drawn in this browser.";
    }
  });
  return () => state.stop();
}
"""

_scatter_component = st.components.v2.component(SCATTER_NAME, css=SCATTER_CSS, js=SCATTER_JS,
                                                 isolate_styles=False)

UPLOAD_NOT_IN_LINK = ("Your file is not in this page's link: an uploaded file cannot travel in a URL. The "
                      "link keeps every other setting; whoever opens it uploads the file again. Download the "
                      "data below to send them.")


# --- data set, model, upload -------------------------------------------------------------------------------
@st.cache_resource(max_entries=len(DATASETS) * len(MODELS), show_spinner=False)
def _dataset_surface(name: str, model: str):
    import surfaces

    return surfaces.get_dataset(name, model)


@st.cache_resource(max_entries=16, ttl=3600, show_spinner=False)
def _upload_surface(digest: str, model: str, file_name: str, _content: bytes):
    """The visitor's file as a surface, read once per file and model (ValueError: not cached, re-read)."""
    return lab_data.upload_surface(lab_data.parse_upload(_content), model, file_name)


def _dataset_title(name: str) -> str:
    return "Your CSV file" if name == UPLOAD else DATASETS[name].title


def _data_choice(state: PageState):
    """Data set and model in the sidebar, and the upload. Returns (surface, surface_key, dataset, model) or
    None (with a message shown) when there is nothing to race yet."""
    restore(state, "dataset", lab_data.DEFAULT_DATASET)
    dataset = st.sidebar.selectbox("Data", [*DATASETS, UPLOAD], key=state.key("dataset"),
                                   persist_state="session", format_func=_dataset_title)
    natural = DATASETS[dataset].model if dataset in DATASETS else "linear"
    if state.get("model_for") != dataset and urlsync.url_value(state, "model") is None:
        state.set(natural, "model")  # a new data set brings its natural model
    state.set(dataset, "model_for")
    restore(state, "model", natural)
    model = st.sidebar.selectbox("Model", list(MODELS), key=state.key("model"), persist_state="session",
                                 format_func=lambda m: MODELS[m].title)
    if dataset != UPLOAD:
        if MODELS[model].classification and DATASETS[dataset].model != "logistic":
            st.warning(f"{DATASETS[dataset].title} has no 0/1 labels for logistic regression; showing linear "
                       "regression instead.")
            model = "linear"
        return _dataset_surface(dataset, model), ("dataset", dataset, model), dataset, model
    return _uploaded(state, model)


def _on_upload(state: PageState) -> None:
    """A new file (before the widgets are drawn): keep its bytes in the page's state, so they survive a visit
    to another page, and pick its natural model (logistic for labels 0/1)."""
    file = st.session_state.get(state.key("file"))
    if file is None:
        return
    content = file.getvalue()
    state.set((file.name, content, hashlib.sha256(content).hexdigest()), "upload")
    try:
        state.set(lab_data.natural_model(lab_data.parse_upload(content)), "model")
    except ValueError:
        pass  # the page shows why, below


def _uploaded(state: PageState, model: str):
    st.sidebar.file_uploader(
        "CSV file: two numeric columns x, y (a header row is optional), at most 10,000 rows and 1 MB",
        key=state.key("file"), on_change=_on_upload, args=(state,),
        help="Commas, semicolons or tabs between the columns. For logistic regression the y column holds "
             "labels 0 and 1.")
    kept = state.get("upload")
    if kept is None:
        st.info("Upload a CSV file in the sidebar: two numeric columns (x, then y), a header row optional. "
                "An uploaded file cannot travel in a link, so a link to this page with dataset=upload opens "
                "here; the page's other settings are in the link.")
        return None
    file_name, content, digest = kept
    try:
        surface = _upload_surface(digest, model, file_name, content)
    except ValueError as exc:
        st.error(f"{literal.code(file_name)}: {literal.text(exc)}.")
        return None
    return surface, ("upload", digest, model), UPLOAD, model


# --- racers and settings -----------------------------------------------------------------------------------
def _racer_controls(state: PageState, surface, surface_key: tuple) -> DataRace | None:
    default_racers = lab_data.parse_racers(lab_data.PRESETS[0].query["racers"])
    restore(state, "racers", default_racers)
    choices = lab_data.racer_choices()
    if any(r not in choices for r in state.get("racers")):  # a URL may name a batch size the menu lacks
        choices = [*choices, *[r for r in state.get("racers") if r not in choices]]
    side = st.sidebar
    racers = side.multiselect("Racers: optimizer × batch size", choices, key=state.key("racers"),
                              persist_state="session", format_func=lambda r: r.label,
                              max_selections=lab_data.MAX_RACERS,
                              help="B = 1 is stochastic gradient descent (one sample per step), the full "
                                   "batch is batch gradient descent; an epoch is ⌈N/B⌉ steps.")
    if not racers:
        st.info("Choose at least one racer in the sidebar.")
        return None
    restore(state, "steps", lab_data.DEFAULT_STEPS)
    steps = side.slider("Steps", 10, lab_data.MAX_STEPS, key=state.key("steps"), persist_state="session")
    if state.get("start_for") != surface_key:
        start = urlsync.url_value(state, "start", surface.start)
        state.set(float(start[0]), "start", "x")
        state.set(float(start[1]), "start", "y")
        state.set(surface_key, "start_for")
    names = lab_data.surface_parameters(surface)
    left, right = side.columns(2)
    w = left.number_input(f"Start {names[0]}", -1e3, 1e3, key=state.key("start", "x"),
                          persist_state="session", format="%.4g")
    b = right.number_input(f"Start {names[1]}", -1e3, 1e3, key=state.key("start", "y"),
                           persist_state="session", format="%.4g")
    restore(state, "seed", 0)
    seed = side.number_input("Seed (the order of the batches)", 0, 2**31 - 1, key=state.key("seed"),
                             persist_state="session", step=1)
    rates = []
    for name in dict.fromkeys(r.optimizer for r in racers):
        key = f"lr_{name}"
        if state.get("lr_for", name) != surface.model:
            state.set(lab_data.default_lr(name, surface.model), "lr", name)
            state.set(surface.model, "lr_for", name)
        value = urlsync.url_value(state, key)
        if value is not None:
            state.set(value, "lr", name)
        rate = side.number_input(f"Learning rate η of {Racer(name, None).label.split(',')[0]}", 1e-5, 10.0,
                                 key=state.key("lr", name), persist_state="session", format="%.4g")
        rates.append((name, float(rate)))
    restore(state, "decay_epochs", 0)
    restore(state, "decay_rate", 0.5)
    with side.expander("Learning-rate schedule", expanded=bool(state.get("decay_epochs"))):
        decay = st.number_input("Multiply η every k epochs (k; 0: constant)", 0, 1000,
                                key=state.key("decay_epochs"), persist_state="session", step=1,
                                help="Counted per racer in its own epochs: with B = 32 on 442 rows, 7 "
                                     "epochs are 98 steps. The engine's schedule counts steps "
                                     "(decay_steps = k·⌈N/B⌉).")
        rate = st.number_input("by", 0.01, 1.0, key=state.key("decay_rate"), persist_state="session",
                               format="%.3g")
    return DataRace(tuple(racers), int(steps), (float(w), float(b)), tuple(rates), int(seed), int(decay),
                    float(rate))


# --- computation (cached, bounded) ------------------------------------------------------------------------
PATH_MEMO_BYTES = 8_000_000  # per surface: about 250 paths of 1,000 steps


@st.cache_resource(max_entries=8, ttl=3600, show_spinner=False)
def _path_memo(surface_key: tuple) -> lab_data.PathMemo:
    """The paths run on one surface, per racer (``lab.data.PathMemo``): a change of one learning rate
    reruns only that optimizer's racers, a new seed only the mini-batch racers."""
    return lab_data.PathMemo(PATH_MEMO_BYTES)


def _race_paths(surface_key: tuple, race: DataRace, surface) -> dict:
    return lab_data.run_data_race(surface, race, _path_memo(surface_key))


@st.cache_data(max_entries=16, ttl=3600, show_spinner=False)
def _backgrounds(surface_key: tuple, _surface) -> tuple[dict, dict, float | None]:
    """The contour and 3-D pictures (the loss grid is computed once per data set and model), and the loss
    at the known minimum (the loss charts' L*: for logistic regression a sum over every sample)."""
    fmin = float(_surface.minimum_values.min()) if len(_surface.minima) else None
    return (background.contour_payload(_surface),
            background.surface3d_payload(_surface), fmin)


def _player(state: PageState, surface, race: DataRace, paths: dict, labels, colors) -> None:
    ordered = [paths[r.key] for r in race.racers]
    contour, surface3d, fmin = _backgrounds(surface_key=_surface_key(state), _surface=surface)
    payload = [animation.path_payload(label, r.key.replace(":", "-"), color, p.points, _heights(p),
                                      p.diverged_at)
               for r, label, color, p in zip(race.racers, labels, colors, ordered, strict=True)]
    charts = [{"kind": "loss", "figure": data_figures.loss_per_step_figure(labels, colors, ordered, fmin)},
              {"kind": "epochs", "figure": data_figures.loss_per_epoch_figure(labels, colors, ordered, fmin)}]
    animation.race_animation(contour, surface3d, payload, steps=race.steps, key=state.key("player"),
                             charts=charts, height=480)


def _heights(path) -> np.ndarray:
    """The 3-D trail's heights: the full-data loss, drawn straight between the steps where it was recorded
    (``loss_every``; a picture only)."""
    values = path.values
    known = np.isfinite(values)
    if known.all() or not known.any():
        return values
    steps = np.arange(len(values))
    return np.interp(steps, steps[known], values[known])


def _scatter(surface, race: DataRace, paths: dict, labels, colors) -> None:
    ordered = [paths[r.key] for r in race.racers]
    figure = data_figures.scatter_figure(surface, labels, colors)
    data = {"figure": figure, **data_figures.fit_payload(surface, ordered), "plotly_src": player_sources()[0]}
    marked = next((i for i, p in enumerate(ordered) if p.batch_size < surface.n_samples), None)
    batch = None if marked is None else data_figures.batch_payload(surface, ordered[marked], race.seed)
    if batch is not None:  # the first mini-batch racer's batch at the shown step
        figure["data"].append(data_figures.batch_trace(labels[marked], colors[marked]))
        data["batch"] = batch
    data["id"] = hashlib.blake2b(json.dumps(data, sort_keys=True).encode(), digest_size=12).hexdigest()
    _scatter_component(key="data_scatter", data=data, height="content")


def _surface_key(state: PageState) -> tuple:
    return state.get("surface_key")


# --- the page ---------------------------------------------------------------------------------------------
def presets() -> None:
    """The presets as links (each a URL with every setting)."""
    with st.expander("Presets", expanded=False):
        for p in lab_data.PRESETS:
            left, right = st.columns([1, 2], vertical_alignment="center")
            try:
                left.page_link(PAGE, label=p.title, icon=":material/play_circle:",
                               query_params=urlsync.link_query(p.query))  # applied even if just written
            except st.errors.StreamlitAPIException:  # the page runs outside the app's navigation
                left.markdown(f"**{p.title}**")
            right.caption(p.watch)
            url = page_url(PAGE, p.query)
            if url:
                right.code(url, language=None, wrap_lines=True)


def show_data_page() -> None:
    state = PageState("data")
    urlsync.read_url(state, lab_data.url_parsers())
    st.title("Gradient descent on data")
    st.caption("Batch, mini-batch and stochastic gradient descent on real data: each step uses the gradient "
               "of the mean loss over one mini-batch of B samples; an epoch is one pass over the data (⌈N/B⌉ "
               "steps), with the batches drawn anew from a seeded shuffle each epoch. The pictures show the "
               "loss over all the data.")
    for message in urlsync.url_warnings(state):
        st.warning(message)
    presets()
    chosen = _data_choice(state)
    if chosen is None:  # no file yet (or a bad one): the link's other settings wait for it, unwritten
        return
    surface, surface_key, dataset, model = chosen
    state.set(surface_key, "surface_key")
    _header(surface, dataset)
    race = _racer_controls(state, surface, surface_key)
    if race is None:
        urlsync.write_url(state, {"dataset": dataset, "model": model})
        return
    urlsync.write_url(state, lab_data.url_params(dataset, model, race))
    if dataset == UPLOAD:
        st.info(UPLOAD_NOT_IN_LINK)
    paths = _race_paths(surface_key, race, surface)
    labels = [r.label for r in race.racers]
    colors = data_figures.racer_colors(len(race.racers))
    left, right = st.columns([3, 2])
    with left:
        _player(state, surface, race, paths, labels, colors)
    with right:
        _scatter(surface, race, paths, labels, colors)
        st.caption("The fits follow the player's scrubber: each racer's line (or sigmoid) at the shown step; "
                   "the ringed points are the batch that step used (the first mini-batch racer's).")
    notes = [f"{label} diverged at step {paths[r.key].diverged_at}" for r, label in zip(race.racers, labels,
                                                                                       strict=True)
             if paths[r.key].diverged_at is not None]
    if notes:
        st.caption(" · ".join(notes) + ". A diverged path stops where it left the picture; try a smaller η.")
    st.dataframe(lab_data.results_rows(surface, race, paths), hide_index=True, width="stretch")
    _downloads(surface, race, paths)


def _header(surface, dataset: str) -> None:
    st.latex(surface.latex)
    spec = MODELS[surface.model]
    about = DATASETS[dataset].description if dataset in DATASETS else "Your data."
    minimum = ""
    if surface.model == "linear":
        w, b = surface.minima[0]
        minimum = f" The least-squares solution is w = {w:.4f}, b = {b:.4f} (the star)."
    scaled = "x" if spec.classification else "x and y"
    st.caption(f"{about} {spec.description} N = {surface.n_samples:,} samples; {scaled} standardized "
               f"(mean 0, standard deviation 1).{minimum}")


def _downloads(surface, race: DataRace, paths: dict) -> None:
    left, right = st.columns(2)
    name = surface.name
    left.download_button("Download the data (CSV)", data=lambda: lab_data.data_csv(surface),
                         file_name=f"descent-lab-{name}-data.csv", mime="text/csv", on_click="ignore")
    right.download_button("Download the trajectories (CSV)",
                          data=lambda: lab_data.trajectories_csv(race, paths),
                          file_name=f"descent-lab-{name}-runs.csv", mime="text/csv", on_click="ignore")
