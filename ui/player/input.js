// Input handling: keyboard shortcuts (which key means what, and whether a key is ours at all) and the
// click on the contour that reports a new start point. The key table is pure; the methods below are
// mixed into DlRacePlayer (player.js).

const DL_CLICK_SLOP = 4; // px a press may move and still count as a click (not a zoom or pan)

// Shown by "?" (and the "Keyboard shortcuts" button), in this order.
export const DL_KEY_HELP = [
  ["Space", "Play / pause"],
  ["← / →", "One step back / forward"],
  ["Shift + ← / →", "Ten steps back / forward"],
  ["Home / End", "First / last step"],
  ["+ / −", "Faster / slower"],
  ["F", "Full screen on / off"],
  ["1 … 9, 0", "Show / hide the 1st … 9th, 10th optimizer"],
  ["?", "Show / hide this list"],
  ["Esc", "Close this list or the QR code"],
];

// What a keydown means to the player, or null. Keys with Ctrl, Alt or Meta belong to the browser.
export function dlKeyAction(ev) {
  if (!ev || ev.ctrlKey || ev.metaKey || ev.altKey) return null;
  const key = ev.key;
  if (key === " " || key === "Spacebar") return { type: "toggle" };
  if (key === "ArrowRight" || key === "ArrowLeft") {
    return { type: "step", by: (key === "ArrowRight" ? 1 : -1) * (ev.shiftKey ? 10 : 1) };
  }
  if (key === "Home") return { type: "seek", to: "start" };
  if (key === "End") return { type: "seek", to: "end" };
  if (key === "+" || key === "=" || key === "Add") return { type: "speed", dir: 1 };
  if (key === "-" || key === "_" || key === "Subtract" || key === "−") return { type: "speed", dir: -1 };
  if (key === "f" || key === "F") return { type: "fullscreen" };
  if (key === "?") return { type: "help" };
  if (key === "Escape") return { type: "close" };
  if (typeof key === "string" && /^[0-9]$/.test(key)) return { type: "optimizer", index: key === "0" ? 9 : Number(key) - 1 };
  return null;
}

const DL_TEXT_INPUTS = new Set(["text", "search", "email", "url", "tel", "password", "number", "date",
  "datetime-local", "month", "time", "week"]);
// Roles whose own keys (arrows, Space, letters) must keep working when they have focus.
const DL_WIDGET_ROLES = new Set(["textbox", "searchbox", "combobox", "spinbutton", "listbox", "option",
  "menu", "menuitem", "slider", "tab", "radio", "checkbox", "switch", "grid", "gridcell", "tree"]);

// Whether a key pressed while `el` has focus should be left alone: always in a text field (typing a
// formula must never pause the race), and in any other control outside the player (Space presses a
// Streamlit button, arrows move its slider). Inside the player (`root`) the step slider answers to the
// player's keys, its buttons to all but Space (which presses them), its speed list keeps its own keys.
export function dlKeyIsNotOurs(el, root, action) {
  if (!el || !el.tagName) return false;
  if (el.isContentEditable) return true;
  const tag = String(el.tagName).toUpperCase();
  const inside = !!(root && root.contains && root.contains(el));
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag === "INPUT") {
    const type = String(el.type || "text").toLowerCase();
    if (DL_TEXT_INPUTS.has(type)) return true;
    return !(inside && type === "range");
  }
  const role = el.getAttribute ? el.getAttribute("role") : null;
  if (role && DL_WIDGET_ROLES.has(role) && !(inside && role === "slider")) return true;
  if (tag === "BUTTON" || tag === "A" || tag === "SUMMARY") return !inside || !!(action && action.type === "toggle");
  return false;
}

// Which of the page's players a key is for: the one holding focus, else the last one mounted.
export function dlPlayerFor(target, players) {
  const alive = players.filter((p) => p.alive);
  return alive.find((p) => p.root && target && p.root.contains(target)) || alive[alive.length - 1] || null;
}

export const DlInput = {
  wireKeys() {
    const onKey = (ev) => {
      if (!this.alive || ev.defaultPrevented) return;
      const action = dlKeyAction(ev);
      if (!action) return;
      const target = ev.target;
      if (dlKeyIsNotOurs(target, this.root, action)) return;
      if (dlPlayerFor(target, window.__descentLabPlayers || []) !== this) return;
      if (action.type === "close" && !this.hasOpenPanel()) return;
      ev.preventDefault();
      this.doAction(action);
    };
    document.addEventListener("keydown", onKey);
    this.listeners.push([document, "keydown", onKey, false]);
  },

  doAction(action) {
    switch (action.type) {
      case "toggle":
        if (this.playing) this.pause();
        else this.play();
        break;
      case "step":
        this.seek(this.clock.step + action.by);
        break;
      case "seek":
        this.seek(action.to === "end" ? this.steps : 0);
        break;
      case "speed":
        this.changeSpeed(action.dir);
        break;
      case "fullscreen":
        this.toggleFullscreen();
        break;
      case "optimizer":
        this.toggleOptimizer(action.index);
        break;
      case "help":
        this.togglePanel(this.help, this.helpButton);
        break;
      case "close":
        this.closePanels();
        break;
      default:
        break;
    }
  },

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
    this.listeners.push([gd, "mousedown", onDown, true], [document, "mouseup", onUp, true]);
    this.clearClickTimer = () => clearTimeout(timer);
  },

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
  },
};
