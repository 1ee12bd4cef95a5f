// The presenter view and the player's panels: sizes for a room (large type, thick trails), the
// high-contrast background, fitting both pictures into the window, full screen, the QR code of the race's
// link and the list of keyboard shortcuts. Mixed into DlRacePlayer; the pure parts are exported for tests.

import { dlTouchLayout } from "./touch.js";
import { DL_KEY_HELP } from "./input.js";
import { DL_SVG_NS, dlEl } from "./util.js";


// Line widths and marker sizes (px) in the normal view and in the presenter view.
export const DL_LOOKS = {
  normal: { trail: 2.5, head: 11, cross: 15, outline: 1.5, trail3d: 6, head3d: 5, cross3d: 8 },
  present: { trail: 5, head: 18, cross: 24, outline: 2.5, trail3d: 11, head3d: 9, cross3d: 12 },
};
// Type sizes (px) of the presenter view: titles ≥ 28, legend and axis labels ≥ 18.
export const DL_PRESENT_TYPE = { title: 30, legend: 20, axisTitle: 22, ticks: 18, base: 18 };
// A light grey ramp under the trails for washed-out projectors: every trail colour of the high-contrast
// palette (figures.palette) keeps ≥ 3:1 against its lightest and darkest stop.
export const DL_CONTRAST_SCALE = [[0, "#ffffff"], [1, "#d9d9d9"]];
const DL_CONTRAST_LINES = "#595959";

function dlMerge(target, key, extra) {
  target[key] = Object.assign({}, target[key] || {}, extra);
  return target[key];
}

// A figure layout restyled for the room (a copy; `layout` is not changed). kind: contour, surface3d, chart.
export function dlPresentLayout(layout, kind) {
  const out = Object.assign({}, layout);
  const T = DL_PRESENT_TYPE;
  dlMerge(out, "font", { size: T.base });
  if (out.title && typeof out.title === "object") {
    out.title = Object.assign({}, out.title, { font: Object.assign({}, out.title.font || {}, { size: T.title }) });
  } else if (typeof out.title === "string") {
    out.title = { text: out.title, font: { size: T.title } };
  }
  dlMerge(out, "legend", { font: Object.assign({}, (out.legend || {}).font || {}, { size: T.legend }) });
  // The contour's legend goes to its right, one optimizer a line (at room size, a legend under the map
  // takes five rows of its height); the colour bar makes way for it (styleBackground).
  if (kind === "contour") {
    Object.assign(out.legend, { orientation: "v", x: 1.02, xanchor: "left", y: 1, yanchor: "top", itemwidth: 40 });
  }
  dlMerge(out, "hoverlabel", { font: { size: T.ticks } });
  const axis = (a) => Object.assign({}, a || {}, {
    tickfont: Object.assign({}, (a || {}).tickfont || {}, { size: T.ticks }),
    title: Object.assign({}, typeof (a || {}).title === "string" ? { text: a.title } : (a || {}).title || {},
      { font: { size: T.axisTitle } }),
  });
  if (kind === "surface3d") {
    const scene = Object.assign({}, out.scene || {});
    for (const k of ["xaxis", "yaxis", "zaxis"]) scene[k] = axis(scene[k]);
    // At room size a log axis's five decade labels run into each other on the short z axis: every other.
    const z = scene.zaxis;
    if (Array.isArray(z.tickvals) && z.tickvals.length > 3) {
      const every = (_, i) => i % 2 === 0;
      z.tickvals = z.tickvals.filter(every);
      if (Array.isArray(z.ticktext)) z.ticktext = z.ticktext.filter(every);
    }
    out.scene = scene;
  } else {
    for (const k of ["xaxis", "yaxis"]) out[k] = axis(out[k]);
  }
  if (out.margin) {
    out.margin = Object.assign({}, out.margin, { t: Math.max(Number(out.margin.t) || 0, T.title + 24) });
    if (kind === "contour") out.margin.l = Math.max(Number(out.margin.l) || 0, 60);
  }
  return out;
}

// A QR matrix from Python ({size, rows: ["0101…", …]}, quiet zone included) as one SVG path of unit
// squares, one "M x,y h1v1h-1z" per dark module, merged along each row.
export function dlQrPath(qr) {
  const rows = qr && Array.isArray(qr.rows) ? qr.rows : [];
  let d = "";
  rows.forEach((row, y) => {
    const s = String(row);
    let x = 0;
    while (x < s.length) {
      if (s[x] !== "1") {
        x += 1;
        continue;
      }
      let end = x;
      while (end < s.length && s[end] === "1") end += 1;
      d += `M${x},${y}h${end - x}v1h-${end - x}z`;
      x = end;
    }
  });
  return d;
}

// The page's vertical position of an element's top, whatever scrolls (the window or a Streamlit pane).
function dlPageTop(el) {
  let top = el.getBoundingClientRect().top + (window.scrollY || 0);
  for (let a = el.parentElement; a; a = a.parentElement) top += a.scrollTop || 0;
  return top;
}

export const DlPresent = {
  styleLayout(layout, kind) {
    const out = this.present ? dlPresentLayout(layout, kind) : layout;
    return dlTouchLayout(out, kind, this.touch, this.zoom);
  },

  // Background traces (contour, 3-D surface). Presenter view: no colour bar beside the contour (its
  // legend sits there). High-contrast option: a light grey ramp with dark contour lines, so coloured
  // trails stand out on a washed-out projector.
  styleBackground(traces) {
    if (!this.present && !this.contrast) return traces;
    return traces.map((t) => {
      if (!t || (t.type !== "contour" && t.type !== "surface")) return t;
      const out = Object.assign({}, t);
      if (this.present && t.type === "contour") out.showscale = false;
      if (this.contrast) {
        out.colorscale = DL_CONTRAST_SCALE;
        if (t.type === "contour") out.line = Object.assign({}, t.line || {}, { color: DL_CONTRAST_LINES, width: 1 });
      }
      return out;
    });
  },

  // Presenter view and full screen: both pictures as tall as the window allows below the toolbar, so
  // they are entirely visible without scrolling. The normal view keeps the height Python asked for.
  fit() {
    if (!this.alive || !this.div2d) return;
    const full = document.fullscreenElement === this.root;
    let height = this.baseHeight;
    if (this.present || full) {
      const top = full ? this.plots.getBoundingClientRect().top - this.root.getBoundingClientRect().top :
        dlPageTop(this.plots);
      height = Math.max(240, Math.floor(window.innerHeight - top - 12));
    }
    this.boxHeight = height;
    const px = `${height}px`;
    for (const div of [this.div2d, this.div3d]) {
      if (div && div === this.div2d && div.data && this.trims2d()) {
        this.trim2d(height);  // the 2-D box fits its plot (layers.js)
        continue;
      }
      if (div === this.div2d) this.trimmed = null;
      if (!div || div.style.height === px) continue;
      div.style.height = px;
      const P = this.plotlyOf(div);
      if (div.data && P) P.Plots.resize(div);
    }
  },

  // The normal view's 2-D box fits its plot (layers.js trim2d); the presenter view and full screen keep
  // the window's height, which their legend, at the side and one optimizer a row, needs.
  trims2d() {
    return !this.present && document.fullscreenElement !== this.root;
  },

  wireFit() {
    let queued = false;
    const onResize = () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        this.fit();
      });
    };
    window.addEventListener("resize", onResize);
    document.addEventListener("fullscreenchange", onResize);
    this.listeners.push([window, "resize", onResize, false], [document, "fullscreenchange", onResize, false]);
    const onFull = () => {
      const on = document.fullscreenElement === this.root;
      this.fullButton.setAttribute("aria-pressed", String(on));
      this.fullButton.textContent = on ? "Exit full screen" : "Full screen";
    };
    document.addEventListener("fullscreenchange", onFull);
    this.listeners.push([document, "fullscreenchange", onFull, false]);
  },

  toggleFullscreen() {
    try {
      if (document.fullscreenElement) document.exitFullscreen();
      else if (this.root.requestFullscreen) this.root.requestFullscreen().catch(() => {});
    } catch (err) {
      console.warn("Descent Lab: full screen is not available", err);
    }
  },

  // The shortcuts list: a small dialog inside the player.
  buildHelp() {
    const box = dlEl("div", "dl-panel dl-help");
    box.id = `${this.uid}-help`;
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "Keyboard shortcuts");
    box.hidden = true;
    box.append(dlEl("h2", "dl-panel-title", "Keyboard shortcuts"));
    const list = dlEl("dl", "dl-keys");
    for (const [keys, what] of DL_KEY_HELP) list.append(dlEl("dt", null, keys), dlEl("dd", null, what));
    box.append(list, dlEl("p", "dl-panel-note", "Keys act when the focus is not in a text field."));
    box.append(this.closeButton(box));
    return box;
  },

  // The QR code of the race's link (drawn from Python's matrix) with the link in large text.
  buildQr(share) {
    const box = dlEl("div", "dl-panel dl-qr");
    box.id = `${this.uid}-qr`;
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "Open this race on your phone");
    box.hidden = true;
    box.append(dlEl("h2", "dl-panel-title", "Open this race on your phone"));
    const size = Number(share.qr.size) || (share.qr.rows || []).length;
    const svg = document.createElementNS(DL_SVG_NS, "svg");
    svg.setAttribute("class", "dl-qr-code");
    svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "QR code of the link below");
    svg.setAttribute("shape-rendering", "crispEdges");
    const bg = document.createElementNS(DL_SVG_NS, "rect");
    bg.setAttribute("width", String(size));
    bg.setAttribute("height", String(size));
    bg.setAttribute("fill", "#ffffff");
    const path = document.createElementNS(DL_SVG_NS, "path");
    path.setAttribute("d", dlQrPath(share.qr));
    path.setAttribute("fill", "#000000");
    svg.append(bg, path);
    const link = dlEl("p", "dl-qr-url", String(share.url || ""));
    box.append(svg, link, this.closeButton(box));
    return box;
  },

  // A rerun with the same race and a new link (the speed changed): the QR panel shows the new link.
  replaceQr(present) {
    if (!this.qr || !present || !present.qr || !Array.isArray(present.qr.rows)) return;
    if (this.share && present.url === this.share.url) return;
    const open = !this.qr.hidden;
    this.share = present;
    const qr = this.buildQr(present);
    qr.hidden = !open;
    this.qr.replaceWith(qr);
    this.qr = qr;
    this.qrButton.setAttribute("aria-controls", qr.id);
  },

  closeButton(box) {
    const b = dlEl("button", "dl-button dl-close", "Close");
    b.type = "button";
    b.addEventListener("click", () => this.closePanels());
    return b;
  },

  // Opens `panel` (closing the others), or closes it when it is open; `keep`: open it in any case.
  togglePanel(panel, opener, keep) {
    if (!panel) return;
    const open = keep || panel.hidden;
    this.closePanels();
    if (!open) return;
    panel.hidden = false;
    if (opener) opener.setAttribute("aria-expanded", "true");
    this.lastOpener = opener || null;
    const close = panel.querySelector(".dl-close");
    if (close) close.focus({ preventScroll: true });
  },

  hasOpenPanel() {
    return [this.help, this.qr, this.sharePanel].some((p) => p && !p.hidden);
  },

  closePanels() {
    const wasOpen = this.hasOpenPanel();
    const panels = [[this.help, this.helpButton], [this.qr, this.qrButton], [this.sharePanel, this.explainButton]];
    for (const [panel, opener] of panels) {
      if (!panel) continue;
      panel.hidden = true;
      if (opener) opener.setAttribute("aria-expanded", "false");
    }
    if (wasOpen && this.lastOpener && this.lastOpener.isConnected) this.lastOpener.focus({ preventScroll: true });
    this.lastOpener = null;
  },

  // Short messages for screen readers (shown, hidden, speed), in a polite live region.
  announce(text) {
    if (this.live) this.live.textContent = text;
  },
};
