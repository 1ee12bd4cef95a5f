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
