"""The presenter view on the Python side: URL flags, the shared link and its QR code, the high-contrast
palette, and what the Race and Custom pages hand the player with ``present=1`` (AppTest runs no
JavaScript; tests/test_browser_present.py checks the layout, keys and the QR code in Chromium)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from figures import palette
from ui import animation, present

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def race_app(page: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    if page:
        at.switch_page(page)
    return at.run()


def player_data(at: AppTest) -> dict:
    (found,) = [c for c in at.get("bidi_component") if c.proto.component_name == animation.COMPONENT_NAME]
    return animation.element_data(found.proto)


def flat_query(at: AppTest) -> dict[str, str]:
    items = ((k, at.query_params[k]) for k in at.query_params)
    return {k: (v[0] if isinstance(v, list) else v) for k, v in items}


@pytest.mark.parametrize(("text", "value"), [("1", True), ("true", True), ("0", False), ("off", False)])
def test_flags_parse(text, value):
    assert present.parse_flag(text) is value


def test_a_bad_flag_is_refused_with_a_fixed_message():
    with pytest.raises(ValueError, match="^expected 1 or 0$"):
        present.parse_flag("<b>maybe</b>")


def test_the_shared_link_keeps_the_race_and_drops_the_presenter_flags():
    params = {"surface": "beale", "present": "1", "contrast": "1", "optimizers": "all", "start": "1,1.5"}
    url = present.share_url(params, "http://class.example:8501")
    assert url == "http://class.example:8501/?surface=beale&optimizers=all&start=1%2C1.5"
    assert present.share_url({"expr": "x^2 + y"}, "http://h/custom") == "http://h/custom?expr=x%5E2+%2B+y"


def decode_qr(rows: list[str], tmp_path: Path) -> str:
    """Draw the rows as the player does (black modules on white, 8 px each) and read them with zbarimg."""
    size = len(rows)
    image = Image.new("L", (size, size), 255)
    image.putdata([0 if c == "1" else 255 for row in rows for c in row])
    path = tmp_path / "qr.png"
    image.resize((size * 8, size * 8), Image.NEAREST).save(path)
    out = subprocess.run(["zbarimg", "-q", "--raw", str(path)], capture_output=True, text=True, check=False)
    return out.stdout.strip()


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg not found (apt-get install zbar-tools)")
def test_the_qr_matrix_reads_back_as_the_link(tmp_path):
    url = "http://127.0.0.1:8501/?surface=beale&optimizers=all&steps=1000&start=1%2C1.5&lr_adam=0.01"
    rows = present.qr_rows(url)
    assert len(rows) == len(rows[0]) and set("".join(rows)) == {"0", "1"}
    assert rows[0] == "0" * len(rows)  # the quiet zone
    assert decode_qr(rows, tmp_path) == url


def test_high_contrast_colours_stand_out_on_the_grey_background_and_pairs_differ_in_style():
    slugs = list(palette.OPTIMIZER_COLORS)
    for slug in slugs:
        color = palette.high_contrast_color(slug)
        for background in palette.CONTRAST_BACKGROUND:
            assert palette.contrast_ratio(color, background) >= 3.0, (slug, color, background)
    assert len({palette.high_contrast_color(s) for s in slugs}) == len(slugs)
    for a, b in (("momentum", "adam"), ("nag", "rmsprop"), ("adadelta", "amsgrad"), ("adamax", "nadam")):
        assert palette.line_dash(a, True) != palette.line_dash(b, True)
        assert palette.line_dash(a, False) == palette.line_dash(b, False) == "solid"
    # An optimizer without its own entry still gets a darker colour than its normal one.
    assert palette.contrast_ratio(palette.high_contrast_color("newcomer"), "#ffffff") >= \
        palette.contrast_ratio(palette.color_for("newcomer"), "#ffffff")


def test_the_player_data_refuses_a_malformed_qr_matrix():
    with pytest.raises(ValueError, match="QR matrix"):
        animation.race_data({"data": [], "layout": {}}, None, [], steps=1,
                            present={"title": "t", "qr": {"rows": ["01", "1"]}})


def test_present_url_gives_the_player_the_presenter_view_and_a_qr_of_the_race():
    at = race_app(surface="beale", optimizers="all", steps="1000", present="1")
    assert not at.exception and not at.warning
    data = player_data(at)
    shown = data["present"]
    assert shown["title"] == "Beale" and shown["contrast"] is False
    query = parse_qs(urlsplit(shown["url"]).query)
    assert query["surface"] == ["beale"] and query["steps"] == ["1000"] and "present" not in query
    assert query["start"] == ["1,1.5"] and "lr_adam" in query
    assert shown["qr"]["size"] == len(shown["qr"]["rows"]) > 20
    assert flat_query(at)["present"] == "1"  # the presenter's own URL keeps the view
    # Controls fold into the bar: nothing in the sidebar, no page title, no downloads.
    assert len(at.sidebar.selectbox) == 0 and len(at.sidebar.multiselect) == 0
    assert not at.title
    assert all(not p.get("dash") for p in data["paths"])


def test_high_contrast_sends_the_dark_colours_and_dashes():
    at = race_app(surface="beale", optimizers="all", present="1", contrast="1")
    assert not at.exception
    data = player_data(at)
    assert data["present"]["contrast"] is True
    by_slug = {p["slug"]: p for p in data["paths"]}
    assert by_slug["adadelta"]["color"] == palette.HIGH_CONTRAST_COLORS["adadelta"]
    assert by_slug["adam"]["dash"] == "dash" and "dash" not in by_slug["momentum"]
    assert "contrast" not in parse_qs(urlsplit(data["present"]["url"]).query)


def test_the_present_button_opens_the_presenter_view_and_exit_leaves_it():
    at = race_app(surface="rosenbrock")
    assert "present" not in player_data(at)
    at.button(key="keep.race.btn_present_on").click().run()
    assert not at.exception
    assert flat_query(at)["present"] == "1" and player_data(at)["present"]["title"]
    at.button(key="keep.race.btn_present_off").click().run()
    assert "present" not in flat_query(at) and "present" not in player_data(at)


def test_a_bad_present_value_warns_and_shows_the_normal_page():
    at = race_app(surface="beale", present="please")
    assert not at.exception
    assert any("present" in w.value and "expected 1 or 0" in w.value for w in at.warning)
    assert "present" not in player_data(at)


def test_custom_formula_in_the_presenter_view_keeps_the_formula_in_the_link():
    at = race_app("pages/custom.py", expr="x^2 + 3*y^2", present="1")
    assert not at.exception
    shown = player_data(at)["present"]
    assert parse_qs(urlsplit(shown["url"]).query)["expr"] == ["x^2 + 3*y^2"]
    assert not at.title and not at.latex
