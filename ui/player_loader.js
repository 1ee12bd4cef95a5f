// The race player's loader: the one script Streamlit sends with every rerun of the player (its js_content),
// so it is small. Everything large travels in the component's data as content-addressed chunks of text,
// once per browser window (ui/animation.py, browser_payload):
//
//   data.blobs     {hash: text}: the chunks this browser has not been sent before
//   {chunks: [h]}  the text of those chunks joined; with a "dtype" the object is a typed array and the
//                  text its base64 "bdata"; without one the object stands for the text itself
//   data.player    {js: .., css: ..}: the player's own code (ui/player/*.js joined) and stylesheet
//
// Python remembers per session which chunks it sent; this window keeps them (bounded, least recently used
// first out). When a chunk is not here after all (evicted, or its rerun was superseded before it was
// drawn), the loader sends the trigger "missing" with the hashes; Python forgets them and the rerun this
// trigger causes sends them again. Meanwhile the picture on screen stays as it was.
//
// No imports (Streamlit imports this text from a blob: URL, where relative imports cannot resolve); node
// imports it on its own for the tests.

const DL_STORE_KEY = "__descentLabChunks";
const DL_MODULES_KEY = "__descentLabModules";
const DL_LOADER_KEY = "__descentLabLoader";
// Characters of chunk text a window keeps: twice what Python assumes it keeps (ui.animation.SENT_LIMIT),
// so a chunk Python still counts as sent has normally not been evicted here.
export const DL_STORE_LIMIT = 8_000_000;
// How often one race may ask for its missing chunks before the loader says it cannot load.
const DL_MAX_ASKS = 3;

// Chunk texts by hash, least recently used first (a Map keeps insertion order; a read moves an entry to
// the end). `size` counts characters.
export class DlChunkStore {
  constructor(limit = DL_STORE_LIMIT) {
    this.limit = limit;
    this.map = new Map();
    this.size = 0;
  }

  get(hash) {
    const text = this.map.get(hash);
    if (text !== undefined) {
      this.map.delete(hash);
      this.map.set(hash, text);
    }
    return text;
  }

  put(hash, text) {
    if (typeof text !== "string") return;
    const old = this.map.get(hash);
    if (old !== undefined) {
      this.map.delete(hash);
      this.size -= old.length;
    }
    this.map.set(hash, text);
    this.size += text.length;
    for (const [h, t] of this.map) {
      if (this.size <= this.limit || h === hash) break;
      this.map.delete(h);
      this.size -= t.length;
    }
  }

  clear() {
    this.map.clear();
    this.size = 0;
  }
}

// `value` with every {chunks: [...]} replaced by its text (see the top of this file). `lookup(hash)` gives
// a chunk's text or undefined; hashes it cannot give are pushed onto `missing`. Returns new objects and
// arrays; `value` is not changed.
export function dlResolve(value, lookup, missing) {
  if (Array.isArray(value)) return value.map((v) => dlResolve(v, lookup, missing));
  if (!value || typeof value !== "object") return value;
  if (Array.isArray(value.chunks)) {
    let text = "";
    for (const hash of value.chunks) {
      const piece = lookup(String(hash));
      if (piece === undefined) missing.push(String(hash));
      else text += piece;
    }
    if (typeof value.dtype !== "string") return text;
    const out = {};
    for (const [k, v] of Object.entries(value)) if (k !== "chunks") out[k] = v;
    out.bdata = text;
    return out;
  }
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k] = dlResolve(v, lookup, missing);
  return out;
}

// The data the player gets: references resolved, `blobs` and `player` left out. Reads touch the store's
// entries first, and only then are the new chunks stored, so storing cannot evict what this data needs.
// Returns {data, js, css, missing}.
export function dlUnpack(data, store) {
  const blobs = data.blobs && typeof data.blobs === "object" ? data.blobs : {};
  const own = (hash) => Object.prototype.hasOwnProperty.call(blobs, hash);
  const lookup = (hash) => (own(hash) ? blobs[hash] : store.get(hash));
  const missing = [];
  const rest = {};
  for (const [k, v] of Object.entries(data)) if (k !== "blobs" && k !== "player") rest[k] = v;
  const out = dlResolve(rest, lookup, missing);
  const player = dlResolve(data.player || {}, lookup, missing);
  for (const [hash, text] of Object.entries(blobs)) store.put(hash, text);
  return { data: out, js: player.js, css: player.css, missing: [...new Set(missing)] };
}

function dlWindowState() {
  const w = globalThis;
  if (!w[DL_STORE_KEY]) w[DL_STORE_KEY] = new DlChunkStore();
  if (!w[DL_MODULES_KEY]) w[DL_MODULES_KEY] = new Map();
  // Per host element: its latest mount (a token), the cleanup of the player drawn there, how often its
  // race asked for missing chunks, and the loader's own status line.
  if (!w[DL_LOADER_KEY]) {
    w[DL_LOADER_KEY] = { latest: new WeakMap(), cleanups: new WeakMap(), asks: new WeakMap(),
      status: new WeakMap() };
  }
  return { store: w[DL_STORE_KEY], modules: w[DL_MODULES_KEY], hosts: w[DL_LOADER_KEY] };
}

// The player module of this code, imported once per window and version (as Streamlit imports a
// component's script: from a blob: URL), with its stylesheet added to the document once. `name`: the
// code's and stylesheet's chunk names, which Python derives from their content.
function dlPlayerModule(modules, name, js, css) {
  let module = modules.get(name);
  if (!module) {
    if (css) {
      const style = document.createElement("style");
      style.dataset.descentLabPlayer = name;
      style.textContent = css;
      document.head.appendChild(style);
    }
    const url = URL.createObjectURL(new Blob([`${js}\n//# sourceURL=descent-lab-player.js\n`],
      { type: "text/javascript" }));
    module = import(url);
    modules.set(name, module);
    module.catch(() => modules.delete(name));
  }
  return module;
}

function dlSetStatus(host, hosts, text) {
  let el = hosts.status.get(host);
  if (!text) {
    if (el) el.remove();
    hosts.status.delete(host);
    return;
  }
  if (!el) {
    el = document.createElement("div");
    el.className = "dl-status dl-loader-status";
    el.setAttribute("role", "status");
    hosts.status.set(host, el);
  }
  el.textContent = text;
  if (el.parentNode !== host) host.appendChild(el);
}

// A named moment of the page's load (performance.mark), read by bench/bench_animation.py --timeline to
// find the first chart's critical path; harmless where marks are not supported.
function dlMark(name) {
  try {
    performance.mark(name);
  } catch (err) {
    // no User Timing here: nothing to record
  }
}

// Python sends the data as bytes (ui.animation.encode_data: Streamlit passes bytes on untouched, where a
// dict would cost it two more JSON encodings a run): one line of JSON, then the chunks named in its `raw`
// list, one per line (base64 text, which JSON would only scan). An object (or nothing) is taken as it is.
export function dlDecode(raw) {
  if (!(raw instanceof ArrayBuffer || ArrayBuffer.isView(raw))) return raw;
  try {
    const text = new TextDecoder().decode(raw);
    const end = text.indexOf("\n");
    if (end < 0) return JSON.parse(text);
    const data = JSON.parse(text.slice(0, end));
    const names = Array.isArray(data.raw) ? data.raw : [];
    const lines = text.slice(end + 1).split("\n");
    if (lines.length !== names.length) throw new Error(`${names.length} chunk names, ${lines.length} lines`);
    const blobs = data.blobs && typeof data.blobs === "object" ? data.blobs : {};
    names.forEach((name, i) => {
      blobs[name] = lines[i];
    });
    data.blobs = blobs;
    delete data.raw;
    return data;
  } catch (err) {
    console.warn("Descent Lab: the race's data could not be read", err);
    return null;
  }
}

// The component's entry point (Streamlit calls it with each new `data`; it may return a cleanup).
export function dlLoad(component) {
  dlMark("dl:loader");
  const host = component.parentElement;
  const data = dlDecode(component.data);
  const { store, modules, hosts } = dlWindowState();
  const token = {};
  hosts.latest.set(host, token);
  // Streamlit calls the latest mount's cleanup when the element goes away, and a superseded mount's at
  // once: only the latest may tear down the player drawn on this host (whichever mount drew it).
  const teardown = () => {
    if (hosts.latest.get(host) !== token) return;
    hosts.latest.delete(host);
    const cleanup = hosts.cleanups.get(host);
    hosts.cleanups.delete(host);
    if (typeof cleanup === "function") cleanup();
  };
  if (!data || typeof data !== "object") {
    teardown();
    return undefined;
  }
  const unpacked = dlUnpack(data, store);
  dlMark("dl:unpacked");
  if (unpacked.missing.length || typeof unpacked.js !== "string") {
    // Keep whatever is drawn; ask Python for the chunks (the trigger reruns the script).
    const asked = hosts.asks.get(host);
    const count = asked && asked.id === data.id ? asked.count + 1 : 1;
    hosts.asks.set(host, { id: data.id, count });
    if (count > DL_MAX_ASKS || typeof component.setTriggerValue !== "function") {
      dlSetStatus(host, hosts, "The race could not be loaded. Reload the page to try again.");
      console.warn("Descent Lab: the race's data stayed incomplete", unpacked.missing.length);
    } else {
      if (!host.querySelector(".dl-race")) dlSetStatus(host, hosts, "Loading the race…");
      component.setTriggerValue("missing", unpacked.missing);
    }
    return teardown;
  }
  hosts.asks.delete(host);
  const name = JSON.stringify([data.player.js, data.player.css]);
  dlPlayerModule(modules, name, unpacked.js, unpacked.css || "").then((module) => {
    dlMark("dl:module");
    if (hosts.latest.get(host) !== token) return; // a newer mount (or the unmount) came first
    dlSetStatus(host, hosts, "");
    hosts.cleanups.set(host, module.default({ ...component, data: unpacked.data }));
  }).catch((err) => {
    console.warn("Descent Lab: the race player did not load", err);
    if (hosts.latest.get(host) === token) dlSetStatus(host, hosts, "The race player did not load.");
  });
  return teardown;
}
