"""Target leakage: feature columns that determine the label, found on real data.

Hourly bike rentals (UCI Bike Sharing, ``hour.csv``): the label ``cnt`` is the sum of
two of its columns, ``casual + registered``, neither of which determines it alone.
Iris, wine and wine quality (real, scikit-learn's bundled sets and the UCI red wines)
have no such column: nothing may be reported there.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris, load_wine

import assay
from assay.train.audit.target_leakage import find_target_leakage, leak_advice


@pytest.fixture(scope="module")
def hours(shared_data: Path) -> pd.DataFrame:
    path = shared_data / "regression" / "bike-sharing" / "hour.csv"
    return pd.read_csv(path).drop(columns=["dteday", "instant"])


def test_the_parts_of_a_total_are_found_together(hours: pd.DataFrame) -> None:
    leaks = find_target_leakage(hours.drop(columns="cnt"), hours["cnt"].to_numpy(),
                                kind="regression", seed=3)
    assert [leak.columns for leak in leaks] == [("casual", "registered")]
    assert leaks[0].score > 0.999 and leaks[0].model == "a linear fit"
    assert "columns casual and registered together predict the label" in leaks[0].describe()


def test_without_the_parts_nothing_is_reported(hours: pd.DataFrame) -> None:
    features = hours.drop(columns=["cnt", "casual", "registered"])
    assert find_target_leakage(features, hours["cnt"].to_numpy(), kind="regression") == []


def test_real_data_without_a_leak_reports_nothing(shared_data: Path) -> None:
    wine = pd.read_csv(shared_data / "regression" / "wine-quality" / "winequality-red.csv",
                       sep=";")
    features, quality = wine.drop(columns="quality"), wine["quality"].to_numpy()
    assert find_target_leakage(features, quality, kind="regression") == []
    assert find_target_leakage(features, quality, kind="classification") == []
    for loader in (load_iris, load_wine):
        data = loader(as_frame=True)
        assert find_target_leakage(data.data, data.target.to_numpy(),
                                   kind="classification") == []


def test_a_coded_copy_of_the_class_is_found_alone() -> None:
    data = load_iris(as_frame=True)
    features = data.data.copy()
    names = np.array(["setosa", "versicolor", "virginica"])
    features["species_note"] = names[data.target.to_numpy()]  # text of three values
    leaks = find_target_leakage(features, data.target.to_numpy(), kind="classification")
    assert [leak.columns for leak in leaks] == [("species_note",)]
    assert leaks[0].metric == "balanced accuracy" and leaks[0].score == 1.0
    assert "leave it out of the features" in leak_advice(leaks[0])


def test_a_single_rescaled_copy_is_not_reported_twice(hours: pd.DataFrame) -> None:
    features = hours.drop(columns=["cnt", "casual", "registered"]).assign(
        cnt_thousands=hours["cnt"] / 1000.0)
    leaks = find_target_leakage(features, hours["cnt"].to_numpy(), kind="regression")
    assert [leak.columns for leak in leaks] == [("cnt_thousands",)]


def test_other_kinds_and_tiny_tables_report_nothing(hours: pd.DataFrame) -> None:
    features = hours.drop(columns="cnt")
    assert find_target_leakage(features, hours["cnt"].to_numpy(), kind="multilabel") == []
    assert find_target_leakage(features.head(12), hours["cnt"].head(12).to_numpy(),
                               kind="regression") == []


def test_free_text_alone_is_not_read(shared_data: Path) -> None:
    reviews = pd.read_csv(shared_data / "text" / "yelp_labelled.txt", sep="\t",
                          names=["text", "label"], quoting=3)
    features = reviews[["text"]]
    assert find_target_leakage(features, reviews["label"].to_numpy(),
                               kind="classification") == []


def test_the_audit_warns_and_reports_it(hours: pd.DataFrame) -> None:
    sample = hours.sample(2000, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = assay.audit(sample, label="cnt", task="regression", checks=["outlier"])
    said = [str(w.message) for w in caught if "target leakage?" in str(w.message)]
    assert len(said) == 1 and "casual and registered" in said[0]
    assert report.to_dict()["target_leakage"][0]["columns"] == ["casual", "registered"]
    assert "target leakage? columns casual and registered" in report.to_html()
    clean = assay.audit(sample, label="cnt", task="regression", checks=["outlier"],
                        features=["hr", "temp", "hum", "windspeed"])
    assert clean.target_leaks == []
