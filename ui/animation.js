// Descent Lab race player: draws the static background once with plotly.js, then moves only the trails
// and head markers, driven by requestAnimationFrame.
//
// One source, two hosts:
//   * the Streamlit component (ui/animation.py appends `export default mountRace;` to this text);
//   * the standalone HTML download (this text inlined as a classic script, then `mountRace({...})`).
// So this file has no import/export statements of its own.
//
// How a frame is drawn. Plotly.newPlot runs once: background traces + one trail trace and one head trace
// per optimizer. Any Plotly.restyle/extendTraces/animate re-runs plotly's whole pipeline (defaults, axes,
// legend, colorbar, and the contour's marching squares): ~200 ms for the 2-D chart on a 2-core machine,
// i.e. 4 fps. So while playing, each frame rewrites just the trail's SVG path and the head's position
// inside plotly's own trace groups (2-D), and hands the trail arrays to plotly's existing WebGL line
// objects (3-D), with the axes' own data-to-pixel maps. The background is never touched. On pause,
// seek and at the end, one real Plotly.restyle "commits" the step into the figure data, so hover,
// zoom, legend clicks and the PNG button see exactly what is on screen. If plotly redraws by itself
// (zoom, resize, legend click) the next frame re-applies the current step.
//
// Everything visitor-facing (optimizer names, notes, titles) arrives through `data` and is put into the
// DOM with textContent only; names handed to plotly are entity-escaped.

const DL_SPEEDS = [0.25, 0.5, 1, 2, 4];
const DL_RACE_SECONDS = 12; // a 1000-step race lasts about this long at 1x
const DL_MIN_STEPS_PER_SECOND = 5; // short races still move at a visible pace
const DL_HEAD_SIZE = 11;
const DL_CROSS_SIZE = 15;
const DL_PIXEL_LIMIT = 1e5; // a diverging path's far points are clamped (off-screen either way)
const DL_INSTANCES = new WeakMap();
const DL_SVG = "http://www.w3.org/2000/svg";
const DL_OVERLAY_KEYS = ["px", "py", "gx", "gy", "dx", "dy"];
const DL_CLICK_SLOP = 4; // px a press may move and still count as a click (not a zoom or pan)

// A plotly.js the page already has (the standalone file inlines one; Streamlit's own st.plotly_chart
// bundle sets window.Plotly too) is the full bundle: it is used for every picture if it is recent enough
// for typed arrays ("bdata", 2.28+). The bundles this player loads itself never stay in window.Plotly
// (see dlInjectPlotly), so window.Plotly only ever holds such a full bundle.
function dlUsable(P) {
  const major = P && typeof P.version === "string" ? parseInt(P.version, 10) : 0;
  return P && typeof P.newPlot === "function" && major >= 3 ? P : null;
}

function dlUsablePlotly() {
  return dlUsable(window.Plotly);
}

// Streamlit's own st.plotly_chart code is a lazily loaded chunk that sets window.Plotly when it runs. If
// the page is fetching it already, waiting a moment beats evaluating a second plotly.js on a slow
// machine. (A Streamlit without that chunk name simply never waits.)
function dlPlotlyOnItsWay() {
  try {
    return performance.getEntriesByType("resource").some((e) => /\/PlotlyChart\.[^/]*\.js$/.test(e.name));
  } catch (err) {
    return false;
  }
}

function dlWaitForPlotly(ms) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const poll = () => {
      const P = dlUsablePlotly();
      if (P || performance.now() - t0 > ms) resolve(P);
      else setTimeout(poll, 50);
    };
    poll();
  });
}

// Loads one plotly.js bundle with a script element and hands back its Plotly object. A partial bundle (the
// cartesian one for the first picture, the gl3d one for the 3-D view) is not a whole plotly.js, so
// window.Plotly is put back as it was: a later player, or Streamlit, never mistakes it for the full one.
function dlInjectPlotly(src) {
  return new Promise((resolve, reject) => {
    const had = Object.prototype.hasOwnProperty.call(window, "Plotly");
    const before = window.Plotly;
    const script = document.createElement("script");
    script.src = src;
    script.async = true;
    script.dataset.descentLab = "plotly";
    script.onload = () => {
      const P = dlUsable(window.Plotly);
      if (had) window.Plotly = before;
      else delete window.Plotly;
      if (P) resolve(P);
      else reject(new Error("plotly.js loaded without a usable Plotly"));
    };
    script.onerror = () => {
      script.remove();
      reject(new Error("could not load " + src));
    };
    document.head.appendChild(script);
  });
}

// One load per bundle per page, however many players mount: they share these promises (by URL).
function dlLoadPlotly(src) {
  const full = dlUsablePlotly();
  if (full) return Promise.resolve(full);
  const loads = (window.__descentLabPlotly = window.__descentLabPlotly || {});
  if (!loads[src]) {
    loads[src] = (async () => {
      if (dlPlotlyOnItsWay()) {
        const P = await dlWaitForPlotly(4000);
        if (P) return P;
      }
      return dlInjectPlotly(src);
    })().catch((err) => {
      delete loads[src]; // let a later mount try again
      throw err;
    });
  }
  return loads[src];
}

const DL_TYPED = {
  f4: Float32Array, f8: Float64Array, i1: Int8Array, u1: Uint8Array, i2: Int16Array,
  u2: Uint16Array, i4: Int32Array, u4: Uint32Array,
};

// {dtype, bdata} (base64 typed array), a plain list (null = NaN) or nothing -> Float32Array/Float64Array.
function dlDecode(value) {
  if (value == null) return new Float32Array(0);
  if (Array.isArray(value)) return Float64Array.from(value, (v) => (v == null ? NaN : Number(v)));
  if (typeof value === "object" && typeof value.bdata === "string") {
    const Type = DL_TYPED[value.dtype] || Float32Array;
    const raw = atob(value.bdata);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    const typed = new Type(bytes.buffer, 0, Math.floor(bytes.length / Type.BYTES_PER_ELEMENT));
    return typed instanceof Float32Array || typed instanceof Float64Array ? typed : Float64Array.from(typed);
  }
  return new Float32Array(0);
}

function dlEscape(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function dlEl(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text != null) el.textContent = text;
  return el;
}

function dlHasWebGL() {
  try {
    const canvas = document.createElement("canvas");
    const gl = canvas.getContext("webgl2") || canvas.getContext("webgl");
    if (!gl) return false;
    const lose = gl.getExtension("WEBGL_lose_context");
    if (lose) lose.loseContext();
    return true;
  } catch (err) {
    return false;
  }
}

// SVG marker shapes, centred on 0,0, the same the 2-D heads use ("circle" and a filled "x").
function dlCirclePath(size) {
  const r = (size / 2).toFixed(2);
  return `M${r},0A${r},${r} 0 1,1 0,-${r}A${r},${r} 0 0,1 ${r},0Z`;
}

function dlCrossPath(size) {
  const a = size / 2;
  const w = a * 0.3;
  const arms = [[w, -a], [w, -w], [a, -w], [a, w], [w, w], [w, a], [-w, a], [-w, w], [-a, w], [-a, -w],
    [-w, -w], [-w, -a]];
  const s = Math.SQRT1_2;
  return "M" + arms.map(([x, y]) => `${((x - y) * s).toFixed(2)},${((x + y) * s).toFixed(2)}`).join("L") + "Z";
}

function dlClampPx(v) {
  return v > DL_PIXEL_LIMIT ? DL_PIXEL_LIMIT : v < -DL_PIXEL_LIMIT ? -DL_PIXEL_LIMIT : v;
}

// The plotting window from the contour layout's fixed axis ranges, [x0, x1, y0, y1] (slightly inset), or null.
function dlBox(layout) {
  const xr = layout && layout.xaxis && layout.xaxis.range;
  const yr = layout && layout.yaxis && layout.yaxis.range;
  if (!xr || !yr || xr.length !== 2 || yr.length !== 2) return null;
  const b = [Math.min(xr[0], xr[1]), Math.max(xr[0], xr[1]), Math.min(yr[0], yr[1]), Math.max(yr[0], yr[1])];
  if (!b.every(Number.isFinite)) return null;
  // 1.5% inside the frame, so an ✕ at the exit point is drawn whole rather than cut by the axes.
  const dx = 0.015 * (b[1] - b[0]);
  const dy = 0.015 * (b[3] - b[2]);
  return [b[0] + dx, b[1] - dx, b[2] + dy, b[3] - dy];
}

function dlInside(x, y, b) {
  return x >= b[0] && x <= b[1] && y >= b[2] && y <= b[3];
}

// Where the segment from inside point a to outside point b leaves the box: the fraction s along it.
function dlExitFraction(ax, ay, bx, by, b) {
  let s = 1;
  if (bx < b[0]) s = Math.min(s, (b[0] - ax) / (bx - ax));
  if (bx > b[1]) s = Math.min(s, (b[1] - ax) / (bx - ax));
  if (by < b[2]) s = Math.min(s, (b[2] - ay) / (by - ay));
  if (by > b[3]) s = Math.min(s, (b[3] - ay) / (by - ay));
  return Math.max(0, Math.min(1, s));
}

// Where a diverged path's ✕ goes: its last point if that is in the picture, else the point where it
// left the picture (a run that blows up to 1e30 would otherwise put its ✕ far off-screen).
function dlExitPoint(x, y, n, lastFinite, b) {
  if (lastFinite < 0) return null;
  if (dlInside(x[lastFinite], y[lastFinite], b)) return [x[lastFinite], y[lastFinite]];
  let j = lastFinite;
  while (j >= 0 && !(Number.isFinite(x[j]) && dlInside(x[j], y[j], b))) j--;
  if (j < 0 || j + 1 >= n || !Number.isFinite(x[j + 1])) {
    return [Math.min(Math.max(x[lastFinite], b[0]), b[1]), Math.min(Math.max(y[lastFinite], b[2]), b[3])];
  }
  const s = dlExitFraction(x[j], y[j], x[j + 1], y[j + 1], b);
  return [x[j] + s * (x[j + 1] - x[j]), y[j] + s * (y[j + 1] - y[j])];
}

// 3-D trails stop at the box: WebGL lines are not clipped to the axes, so a diverging run would draw a
// line across the page. The first point outside becomes the exit point, later outside points NaN (gaps).
function dlClipToBox(x, y, z, n, b) {
  const cx = new Float32Array(n);
  const cy = new Float32Array(n);
  const cz = new Float32Array(n);
  let prevInside = false;
  for (let k = 0; k < n; k++) {
    const ok = Number.isFinite(x[k]) && Number.isFinite(y[k]);
    const inside = ok && dlInside(x[k], y[k], b);
    if (inside) {
      cx[k] = x[k]; cy[k] = y[k]; cz[k] = z[k];
    } else if (ok && prevInside) {
      const s = dlExitFraction(x[k - 1], y[k - 1], x[k], y[k], b);
      cx[k] = x[k - 1] + s * (x[k] - x[k - 1]);
      cy[k] = y[k - 1] + s * (y[k] - y[k - 1]);
      cz[k] = z[k - 1] + s * ((Number.isFinite(z[k]) ? z[k] : z[k - 1]) - z[k - 1]);
    } else {
      cx[k] = NaN; cy[k] = NaN; cz[k] = NaN;
    }
    prevInside = inside;
  }
  return [cx, cy, cz];
}

// An SVG path string for an arrow from pixel (x0, y0) to (x1, y1): the shaft and two barbs ("" if tiny).
function dlArrowPath(x0, y0, x1, y1) {
  const len = Math.hypot(x1 - x0, y1 - y0);
  if (!(len >= 0.5) || ![x0, y0, x1, y1].every(Number.isFinite)) return "";
  const ux = (x1 - x0) / len;
  const uy = (y1 - y0) / len;
  const h = Math.min(8, Math.max(3, 0.4 * len));
  const bx = x1 - h * ux;
  const by = y1 - h * uy;
  const f = (v) => v.toFixed(1);
  return `M${f(x0)},${f(y0)}L${f(x1)},${f(y1)}M${f(bx - 0.5 * h * uy)},${f(by + 0.5 * h * ux)}` +
    `L${f(x1)},${f(y1)}L${f(bx + 0.5 * h * uy)},${f(by - 0.5 * h * ux)}`;
}

function dlFormat(v) {
  if (!Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? v.toExponential(2) : v.toPrecision(3);
}

class DlRacePlayer {
  constructor(host, data, hooks) {
    this.host = host;
    this.data = data;
    this.id = data.id;
    this.hooks = hooks;
    this.alive = true;
    this.steps = Math.max(1, Math.floor(Number(data.steps) || 1));
    this.rate = Math.max(this.steps / DL_RACE_SECONDS, DL_MIN_STEPS_PER_SECOND);
    this.setSpeed(data.speed);
    this.pos = 0;
    this.shown = -1;
    this.committed = -1;
    this.playing = false;
    this.raf = 0;
    this.observers = [];
    this.diverged = [];
    this.next3dAt = 0;
    // Counters and milestones (performance.now() ms) for the benchmark and tests.
    this.stats = { frames: 0, frames3d: 0, commits: 0, mounted: performance.now() };
    this.box = dlBox((data.contour || {}).layout);
    // Overlays drawn at the current step (only when Python sent their arrays) and click-to-start.
    this.overlays = new Set(Array.isArray(data.overlays) ? data.overlays.map(String) : []);
    this.gscale = Number.isFinite(Number(data.gradient_scale)) ? Number(data.gradient_scale) : 1;
    this.sscale = Number(data.step_scale) > 0 ? Number(data.step_scale) : 1;
    this.clickable = !!data.clickable;
    this.listeners = [];
    this.paths = (data.paths || []).map((p) => this.preparePath(p));
    this.circle = dlCirclePath(DL_HEAD_SIZE);
    this.cross = dlCrossPath(DL_CROSS_SIZE);
    this.build();
    this.start();
  }

  preparePath(p) {
    const x = dlDecode(p.x);
    const y = dlDecode(p.y);
    const v = dlDecode(p.z);
    const n = Math.max(1, Math.min(x.length, y.length));
    // last[k]: the last index <= k with a finite point, -1 before the first. The head sits there.
    const last = new Int32Array(n);
    let seen = -1;
    for (let k = 0; k < n; k++) {
      if (Number.isFinite(x[k]) && Number.isFinite(y[k])) seen = k;
      last[k] = seen;
    }
    const diverged = Number.isInteger(p.diverged_at) ? p.diverged_at : null;
    const box = this.box;
    const cross = diverged !== null && box ? dlExitPoint(x, y, n, last[n - 1], box) : null;
    const name = String(p.name == null ? "" : p.name);
    const note = p.note ? String(p.note) : diverged !== null ? `${name} diverged at step ${diverged}` : "";
    // line: the incremental SVG path string of the 2-D trail, valid for points 0..upto.
    // ov: the per-step overlay arrays (row k: the step that leaves point k), ov.n rows.
    let ov = null;
    if (p.overlay && typeof p.overlay === "object") {
      ov = {};
      for (const key of DL_OVERLAY_KEYS) ov[key] = dlDecode(p.overlay[key]);
      ov.n = Math.min(...DL_OVERLAY_KEYS.map((key) => ov[key].length));
    }
    return { name, slug: String(p.slug || name), color: String(p.color || "#444444"), x, y, v, n, last,
      diverged, note, cross, z3: null, line: { d: "", upto: -1, pen: false }, ov, ovEls: null };
  }

  build() {
    const root = dlEl("div", "dl-race");
    this.root = root;
    const bar = dlEl("div", "dl-toolbar");
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", "Race controls");
    this.button = dlEl("button", "dl-play", "Play");
    this.button.type = "button";
    this.button.setAttribute("aria-label", "Play");
    this.button.disabled = true;
    this.scrub = dlEl("input", "dl-scrub");
    this.scrub.type = "range";
    this.scrub.min = "0";
    this.scrub.max = String(this.steps);
    this.scrub.step = "1";
    this.scrub.value = "0";
    this.scrub.setAttribute("aria-label", "Step");
    this.scrub.disabled = true;
    this.counter = dlEl("span", "dl-counter", `step 0 / ${this.steps}`);
    const speedLabel = dlEl("label", "dl-speed-label", "Speed ");
    this.select = dlEl("select", "dl-speed");
    this.select.setAttribute("aria-label", "Speed");
    for (const s of DL_SPEEDS) {
      const opt = dlEl("option", null, `${s}×`);
      opt.value = String(s);
      this.select.appendChild(opt);
    }
    this.select.value = String(this.speed);
    speedLabel.appendChild(this.select);
    bar.append(this.button, this.scrub, this.counter, speedLabel);
    if (this.clickable) bar.append(dlEl("span", "dl-hint", "Click the contour to start there"));
    this.notes = dlEl("ul", "dl-notes");
    this.notes.setAttribute("aria-live", "polite");
    this.status = dlEl("div", "dl-status", "Loading the race…");
    const plots = dlEl("div", "dl-plots");
    const height = `${Math.max(240, Number(this.data.height) || 560)}px`;
    this.div2d = dlEl("div", "dl-plot dl-plot-2d");
    this.div2d.style.height = height;
    plots.appendChild(this.div2d);
    if (this.data.surface3d) {
      this.div3d = dlEl("div", "dl-plot dl-plot-3d");
      this.div3d.style.height = height;
      plots.appendChild(this.div3d);
    }
    root.append(bar, this.notes, this.status);
    if (this.overlays.size) root.append(this.buildOverlayLegend());
    root.append(plots);
    if (this.overlays.has("effective")) {
      this.readout = dlEl("div", "dl-readout");
      this.readout.setAttribute("aria-label", "Effective step per coordinate");
      this.readoutRows = this.paths.map((p) => {
        const row = dlEl("div", "dl-readout-row");
        const sw = dlEl("span", "dl-swatch", "▭");
        sw.style.color = p.color;
        sw.setAttribute("aria-hidden", "true");
        const text = dlEl("span", "dl-readout-text");
        row.append(sw, text);
        this.readout.append(row);
        return text;
      });
      root.append(this.readout);
    }
    this.charts = [];
    const charts = Array.isArray(this.data.charts) ? this.data.charts : [];
    if (charts.length) {
      const row = dlEl("div", "dl-charts");
      for (const c of charts) {
        const cell = dlEl("div", "dl-chart-cell");
        if (c && c.figure && typeof c.figure === "object") {
          const div = dlEl("div", "dl-plot dl-chart");
          div.style.height = `${Math.max(200, Number((c.figure.layout || {}).height) || 380)}px`;
          if (c.kind) div.dataset.chart = String(c.kind);
          // The step cursor: a line over the chart at the shown step, moved with a CSS transform.
          const cursor = dlEl("div", "dl-cursor");
          cursor.hidden = true;
          cursor.setAttribute("aria-hidden", "true");
          cell.append(div, cursor);
          this.charts.push({ figure: c.figure, div, cursor, drawn: false });
        } else {
          cell.append(dlEl("p", "dl-chart-note", String((c && c.note) || "")));
        }
        row.append(cell);
      }
      root.append(row);
    }
    this.host.appendChild(root);

    this.button.addEventListener("click", () => (this.playing ? this.pause() : this.play()));
    this.scrub.addEventListener("input", () => {
      if (this.playing) this.stop();
      this.pos = Number(this.scrub.value);
      this.render(Math.floor(this.pos));
    });
    this.scrub.addEventListener("change", () => this.settle());
    this.select.addEventListener("change", () => {
      this.speed = Number(this.select.value) || 1;
    });
  }

  buildOverlayLegend() {
    const legend = dlEl("ul", "dl-ov-legend");
    legend.setAttribute("aria-label", "Overlays");
    const items = [
      ["gradient", "⇢", `−∇f where the gradient was measured (scaled ×${dlFormat(this.gscale)}, ` +
        "one scale for every optimizer and step)"],
      ["step", "→", "step Δθ actually taken (Momentum/NAG: the velocity −v)" +
        (this.sscale !== 1 ? `, magnified ×${dlFormat(this.sscale)}` : "")],
      ["lookahead", "○", "NAG's look-ahead point θ − γv"],
      ["effective", "▭", "per-coordinate step |Δx| × |Δy|" +
        (this.sscale !== 1 ? ` (×${dlFormat(this.sscale)})` : "") + "; readout: true sizes and −Δθᵢ / gᵢ"],
    ];
    for (const [key, sym, text] of items) {
      if (!this.overlays.has(key)) continue;
      const li = dlEl("li", `dl-ov-item dl-ov-item-${key}`);
      const sw = dlEl("span", "dl-swatch", sym);
      sw.setAttribute("aria-hidden", "true");
      li.append(sw, document.createTextNode(" " + text));
      legend.append(li);
    }
    return legend;
  }

  // The overlay group sits in plotly's cartesian plot group, after the traces (same pixel frame as the
  // trails, clipped to the plot area). plotly may rebuild that group on a redraw: then it is added again.
  overlayLayer() {
    if (this.ovLayer && this.ovLayer.isConnected) return this.ovLayer;
    const scatter = this.div2d.querySelector(".cartesianlayer .scatterlayer");
    if (!scatter || !scatter.parentNode) return null;
    const layer = document.createElementNS(DL_SVG, "g");
    layer.setAttribute("class", "dl-overlays");
    layer.style.pointerEvents = "none";
    const make = (cls, color, style) => {
      const el = document.createElementNS(DL_SVG, "path");
      el.setAttribute("class", cls);
      el.style.stroke = color;
      Object.assign(el.style, style);
      return el;
    };
    this.paths.forEach((p) => {
      if (!p.ov) {
        p.ovEls = null;
        return;
      }
      const g = document.createElementNS(DL_SVG, "g");
      const els = {};
      if (this.overlays.has("effective")) {
        els.effective = make("dl-ov-effective", p.color,
          { fill: p.color, fillOpacity: "0.12", strokeWidth: "1.5px", strokeDasharray: "2 2" });
      }
      if (this.overlays.has("gradient")) {
        els.gradient = make("dl-ov-gradient", p.color,
          { fill: "none", strokeWidth: "2px", strokeDasharray: "5 3", strokeLinecap: "round" });
      }
      if (this.overlays.has("step")) {
        els.step = make("dl-ov-step", p.color,
          { fill: "none", strokeWidth: "3px", strokeLinecap: "round", strokeLinejoin: "round" });
      }
      if (this.overlays.has("lookahead") && p.slug === "nag") {
        els.lookahead = make("dl-ov-lookahead", p.color, { fill: "none", strokeWidth: "2.5px" });
      }
      for (const el of Object.values(els)) g.append(el);
      layer.append(g);
      p.ovEls = els;
    });
    scatter.parentNode.insertBefore(layer, scatter.nextSibling);
    this.ovLayer = layer;
    return layer;
  }

  // The overlays of step k: the step that leaves the head (row k of each path's arrays), a handful of
  // attribute writes per optimizer, on the same clock as the trails.
  drawOverlays(k, xa, ya) {
    if (!this.overlays.size || !this.overlayLayer()) return;
    const full = this.div2d._fullData || [];
    const X = (x) => dlClampPx(xa.c2p(x));
    const Y = (y) => dlClampPx(ya.c2p(y));
    this.paths.forEach((p, i) => {
      const els = p.ovEls;
      const ov = p.ov;
      if (!els || !ov) return;
      const m = Math.min(k, p.n - 1);
      const trace = full[this.trail2d[i]];
      const on = m < ov.n && !this.diverged[i] && (!trace || trace.visible === true) &&
        Number.isFinite(p.x[m]) && Number.isFinite(p.y[m]);
      const set = (el, d) => el && el.setAttribute("d", on ? d() : "");
      const hx = p.x[m];
      const hy = p.y[m];
      set(els.gradient, () => dlArrowPath(X(ov.px[m]), Y(ov.py[m]), X(ov.px[m] - this.gscale * ov.gx[m]),
        Y(ov.py[m] - this.gscale * ov.gy[m])));
      const ex = hx + this.sscale * ov.dx[m];
      const ey = hy + this.sscale * ov.dy[m];
      set(els.step, () => dlArrowPath(X(hx), Y(hy), X(ex), Y(ey)));
      set(els.lookahead, () => {
        const cx = X(ov.px[m]);
        const cy = Y(ov.py[m]);
        const f = (v) => v.toFixed(1);
        return `M${f(cx + 6)},${f(cy)}A6,6 0 1,1 ${f(cx - 6)},${f(cy)}A6,6 0 1,1 ${f(cx + 6)},${f(cy)}Z`;
      });
      set(els.effective, () => {
        const x0 = X(hx).toFixed(1);
        const y0 = Y(hy).toFixed(1);
        return `M${x0},${y0}H${X(ex).toFixed(1)}V${Y(ey).toFixed(1)}H${x0}Z`;
      });
    });
    if (this.readoutRows) {
      this.paths.forEach((p, i) => {
        const ov = p.ov;
        const m = Math.min(k, p.n - 1);
        let text = `${p.name}: no step`;
        if (ov && m < ov.n && !this.diverged[i]) {
          const dx = ov.dx[m];
          const dy = ov.dy[m];
          text = `${p.name}: |Δx| ${dlFormat(Math.abs(dx))}, |Δy| ${dlFormat(Math.abs(dy))} · ` +
            `effective η: x ${dlFormat(ov.gx[m] !== 0 ? -dx / ov.gx[m] : NaN)}, ` +
            `y ${dlFormat(ov.gy[m] !== 0 ? -dy / ov.gy[m] : NaN)}`;
        }
        if (this.readoutRows[i].textContent !== text) this.readoutRows[i].textContent = text;
      });
    }
  }

  // A click (not the end of a zoom or pan, not a double click) on the contour's plot area sends the
  // data point under the mouse as the trigger "start".
  wireClick() {
    const gd = this.div2d;
    let down = null;
    let timer = 0;
    const onDown = (ev) => {
      clearTimeout(timer);
      timer = 0;
      const t = ev.target;
      const onPlot = t && t.classList && t.classList.contains("nsewdrag");
      down = ev.button === 0 && onPlot && (ev.detail || 1) <= 1 ?
        { x: ev.clientX, y: ev.clientY, t: performance.now() } : null;
    };
    const onUp = (ev) => {
      const d = down;
      down = null;
      if (!d || !this.alive || ev.button !== 0) return;
      if (Math.hypot(ev.clientX - d.x, ev.clientY - d.y) > DL_CLICK_SLOP || performance.now() - d.t > 800) return;
      // A second press soon after is a double click (plotly's "reset axes"): no new start then.
      timer = setTimeout(() => {
        timer = 0;
        this.clickStart(ev.clientX, ev.clientY);
      }, 320);
    };
    gd.addEventListener("mousedown", onDown, true);
    document.addEventListener("mouseup", onUp, true);
    this.listeners.push([gd, "mousedown", onDown], [document, "mouseup", onUp]);
    this.clearClickTimer = () => clearTimeout(timer);
  }

  clickStart(clientX, clientY) {
    const gd = this.div2d;
    const fl = gd._fullLayout;
    const xa = fl && fl.xaxis;
    const ya = fl && fl.yaxis;
    if (!xa || !ya || typeof xa.p2c !== "function") return;
    const r = gd.getBoundingClientRect();
    const px = clientX - r.left - xa._offset;
    const py = clientY - r.top - ya._offset;
    if (!(px >= 0 && py >= 0 && px <= xa._length && py <= ya._length)) return;
    const round = (v, ax) => {
      const span = Math.abs(ax.range[1] - ax.range[0]) || 1;
      const digits = Math.max(0, Math.min(12, Math.ceil(-Math.log10(span / 2000))));
      return Number(v.toFixed(digits));
    };
    const x = round(xa.p2c(px), xa);
    const y = round(ya.p2c(py), ya);
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    this.root.dataset.clicked = `${x},${y}`;
    try {
      if (this.hooks.setTriggerValue) this.hooks.setTriggerValue("start", { x, y });
    } catch (err) {
      console.warn("Descent Lab: could not report the start point", err);
    }
  }

  // The nearest offered speed to `speed`, shown in the selector.
  setSpeed(speed) {
    const wanted = Number(speed) || 1;
    this.speed = DL_SPEEDS.reduce((a, b) => (Math.abs(b - wanted) < Math.abs(a - wanted) ? b : a), 1);
    if (this.select) this.select.value = String(this.speed);
  }

  async start() {
    let Plotly;
    try {
      Plotly = await dlLoadPlotly(this.src2d());
    } catch (err) {
      this.status.textContent = "The race could not start: plotly.js did not load (" + err.message + ").";
      console.warn("Descent Lab:", err);
      return;
    }
    if (!this.alive) return;
    this.stats.plotlyLoaded = performance.now();
    this.Plotly = Plotly;
    this.config = {
      responsive: true,
      displaylogo: false,
      plotGlPixelRatio: 1, // 2 (the default) renders four times the pixels for a picture this size
      modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
    };
    await this.draw2d();
    if (!this.alive) return;
    this.stats.drawn2d = performance.now();
    this.status.textContent = "";
    this.status.hidden = true;
    this.button.disabled = false;
    this.scrub.disabled = false;
    this.render(0);
    this.root.dataset.ready = "true";
    // The contour is up first (and painted); the loss charts follow a frame later, then the 3-D view,
    // whose plotly.js bundle (WebGL traces) is only fetched now, so it never delays the first picture.
    await new Promise((r) => requestAnimationFrame(() => r()));
    if (!this.alive) return;
    await this.drawCharts();
    if (!this.alive) return;
    this.stats.drawnCharts = performance.now();
    if (this.div3d) {
      await new Promise((r) => requestAnimationFrame(() => r()));
      if (!this.alive) return;
      try {
        this.Plotly3d = await dlLoadPlotly(this.data.plotly_3d_src || this.src2d());
      } catch (err) {
        console.warn("Descent Lab:", err);
        this.div3d.textContent = "The 3-D view could not load its plotly.js (" + err.message + ").";
        this.div3d = null;
      }
      if (!this.alive) return;
      if (this.div3d) await this.draw3d();
      if (!this.alive) return;
      if (this.div3d) this.stats.drawn3d = performance.now();
    }
    // newPlot drew step 0. Only a visitor who already moved the clock, or a run that diverged at step 0,
    // needs the figures brought up to date.
    if (!this.playing) {
      if (this.shown > 0 || this.diverged.some(Boolean)) this.commit();
      else this.committed = 0;
    }
    this.stats.settled = performance.now();
    this.watchSize();
  }

  src2d() {
    return this.data.plotly_src || "./app/static/plotly.min.js";
  }

  // The plotly.js that drew `div` (the 3-D view may come from another bundle than the 2-D pictures).
  plotlyOf(div) {
    return div && div === this.div3d ? this.Plotly3d : this.Plotly;
  }

  async drawCharts() {
    for (const c of this.charts) {
      if (!this.alive) return;
      try {
        await this.Plotly.newPlot(c.div, (c.figure.data || []).slice(), this.layoutOf(c.figure), this.config);
        c.drawn = true;
        c.div.on("plotly_afterplot", () => this.alive && this.moveCursors(this.shown));
      } catch (err) {
        console.warn("Descent Lab: a chart could not be drawn", err);
        c.div.textContent = "This chart could not be drawn in this browser.";
      }
    }
    this.moveCursors(this.shown);
  }

  // The loss charts' x axis is the step: the cursor sits at step k (hidden when k is off the zoomed axis).
  moveCursors(k) {
    for (const c of this.charts) {
      if (!c.drawn) continue;
      const fl = c.div._fullLayout;
      const xa = fl && fl.xaxis;
      const ya = fl && fl.yaxis;
      const px = xa && typeof xa.l2p === "function" ? xa.l2p(Math.max(0, k)) : NaN;
      if (!(px >= 0 && px <= xa._length) || !ya) {
        c.cursor.hidden = true;
        continue;
      }
      c.cursor.hidden = false;
      c.cursor.style.transform = `translateX(${(xa._offset + px).toFixed(1)}px)`;
      c.cursor.style.top = `${ya._offset}px`;
      c.cursor.style.height = `${ya._length}px`;
    }
  }

  // The head of path p at step m: its last finite point, or for a diverged run past its divergence the
  // point where it left the picture. null before the first finite point.
  head2(p, m, diverged) {
    if (diverged && p.cross) return p.cross;
    const j = p.last[m];
    return j >= 0 ? [p.x[j], p.y[j]] : null;
  }

  head3(p, m) {
    const j = p.last3[m];
    return j >= 0 ? [p.x3[j], p.y3[j], p.z3[j]] : null;
  }

  traceName(p, diverged) {
    const name = dlEscape(p.name);
    return diverged ? `${name} ✕ step ${p.diverged}` : name;
  }

  layoutOf(fig) {
    const layout = Object.assign({}, (fig && fig.layout) || {}, { autosize: true });
    delete layout.width;
    delete layout.height;
    return layout;
  }

  async draw2d() {
    const fig = this.data.contour || { data: [], layout: {} };
    const traces = (fig.data || []).slice();
    const base = traces.length;
    const n = this.paths.length;
    this.paths.forEach((p, i) => {
      traces.push({
        type: "scatter", mode: "lines", uid: `dlt${i}`, name: this.traceName(p, false), legendgroup: p.slug,
        x: p.x.subarray(0, 1), y: p.y.subarray(0, 1),
        line: { color: p.color, width: 2.5 }, hoverinfo: "skip",
      });
    });
    this.paths.forEach((p, i) => {
      traces.push({
        type: "scatter", mode: "markers", uid: `dlh${i}`, name: this.traceName(p, false), legendgroup: p.slug,
        showlegend: false, x: p.x.subarray(0, 1), y: p.y.subarray(0, 1),
        marker: { color: p.color, size: DL_HEAD_SIZE, symbol: "circle", line: { color: "#1f2328", width: 1.5 } },
        hovertemplate: `${dlEscape(p.name)}<br>x = %{x:.4g}<br>y = %{y:.4g}<extra></extra>`,
      });
    });
    this.trail2d = Array.from({ length: n }, (_, i) => base + i);
    this.head2d = Array.from({ length: n }, (_, i) => base + n + i);
    await this.Plotly.newPlot(this.div2d, traces, this.layoutOf(fig), this.config);
    // Legend clicks hide or show an optimizer in both pictures.
    this.div2d.on("plotly_restyle", (ev) => this.mirrorVisibility(ev));
    // After any redraw by plotly itself, find the SVG elements again and re-apply the current step.
    if (this.clickable) this.wireClick();
    this.div2d.on("plotly_afterplot", () => {
      this.el2d = null;
      for (const p of this.paths) p.line.upto = -1;
      if (!this.committing && this.shown >= 0) requestAnimationFrame(() => this.alive && this.draw2dFast(this.shown));
    });
  }

  async draw3d() {
    if (!dlHasWebGL()) {
      this.div3d.classList.add("dl-no-webgl");
      this.div3d.textContent = "The 3-D view needs WebGL, which this browser has switched off.";
      this.div3d = null;
      return;
    }
    const fig = this.data.surface3d;
    const meta = (fig.layout && fig.layout.meta) || {};
    const log = meta.zmode === "log";
    const fmin = Number(meta.fmin) || 0;
    const eps = Number(meta.eps) || 1;
    const zclip = Number.isFinite(meta.zclip) ? meta.zclip : Infinity;
    const zoff = Number.isFinite(meta.zoffset) ? meta.zoffset : 0;
    for (const p of this.paths) {
      const z = new Float32Array(p.n);
      for (let k = 0; k < p.n; k++) {
        const f = p.v[k];
        const t = log ? Math.log10(Math.max(f - fmin, 0) + eps) : f;
        z[k] = Math.min(t, zclip) + zoff;
      }
      if (this.box) [p.x3, p.y3, p.z3] = dlClipToBox(p.x, p.y, z, p.n, this.box);
      else [p.x3, p.y3, p.z3] = [p.x, p.y, z];
      p.last3 = new Int32Array(p.n);
      let seen = -1;
      for (let k = 0; k < p.n; k++) {
        if (Number.isFinite(p.x3[k]) && Number.isFinite(p.y3[k]) && Number.isFinite(p.z3[k])) seen = k;
        p.last3[k] = seen;
      }
    }
    const traces = (fig.data || []).slice();
    const base = traces.length;
    const n = this.paths.length;
    // An optimizer hidden from the contour's legend while this bundle loaded starts hidden here too.
    const shown = this.paths.map((_, i) => {
      const t = this.div2d.data && this.div2d.data[this.trail2d[i]];
      return !t || t.visible === true || t.visible === undefined;
    });
    this.paths.forEach((p, i) => {
      traces.push({
        visible: shown[i], type: "scatter3d", mode: "lines", uid: `dlt3${i}`, name: this.traceName(p, false), legendgroup: p.slug,
        x: p.x3.subarray(0, 1), y: p.y3.subarray(0, 1), z: p.z3.subarray(0, 1),
        line: { color: p.color, width: 6 }, hoverinfo: "skip", showlegend: false,
      });
    });
    this.paths.forEach((p, i) => {
      traces.push({
        visible: shown[i], type: "scatter3d", mode: "markers", uid: `dlh3${i}`, name: this.traceName(p, false), legendgroup: p.slug,
        showlegend: false, x: p.x3.subarray(0, 1), y: p.y3.subarray(0, 1), z: p.z3.subarray(0, 1),
        marker: { color: p.color, size: 5, symbol: "circle", line: { color: "#1f2328", width: 1 } },
        hovertemplate: `${dlEscape(p.name)}<extra></extra>`,
      });
    });
    this.trail3d = Array.from({ length: n }, (_, i) => base + i);
    this.head3d = Array.from({ length: n }, (_, i) => base + n + i);
    try {
      await this.Plotly3d.newPlot(this.div3d, traces, this.layoutOf(fig), this.config);
    } catch (err) {
      console.warn("Descent Lab: 3-D view failed", err);
      this.div3d.textContent = "The 3-D view could not be drawn in this browser.";
      this.div3d = null;
    }
  }

  mirrorVisibility(ev) {
    // Before the 3-D view is drawn there is nothing to mirror: draw3d copies the 2-D visibility itself.
    if (this.committing || !this.div3d || !this.div3d.data || !this.trail3d || !this.Plotly3d) return;
    if (!ev || !ev[0] || !("visible" in ev[0])) return;
    const indices = ev[1] || [];
    const visible = [];
    const targets = [];
    indices.forEach((idx, j) => {
      const i = this.trail2d.indexOf(idx);
      if (i < 0) return;
      const value = Array.isArray(ev[0].visible) ? ev[0].visible[j] : ev[0].visible;
      const shown = value === true || value === undefined;
      visible.push(shown, shown);
      targets.push(this.trail3d[i], this.head3d[i]);
    });
    if (targets.length) this.Plotly3d.restyle(this.div3d, { visible }, targets);
  }

  // ---- one frame -------------------------------------------------------------------------------------
  render(k, force) {
    k = Math.max(0, Math.min(this.steps, k));
    if (k === this.shown && !force) return;
    this.shown = k;
    this.stats.frames += 1;
    window.__descentLabFrames = (window.__descentLabFrames || 0) + 1;
    this.counter.textContent = `step ${k} / ${this.steps}`;
    this.scrub.value = String(k);
    this.root.dataset.step = String(k);
    const diverged = this.paths.map((p) => p.diverged !== null && k >= p.diverged);
    if (diverged.some((d, i) => d !== !!this.diverged[i])) {
      this.diverged = diverged;
      this.renderNotes();
    }
    if (!this.Plotly) return;
    this.syncData(k);
    this.draw2dFast(k);
    this.moveCursors(k);
    if (!this.div3d || !this.div3d.data) return;
    if (this.playing) {
      const now = performance.now();
      if (now >= this.next3dAt) {
        this.draw3dFast();
        this.pending3d = now;
      }
    } else if (!this.queued3d) {
      // Scrubbing: many input events per frame collapse into one 3-D update.
      this.queued3d = requestAnimationFrame(() => {
        this.queued3d = 0;
        if (this.alive && !this.playing) this.draw3dFast();
      });
    }
  }

  // Keep each figure's `data` equal to what is on screen (cheap: array views, no plotly call), so
  // anything that reads or redraws the figure (a zoom, the PNG button, a test) sees the current step.
  syncData(k) {
    const d2 = this.div2d.data;
    const d3 = this.div3d && this.div3d.data && this.trail3d ? this.div3d.data : null;
    this.paths.forEach((p, i) => {
      const m = Math.min(k, p.n - 1);
      if (d2) {
        const trail = d2[this.trail2d[i]];
        const head = d2[this.head2d[i]];
        const h = this.head2(p, m, this.diverged[i]);
        trail.x = p.x.subarray(0, m + 1);
        trail.y = p.y.subarray(0, m + 1);
        head.x = h ? [h[0]] : [];
        head.y = h ? [h[1]] : [];
      }
      if (d3) {
        const trail = d3[this.trail3d[i]];
        const head = d3[this.head3d[i]];
        const h = this.head3(p, m);
        trail.x = p.x3.subarray(0, m + 1);
        trail.y = p.y3.subarray(0, m + 1);
        trail.z = p.z3.subarray(0, m + 1);
        head.x = h ? [h[0]] : [];
        head.y = h ? [h[1]] : [];
        head.z = h ? [h[2]] : [];
      }
    });
  }

  // Each trail is plotly's own <path class="js-line"> (or one we add to the trace group when plotly drew
  // none yet), each head its <path class="point">, found by the uid plotly writes into the class names.
  findElements2d() {
    const gd = this.div2d;
    const fl = gd._fullLayout;
    if (!fl || !fl.xaxis || !fl.yaxis || typeof fl.xaxis.c2p !== "function") return null;
    const lines = [];
    const heads = [];
    this.paths.forEach((p, i) => {
      const group = gd.querySelector(`.scatterlayer .trace.tracedlt${i}`);
      let line = null;
      if (group) {
        const own = group.querySelectorAll("path.js-line");
        own.forEach((el, j) => j > 0 && el.setAttribute("d", ""));
        const mine = group.querySelector("path.dl-line");
        if (own[0] && mine) mine.remove();
        line = own[0] || mine;
        if (!line) {
          line = document.createElementNS("http://www.w3.org/2000/svg", "path");
          line.setAttribute("class", "dl-line");
          line.style.fill = "none";
          line.style.stroke = p.color;
          line.style.strokeWidth = "2.5px";
          line.style.strokeLinejoin = "round";
          group.insertBefore(line, group.firstChild);
        }
      }
      lines.push(line);
      const hgroup = gd.querySelector(`.scatterlayer .trace.tracedlh${i}`);
      heads.push(hgroup ? hgroup.querySelector("path.point") : null);
    });
    return { xa: fl.xaxis, ya: fl.yaxis, lines, heads };
  }

  draw2dFast(k) {
    if (!this.el2d) this.el2d = this.findElements2d();
    const el = this.el2d;
    const full = this.div2d._fullData || [];
    if (!el || (!el.lines.some(Boolean) && this.trail2d.some((i) => full[i] && full[i].visible === true))) {
      // plotly's SVG is not what this player knows (another plotly.js version?): let plotly redraw the
      // whole chart from `data`, a few times a second, rather than not at all.
      const now = performance.now();
      if (!this.committing && this.Plotly && now - (this.lastFallback || 0) > 250) {
        this.lastFallback = now;
        const idx = this.trail2d.concat(this.head2d);
        this.Plotly.restyle(this.div2d, { x: idx.map((i) => this.div2d.data[i].x),
          y: idx.map((i) => this.div2d.data[i].y) }, idx);
      }
      return;
    }
    const { xa, ya } = el;
    const px = (x) => dlClampPx(xa.c2p(x)).toFixed(1);
    const py = (y) => dlClampPx(ya.c2p(y)).toFixed(1);
    this.paths.forEach((p, i) => {
      const m = Math.min(k, p.n - 1);
      const line = el.lines[i];
      if (line) {
        // The path string grows by the new points only; seeking back rebuilds it.
        const c = p.line;
        if (m < c.upto) c.upto = -1;
        if (c.upto < 0) {
          c.d = "";
          c.pen = false;
        }
        let d = c.d;
        for (let j = c.upto + 1; j <= m; j++) {
          if (Number.isFinite(p.x[j]) && Number.isFinite(p.y[j])) {
            d += (c.pen ? "L" : "M") + px(p.x[j]) + "," + py(p.y[j]);
            c.pen = true;
          } else {
            c.pen = false;
          }
        }
        c.d = d;
        c.upto = m;
        line.setAttribute("d", d.indexOf("L") >= 0 ? d : "");
      }
      const head = el.heads[i];
      if (head) {
        const h = this.head2(p, m, this.diverged[i]);
        head.style.display = h ? "" : "none";
        if (h) {
          head.setAttribute("transform", `translate(${px(h[0])},${py(h[1])})`);
          head.setAttribute("d", this.diverged[i] ? this.cross : this.circle);
        }
      }
    });
    this.drawOverlays(k, xa, ya);
  }

  // 3-D: plotly keeps one WebGL object per trace (scene.traces[uid]); hand it the trace with the arrays
  // syncData put into `data` and redraw the scene. Falls back to Plotly.restyle if that internal shape
  // ever changes.
  draw3dFast() {
    this.stats.frames3d += 1;
    const gd = this.div3d;
    const scene = gd._fullLayout && gd._fullLayout.scene && gd._fullLayout.scene._scene;
    const full = gd._fullData;
    const indices = this.trail3d.concat(this.head3d);
    const usable = (idx) => {
      const t = full && full[idx];
      return !!t && (t.visible !== true || (!!scene.traces[t.uid] && typeof scene.traces[t.uid].update === "function"));
    };
    if (!(scene && scene.glplot && typeof scene.glplot.redraw === "function" && scene.traces) ||
        !indices.every(usable)) {
      this.restyle3d();
      return;
    }
    indices.forEach((idx, n) => {
      const t = full[idx];
      if (t.visible !== true) return;
      const src = gd.data[idx];
      t.x = src.x;
      t.y = src.y;
      t.z = src.z;
      if (n >= this.paths.length && t.marker) {
        const diverged = !!this.diverged[n - this.paths.length];
        t.marker.symbol = diverged ? "x" : "circle";
        t.marker.size = diverged ? 8 : 5;
      }
      scene.traces[t.uid].update(t);
    });
    scene.glplot.redraw();
  }

  restyle3d() {
    const gd = this.div3d;
    const indices = this.trail3d.concat(this.head3d);
    const pick = (key) => indices.map((idx) => gd.data[idx][key]);
    const none = this.paths.map(() => null);
    return this.Plotly3d.restyle(gd, {
      x: pick("x"),
      y: pick("y"),
      z: pick("z"),
      "marker.symbol": none.concat(this.paths.map((_, i) => (this.diverged[i] ? "x" : "circle"))),
      "marker.size": none.concat(this.paths.map((_, i) => (this.diverged[i] ? 8 : 5))),
    }, indices);
  }

  // Let plotly redraw the shown step from `data` (one real Plotly.restyle per chart): on pause, seek and at
  // the end, so hover, legend names and the PNG button agree with the picture.
  async commit() {
    if (!this.Plotly || this.committing) return;
    const k = Math.max(0, this.shown);
    this.committing = true;
    this.stats.commits += 1;
    this.syncData(k);
    try {
      const gd = this.div2d;
      const indices = this.trail2d.concat(this.head2d);
      const pick = (key) => indices.map((idx) => gd.data[idx][key]);
      const none = this.paths.map(() => null);
      const diverged = this.paths.map((_, i) => !!this.diverged[i]);
      await this.Plotly.restyle(gd, {
        x: pick("x"),
        y: pick("y"),
        name: this.paths.map((p, i) => this.traceName(p, diverged[i])).concat(
          this.paths.map((p) => this.traceName(p, false))),
        "marker.symbol": none.concat(diverged.map((d) => (d ? "x" : "circle"))),
        "marker.size": none.concat(diverged.map((d) => (d ? DL_CROSS_SIZE : DL_HEAD_SIZE))),
      }, indices);
      if (this.div3d && this.div3d.data && this.trail3d) await this.restyle3d();
      this.committed = k;
    } catch (err) {
      console.warn("Descent Lab: could not update the charts", err);
    } finally {
      this.committing = false;
    }
    if (this.alive && this.shown !== k) this.render(this.shown, true);
  }

  renderNotes() {
    const items = this.paths.filter((p, i) => p.note && (p.diverged === null || this.diverged[i]));
    this.notes.replaceChildren(
      ...items.map((p) => {
        const li = dlEl("li", "dl-note");
        const swatch = dlEl("span", "dl-swatch", p.diverged !== null ? "✕" : "•");
        swatch.style.color = p.color;
        swatch.setAttribute("aria-hidden", "true");
        li.append(swatch, document.createTextNode(" " + p.note));
        return li;
      })
    );
  }

  // ---- the clock -------------------------------------------------------------------------------------
  play() {
    if (this.playing || !this.Plotly) return;
    if (this.pos >= this.steps) this.pos = 0;
    this.playing = true;
    this.setButton("Pause");
    let last = performance.now();
    const tick = (now) => {
      if (!this.playing || !this.alive) return;
      // A frame that carried a 3-D update shows what it cost (software WebGL: hundreds of ms). Slow 3-D
      // is refreshed less often, so the 2-D chart keeps its frame rate; both follow the same clock.
      if (this.pending3d !== undefined) {
        const cost = now - last;
        this.next3dAt = cost > 40 ? now + 3 * cost : now;
        this.pending3d = undefined;
      }
      const dt = Math.min(now - last, 250) / 1000; // a tab coming back from hiding does not jump ahead
      last = now;
      this.pos = Math.min(this.steps, this.pos + dt * this.rate * this.speed);
      this.render(Math.floor(this.pos));
      if (this.pos >= this.steps) {
        this.pause();
        return;
      }
      this.raf = requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
  }

  stop() {
    this.playing = false;
    cancelAnimationFrame(this.raf);
    this.setButton("Play");
  }

  pause() {
    this.stop();
    this.settle();
  }

  // After pause or seek: commit the step into the figures and tell Python (one rerun, not one per frame).
  settle() {
    if (this.shown !== this.committed) this.commit();
    const step = Math.floor(this.pos);
    if (step === this.reported) return;
    this.reported = step;
    try {
      if (this.hooks.setStateValue) this.hooks.setStateValue("step", step);
    } catch (err) {
      console.warn("Descent Lab: could not report the step", err);
    }
  }

  setButton(label) {
    this.button.textContent = label;
    this.button.setAttribute("aria-label", label);
  }

  watchSize() {
    if (typeof ResizeObserver === "undefined") return;
    for (const div of [this.div2d, this.div3d, ...this.charts.map((c) => c.div)]) {
      if (!div) continue;
      let queued = false;
      let width = div.clientWidth;
      const ro = new ResizeObserver(() => {
        if (queued || div.clientWidth === width) return;
        queued = true;
        requestAnimationFrame(() => {
          queued = false;
          width = div.clientWidth;
          const P = this.plotlyOf(div);
          if (this.alive && div.data && P) P.Plots.resize(div);
        });
      });
      ro.observe(div);
      this.observers.push(ro);
    }
  }

  destroy() {
    if (!this.alive) return;
    this.alive = false;
    this.playing = false;
    cancelAnimationFrame(this.raf);
    for (const ro of this.observers) ro.disconnect();
    for (const [target, type, fn] of this.listeners) target.removeEventListener(type, fn, true);
    if (this.clearClickTimer) this.clearClickTimer();
    for (const div of [this.div2d, this.div3d, ...this.charts.map((c) => c.div)]) {
      const P = this.plotlyOf(div);
      if (div && div.data && P) P.purge(div);
    }
    this.root.remove();
  }
}

function mountRace(component) {
  const { data, parentElement } = component;
  const host = parentElement;
  const previous = DL_INSTANCES.get(host);
  // A rerun that hands over the same race keeps playing where it is (and keeps the 3-D camera).
  if (previous && previous.alive && data && previous.id === data.id) {
    previous.setSpeed(data.speed);
    return () => previous.destroy();
  }
  if (previous) previous.destroy();
  if (!data) return undefined;
  const player = new DlRacePlayer(host, data, {
    setStateValue: component.setStateValue,
    setTriggerValue: component.setTriggerValue,
  });
  DL_INSTANCES.set(host, player);
  window.__descentLabPlayers = (window.__descentLabPlayers || []).filter((q) => q.alive).concat([player]);
  return () => player.destroy();
}
