"""Double-labeling plans: kappa sample size and stratified samples."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from assay.collect import (
    kappa_ci_width,
    parse_label_studio,
    plan_sample,
    sample_size_for_kappa,
    to_label_studio_tasks,
)
from assay.collect.sampling import kappa_variance
from assay.exceptions import InputError


@pytest.mark.parametrize(("kappa", "prev"), [(0.6, [0.5, 0.5]), (0.8, [0.6, 0.3, 0.1])])
def test_kappa_variance_matches_simulation(kappa: float, prev: list[float]) -> None:
    p = np.asarray(prev)
    joint = (1 - kappa) * np.outer(p, p) + kappa * np.diag(p)
    rng = np.random.default_rng(0)
    n, reps, k = 400, 1000, len(p)
    draws = rng.choice(k * k, size=(reps, n), p=joint.ravel())
    kappas = [cohen_kappa_score(d // k, d % k) for d in draws]
    empirical = np.var(kappas) * n
    assert kappa_variance(kappa, prev) == pytest.approx(empirical, rel=0.12)
    assert np.mean(kappas) == pytest.approx(kappa, abs=0.01)


def test_binary_null_variance_has_closed_form() -> None:
    # kappa = 0, two balanced classes: Var = 1 / n exactly (first order)
    assert kappa_variance(0.0, [0.5, 0.5]) == pytest.approx(1.0)


def test_sample_size_round_trip() -> None:
    prev = [0.7, 0.2, 0.1]
    n = sample_size_for_kappa(0.1, 0.7, prev)
    assert kappa_ci_width(n, 0.7, prev) <= 0.1 < kappa_ci_width(n - 1, 0.7, prev)
    assert sample_size_for_kappa(0.05, 0.7, prev) > 3.9 * n  # quarter width -> ~4x items


def _items(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.choice(["a", "b", "c", "rare"], size=n, p=[0.5, 0.3, 0.19, 0.01])
    tags = rng.choice(["day", "night"], size=n)
    return pd.DataFrame({"item": [f"i{j}" for j in range(n)], "label": label, "tag": tags,
                         "text": [f"text {j}" for j in range(n)]})


def test_stratified_proportional_with_floor() -> None:
    items = _items()
    plan = plan_sample(items, n=100, by=["label"], seed=0)
    assert plan.n == len(plan.sample) == 100
    assert plan.sample["item"].is_unique
    got = plan.sample["label"].value_counts()
    pop = items["label"].value_counts()
    for lab in ["a", "b", "c"]:
        assert abs(got[lab] - 100 * pop[lab] / len(items)) <= 2
    assert got["rare"] >= 2
    strata = plan.strata.set_index("label")
    assert strata["sample"].sum() == 100 and strata.loc["rare", "population"] == pop["rare"]
    again = plan_sample(items, n=100, by=["label"], seed=0)
    pd.testing.assert_frame_equal(plan.sample, again.sample)
    other = plan_sample(items, n=100, by=["label"], seed=1)
    assert set(other.sample["item"]) != set(plan.sample["item"])


def test_ci_width_and_multiple_strata() -> None:
    items = _items()
    plan = plan_sample(items, ci_width=0.25, by=["label", "tag"], expected_kappa=0.7)
    prev = items["label"].value_counts(normalize=True).to_numpy()
    assert plan.n == sample_size_for_kappa(0.25, 0.7, prev)
    assert plan.expected_ci_width <= 0.25
    assert len(plan.strata) == 8
    with pytest.warns(UserWarning, match="only 1000"):
        everything = plan_sample(items, ci_width=0.01)
    assert everything.n == 1000


def test_plan_sample_bad_input() -> None:
    items = _items(50)
    with pytest.raises(InputError, match="exactly one"):
        plan_sample(items)
    with pytest.raises(InputError, match="exactly one"):
        plan_sample(items, n=5, ci_width=0.1)
    with pytest.raises(InputError, match="no column 'colour'"):
        plan_sample(items, n=5, by=["colour"])
    with pytest.raises(InputError, match="prevalence"):
        plan_sample(items.drop(columns="label"), ci_width=0.2, by=["tag"])


def test_label_studio_tasks_keep_the_item_id_type() -> None:
    """iterrows would upcast a row of an int id and a float feature to floats (9.0)."""
    sample = pd.DataFrame({"item": np.array([9, 1168], dtype=np.int64), "x": [0.5, -1.25],
                           "name": ["a", None]})
    tasks = to_label_studio_tasks(sample[["item", "x"]])
    assert [t["data"]["item"] for t in tasks] == [9, 1168]
    assert all(type(t["data"]["item"]) is int for t in tasks)
    assert json.dumps(tasks[0]["data"]) == '{"item": 9, "x": 0.5}'
    assert [t["data"]["name"] for t in to_label_studio_tasks(sample)] == ["a", None]
    text = to_label_studio_tasks(sample.assign(item=["007", "b-2"]), data_cols=["x"])
    assert [t["data"]["item"] for t in text] == ["007", "b-2"]


def test_label_studio_tasks_round_trip(tmp_path) -> None:
    plan = plan_sample(_items(200), n=10, seed=0)
    tasks = to_label_studio_tasks(plan.sample, data_cols=["text"])
    assert len(tasks) == 10 and "label" not in tasks[0]["data"]
    assert "predictions" not in tasks[0]
    json.dumps(tasks)
    pre = to_label_studio_tasks(plan.sample, data_cols=["text"], label_col="label")
    assert pre[0]["predictions"][0]["result"][0]["value"]["choices"] == [
        plan.sample["label"].iloc[0]]
    # simulate the second labeler in Label Studio, then read the export back
    export = [{"id": i, "data": t["data"], "annotations": [{
        "completed_by": 7, "result": [{"from_name": "label", "to_name": "text",
                                       "type": "choices", "value": {"choices": ["a"]}}]}]}
        for i, t in enumerate(tasks)]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    back = parse_label_studio(path, item_key="item")
    assert back["item"].tolist() == plan.sample["item"].tolist()
    assert parse_label_studio(path)["item"].tolist() == plan.sample["item"].tolist()
