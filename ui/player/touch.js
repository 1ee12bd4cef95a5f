// Phones and touch screens: a finger dragging over a picture scrolls the page, as everywhere else on the
// web, unless the visitor turns zoom on (the "Zoom" button, shown on touch screens only); the 3-D view's
// toolbar stands upright at its right edge, so it never covers the title; fewer 3-D ticks, so the axis
// labels of a small view do not run into each other.

// Whether this browser is driven by touch (a phone, a tablet; Playwright's has_touch).
export function dlIsTouch() {
  if (typeof window === "undefined") return false;
  const coarse = typeof window.matchMedia === "function" && window.matchMedia("(pointer: coarse)").matches;
  return coarse || (typeof navigator !== "undefined" && Number(navigator.maxTouchPoints) > 0);
}

// `layout` (a copy) for a picture of kind "contour", "chart" or "surface3d". `touch`: drags scroll the
// page (plotly calls preventDefault on a touch only when dragmode is not false); `zoom`: the visitor's
// choice to zoom and pan (contour, charts) or turn (3-D) instead.
export function dlTouchLayout(layout, kind, touch, zoom) {
  const out = Object.assign({}, layout);
  if (kind === "surface3d") {
    out.modebar = Object.assign({}, out.modebar || {}, { orientation: "v" });
    const scene = Object.assign({}, out.scene || {});
    for (const k of ["xaxis", "yaxis", "zaxis"]) scene[k] = Object.assign({ nticks: 5 }, scene[k] || {});
    if (touch) scene.dragmode = zoom ? "turntable" : false;
    out.scene = scene;
  } else if (touch) {
    out.dragmode = zoom ? (kind === "contour" ? "pan" : "zoom") : false;
  }
  return out;
}

export const DlTouch = {
  // The "Zoom" switch (touch screens only): drags zoom/pan/turn the pictures instead of scrolling.
  buildTouch(tools) {
    this.touch = dlIsTouch();
    this.zoom = false;
    if (!this.touch) return;
    this.root.classList.add("dl-touch");
    this.zoomButton = this.button("dl-zoom-button", "Zoom: off", () => this.setZoom(!this.zoom));
    this.zoomButton.setAttribute("aria-pressed", "false");
    this.zoomButton.title = "On: drag to zoom, pan or turn the pictures. Off: drag to scroll the page.";
    tools.prepend(this.zoomButton);
  },

  setZoom(on) {
    this.zoom = !!on;
    this.zoomButton.textContent = on ? "Zoom: on" : "Zoom: off";
    this.zoomButton.setAttribute("aria-pressed", String(!!on));
    this.root.classList.toggle("dl-zoom", !!on);
    for (const [div, kind] of [[this.div2d, "contour"], [this.div3d, "surface3d"],
      ...this.charts.map((c) => [c.div, "chart"])]) {
      const P = this.plotlyOf(div);
      if (!div || !div.data || !P) continue;
      if (kind === "surface3d") P.relayout(div, { "scene.dragmode": on ? "turntable" : false });
      else P.relayout(div, { dragmode: on ? (kind === "contour" ? "pan" : "zoom") : false });
    }
    this.announce(on ? "Zoom on: drags move the pictures" : "Zoom off: drags scroll the page");
  },
};
