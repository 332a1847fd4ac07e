"""The trade-off report: content, recommendation rules, embedded images, a browser rendering."""

import base64
import io
import json
import shutil
import subprocess
from html.parser import HTMLParser

import matplotlib
import matplotlib.image
import numpy as np
import pytest
import xarray as xr

from brainconv.analysis import prediction_latency, silent_fraction
from brainconv.ann import save_ann, train_ann
from brainconv.cli import main
from brainconv.comparison import NOT_CONVERTIBLE, PARADIGMS, compare, pareto_optimal
from brainconv.errors import DataError
from brainconv.report import recommendations, report_html, write_report
from brainconv.results import add_spike_trains, make_dataset

from conftest import small_ann

matplotlib.use("Agg")

VOID = {"meta", "img", "br", "hr", "link", "input"}


class Page(HTMLParser):
    """Collects what the tests look at; checks that every element is closed in order."""

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.images, self.picks = [], [], [], {}
        self.tables, self.items, self._pick, self._cell = [], [], None, None
        self.external = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href"):
            if key in attrs and not str(attrs[key]).startswith("data:"):
                self.external.append(attrs[key])
        if tag in ("script", "link", "iframe"):
            self.external.append(tag)
        if tag == "img":
            self.images.append(attrs["src"])
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "span" and "data-priority" in attrs:
            self._pick = attrs["data-priority"]
        if tag == "table":
            self.tables.append([])
        if tag == "tr":
            self.tables[-1].append([])
        if tag in ("td", "th"):
            self._cell = ""
        if tag == "li":
            self.items.append("")

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unexpected </{tag}>")
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell)
            self._cell = None
        if tag == "span":
            self._pick = None

    def handle_data(self, data):
        if self._pick:
            self.picks[self._pick] = data
        if self._cell is not None:
            self._cell += data
        if self.items:
            self.items[-1] += data


def parse(text):
    page = Page()
    page.feed(text)
    page.close()
    assert not page.errors and not page.stack, (page.errors, page.stack)
    return page


@pytest.fixture(scope="module")
def result(digits):
    """Every applicable paradigm on a small digits network: 60 samples x 20 steps, numpy."""
    x_train, y_train, x_test, y_test = digits
    ann = train_ann(x_train, y_train, hidden=(20,), epochs=3, seed=0)
    return compare(ann, x_train[:200], x_test[:60], y_test[:60], 20, 0.8, device="numpy",
                   sparsity_samples=20, attrs={"dataset": "digits"})


@pytest.fixture(scope="module")
def report(result, tmp_path_factory):
    """The report of ``result``, written once."""
    return write_report(result, tmp_path_factory.mktemp("report") / "report.html")


def test_report_names_every_paradigm_and_the_true_best(result, report):
    page = parse(report.read_text(encoding="utf-8"))
    assert not page.external  # self-contained: no scripts, stylesheets or remote images
    ranking = next(t for t in page.tables if t[0] and t[0][0] == "paradigm")
    header, rows = ranking[0], ranking[1:]
    names = [row[0] for row in rows]
    assert sorted(names) == sorted(["ann"] + [n for n in PARADIGMS if n != "lif_alpha"])
    assert len(header) == 13 and all(len(row) == len(header) for row in rows)
    # the not-applicable list: lif_alpha (a ReLU ANN) and the paradigms never converted
    listed = " ".join(page.items)
    for name in ("lif_alpha", "cuba_lif", "stdp"):
        assert f"{name}: " in listed
    assert "soft-LIF" in listed and "BATS" in listed

    spiking = [n for n in names if n != "ann"]
    value = {n: {h: row[i] for i, h in enumerate(header)} for n, row in zip(names, rows)}
    column = {variable: {n: float(result[variable].sel(paradigm=n)) for n in spiking}
              for variable in ("accuracy", "time_to_target", "energy_pj")}
    picks = page.picks
    from brainconv.report import ACCURACY_TIE, ENERGY_TIE, STEPS_TIE

    def within(variable, names, tolerance, best):
        return [n for n in names if abs(column[variable][n] - best) <= tolerance(best)]

    # accuracy: within ACCURACY_TIE of the accuracy column's maximum, the cheapest of those
    best = max(column["accuracy"].values())
    tied = within("accuracy", spiking, lambda b: ACCURACY_TIE, best)
    assert picks["accuracy"] in tied
    assert column["energy_pj"][picks["accuracy"]] == min(column["energy_pj"][n] for n in tied)
    assert float(value[picks["accuracy"]]["accuracy %"]) >= max(
        float(value[n]["accuracy %"]) for n in spiking) - 100 * ACCURACY_TIE - 0.01
    reached = [n for n in spiking if not np.isnan(column["time_to_target"][n])]
    assert reached, "the test needs paradigms that reach the target"
    # latency: within STEPS_TIE (at least one step) of the fewest timesteps, the cheapest
    best = min(column["time_to_target"][n] for n in reached)
    tied = within("time_to_target", reached, lambda b: max(1.0, STEPS_TIE * b), best)
    assert picks["latency"] in tied
    assert column["energy_pj"][picks["latency"]] == min(column["energy_pj"][n] for n in tied)
    steps_header = next(h for h in header if h.startswith("timesteps to"))
    assert int(value[picks["latency"]][steps_header]) <= best + max(1.0, STEPS_TIE * best)
    # energy: within ENERGY_TIE of the lowest pJ among those reaching the target, the most
    # accurate of them
    best = min(column["energy_pj"][n] for n in reached)
    tied = within("energy_pj", reached, lambda b: ENERGY_TIE * b, best)
    assert picks["energy"] in tied
    assert column["accuracy"][picks["energy"]] == max(column["accuracy"][n] for n in tied)
    pj_header = next(h for h in header if h.startswith("energy (pJ"))
    assert float(value[picks["energy"]][pj_header].replace(",", "")) <= 1.0001 * (
        1 + ENERGY_TIE) * min(float(value[n][pj_header].replace(",", "")) for n in reached)
    assert {p: picks[p] for p in picks} == {p: recommendations(result)[p][0] for p in picks}


def test_report_images_are_embedded_pngs(report):
    page = parse(report.read_text(encoding="utf-8"))
    assert len(page.images) == 5  # 3 fronts, the three-way trade-off, the accuracy curves
    for src in page.images:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        data = base64.b64decode(src[len(prefix):], validate=True)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
        assert pixels.shape[0] > 200 and pixels.shape[1] > 300 and pixels.std() > 0


def test_report_columns_are_consistent(result):
    spiking = [str(n) for n in result["paradigm"].values if str(n) != "ann"]
    sparsity = result["sparsity"].values
    assert np.all((sparsity >= 0) & (sparsity <= 1))
    assert np.all(result["energy_pj"].values > 0) and np.all(result["energy_flops"] > 0)
    latency = result["latency"].sel(paradigm=spiking).values
    assert np.all((latency >= 1) & (latency <= 20))
    # grid paradigms have no physical time
    assert np.isnan(result["time_to_target_ms"].values).all()
    # spikes per neuron are spikes per step over all steps times the steps
    np.testing.assert_allclose(result["spikes_per_neuron"].sel(paradigm=spiking),
                               20 * result["spikes_per_step_all"].sel(paradigm=spiking))
    assert set(json.loads(result.attrs["not_applicable"])) == {"lif_alpha", *NOT_CONVERTIBLE}


def _comparison(rows, target=0.9, steps=10):
    """A comparison by hand: rows of (name, accuracy, steps to target, energy_pj, flops)."""
    names = [row[0] for row in rows]
    accuracy, reached, pj, flops = (np.array([row[i] for row in rows], float)
                                    for i in range(1, 5))
    ones = np.ones(len(rows))
    return xr.Dataset(
        {"accuracy": ("paradigm", accuracy), "time_to_target": ("paradigm", reached),
         "energy_pj": ("paradigm", pj), "energy_flops": ("paradigm", flops),
         "latency": ("paradigm", ones), "sparsity": ("paradigm", 0.5 * ones),
         "spikes_per_step": ("paradigm", ones), "spikes_per_inference": ("paradigm", ones),
         "accuracy_over_time": (("paradigm", "time"),
                                np.repeat(accuracy[:, None], steps, axis=1)),
         "pareto_optimal": ("paradigm", pareto_optimal(accuracy, reached, ones))},
        coords={"paradigm": names, "time": np.arange(1, steps + 1)},
        attrs={"target": target, "steps": steps, "n_samples": 50, "energy_preset": "int32",
               "not_applicable": "{}"})


def test_recommendation_rules_by_hand():
    result = _comparison([
        ("ann", 0.99, 1, 500.0, 900.0),      # the reference: never picked
        ("slow", 0.97, 8, 200.0, 100.0),     # most accurate spiking paradigm
        ("fast", 0.95, 2, 300.0, 300.0),
        ("fast_better", 0.96, 2, 400.0, 400.0),  # ties with "fast" on steps, more accurate
        ("silent", 0.10, np.nan, 1.0, 1.0),  # cheapest, but never reaches the target
    ])
    picks = recommendations(result)
    assert picks["accuracy"][0] == "slow"
    assert picks["latency"][0] == "fast"  # a tie on steps goes to the cheaper paradigm
    assert picks["energy"][0] == "slow" and picks["energy_flops"][0] == "slow"
    nobody = _comparison([("ann", 0.99, 1, 5.0, 5.0), ("a", 0.5, np.nan, 1.0, 1.0)])
    assert recommendations(nobody)["latency"][0] is None
    page = parse(report_html(nobody))
    assert page.picks == {"accuracy": "a", "latency": "none", "energy": "none"}
    with pytest.raises(DataError, match="lacks energy_pj.*brainconv compare"):
        report_html(result.drop_vars("energy_pj"))


def test_ties_within_the_stated_tolerances_go_to_the_cheaper_paradigm():
    """A step or a tenth of a point is no reason to spend 18 times the energy; beyond the
    tolerance the faster or more accurate paradigm wins."""
    from brainconv.report import ACCURACY_TIE, ENERGY_TIE

    picks = recommendations(_comparison([
        ("ion", 0.9690, 10, 2400.0, 1.0),          # the fastest, 18x the energy
        ("accumulator", 0.9685, 11, 130.0, 1.0),   # one step and 0.05 points behind
        ("leaky", 0.9600, 30, 128.0, 1.0),         # 1.6 % cheaper than accumulator
    ]))
    assert picks["latency"][0] == "accumulator" and picks["accuracy"][0] == "accumulator"
    assert picks["energy"][0] == "accumulator"  # within 5 %: the more accurate one
    assert "within 10 % (at least one step)" in picks["latency"][1]
    beyond = recommendations(_comparison([
        ("ion", 0.9690 + 2 * ACCURACY_TIE, 8, 2400.0, 1.0),   # 3 steps faster, more accurate
        ("accumulator", 0.9690, 11, 130.0, 1.0),
        ("leaky", 0.9600, 30, 130.0 / (1 + 2 * ENERGY_TIE), 1.0),
    ]))
    assert beyond["latency"][0] == "ion" and beyond["accuracy"][0] == "ion"
    assert beyond["energy"][0] == "leaky"


def test_compare_marks_pareto_by_energy_and_the_energy_pick_is_on_it(small_inputs):
    ann = small_ann()
    result = compare(ann, small_inputs, small_inputs, ann.predict(small_inputs), steps=15,
                     target=0.5, paradigms=["rate_soft", "accumulator", "ion"],
                     device="numpy")
    pick = recommendations(result)["energy"][0]
    if pick is not None:
        assert int(result["pareto_optimal"].sel(paradigm=pick)) == 1
    assert "energy (pJ)" in result["pareto_optimal"].attrs["long_name"]


def test_prediction_latency_and_silent_fraction_by_hand():
    out = np.zeros((3, 5, 2), dtype=int)
    out[0, 0, 1] = 1                 # class 1 from step 1 on: latency 1
    out[1, 0, 0] = 1                 # class 0 at step 1, class 1 from step 3 (2 > 1): latency 3
    out[1, 1:3, 1] = 1
    # sample 2 never answers: the last step
    ds = make_dataset(out, [1, 1, 0], np.zeros((2, 5)), np.zeros(6), ["hidden1", "output"],
                      [4, 2])
    assert prediction_latency(ds).values.tolist() == [1, 3, 5]
    trains = {"sample": np.array([0, 0, 0, 2]), "layer": np.array([0, 0, 0, 0]),
              "neuron": np.array([1, 1, 3, 0]), "step": np.array([0, 1, 2, 4]),
              "weight": np.ones(4)}
    ds = add_spike_trains(ds, trains, [0, 2], [0])
    # sample 0: neurons 1 and 3 of 4 spiked; sample 2: neuron 0
    np.testing.assert_allclose(silent_fraction(ds, ["hidden1"]).values, [0.5, 0.75])


def test_compare_command_writes_the_report(tmp_path, capsys):
    save_ann(small_ann(sizes=(64, 12, 10)), tmp_path / "ann.npz")
    command = ["compare", "--ann", str(tmp_path / "ann.npz"), "--dataset", "digits",
               "--device", "numpy", "--steps", "8", "--limit", "20", "--calibration", "50",
               "--target", "0.05", "--paradigms", "rate_soft", "accumulator"]
    # an unwritable report path fails before any data is loaded
    assert main(command + ["--out", str(tmp_path / "c.nc"),
                           "--report", str(tmp_path / "missing" / "r.html")]) == 2
    captured = capsys.readouterr()
    assert "--report" in captured.err and "loading" not in captured.out
    assert main(command + ["--out", str(tmp_path / "c.nc"),
                           "--report", str(tmp_path / "r.html")]) == 0
    out = capsys.readouterr().out
    assert "best for accuracy: " in out and "saved the trade-off report" in out
    page = parse((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert {"rate_soft", "accumulator", "ann"} <= {row[0] for t in page.tables for row in t}
    assert not list(tmp_path.glob(".r.html.*"))  # no temporary file left behind


BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.mark.skipif(not any(shutil.which(b) for b in BROWSERS),
                    reason="no headless Chromium installed (apt-get install chromium)")
def test_report_renders_in_a_headless_browser(report, tmp_path):
    browser = next(shutil.which(b) for b in BROWSERS if shutil.which(b))
    shot = tmp_path / "shot.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--window-size=1200,3000", f"--screenshot={shot}",
                    report.resolve().as_uri()], capture_output=True, timeout=120, check=True)
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (3000, 1200)
    # something was drawn (text, tables, plots), not a blank page
    assert (pixels[..., :3] < 0.5).mean() > 0.01


@pytest.mark.parametrize("cost", ["energy_pj", "time_to_target"])
def test_front_labels_do_not_overlap_when_crowded(cost):
    """Twelve paradigms with near-equal costs and accuracies: every label is drawn, and no
    two labels (nor a label and the legend) overlap, on the pJ axis as on the steps axis."""
    from brainconv.report import plot_front
    from conftest import assert_labels_apart

    names = [f"paradigm_{i}" for i in range(12)]
    rows = [(name, 0.95 + 0.002 * (i % 4), 2 + i % 3, 100.0 * (1 + 0.02 * i), 1.0)
            for i, name in enumerate(names)]
    assert_labels_apart(plot_front(_comparison(rows, target=0.9), cost=cost), names)
