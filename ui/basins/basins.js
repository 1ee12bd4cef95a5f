// The Atlas's basin maps: one heatmap per optimizer, drawn with plotly.js from plain data (ui/basins.py,
// figures/atlas.py basin_payload), with hover text made here from the classes and steps, and a click on
// any cell reported to Python as the trigger "cell" ({optimizer, index = i * G + j, id}).
//
// Joined after ui/player/util.js and ui/player/load-plotly.js (ui.basins): dlDecode, dlEscape and
// dlLoadPlotly are theirs. A rerun that hands over the same maps (same id) only moves the ring of the
// chosen start; new maps replace the figure with one Plotly.react.

const DL_BASIN_VIEWS = new WeakMap();

// The hover text of every cell of one panel: rows of G strings (plotly's heatmap text layout).
export function dlBasinTexts(data, panel, classes, steps) {
  // steps is null for large grids (no per-cell steps sent): the text names the outcome only.
  const G = data.grid;
  const tol = data.tolerance;
  const at = (k) => (steps ? " at step " + steps[k] : "");
  const rows = new Array(G);
  for (let i = 0; i < G; i++) {
    const row = new Array(G);
    for (let j = 0; j < G; j++) {
      const k = i * G + j;
      const c = data.classes[classes[k]] || { kind: "not_yet", label: "" };
      let body;
      if (c.kind === "minimum") body = "reaches the " + dlEscape(c.label) + "<br>within " + tol + at(k);
      else if (c.kind === "diverged") body = "diverges" + at(k);
      else if (c.kind === "flat") {
        body = data.has_minima ? "stops where the gradient vanishes,<br>not at a listed minimum"
          : "stops where the gradient vanishes" + (steps ? " (step " + steps[k] + ")" : "");
      } else body = "not within " + tol + " of a minimum<br>after " + data.steps + " steps";
      row[j] = body;
    }
    rows[i] = row;
  }
  return rows;
}

function dlHighlightTrace(data) {
  const h = data.highlight;
  const panel = h && data.panels.find((p) => p.optimizer === h.optimizer);
  if (!panel) return null;
  return {
    type: "scatter", x: [h.x], y: [h.y], xaxis: panel.xaxis, yaxis: "y" + panel.xaxis.slice(1),
    mode: "markers", showlegend: false, name: "chosen start",
    marker: { symbol: "circle-open", size: 18, color: "#d62728", line: { width: 3 } },
    hovertemplate: "chosen start (%{x:.4g}, %{y:.4g})<extra></extra>",
  };
}

function dlBasinFigure(data) {
  const traces = data.figure.data.slice();
  for (const panel of data.panels) {
    const heat = { ...traces[panel.trace] };
    heat.text = dlBasinTexts(data, panel, dlDecode(heat.z), panel.steps_at ? dlDecode(panel.steps_at) : null);
    heat.hovertemplate = "<b>" + dlEscape(panel.title) + "</b><br>start (%{x:.4g}, %{y:.4g})<br>%{text}"
      + "<br><i>click: replay this run</i><extra></extra>";
    traces[panel.trace] = heat;
  }
  return traces;
}

async function dlShowBasins(view, data) {
  const P = await dlLoadPlotly(data.plotly);
  if (!view.alive) return;
  if (view.id !== data.id) {
    view.traces = dlBasinFigure(data);
    view.layout = { ...data.figure.layout };
    view.id = data.id;
  }
  const ring = dlHighlightTrace(data);
  const traces = ring ? view.traces.concat([ring]) : view.traces;
  view.div.style.height = (view.layout.height || 500) + "px";
  await P.react(view.div, traces, view.layout, { displaylogo: false, responsive: true, scrollZoom: false });
  view.P = P;
  view.root.dataset.ready = "true";
  if (!view.listening) {
    view.listening = true;
    view.div.on("plotly_click", (ev) => {
      const pt = ev && ev.points && ev.points[0];
      const meta = pt && pt.data && pt.data.type === "heatmap" ? pt.data.meta : null;
      const index = pt ? (pt.pointIndex !== undefined ? pt.pointIndex : pt.pointNumber) : null;
      if (!meta || !Array.isArray(index)) return;
      const [i, j] = index;
      view.hooks.setTriggerValue("cell", { optimizer: meta.optimizer, index: i * meta.grid + j, id: view.id });
    });
  }
}

export function mountBasins(component) {
  const { data, parentElement } = component;
  let view = DL_BASIN_VIEWS.get(parentElement);
  if (!view || !view.alive) {
    const root = document.createElement("div");
    root.className = "dl-basins";
    root.setAttribute("role", "figure");
    const div = document.createElement("div");
    div.className = "dl-basins-plot";
    root.appendChild(div);
    parentElement.appendChild(root);
    view = { root, div, alive: true, id: null, listening: false, hooks: {} };
    DL_BASIN_VIEWS.set(parentElement, view);
  }
  view.hooks = { setTriggerValue: component.setTriggerValue || (() => {}) };
  if (data) {
    view.root.setAttribute("aria-label", data.label || "Basin maps");
    view.root.dataset.ready = "false";
    dlShowBasins(view, data).catch((err) => {
      view.root.textContent = "The maps could not be drawn: " + (err && err.message ? err.message : err);
    });
  }
  return () => {
    view.alive = false;
    if (view.P && view.div.data) view.P.purge(view.div);
    view.root.remove();
    DL_BASIN_VIEWS.delete(parentElement);
  };
}
