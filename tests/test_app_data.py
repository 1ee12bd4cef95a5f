"""AppTest of the Data page: it runs the core's mini-batch races, keeps every setting in the URL, warns on bad
URL values, and answers every bad upload with a message instead of an exception."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import optimizers
import surfaces
from lab import data as lab_data
from optimizers import data as engine_data
from tests.app_helpers import open_app, url_params
from ui import animation
from ui.data import SCATTER_NAME, UPLOAD_NOT_IN_LINK

PAGE = "pages/data.py"


def data_app(**query) -> AppTest:
    return open_app(PAGE, **query)


def component(at: AppTest, name: str) -> dict | None:
    found = [c for c in at.get("bidi_component") if c.proto.component_name.endswith(name)]
    assert len(found) <= 1
    return animation.element_data(found[0].proto) if found else None


def url(at: AppTest) -> dict:
    return url_params(at)


def test_default_visit_races_sgd_at_three_batch_sizes_with_the_cores_paths():
    at = data_app()
    assert not at.exception and not at.warning and not at.error
    query = url(at)
    assert query["dataset"] == "iris" and query["model"] == "linear"
    assert query["racers"] == "sgd:1,sgd:32,sgd:full" and query["seed"] == "0" and query["steps"] == "300"
    player = component(at, animation.COMPONENT_NAME)
    assert [p["name"] for p in player["paths"]] == ["SGD, B = 1", "SGD, B = 32", "SGD, full batch"]
    iris = surfaces.get_dataset("iris")
    start = tuple(float(v) for v in query["start"].split(","))
    for payload, batch in zip(player["paths"], (1, 32, None), strict=True):
        path = optimizers.run("sgd", iris, start, 300, batch_size=batch, seed=0, lr=0.05)
        assert np.allclose(animation.decode_array(payload["x"]), path.points[:, 0], atol=1e-6)
    assert [c["kind"] for c in player["charts"]] == ["loss", "epochs"]
    scatter = component(at, SCATTER_NAME)
    assert scatter["model"] == "linear" and len(scatter["params"]) == 3
    assert len(scatter["figure"]["data"]) == 5  # the data, one fit per racer, the shown step's batch
    batch = scatter["batch"]  # SGD, B = 1: one sample per step, from the engine's permutations
    assert batch["size"] == 1 and batch["per"] == 150
    orders = np.frombuffer(base64.b64decode(batch["orders"]["bdata"]), dtype="<i4")
    assert np.array_equal(orders.reshape(2, 150), engine_data.epoch_orders(150, 2, 0))


@pytest.mark.parametrize("preset", lab_data.PRESETS, ids=lambda p: p.title)
def test_every_preset_is_a_url_that_reproduces_its_race(preset):
    at = data_app(**preset.query)
    assert not at.exception and not at.warning and not at.error
    written = url(at)
    for key, value in preset.query.items():
        assert written[key] == value, key
    names = [p["name"] for p in component(at, animation.COMPONENT_NAME)["paths"]]
    assert names == [r.label for r in lab_data.parse_racers(preset.query["racers"])]


def test_halving_every_7_epochs_is_converted_to_steps_per_racer():
    preset = lab_data.PRESETS[1]
    at = data_app(**preset.query)
    surface = surfaces.get_dataset("diabetes")
    player = component(at, animation.COMPONENT_NAME)
    start = tuple(float(v) for v in preset.query["start"].split(","))
    payload = player["paths"][0]  # SGD, B = 8: an epoch is 56 steps, so η halves every 392 steps
    path = optimizers.run("sgd", surface, start, 1000, batch_size=8, seed=0, lr=0.2, lr_schedule="step",
                          decay_rate=0.5, decay_steps=392)
    assert np.allclose(animation.decode_array(payload["x"]), path.points[:, 0], atol=1e-6)


@pytest.mark.parametrize(("key", "value"), [
    ("dataset", "nope"), ("model", "cubic"), ("racers", "sgd:0"), ("racers", "lbfgs:8"), ("racers", ""),
    ("steps", "abc"), ("steps", "99999"), ("start", "1,nan"), ("seed", "-5"), ("lr_sgd", "-1"),
    ("decay_epochs", "x"), ("mystery", "1"),
])
def test_a_bad_url_value_warns_and_keeps_the_default(key, value):
    at = data_app(**{key: value})
    assert not at.exception
    assert any(key in w.value for w in at.warning), [w.value for w in at.warning]
    assert component(at, animation.COMPONENT_NAME) is not None  # the default race still runs


def test_logistic_on_a_regression_data_set_says_so():
    at = data_app(dataset="iris", model="logistic")
    assert not at.exception
    assert any("no 0/1 labels" in w.value for w in at.warning)


GOOD = b"height,weight\n1.5,50\n1.6,56\n1.7,61\n1.8,70\n1.9,77\n"
LABELS = b"radius;malignant\n10;0\n12;0\n14;1\n11;0\n17;1\n15;1\n"


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader[0].upload(name, content, "text/csv")
    return at.run()


def test_an_upload_races_says_it_is_not_in_the_link_and_offers_the_data():
    at = data_app(dataset="upload")
    assert not at.exception and any("cannot travel in a link" in i.value for i in at.info)
    at = upload(at, "heights.csv", GOOD)
    assert not at.exception and not at.error
    assert any(i.value == UPLOAD_NOT_IN_LINK for i in at.info)
    assert url(at)["dataset"] == "upload"
    scatter = component(at, SCATTER_NAME)
    assert scatter["model"] == "linear"
    assert "height" in scatter["figure"]["layout"]["xaxis"]["title"]["text"]


def test_an_upload_of_labels_0_1_gets_logistic_regression():
    at = upload(data_app(dataset="upload"), "tumours.csv", LABELS)
    assert not at.exception and not at.error
    assert component(at, SCATTER_NAME)["model"] == "logistic"


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
BAD_UPLOADS = [
    ("text in a number column", b"x,y\n1,2\n3,abc\n", "Row 3, column 2 (y): 'abc' is not a number"),
    ("NaN", b"x,y\n1,2\nnan,3\n4,5\n", "Row 3, column 1 (x): nan is not a finite number"),
    ("infinity", b"1,2\n3,inf\n", "Row 2, column 2 (y): inf is not a finite number"),
    ("fewer than 2 rows", b"x,y\n1,2\n", "The file has 1 data row(s); at least 2 are needed"),
    ("a constant column", b"x,y\n1,2\n1,3\n1,4\n", "x is constant"),
    ("three columns", b"a,b,c\n1,2,3\n", "Row 1 has 3 column(s); the file needs exactly two columns"),
    ("empty", b"\n\n", "The file is empty"),
    ("too large", b"x,y\n" + b"1,2\n" * 300_000, "The file is 1.2 MB; at most 1 MB is accepted"),
    ("too many rows", b"x,y\n" + b"".join(b"%d,%d\n" % (i, i % 7) for i in range(10_001)),
     "The file has 10,001 rows; at most 10,000 are accepted"),
    ("not CSV at all", PNG, "This is not a CSV file"),
    ("not UTF-8", "x,y\n1,2\n3,4\nä,5\n".encode("latin-1"), "This is not a CSV file: it is not UTF-8 text"),
]


@pytest.mark.parametrize(("case", "content", "message"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_every_bad_upload_gets_a_clear_message(case, content, message):
    at = upload(data_app(dataset="upload"), "bad.csv", content)
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and message in errors[0].replace("\\", ""), errors
    assert component(at, animation.COMPONENT_NAME) is None


def test_labels_other_than_0_1_for_logistic_are_refused_with_a_message():
    at = upload(data_app(dataset="upload"), "scores.csv", GOOD)
    at = at.selectbox(key="keep.data.model").set_value("logistic").run()
    assert not at.exception
    assert any("logistic needs labels 0 and 1" in e.value for e in at.error)


def test_a_large_logistic_upload_records_the_loss_every_kth_step_and_runs_them_all():
    rows = b"x,y\n" + b"".join(b"%d,%d\n" % (i, (i * 7919) % 13 > 5) for i in range(10_000))
    at = data_app(dataset="upload", racers="sgd:32,adam:32", steps="3000")
    at = upload(at, "labels.csv", rows)
    assert not at.exception and not at.error and not at.warning
    player = component(at, animation.COMPONENT_NAME)
    assert player["steps"] == 3000
    labels = surfaces.from_data(np.arange(10_000.0), np.arange(10_000) % 2, "logistic")
    every = lab_data.loss_every(labels, 3000)
    assert every == -(-10_000 * 3000 // lab_data.LOSS_BUDGET) > 1
    for path in player["paths"]:
        assert np.isfinite(animation.decode_array(path["z"])).all()  # heights drawn between recorded steps
    loss = next(c for c in player["charts"] if c["kind"] == "loss")["figure"]
    assert len(animation.decode_array(loss["data"][0]["x"])) < 3000 // every + 20  # every k-th + epoch ends


def test_headers_and_file_name_reach_the_pictures_as_literal_text():
    content = b"<b>size</b>,<a href='http://evil.example'>y</a>\n1,2\n2,3\n3,5\n"
    at = upload(data_app(dataset="upload"), "<i>mine</i>.csv", content)
    assert not at.exception and not at.error
    layout = component(at, SCATTER_NAME)["figure"]["layout"]
    assert layout["xaxis"]["title"]["text"].startswith("&lt;b&gt;size&lt;/b&gt;")
    assert "<a" not in layout["yaxis"]["title"]["text"]
    contour = component(at, animation.COMPONENT_NAME)["contour"]["layout"]
    assert contour["title"]["text"].startswith("&lt;i&gt;mine&lt;/i&gt;.csv")


def test_the_file_name_is_shown_as_literal_text():
    at = upload(data_app(dataset="upload"), "**bold** [link](http://evil.example).csv", b"x,y\n1,a\n")
    assert not at.exception
    (error,) = at.error
    assert error.value.startswith("`**bold** [link](http://evil.example).csv`")


@pytest.mark.parametrize("payload", ["phishing", "image-and-html", "backticks"])
def test_a_payload_through_every_url_parameter_is_shown_literally(payload):
    from tests.test_app_visitor_text import PAYLOADS, assert_literal

    value = PAYLOADS[payload]
    query = {name: value for name in lab_data.url_parsers()}
    query[value] = "1"  # the payload as a parameter's name
    at = data_app(**query)
    assert assert_literal(at)  # shown, and literally
    warnings = [w.value for w in at.warning]
    for name in lab_data.url_parsers():
        assert any(m.startswith(f"URL parameter `{name}`:") for m in warnings), (name, warnings)


def test_a_payload_inside_an_uploaded_file_is_shown_literally():
    from tests.test_app_visitor_text import PHISHING, assert_literal

    at = upload(data_app(dataset="upload"), f"{PHISHING}.csv", f"x,y\n1,2\n{PHISHING},3\n".encode())
    showing = assert_literal(at)
    assert [what for what, _ in showing] == ["error"]


def test_switching_data_model_racers_and_schedule_keeps_working_and_in_the_url():
    at = data_app()
    at = at.selectbox(key="keep.data.dataset").set_value("breast_cancer").run()
    assert not at.exception and url(at)["model"] == "logistic"  # a data set brings its natural model
    assert url(at)["start"] == "0,0" and float(url(at)["lr_sgd"]) == lab_data.default_lr("sgd", "logistic")
    at = at.selectbox(key="keep.data.model").set_value("deep_linear").run()
    assert not at.exception and url(at)["model"] == "deep_linear"
    racers = [lab_data.Racer("adam", 8), lab_data.Racer("sgd", None)]
    at = at.multiselect(key="keep.data.racers").set_value(racers).run()
    at = at.number_input(key="keep.data.decay_epochs").set_value(7).run()
    assert not at.exception and not at.warning
    query = url(at)
    assert query["racers"] == "adam:8,sgd:full" and query["decay_epochs"] == "7" and "lr_adam" in query
    assert [p["name"] for p in component(at, animation.COMPONENT_NAME)["paths"]] == ["Adam, B = 8",
                                                                                     "SGD, full batch"]
    at = at.selectbox(key="keep.data.dataset").set_value("upload").run()
    assert not at.exception and any("cannot travel in a link" in i.value for i in at.info)
    at = at.selectbox(key="keep.data.dataset").set_value("iris").run()
    assert not at.exception and component(at, animation.COMPONENT_NAME) is not None


def test_a_new_learning_rate_reruns_only_that_optimizers_racers_and_shows_the_same_race_as_a_fresh_visit(
        monkeypatch):
    query = dict(dataset="breast_cancer", racers="sgd:16,adam:16,adam:full", steps="150", seed="4",
                 lr_sgd="0.137", lr_adam="0.0421")
    at = data_app(**query)
    runs = []
    real_run = optimizers.run
    monkeypatch.setattr(optimizers, "run", lambda name, *a, **k: runs.append(name) or real_run(name, *a, **k))
    at = at.number_input(key="keep.data.lr.adam").set_value(0.0377).run()
    assert not at.exception and url(at)["lr_adam"] == "0.0377"
    assert runs == ["adam", "adam"]  # SGD's path is the one already shown
    cancer = surfaces.get_dataset("breast_cancer")
    for shown, (name, batch, lr) in zip(component(at, animation.COMPONENT_NAME)["paths"],
                                        [("sgd", 16, 0.137), ("adam", 16, 0.0377), ("adam", None, 0.0377)],
                                        strict=True):
        path = real_run(name, cancer, (0.0, 0.0), 150, batch_size=batch, seed=4, lr=lr)
        assert np.allclose(animation.decode_array(shown["x"]), path.points[:, 0], atol=1e-6)
        assert np.allclose(animation.decode_array(shown["y"]), path.points[:, 1], atol=1e-6)
    runs.clear()
    at = at.number_input(key="keep.data.seed").set_value(5).run()
    assert runs == ["sgd", "adam"]  # a new seed: the mini-batch racers; the full batch uses every sample
