"""Learning curves, the noise correction, clean vs collect, and the SVG chart."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

from assay._charts import LineSeries, line_chart, nice_ticks
from assay.exceptions import InputError
from assay.train.curves import clean_vs_collect, correct_for_noise, learning_curve
from assay.train.curves._fit import fit_power_law, power_law, stratified_order


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X, y


def test_power_law_fit_recovers_parameters() -> None:
    sizes = np.array([20, 40, 80, 160, 320, 640, 1280])
    truth = (0.97, 1.5, 0.6)
    noise = np.random.default_rng(0).normal(0, 0.001, len(sizes))
    params = fit_power_law(sizes, power_law(sizes, *truth) + noise)
    assert params == pytest.approx(truth, rel=0.1)
    assert np.isnan(fit_power_law(sizes[:2], np.array([0.5, 0.6]))).all()


def test_stratified_order_keeps_class_proportions_in_every_prefix() -> None:
    y = np.repeat([0, 1, 2], [500, 300, 200])
    order = stratified_order(y, np.random.default_rng(0))
    assert sorted(order) == list(range(len(y)))
    for m in (20, 100, 400):
        counts = np.bincount(y[order[:m]], minlength=3)
        assert np.abs(counts - m * np.array([0.5, 0.3, 0.2])).max() <= 2


def test_noise_correction_inverts_symmetric_noise() -> None:
    rng = np.random.default_rng(1)
    n, k, rho = 200_000, 5, 0.2
    truth = rng.integers(0, k, n)
    pred = np.where(rng.random(n) < 0.85, truth, (truth + rng.integers(1, k, n)) % k)
    given = np.where(rng.random(n) < rho, (truth + rng.integers(1, k, n)) % k, truth)
    observed = float(np.mean(pred == given))
    assert observed < 0.75
    assert correct_for_noise(np.array(observed), rho, k) == pytest.approx(0.85, abs=0.005)


def test_learning_curve_on_digits(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    lc = learning_curve(KNeighborsClassifier(3), X, y, sizes=[30, 60, 120, 240, 480],
                        repeats=3, n_boot=50, seed=0)
    means = lc.table["accuracy_mean"].to_numpy()
    assert lc.scores_.shape == (3, 5)
    assert means[-1] > means[0] + 0.05
    assert np.abs(lc.table["fit"] - means).max() < 0.03
    pred = lc.predict([240, 1000])
    assert (pred["low"] <= pred["accuracy"]).all() and (pred["accuracy"] <= pred["high"]).all()
    wide = lc.predict([240], n_test=100)
    assert wide["high"][0] - wide["low"][0] > pred["high"][0] - pred["low"][0]
    svg = lc.to_svg()
    ET.fromstring(svg)
    assert "number of training examples" in svg
    assert "acc(n)" in lc.summary()


def test_learning_curve_bad_input(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    with pytest.raises(InputError, match="one label per row"):
        learning_curve(KNeighborsClassifier(), X, y[:10])
    with pytest.raises(InputError, match="'sizes' parameter"):
        learning_curve(KNeighborsClassifier(), X, y, sizes=[10, 20, 100_000])


def test_clean_vs_collect_detects_noise_and_gain(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(y))[:700]
    X, y = X[idx], y[idx]
    flip = rng.random(len(y)) < 0.2
    noisy = np.where(flip, (y + rng.integers(1, 10, len(y))) % 10, y)
    cvc = clean_vs_collect(KNeighborsClassifier(5), X, noisy, repeats=3, n_boot=50, seed=0)
    flagged = cvc.issues_["is_label_issue"].to_numpy()
    assert abs(cvc.noise_rate_ - flip.mean()) < 0.06
    assert (flagged & flip).sum() / flagged.sum() > 0.7
    t = cvc.table.set_index("scenario")
    assert t.loc["after cleaning", "accuracy"] > t.loc["now (as labelled)", "accuracy"]
    est, low, high = cvc.equivalent_extra_
    assert low <= est <= high
    svg = cvc.to_svg()
    ET.fromstring(svg)
    assert "cleaned" in svg and "as labelled" in svg
    assert "cleaning ≈ collecting" in cvc.summary()


def test_svg_escapes_text_and_ticks() -> None:
    svg = line_chart([LineSeries([1, 2, 3], [0.1, 0.5, 0.4], "a <b> & c", low=[0, 0.4, 0.3],
                                 high=[0.2, 0.6, 0.5])], title="x < y & z", x_label="n")
    root = ET.fromstring(svg)
    texts = [el.text for el in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "x < y & z" in texts and "a <b> & c" in texts
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    ticks = nice_ticks(0.83, 0.97)
    steps = np.diff(ticks)
    assert ticks[0] >= 0.83 and ticks[-1] <= 0.97 and len(ticks) >= 3
    assert np.allclose(steps, steps[0]) and steps[0] == pytest.approx(0.05)


def test_reports_render_html_with_chart(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    rng = np.random.default_rng(5)
    idx = rng.permutation(len(y))[:500]
    noisy = np.where(rng.random(500) < 0.15, (y[idx] + 1) % 10, y[idx])
    cvc = clean_vs_collect(KNeighborsClassifier(5), X[idx], noisy, repeats=2, n_boot=20,
                           sizes=[30, 60, 120, 240], seed=1)
    page = cvc._repr_html_()
    assert page.count("<svg") == 1 and "<table" in page
    assert cvc.noise_ is not None and cvc.noise_.noise_rates.shape == (10,)
    assert "<svg" in cvc.clean_.to_html()
