// Pure geometry of the pictures: marker shapes, the plotting window, where a diverging path leaves it,
// arrows. Numbers in, numbers or SVG path strings out (tests/test_player_modules.py runs them in node).

export const DL_PIXEL_LIMIT = 1e5; // a diverging path's far points are clamped (off-screen either way)

// SVG marker shapes, centred on 0,0, the same the 2-D heads use ("circle" and a filled "x").
export function dlCirclePath(size) {
  const r = (size / 2).toFixed(2);
  return `M${r},0A${r},${r} 0 1,1 0,-${r}A${r},${r} 0 0,1 ${r},0Z`;
}

export function dlCrossPath(size) {
  const a = size / 2;
  const w = a * 0.3;
  const arms = [[w, -a], [w, -w], [a, -w], [a, w], [w, w], [w, a], [-w, a], [-w, w], [-a, w], [-a, -w],
    [-w, -w], [-w, -a]];
  const s = Math.SQRT1_2;
  return "M" + arms.map(([x, y]) => `${((x - y) * s).toFixed(2)},${((x + y) * s).toFixed(2)}`).join("L") + "Z";
}

export function dlClampPx(v) {
  return v > DL_PIXEL_LIMIT ? DL_PIXEL_LIMIT : v < -DL_PIXEL_LIMIT ? -DL_PIXEL_LIMIT : v;
}

// The plotting window from the contour layout's fixed axis ranges, [x0, x1, y0, y1] (slightly inset), or null.
export function dlBox(layout) {
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

export function dlInside(x, y, b) {
  return x >= b[0] && x <= b[1] && y >= b[2] && y <= b[3];
}

// Where the segment from inside point a to outside point b leaves the box: the fraction s along it.
export function dlExitFraction(ax, ay, bx, by, b) {
  let s = 1;
  if (bx < b[0]) s = Math.min(s, (b[0] - ax) / (bx - ax));
  if (bx > b[1]) s = Math.min(s, (b[1] - ax) / (bx - ax));
  if (by < b[2]) s = Math.min(s, (b[2] - ay) / (by - ay));
  if (by > b[3]) s = Math.min(s, (b[3] - ay) / (by - ay));
  return Math.max(0, Math.min(1, s));
}

// Where a diverged path's ✕ goes: its last point if that is in the picture, else the point where it
// left the picture (a run that blows up to 1e30 would otherwise put its ✕ far off-screen).
export function dlExitPoint(x, y, n, lastFinite, b) {
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
export function dlClipToBox(x, y, z, n, b) {
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
export function dlArrowPath(x0, y0, x1, y1) {
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
