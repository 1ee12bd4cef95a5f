"""The race player's loader (ui/player_loader.js) in node: its window store of chunks, and that it rebuilds
exactly the data Python meant from what ui.animation.browser_payload sends over a session's reruns. And
what the first chart waits for: the plotly bundles as static/ serves them (with V8's compile hint), which
pages start loading them early (app.py), and the 3-D bundle's preload (ui/player/load-plotly.js).

node is Debian's ``nodejs`` (.ci/run installs it); without it these tests are skipped with a reason. The
loader's life in a page (mounting, the "missing" trigger) is in tests/test_browser_animation.py.
"""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_animation_data import beale_race
from ui import animation

UI = Path(__file__).resolve().parent.parent / "ui"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node not found (apt-get install nodejs)")


def run_node(script: str):
    """Run an ES module script in ui/ (so `./player_loader.js` resolves); it prints one JSON value."""
    proc = subprocess.run([NODE, "--input-type=module", "-e", script], cwd=UI, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_store_keeps_the_most_recently_used_chunks_within_its_limit():
    out = run_node("""
      import { DlChunkStore } from "./player_loader.js";
      const store = new DlChunkStore(30);
      store.put("a", "x".repeat(10)); store.put("b", "y".repeat(10)); store.put("c", "z".repeat(10));
      store.get("a");                                   // a use: b is now the oldest
      store.put("d", "w".repeat(10));
      const kept = ["a", "b", "c", "d"].map((h) => store.get(h) !== undefined);
      store.put("big", "v".repeat(50));                 // larger than the limit: kept alone
      console.log(JSON.stringify({ kept, size: store.size, after: [...store.map.keys()] }));
    """)
    assert out == {"kept": [True, False, True, True], "size": 50, "after": ["big"]}


def test_a_sessions_payloads_unpack_to_exactly_the_races_python_built(tmp_path):
    sent = animation.SentChunks()
    races = [beale_race(300), beale_race(299), beale_race(299, speed=4.0)]
    for i, race in enumerate(races):
        payload, new = animation.browser_payload(race, sent)
        sent.add(new)
        (tmp_path / f"{i}.json").write_text(json.dumps(payload))
    out = run_node(f"""
      import {{ readFileSync }} from "node:fs";
      import {{ DlChunkStore, dlUnpack }} from "./player_loader.js";
      const store = new DlChunkStore();
      const results = [0, 1, 2].map((i) => {{
        const payload = JSON.parse(readFileSync({json.dumps(str(tmp_path))} + `/${{i}}.json`, "utf8"));
        return {{ ...dlUnpack(payload, store), sent: JSON.stringify(payload).length }};
      }});
      console.log(JSON.stringify(results));
    """)
    for race, result in zip(races, out, strict=True):
        assert result["missing"] == [] and result["data"] == race
        assert (result["js"], result["css"]) == (animation.PLAYER_MODULE, animation.PLAYER_CSS)
    assert out[1]["sent"] < 40_000 and out[2]["sent"] < out[1]["sent"]  # reruns carry tails, then nothing


def test_chunks_the_window_lacks_are_named_once_and_nothing_is_guessed():
    sent = animation.SentChunks()
    _, new = animation.browser_payload(beale_race(100), sent)
    sent.add(new)
    rerun, _ = animation.browser_payload(beale_race(100), sent)  # all references, no blobs
    out = run_node(f"""
      import {{ DlChunkStore, dlUnpack }} from "./player_loader.js";
      const r = dlUnpack({json.dumps(rerun)}, new DlChunkStore());   // a window that lost everything
      console.log(JSON.stringify({{ missing: r.missing, js: r.js }}));
    """)
    assert sorted(out["missing"]) == sorted(new) and out["js"] == ""


def test_the_loader_reads_the_bytes_python_sends(tmp_path):
    """The component's data arrives as the bytes of ui.animation.encode_data (a Uint8Array in the browser):
    a line of JSON, then the base64 chunks one per line. The loader rebuilds exactly the payload (the
    player's own code, with line breaks, stays inside the JSON); bytes whose lines do not match their names
    give nothing (no exception); an object passes as it is."""
    payload, _ = animation.browser_payload(beale_race(40), animation.SentChunks())
    data = animation.encode_data(payload)
    head, *lines = data.split(b"\n")
    assert len(lines) == len(json.loads(head)["raw"]) > 10  # the arrays' chunks travel as lines
    assert animation.decode_data(data) == payload
    (tmp_path / "data.bin").write_bytes(data)
    (tmp_path / "cut.bin").write_bytes(data[:data.rindex(b"\n")])  # one chunk line missing
    out = run_node(f"""
      import {{ readFileSync }} from "node:fs";
      import {{ dlDecode }} from "./player_loader.js";
      const read = (name) => new Uint8Array(readFileSync({json.dumps(str(tmp_path))} + "/" + name));
      console.warn = () => {{}};
      const bad = dlDecode(new TextEncoder().encode("{{no"));
      const none = dlDecode(undefined) ?? "undefined";
      console.log(JSON.stringify({{ decoded: dlDecode(read("data.bin")), cut: dlDecode(read("cut.bin")), bad,
                                    object: dlDecode({{ a: 1 }}), none }}));
    """)
    assert out == {"decoded": payload, "cut": None, "bad": None, "object": {"a": 1}, "none": "undefined"}


# --- the first chart's path: the plotly bundles the player waits for ----------------------------------------
def test_the_partial_bundles_are_served_with_the_compile_hint_and_only_so(tmp_path, monkeypatch):
    """static/ holds each partial bundle as V8's compile hint + the pinned bytes (Chromium then compiles it
    off the main thread); a plain pinned copy from before the hint is hinted in place without the network,
    and anything else is not taken for the bundle."""
    from ui import assets

    def no_network(*args, **kwargs):
        raise OSError("no network in this test")

    monkeypatch.setattr(assets.urllib.request, "urlopen", no_network)
    script = b"/* plotly */ window.Plotly = {};"
    bundle = assets.Bundle("plotly-x.min.js", "plotly.js-x-dist-min", "sha512-unused",
                           hashlib.sha256(script).hexdigest())
    monkeypatch.setattr(assets, "PARTIAL_BUNDLES", (bundle,))
    path = tmp_path / bundle.file
    path.write_bytes(script)  # the pinned file, as an older checkout left it
    assert not assets.has_bundle(tmp_path, bundle)
    assert assets.fetch_partial_bundles(tmp_path) == [path]
    assert path.read_bytes() == b"//# allFunctionsCalledOnLoad\n" + script
    assert assets.has_bundle(tmp_path, bundle) and assets.fetch_partial_bundles(tmp_path) == []
    path.write_bytes(assets.COMPILE_HINT + script[:-1])  # hinted but damaged
    assert not assets.has_bundle(tmp_path, bundle)
    with pytest.raises(OSError, match="no network"):
        assets.fetch_partial_bundles(tmp_path)  # only the registry has the good file
    # axe-core is not a page's script: the pinned bytes as they are.
    assert assets.served_bytes(assets.AXE_CORE, script) == script


def test_the_pages_said_to_draw_with_the_apps_plotly_are_pages_of_the_app():
    """app.py starts the plotly bundle early on the pages in OWN_PLOTLY, by title: a renamed page would
    silently lose it."""
    tree = ast.parse((UI.parent / "app.py").read_text(encoding="utf-8"))
    titles, own = set(), None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page":
            titles |= {k.value.value for k in node.keywords if k.arg == "title"}
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "OWN_PLOTLY" for t in node.targets):
            own = ast.literal_eval(node.value)
    assert own and own <= titles, (own, titles)
    assert {"Race", "Custom surface", "Data", "Atlas"} <= own  # the race player and the basin maps


def test_a_bundle_is_preloaded_once_per_url_and_not_when_the_page_has_a_full_plotly():
    out = run_node("""
      const added = [];
      globalThis.window = globalThis;
      globalThis.document = {
        createElement: (tag) => ({ tag }),
        head: { appendChild: (el) => added.push({ tag: el.tag, rel: el.rel, as: el.as, href: el.href }) },
      };
      const { dlPreloadScript } = await import("./player/load-plotly.js");
      dlPreloadScript("./app/static/plotly-gl3d.min.js");
      dlPreloadScript("./app/static/plotly-gl3d.min.js");
      dlPreloadScript("");
      window.Plotly = { version: "4.1.1", newPlot() {} };   // a full plotly.js on the page: nothing to fetch
      dlPreloadScript("./app/static/other.js");
      console.log(JSON.stringify(added));
    """)
    gl3d = "./app/static/plotly-gl3d.min.js"
    assert out == [{"tag": "link", "rel": "preload", "as": "script", "href": gl3d}]
