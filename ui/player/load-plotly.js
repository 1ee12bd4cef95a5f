// Loading plotly.js: the bundles the app serves from static/, one load per bundle per page.

// A plotly.js the page already has (the standalone file inlines one; Streamlit's own st.plotly_chart
// bundle sets window.Plotly too) is the full bundle: it is used for every picture if it is recent enough
// for typed arrays ("bdata", 2.28+). The bundles this player loads itself never stay in window.Plotly
// (see dlInjectPlotly), so window.Plotly only ever holds such a full bundle.
export function dlUsable(P) {
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

// One load per bundle per page, however many players mount: they share these promises (by URL). The
// page-fixes element on every page (ui/a11y.py) calls this too, with the first bundle, as soon as a page
// that draws with it starts running, so the player usually finds the promise settled.
export function dlLoadPlotly(src) {
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

export function dlHasWebGL() {
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

// Fetch a bundle that will be needed later without running it (<link rel="preload">): it downloads, and
// Chromium compiles it off the main thread (ui/assets.py), while the page draws other things; the later
// dlLoadPlotly of the same URL then takes it from the memory cache. Once per URL per page.
export function dlPreloadScript(src) {
  if (!src || dlUsablePlotly()) return;
  const done = (window.__descentLabPreloads = window.__descentLabPreloads || new Set());
  if (done.has(src)) return;
  done.add(src);
  const link = document.createElement("link");
  link.rel = "preload";
  link.as = "script";
  link.href = src;
  document.head.appendChild(link);
}
