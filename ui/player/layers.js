// The drawing layers: the contour with its trails and heads (SVG, moved by hand each frame), the 3-D view
// (plotly's WebGL objects), and the loss charts with their step cursors. Mixed into DlRacePlayer.
//
// Plotly.newPlot runs once per picture: background traces + one trail trace and one head trace per
// optimizer. Any Plotly.restyle re-runs plotly's whole pipeline (~200 ms for the contour on a 2-core
// machine), so while playing each frame rewrites just the trail's SVG path and the head's position inside
// plotly's own trace groups (2-D), and hands the trail arrays to plotly's existing WebGL line objects
// (3-D), with the axes' own data-to-pixel maps. On pause, seek and at the end one real Plotly.restyle
// "commits" the step into the figure data, so hover, zoom, legend clicks and the PNG button see what is on
// screen. If plotly redraws by itself (zoom, resize, legend click) the next frame re-applies the step.
// Everything plotly-internal this relies on (_fullLayout axes, _fullData, scene.traces, glplot) is read
// here and nowhere else; each use falls back to a plain Plotly.restyle when the shape is not there.

import { dlHasWebGL, dlLoadPlotly } from "./load-plotly.js";
import { dlClampPx, dlClipToBox } from "./geometry.js";
import { DL_SVG_NS, dlEl, dlEscape } from "./util.js";


// A new width of the contour's box this much or more fits the box to its plot again (trim2d).
const DL_RETRIM_PX = 40;

export const DlLayers = {
  // The plotly.js that drew `div` (the 3-D view may come from another bundle than the 2-D pictures).
  plotlyOf(div) {
    return div && div === this.div3d ? this.Plotly3d : this.Plotly;
  },

  // The legend's name of path p: with "✕ step n" once it diverged, "↘ step n" once it escaped.
  traceName(p, diverged, escaped) {
    const name = dlEscape(p.name);
    if (diverged) return `${name} ✕ step ${p.diverged}`;
    return escaped ? `${name} ↘ step ${p.escaped}` : name;
  },

  layoutOf(fig, kind) {
    const layout = Object.assign({}, (fig && fig.layout) || {}, { autosize: true });
    delete layout.width;
    delete layout.height;
    return this.styleLayout(layout, kind);
  },

  async draw2d() {
    const fig = this.data.contour || { data: [], layout: {} };
    const traces = this.styleBackground((fig.data || []).slice());
    const base = traces.length;
    const n = this.paths.length;
    const look = this.look;
    this.paths.forEach((p, i) => {
      traces.push({
        type: "scatter", mode: "lines", uid: `dlt${i}`, name: this.traceName(p, false), legendgroup: p.slug,
        x: p.x.subarray(0, 1), y: p.y.subarray(0, 1),
        line: { color: p.color, width: look.trail, dash: p.dash }, hoverinfo: "skip",
      });
    });
    this.paths.forEach((p, i) => {
      traces.push({
        type: "scatter", mode: "markers", uid: `dlh${i}`, name: this.traceName(p, false), legendgroup: p.slug,
        showlegend: false, x: p.x.subarray(0, 1), y: p.y.subarray(0, 1),
        marker: { color: p.color, size: look.head, symbol: "circle", line: { color: "#1f2328", width: look.outline } },
        hovertemplate: `${dlEscape(p.name)}<br>x = %{x:.4g}<br>y = %{y:.4g}<extra></extra>`,
      });
    });
    this.trail2d = Array.from({ length: n }, (_, i) => base + i);
    this.head2d = Array.from({ length: n }, (_, i) => base + n + i);
    await this.Plotly.newPlot(this.div2d, traces, this.layoutOf(fig, "contour"), this.config);
    if (this.trims2d()) await this.trim2d(this.boxHeight || this.baseHeight);
    // Legend clicks (and the number keys) hide or show an optimizer in both pictures.
    this.div2d.on("plotly_restyle", (ev) => this.mirrorVisibility(ev));
    if (this.clickable) this.wireClick();
    // After any redraw by plotly itself, find the SVG elements again and re-apply the current step.
    this.div2d.on("plotly_afterplot", () => {
      this.el2d = null;
      for (const p of this.paths) p.line.upto = -1;
      if (!this.committing && this.shown >= 0) requestAnimationFrame(() => this.alive && this.draw2dFast(this.shown));
    });
  },

  // x and y are drawn at one scale, so a picture wider than its box's shape leaves its plot shorter than the
  // box (the plot keeps to the top: figures/background.py). The box then shrinks to the plot, so the legend
  // and the colour bar sit right under and beside it, not a gap away: on a 1280 × 720 projector the legend
  // was below the fold. ``target``: the box's height before trimming (Python's, or the presenter view's).
  //
  // Calls run one after another (each reads the layout the one before left) and give up as soon as the view
  // no longer trims (full screen came meanwhile: fit() owns the height then). A width change of less than
  // DL_RETRIM_PX only resizes: shrinking the page can take its scrollbar away, widening the box, and trimming
  // again would bring the scrollbar back, and so on.
  trim2d(target) {
    this.trimming = (this.trimming || Promise.resolve()).then(() => this.trimNow(target))
      .catch((err) => console.warn("Descent Lab: could not fit the contour's box", err));
    return this.trimming;
  },

  async trimNow(target) {
    const div = this.div2d;
    const P = this.Plotly;
    const trims = () => this.alive && !!div.data && this.trims2d();
    if (!div || !P || !trims()) return;
    const width = div.clientWidth;
    const last = this.trimmed;
    if (last && last.target === target && Math.abs(last.width - width) < DL_RETRIM_PX) {
      if (last.width !== width) await P.Plots.resize(div);
      return;
    }
    this.trimmed = { width, target };
    if (div.style.height !== `${target}px`) {
      div.style.height = `${target}px`;
      await P.Plots.resize(div);
      if (!trims()) return;
    }
    const fl = div._fullLayout;
    const size = fl && fl._size;
    if (!size || !fl.yaxis || !fl.xaxis) return;
    // The x axis's tick labels hang below the plot: in the margin under it when that holds them (a legend
    // below makes it tall), else in space kept from the spare (the presenter view's legend is at the side).
    const font = (fl.xaxis.tickfont && fl.xaxis.tickfont.size) || 12;
    const labels = Math.ceil((fl.xaxis.ticklen || 0) + 1.4 * font + 4 - size.b);
    const spare = Math.floor(size.h - fl.yaxis._length) - Math.max(0, labels);
    if (spare < 8) return;
    div.style.height = `${Math.max(200, target - spare)}px`;
    await P.Plots.resize(div);
  },

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
    const traces = this.styleBackground((fig.data || []).slice());
    const base = traces.length;
    const n = this.paths.length;
    const look = this.look;
    // An optimizer hidden in the contour (legend or number key) while this bundle loaded starts hidden here.
    const shown = this.paths.map((_, i) => this.isShown(i));
    this.paths.forEach((p, i) => {
      traces.push({
        visible: shown[i], type: "scatter3d", mode: "lines", uid: `dlt3${i}`, name: this.traceName(p, false),
        legendgroup: p.slug, x: p.x3.subarray(0, 1), y: p.y3.subarray(0, 1), z: p.z3.subarray(0, 1),
        line: { color: p.color, width: look.trail3d }, hoverinfo: "skip", showlegend: false,
      });
    });
    this.paths.forEach((p, i) => {
      traces.push({
        visible: shown[i], type: "scatter3d", mode: "markers", uid: `dlh3${i}`, name: this.traceName(p, false),
        legendgroup: p.slug, showlegend: false, x: p.x3.subarray(0, 1), y: p.y3.subarray(0, 1),
        z: p.z3.subarray(0, 1),
        marker: { color: p.color, size: look.head3d, symbol: "circle", line: { color: "#1f2328", width: 1 } },
        hovertemplate: `${dlEscape(p.name)}<extra></extra>`,
      });
    });
    this.trail3d = Array.from({ length: n }, (_, i) => base + i);
    this.head3d = Array.from({ length: n }, (_, i) => base + n + i);
    try {
      await this.Plotly3d.newPlot(this.div3d, traces, this.layoutOf(fig, "surface3d"), this.config);
    } catch (err) {
      console.warn("Descent Lab: 3-D view failed", err);
      this.div3d.textContent = "The 3-D view could not be drawn in this browser.";
      this.div3d = null;
    }
  },

  async load3d() {
    try {
      this.Plotly3d = await dlLoadPlotly(this.data.plotly_3d_src || this.src2d());
    } catch (err) {
      console.warn("Descent Lab:", err);
      this.div3d.textContent = "The 3-D view could not load its plotly.js (" + err.message + ").";
      this.div3d = null;
    }
  },

  // Whether optimizer i is shown in the contour (not hidden by its legend entry or a number key).
  isShown(i) {
    const t = this.div2d && this.div2d.data && this.trail2d && this.div2d.data[this.trail2d[i]];
    return !t || t.visible === true || t.visible === undefined;
  },

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
  },

  // The head of path p at step m: its last finite point, or for a diverged run past its divergence the
  // point where it left the picture. null before the first finite point.
  head2(p, m, diverged) {
    if (diverged && p.cross) return p.cross;
    const j = p.last[m];
    return j >= 0 ? [p.x[j], p.y[j]] : null;
  },

  head3(p, m) {
    const j = p.last3[m];
    return j >= 0 ? [p.x3[j], p.y3[j], p.z3[j]] : null;
  },

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
  },

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
          line = document.createElementNS(DL_SVG_NS, "path");
          line.setAttribute("class", "dl-line");
          line.style.fill = "none";
          line.style.stroke = p.color;
          line.style.strokeWidth = `${this.look.trail}px`;
          line.style.strokeLinejoin = "round";
          group.insertBefore(line, group.firstChild);
        }
      }
      lines.push(line);
      const hgroup = gd.querySelector(`.scatterlayer .trace.tracedlh${i}`);
      heads.push(hgroup ? hgroup.querySelector("path.point") : null);
    });
    return { xa: fl.xaxis, ya: fl.yaxis, lines, heads };
  },

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
  },

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
    const look = this.look;
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
        t.marker.size = diverged ? look.cross3d : look.head3d;
      }
      scene.traces[t.uid].update(t);
    });
    scene.glplot.redraw();
  },

  restyle3d() {
    const gd = this.div3d;
    const indices = this.trail3d.concat(this.head3d);
    const pick = (key) => indices.map((idx) => gd.data[idx][key]);
    const none = this.paths.map(() => null);
    const look = this.look;
    return this.Plotly3d.restyle(gd, {
      x: pick("x"),
      y: pick("y"),
      z: pick("z"),
      "marker.symbol": none.concat(this.paths.map((_, i) => (this.diverged[i] ? "x" : "circle"))),
      "marker.size": none.concat(this.paths.map((_, i) => (this.diverged[i] ? look.cross3d : look.head3d))),
    }, indices);
  },

  // Let plotly redraw the shown step from `data` (one real Plotly.restyle per chart): on pause, seek and at
  // the end, so hover, legend names and the PNG button agree with the picture.
  async commit() {
    if (!this.Plotly || this.committing) return;
    const k = Math.max(0, this.shown);
    this.committing = true;
    this.stats.commits += 1;
    this.syncData(k);
    const look = this.look;
    try {
      const gd = this.div2d;
      const indices = this.trail2d.concat(this.head2d);
      const pick = (key) => indices.map((idx) => gd.data[idx][key]);
      const none = this.paths.map(() => null);
      const diverged = this.paths.map((_, i) => !!this.diverged[i]);
      await this.Plotly.restyle(gd, {
        x: pick("x"),
        y: pick("y"),
        name: this.paths.map((p, i) => this.traceName(p, diverged[i], !!this.escaped[i])).concat(
          this.paths.map((p) => this.traceName(p, false))),
        "marker.symbol": none.concat(diverged.map((d) => (d ? "x" : "circle"))),
        "marker.size": none.concat(diverged.map((d) => (d ? look.cross : look.head))),
      }, indices);
      if (this.div3d && this.div3d.data && this.trail3d) await this.restyle3d();
      this.committed = k;
    } catch (err) {
      console.warn("Descent Lab: could not update the charts", err);
    } finally {
      this.committing = false;
    }
    if (this.alive && this.shown !== k) this.render(this.shown, true);
  },

  buildCharts() {
    this.charts = [];
    const charts = Array.isArray(this.data.charts) ? this.data.charts : [];
    if (!charts.length) return null;
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
    return row;
  },

  async drawCharts() {
    for (const c of this.charts) {
      if (!this.alive) return;
      try {
        await this.Plotly.newPlot(c.div, (c.figure.data || []).slice(), this.layoutOf(c.figure, "chart"), this.config);
        c.drawn = true;
        c.div.on("plotly_afterplot", () => this.alive && this.moveCursors(this.shown));
      } catch (err) {
        console.warn("Descent Lab: a chart could not be drawn", err);
        c.div.textContent = "This chart could not be drawn in this browser.";
      }
    }
    this.moveCursors(this.shown);
  },

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
  },

  // Shows or hides optimizer i in both pictures, as its legend entry does (the 3-D view follows through
  // mirrorVisibility). Returns false when there is no such optimizer.
  toggleOptimizer(i) {
    if (!this.Plotly || !this.div2d.data || i < 0 || i >= this.paths.length) return false;
    const visible = this.isShown(i) ? "legendonly" : true;
    this.Plotly.restyle(this.div2d, { visible }, [this.trail2d[i], this.head2d[i]]);
    this.announce(`${this.paths[i].name} ${visible === true ? "shown" : "hidden"}`);
    return true;
  },
};
