"""The race player's modules on their own: pure parts run in node (no browser, no plotly), and the bundler
that joins the modules for Streamlit and the offline download.

node is Debian's ``nodejs`` (.ci/run installs it); without it the node tests are skipped with a reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ui import bundle

PLAYER = Path(__file__).resolve().parent.parent / "ui" / "player"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node not found (apt-get install nodejs)")


def run_node(script: str):
    """Run an ES module script in ui/player (so `./x.js` imports resolve); it prints one JSON value."""
    proc = subprocess.run([NODE, "--input-type=module", "-e", script], cwd=PLAYER, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@needs_node
def test_a_diverging_path_gets_its_cross_where_it_leaves_the_picture():
    out = run_node("""
      import { dlBox, dlExitPoint, dlClipToBox, dlArrowPath } from "./geometry.js";
      const box = dlBox({ xaxis: { range: [-1, 1] }, yaxis: { range: [-1, 1] } });
      const x = [0, 0.5, 50, 1e30], y = [0, 0, 0, 0];
      const cross = dlExitPoint(x, y, 4, 3, box);
      const f = (a) => Float64Array.from(a);
      const [cx] = dlClipToBox(f(x), f(y), f([1, 2, 3, 4]), 4, box);
      console.log(JSON.stringify({ box, cross, cx: Array.from(cx, (v) => (Number.isNaN(v) ? null : v)),
        tiny: dlArrowPath(1, 1, 1.1, 1), arrow: dlArrowPath(0, 0, 10, 0) }));
    """)
    inner = 1 - 0.03
    assert out["box"] == pytest.approx([-inner, inner, -inner, inner])
    assert out["cross"] == pytest.approx([inner, 0])  # on the right edge, not at 1e30
    assert out["cx"][:3] == pytest.approx([0, 0.5, inner]) and out["cx"][3] is None
    assert out["tiny"] == "" and out["arrow"].startswith("M0.0,0.0L10.0,0.0")


@needs_node
def test_the_clock_plays_to_the_end_stops_and_seeks_within_the_race():
    out = run_node("""
      import { DlClock, dlNextSpeed, dlNearestSpeed } from "./clock.js";
      let t = 0; const queue = [];
      const clock = new DlClock(100, 1, { now: () => t, request: (fn) => queue.push(fn), cancel: () => {} });
      const frames = []; let ended = 0;
      clock.play((k) => frames.push(k), () => { ended += 1; });
      while (queue.length) { t += 100; queue.shift()(t); }   // 10 frames a second
      const endedAt = clock.step, playing = clock.playing;
      const again = clock.play(() => {}, () => {});          // at the end, Play starts over
      const restarted = clock.pos;
      clock.stop();
      console.log(JSON.stringify({ frames: frames.length, last: frames.at(-1), ended, endedAt, playing, again,
        restarted, seekLow: clock.seek(-5), seekHigh: clock.seek(1e9), rate: clock.rate,
        up: dlNextSpeed(4, 1), down: dlNextSpeed(0.25, -1), mid: dlNextSpeed(1, 1),
        near: dlNearestSpeed(3.1) }));
    """)
    # 100 steps last max(100 / 12 s, 5 steps/s) -> 8.33 steps/s: 100 ms per tick moves ~0.83 steps.
    assert out["rate"] == pytest.approx(100 / 12, rel=1e-6)
    assert out["last"] == 100 and out["ended"] == 1 and out["endedAt"] == 100 and out["playing"] is False
    assert 100 <= out["frames"] <= 130
    assert out["again"] is True and out["restarted"] == 0
    assert out["seekLow"] == 0 and out["seekHigh"] == 100
    assert (out["up"], out["down"], out["mid"], out["near"]) == (4, 0.25, 2, 4)


@needs_node
def test_keys_map_to_player_actions_and_text_fields_keep_their_keys():
    out = run_node("""
      import { dlKeyAction, dlKeyIsNotOurs } from "./input.js";
      const keys = [[" ", false], ["ArrowRight", false], ["ArrowLeft", true], ["Home", false], ["End", false],
        ["+", false], ["-", false], ["f", false], ["F", true], ["2", false], ["0", false], ["?", true],
        ["x", false]];
      const actions = keys.map(([key, shiftKey]) => dlKeyAction({ key, shiftKey }));
      const ctrl = dlKeyAction({ key: "f", ctrlKey: true });
      const root = { contains: (el) => !!el.inside };
      const el = (tagName, extra = {}) =>
        Object.assign({ tagName, getAttribute: (n) => extra[n] ?? null }, extra);
      const space = { type: "toggle" };
      const cases = {
        body: dlKeyIsNotOurs(el("BODY"), root, space),
        textInput: dlKeyIsNotOurs(el("INPUT", { type: "text" }), root, space),
        numberInput: dlKeyIsNotOurs(el("INPUT", { type: "number" }), root, space),
        textarea: dlKeyIsNotOurs(el("TEXTAREA"), root, space),
        editable: dlKeyIsNotOurs(el("DIV", { isContentEditable: true }), root, space),
        combobox: dlKeyIsNotOurs(el("DIV", { role: "combobox" }), root, space),
        ourSlider: dlKeyIsNotOurs(el("INPUT", { type: "range", inside: true }), root, space),
        otherSlider: dlKeyIsNotOurs(el("DIV", { role: "slider" }), root, space),
        otherButton: dlKeyIsNotOurs(el("BUTTON"), root, { type: "step", by: 1 }),
        ourButtonArrow: dlKeyIsNotOurs(el("BUTTON", { inside: true }), root, { type: "step", by: 1 }),
        ourButtonSpace: dlKeyIsNotOurs(el("BUTTON", { inside: true }), root, space),
      };
      console.log(JSON.stringify({ actions, ctrl, cases }));
    """)
    a = out["actions"]
    assert a[0] == {"type": "toggle"}
    assert a[1] == {"type": "step", "by": 1} and a[2] == {"type": "step", "by": -10}
    assert a[3] == {"type": "seek", "to": "start"} and a[4] == {"type": "seek", "to": "end"}
    assert a[5] == {"type": "speed", "dir": 1} and a[6] == {"type": "speed", "dir": -1}
    assert a[7] == a[8] == {"type": "fullscreen"}
    assert a[9] == {"type": "optimizer", "index": 1} and a[10] == {"type": "optimizer", "index": 9}
    assert a[11] == {"type": "help"} and a[12] is None and out["ctrl"] is None
    c = out["cases"]
    assert c["body"] is False and c["ourSlider"] is False and c["ourButtonArrow"] is False
    for key in ("textInput", "numberInput", "textarea", "editable", "combobox", "otherSlider", "otherButton",
                "ourButtonSpace"):
        assert c[key] is True, key


@needs_node
def test_presenter_type_sizes_and_the_qr_path():
    out = run_node("""
      import { dlPresentLayout, dlQrPath } from "./present.js";
      const contour = dlPresentLayout({ title: { text: "Beale", font: { size: 16 } },
        legend: { font: { size: 13 } }, xaxis: { title: "x" }, yaxis: {},
        margin: { l: 45, r: 10, t: 36, b: 20 } }, "contour");
      const scene = dlPresentLayout({ title: { text: "3-D" },
        scene: { xaxis: {}, yaxis: {}, zaxis: { title: "f" } } }, "surface3d");
      const d = dlQrPath({ rows: ["0110", "1001", "0000", "1111"] });
      console.log(JSON.stringify({ contour, scene, d }));
    """)
    c = out["contour"]
    assert c["title"]["text"] == "Beale" and c["title"]["font"]["size"] >= 28
    assert c["legend"]["font"]["size"] >= 18
    assert c["xaxis"]["tickfont"]["size"] >= 18 and c["xaxis"]["title"] == {"text": "x", "font": {"size": 22}}
    assert c["margin"]["t"] >= 28 + 20
    assert out["scene"]["scene"]["zaxis"]["title"]["text"] == "f"
    assert out["scene"]["scene"]["zaxis"]["tickfont"]["size"] >= 18
    assert out["d"] == "M1,0h2v1h-2zM0,1h1v1h-1zM3,1h1v1h-1zM0,3h4v1h-4z"


@needs_node
def test_every_module_imports_on_its_own():
    names = sorted(p.name for p in PLAYER.glob("*.js"))
    imports = "\n".join(f'import * as m{i} from "./{n}";' for i, n in enumerate(names))
    assert run_node(imports + "\nconsole.log(JSON.stringify('ok'));") == "ok"


def test_the_bundle_holds_every_module_once_without_import_or_export():
    text = bundle.bundle()
    order = [name for name, _ in bundle.modules()]
    assert order[-1] == "player.js" and set(order) == {p.name for p in PLAYER.glob("*.js")}
    assert order.index("util.js") < order.index("layers.js") < order.index("player.js")
    assert "\nimport " not in text and "\nexport " not in text
    assert "function mountRace(" in text and text.count("class DlRacePlayer") == 1


@pytest.mark.parametrize(("files", "message"), [
    ({"player.js": 'import { a as b } from "./x.js";\n', "x.js": "export const a = 1;\n"}, "no 'as'"),
    ({"player.js": 'import { b } from "./x.js";\n', "x.js": "export const a = 1;\n"}, "does not export"),
    ({"player.js": 'import { a } from "./x.js";\nconst c = 1;\n',
      "x.js": "export const a = 1;\nconst c = 2;\n"}, "declared in both"),
    ({"player.js": 'import { a } from "./x.js";\n',
      "x.js": 'import { z } from "./player.js";\nexport const a = 1;\n'}, "cycle"),
    ({"player.js": 'import a from "./x.js";\n', "x.js": "export default 1;\n"}, "import"),
    ({"player.js": "export { q };\nconst q = 1;\n"}, "only `export`"),
])
def test_the_bundler_refuses_modules_it_cannot_join_safely(tmp_path, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(bundle.BundleError, match=message):
        bundle.bundle(tmp_path)


@needs_node
def test_shared_links_are_absolute_and_the_explainer_link_carries_the_step():
    out = run_node("""
      import { dlShareUrl, dlExplainUrl } from "./share.js";
      const here = "http://host:8501/custom?expr=x%5E2&present=1&contrast=1&steps=5#top";
      console.log(JSON.stringify({
        share: dlShareUrl(here),
        rel: dlExplainUrl("explain", "optimizer=adam&surface=saddle&lr_adam=0.1", 17, "http://host:8501/"),
        abs: dlExplainUrl("http://host:8501/app/explain", "optimizer=sgd", 0, here),
        again: dlExplainUrl("http://h/explain", "optimizer=sgd&t=3", 9.7, here),
      }));
    """)
    assert out["share"] == "http://host:8501/custom?expr=x%5E2&steps=5"  # presenter flags and # dropped
    assert out["rel"] == "http://host:8501/explain?optimizer=adam&surface=saddle&lr_adam=0.1&t=17"
    assert out["abs"] == "http://host:8501/app/explain?optimizer=sgd&t=1"  # step 0 explains step 1
    assert out["again"] == "http://h/explain?optimizer=sgd&t=9"


@needs_node
def test_on_touch_screens_drags_scroll_unless_zoom_is_on_and_the_3d_toolbar_stands_upright():
    out = run_node("""
      import { dlTouchLayout } from "./touch.js";
      const lay = { title: { text: "t" }, scene: { xaxis: { title: "x" } } };
      console.log(JSON.stringify({
        touch: dlTouchLayout(lay, "contour", true, false).dragmode,
        zoom: dlTouchLayout(lay, "contour", true, true).dragmode,
        chart: dlTouchLayout(lay, "chart", true, true).dragmode,
        desktop: dlTouchLayout(lay, "contour", false, false).dragmode === undefined,
        scene: dlTouchLayout(lay, "surface3d", true, false).scene,
        turn: dlTouchLayout(lay, "surface3d", true, true).scene.dragmode,
        bar: dlTouchLayout(lay, "surface3d", false, false).modebar,
        untouched: lay.dragmode === undefined && lay.scene.dragmode === undefined,
      }));
    """)
    assert out["touch"] is False and out["zoom"] == "pan" and out["chart"] == "zoom" and out["desktop"]
    assert out["scene"]["dragmode"] is False and out["turn"] == "turntable"
    assert out["scene"]["xaxis"] == {"nticks": 5, "title": "x"}
    assert out["bar"] == {"orientation": "v"} and out["untouched"]
