// Overlays drawn at the current step on the contour: −∇f, the step taken, NAG's look-ahead point and the
// per-coordinate step box, with their legend and the effective-learning-rate readout. Mixed into
// DlRacePlayer (player.js); the arrays come from Python (lab.overlays) only when an overlay is shown.

import { dlArrowPath, dlClampPx } from "./geometry.js";
import { DL_SVG_NS, dlEl, dlFormat } from "./util.js";

export const DL_OVERLAY_KEYS = ["px", "py", "gx", "gy", "dx", "dy"];

export const DlOverlays = {
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
  },

  buildReadout() {
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
    return this.readout;
  },

  // The overlay group sits in plotly's cartesian plot group, after the traces (same pixel frame as the
  // trails, clipped to the plot area). plotly may rebuild that group on a redraw: then it is added again.
  overlayLayer() {
    if (this.ovLayer && this.ovLayer.isConnected) return this.ovLayer;
    const scatter = this.div2d.querySelector(".cartesianlayer .scatterlayer");
    if (!scatter || !scatter.parentNode) return null;
    const layer = document.createElementNS(DL_SVG_NS, "g");
    layer.setAttribute("class", "dl-overlays");
    layer.style.pointerEvents = "none";
    const make = (cls, color, style) => {
      const el = document.createElementNS(DL_SVG_NS, "path");
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
      const g = document.createElementNS(DL_SVG_NS, "g");
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
  },

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
  },
};
