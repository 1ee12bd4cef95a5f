// Descent Lab race player: draws the static background once with plotly.js, then moves only the trails
// and head markers on a requestAnimationFrame clock. This module holds the player's state, its controls
// and its life cycle; the concerns live beside it:
//   load-plotly.js  loading plotly.js        clock.js     the clock and playback state
//   layers.js       drawing the pictures     overlays.js  the overlays at the current step
//   input.js        keys and clicks          present.js   presenter view, full screen, panels
//   share.js        "Copy link" and "Explain this step"   touch.js  phones: drags scroll, the Zoom switch
//   geometry.js, util.js: pure helpers.
// ui/bundle.py joins the modules into one script (Streamlit's component and the offline download).
//
// Everything visitor-facing (optimizer names, notes, titles, the link) arrives through `data` and is put
// into the DOM with textContent only; names handed to plotly are entity-escaped.

import { DL_SPEEDS, DlClock, dlNextSpeed } from "./clock.js";
import { dlBox, dlCirclePath, dlCrossPath, dlExitPoint } from "./geometry.js";
import { DlInput } from "./input.js";
import { DlLayers } from "./layers.js";
import { dlLoadPlotly, dlPreloadScript } from "./load-plotly.js";
import { DL_OVERLAY_KEYS, DlOverlays } from "./overlays.js";
import { DL_LOOKS, DlPresent } from "./present.js";
import { DlShare } from "./share.js";
import { DlTouch } from "./touch.js";
import { dlDecode, dlEl } from "./util.js";

const DL_INSTANCES = new WeakMap();
let dlCount = 0;

export class DlRacePlayer {
  constructor(host, data, hooks) {
    this.host = host;
    this.data = data;
    this.id = data.id;
    this.uid = `dl-race-${++dlCount}`;
    this.hooks = hooks;
    this.alive = true;
    this.steps = Math.max(1, Math.floor(Number(data.steps) || 1));
    this.clock = new DlClock(this.steps, data.speed);
    this.reportedSpeed = this.clock.speed;
    // How many speed changes this player has reported; Python echoes the last one it heard (speed_seq).
    this.speedSeq = Number(data.speed_seq) || 0;
    this.shown = -1;
    this.committed = -1;
    this.observers = [];
    this.listeners = [];
    this.diverged = [];
    this.escaped = [];
    this.next3dAt = 0;
    // Counters and milestones (performance.now() ms) for the benchmark and tests.
    this.stats = { frames: 0, frames3d: 0, commits: 0, mounted: performance.now() };
    const present = data.present && typeof data.present === "object" ? data.present : null;
    this.present = !!present;
    this.contrast = !!(present && present.contrast);
    this.share = present && present.qr && Array.isArray(present.qr.rows) ? present : null;
    this.look = DL_LOOKS[this.present ? "present" : "normal"];
    this.baseHeight = Math.max(240, Number(data.height) || 560);
    this.box = dlBox((data.contour || {}).layout);
    // Overlays drawn at the current step (only when Python sent their arrays) and click-to-start.
    this.overlays = new Set(Array.isArray(data.overlays) ? data.overlays.map(String) : []);
    this.gscale = Number.isFinite(Number(data.gradient_scale)) ? Number(data.gradient_scale) : 1;
    this.sscale = Number(data.step_scale) > 0 ? Number(data.step_scale) : 1;
    this.clickable = !!data.clickable;
    this.paths = (data.paths || []).map((p) => this.preparePath(p));
    this.circle = dlCirclePath(this.look.head);
    this.cross = dlCrossPath(this.look.cross);
    this.build();
    this.start();
  }

  get playing() {
    return this.clock.playing;
  }

  get speed() {
    return this.clock.speed;
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
    // A run that left the view downhill on a surface without a minimum escaped: no ✕, its own note.
    const escaped = diverged === null && Number.isInteger(p.escaped_at) ? p.escaped_at : null;
    const note = p.note ? String(p.note) : diverged !== null ? `${name} diverged at step ${diverged}` : "";
    // line: the incremental SVG path string of the 2-D trail, valid for points 0..upto.
    // ov: the per-step overlay arrays (row k: the step that leaves point k), ov.n rows.
    let ov = null;
    if (p.overlay && typeof p.overlay === "object") {
      ov = {};
      for (const key of DL_OVERLAY_KEYS) ov[key] = dlDecode(p.overlay[key]);
      ov.n = Math.min(...DL_OVERLAY_KEYS.map((key) => ov[key].length));
    }
    const dash = typeof p.dash === "string" && /^[a-z]+$/.test(p.dash) ? p.dash : "solid";
    return { name, slug: String(p.slug || name), color: String(p.color || "#444444"), dash, x, y, v, n, last,
      diverged, escaped, note, cross, z3: null, line: { d: "", upto: -1, pen: false }, ov, ovEls: null };
  }

  button(className, label, onClick) {
    const b = dlEl("button", `dl-button ${className}`, label);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  build() {
    const root = dlEl("div", "dl-race");
    if (this.present) root.classList.add("dl-present");
    if (this.contrast) root.classList.add("dl-contrast");
    this.root = root;
    const bar = dlEl("div", "dl-toolbar");
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", "Race controls");
    if (this.present && this.data.present.title) {
      bar.append(dlEl("h1", "dl-title", String(this.data.present.title)));
    }
    this.playButton = this.button("dl-play", "Play", () => (this.playing ? this.pause() : this.play()));
    this.playButton.setAttribute("aria-label", "Play");
    this.playButton.disabled = true;
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
    bar.append(this.playButton, this.scrub, this.counter, speedLabel);
    if (this.clickable) bar.append(dlEl("span", "dl-hint", "Click the contour to start there"));
    const tools = dlEl("span", "dl-tools");
    if (this.share) {
      this.qrButton = this.button("dl-qr-button", "QR code", () => this.togglePanel(this.qr, this.qrButton));
      this.qrButton.setAttribute("aria-expanded", "false");
      tools.append(this.qrButton);
    }
    this.helpButton = this.button("dl-help-button", "?", () => this.togglePanel(this.help, this.helpButton));
    this.helpButton.setAttribute("aria-label", "Keyboard shortcuts");
    this.helpButton.setAttribute("aria-expanded", "false");
    this.helpButton.title = "Keyboard shortcuts (?)";
    this.fullButton = this.button("dl-full-button", "Full screen", () => this.toggleFullscreen());
    this.fullButton.setAttribute("aria-pressed", "false");
    tools.append(this.helpButton, this.fullButton);
    const share = this.buildShare(tools);
    this.buildTouch(tools);
    bar.append(tools);
    this.help = this.buildHelp();
    if (this.share) {
      this.qr = this.buildQr(this.share);
      this.qrButton.setAttribute("aria-controls", this.qr.id);
    }
    this.helpButton.setAttribute("aria-controls", this.help.id);
    this.live = dlEl("div", "dl-live");
    this.live.setAttribute("aria-live", "polite");
    this.notes = dlEl("ul", "dl-notes");
    this.notes.setAttribute("aria-live", "polite");
    // A race with a note to come keeps a line for it from the start: a note appearing mid-race (an escape at
    // step 16) would push the pictures down while they play.
    if (this.paths.some((p) => p.note)) this.notes.classList.add("dl-notes-held");
    this.status = dlEl("div", "dl-status", "Loading the race…");
    const plots = dlEl("div", "dl-plots");
    this.plots = plots;
    const height = `${this.baseHeight}px`;
    this.div2d = dlEl("div", "dl-plot dl-plot-2d");
    this.div2d.style.height = height;
    plots.appendChild(this.div2d);
    if (this.data.surface3d) {
      this.div3d = dlEl("div", "dl-plot dl-plot-3d");
      this.div3d.style.height = height;
      plots.appendChild(this.div3d);
    }
    root.append(bar, this.help);
    if (share) root.append(share);
    if (this.qr) root.append(this.qr);
    root.append(this.live, this.notes, this.status);
    if (this.overlays.size) root.append(this.buildOverlayLegend());
    root.append(plots);
    if (this.overlays.has("effective")) root.append(this.buildReadout());
    const charts = this.buildCharts();
    if (charts) root.append(charts);
    this.host.appendChild(root);

    this.scrub.addEventListener("input", () => {
      this.clock.seek(Number(this.scrub.value));
      this.setButton("Play");
      this.render(this.clock.step);
    });
    this.scrub.addEventListener("change", () => this.settle());
    this.select.addEventListener("change", () => {
      this.setSpeed(this.select.value);
      this.reportSpeed();
    });
    this.wireKeys();
    this.wireFit();
    if (this.present) this.fit();
  }

  // The nearest offered speed to `speed`, shown in the selector.
  setSpeed(speed) {
    this.clock.setSpeed(speed);
    if (this.select) this.select.value = String(this.speed);
  }

  // The speed of a rerun. A rerun that started before Python heard this player's latest change carries an
  // older speed (+, −, − sends 2, 1, 0.5; the rerun for 2 can arrive after 0.5 was chosen): keep ours.
  takeSpeed(data) {
    if ((Number(data.speed_seq) || 0) < this.speedSeq) return;
    this.setSpeed(data.speed);
    this.reportedSpeed = this.speed;
  }

  changeSpeed(dir) {
    this.setSpeed(dlNextSpeed(this.speed, dir));
    this.announce(`Speed ${this.speed}×`);
    this.reportSpeed();
  }

  // The speed is one setting with the page's "Playback speed" (and the URL): Python hears each change.
  reportSpeed() {
    if (this.speed === this.reportedSpeed) return;
    this.reportedSpeed = this.speed;
    try {
      this.speedSeq += 1;
      if (this.hooks.setStateValue) this.hooks.setStateValue("speed", { speed: this.speed, seq: this.speedSeq });
    } catch (err) {
      console.warn("Descent Lab: could not report the speed", err);
    }
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
    this.fit();
    await this.draw2d();
    if (!this.alive) return;
    this.stats.drawn2d = performance.now();
    this.status.textContent = "";
    this.status.hidden = true;
    this.playButton.disabled = false;
    this.scrub.disabled = false;
    this.render(0);
    this.root.dataset.ready = "true";
    // The 3-D view's bundle downloads (and compiles, off the main thread) while the charts are drawn; it
    // runs only after them (load3d). Not before the contour: nothing may compete with the first picture.
    if (this.div3d && this.data.plotly_3d_src && this.data.plotly_3d_src !== this.src2d()) {
      dlPreloadScript(this.data.plotly_3d_src);
    }
    // The contour is up first (and painted); the loss charts follow a frame later, then the 3-D view,
    // whose plotly.js bundle (WebGL traces) only runs now, so it never delays the first picture.
    await new Promise((r) => requestAnimationFrame(() => r()));
    if (!this.alive) return;
    await this.drawCharts();
    if (!this.alive) return;
    this.stats.drawnCharts = performance.now();
    if (this.div3d) {
      await new Promise((r) => requestAnimationFrame(() => r()));
      if (!this.alive) return;
      await this.load3d();
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
    this.fit();
    this.watchSize();
  }

  src2d() {
    return this.data.plotly_src || "./app/static/plotly.min.js";
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
    this.scrub.setAttribute("aria-valuetext", `step ${k} of ${this.steps}`);
    this.root.dataset.step = String(k);
    const diverged = this.paths.map((p) => p.diverged !== null && k >= p.diverged);
    const escaped = this.paths.map((p) => p.escaped !== null && k >= p.escaped);
    if (diverged.some((d, i) => d !== !!this.diverged[i]) || escaped.some((e, i) => e !== !!this.escaped[i])) {
      this.diverged = diverged;
      this.escaped = escaped;
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

  renderNotes() {
    const items = this.paths.filter((p, i) => p.note && (p.diverged === null || this.diverged[i]) &&
      (p.escaped === null || this.escaped[i]));
    this.notes.replaceChildren(
      ...items.map((p) => {
        const li = dlEl("li", "dl-note");
        const swatch = dlEl("span", "dl-swatch", p.diverged !== null ? "✕" : p.escaped !== null ? "↘" : "•");
        swatch.style.color = p.color;
        swatch.setAttribute("aria-hidden", "true");
        li.append(swatch, document.createTextNode(" " + p.note));
        return li;
      })
    );
  }

  // ---- playback --------------------------------------------------------------------------------------
  play() {
    if (!this.Plotly) return;
    const started = this.clock.play((k, now, gap) => {
      if (!this.alive) return;
      // A frame that carried a 3-D update shows what it cost (software WebGL: hundreds of ms). Slow 3-D
      // is refreshed less often, so the 2-D chart keeps its frame rate; both follow the same clock.
      if (this.pending3d !== undefined) {
        this.next3dAt = gap > 40 ? now + 3 * gap : now;
        this.pending3d = undefined;
      }
      this.render(k);
    }, () => this.pause());
    if (started) this.setButton("Pause");
  }

  pause() {
    this.clock.stop();
    this.setButton("Play");
    this.settle();
  }

  // Keyboard and buttons: stop and show step k.
  seek(k) {
    if (!this.Plotly) return;
    const was = this.playing;
    this.clock.seek(k);
    if (was) this.setButton("Play");
    this.render(this.clock.step);
    this.settle();
  }

  // After pause or seek: commit the step into the figures and tell Python (one rerun, not one per frame).
  settle() {
    if (this.shown !== this.committed) this.commit();
    const step = this.clock.step;
    if (step === this.reported) return;
    this.reported = step;
    try {
      if (this.hooks.setStateValue) this.hooks.setStateValue("step", step);
    } catch (err) {
      console.warn("Descent Lab: could not report the step", err);
    }
  }

  setButton(label) {
    this.playButton.textContent = label;
    this.playButton.setAttribute("aria-label", label);
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
          if (!this.alive || !div.data || !P) return;
          if (div === this.div2d && this.trims2d()) this.trim2d(this.boxHeight || this.baseHeight);  // fit again
          else P.Plots.resize(div);
        });
      });
      ro.observe(div);
      this.observers.push(ro);
    }
  }

  destroy() {
    if (!this.alive) return;
    this.alive = false;
    this.clock.stop();
    for (const ro of this.observers) ro.disconnect();
    for (const [target, type, fn, capture] of this.listeners) target.removeEventListener(type, fn, capture);
    if (this.clearClickTimer) this.clearClickTimer();
    if (document.fullscreenElement === this.root) document.exitFullscreen().catch(() => {});
    for (const div of [this.div2d, this.div3d, ...this.charts.map((c) => c.div)]) {
      const P = this.plotlyOf(div);
      if (div && div.data && P) P.purge(div);
    }
    this.root.remove();
  }
}

Object.assign(DlRacePlayer.prototype, DlLayers, DlOverlays, DlInput, DlPresent, DlShare, DlTouch);

// The component's entry point (Streamlit calls it with `component`; the offline file with the same shape).
export function mountRace(component) {
  const { data, parentElement } = component;
  const host = parentElement;
  const previous = DL_INSTANCES.get(host);
  // A rerun that hands over the same race keeps playing where it is (and keeps the 3-D camera).
  if (previous && previous.alive && data && previous.id === data.id) {
    previous.takeSpeed(data);
    previous.replaceQr(data.present);
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
