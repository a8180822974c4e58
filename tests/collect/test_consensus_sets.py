"""Consensus of label sets: Dawid-Skene or majority per label, then the joint set."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from assay.collect import consensus, set_consensus
from assay.exceptions import InputError

NAMES = [f"t{j}" for j in range(6)]


def _tagged(
    seed: int = 0, n_items: int = 400, per_item: int = 3,
    drop: tuple[float, ...] = (0.05, 0.1, 0.1, 0.6, 0.6, 0.6),
    add: tuple[float, ...] = (0.02, 0.05, 0.05, 0.3, 0.3, 0.3),
) -> tuple[pd.DataFrame, np.ndarray]:
    """Annotators who drop each true tag with probability ``drop[a]`` and add each other
    tag with probability ``add[a]``; three good ones and three careless ones."""
    rng = np.random.default_rng(seed)
    truth = rng.random((n_items, len(NAMES))) < 0.3
    rows = []
    for i in range(n_items):
        for a in rng.choice(len(drop), per_item, replace=False):
            u = rng.random(len(NAMES))
            said = np.where(truth[i], u >= drop[a], u < add[a])
            rows.append((i, f"w{a}", [n for n, s in zip(NAMES, said, strict=True) if s]))
    return pd.DataFrame(rows, columns=["item", "annotator", "label"]), truth


def _hamming(res, truth: np.ndarray) -> float:
    pred = res.probas.reindex(index=np.arange(len(truth)), columns=NAMES).to_numpy() >= 0.5
    return float((pred != truth).mean())


def test_dawid_skene_beats_majority_per_label() -> None:
    for seed in range(3):
        df, truth = _tagged(seed)
        ds = _hamming(set_consensus(df, labels=NAMES), truth)
        mv = _hamming(set_consensus(df, labels=NAMES, method="majority"), truth)
        assert ds < mv


@pytest.mark.filterwarnings("ignore::Warning:crowdkit.*")
def test_each_label_is_crowdkit_dawid_skene_on_yes_no() -> None:
    ck = pytest.importorskip("crowdkit.aggregation")
    df, _ = _tagged(1, n_items=150)
    res = set_consensus(df, labels=NAMES, smoothing=1e-10, pool_strength=0,
                        inference="point", max_iter=5, tol=0)
    for name in NAMES:
        binary = pd.DataFrame({"task": df["item"], "worker": df["annotator"],
                               "label": [name in s for s in df["label"]]})
        ref = ck.DawidSkene(n_iter=5, tol=-np.inf).fit_predict_proba(binary)
        np.testing.assert_allclose(res.probas[name], ref[True].reindex(res.probas.index),
                                   atol=1e-8)


def test_majority_is_the_per_label_vote() -> None:
    df, _ = _tagged(2, n_items=200)
    res = set_consensus(df, labels=NAMES, method="majority")
    for item, rows in df.groupby("item"):
        votes = {n: sum(n in s for s in rows["label"]) for n in NAMES}
        clear = {n for n, v in votes.items() if 2 * v > len(rows)}
        unclear = {n for n, v in votes.items() if 2 * v == len(rows)}
        chosen = set(res.labels.at[item, "label"])
        assert clear <= chosen <= clear | unclear


def test_joint_set_quality_agreement_and_annotators() -> None:
    df = pd.DataFrame({
        "item": [1, 1, 1, 2, 2, 2],
        "annotator": ["a", "b", "c", "a", "b", "c"],
        "label": [["x", "y"], ["y", "x"], ["x"], [], [], ["z"]],
    })
    res = set_consensus(df, method="majority")
    lab = res.labels
    assert lab.at[1, "label"] == ["x", "y"] and lab.at[2, "label"] == []
    assert list(res.probas.columns) == ["x", "y", "z"]
    p = res.probas.loc[1]
    expected = p["x"] * p["y"] * (1 - p["z"])
    assert lab.at[1, "quality"] == pytest.approx(expected)
    assert lab.at[1, "agreement"] == pytest.approx((1 + 1 + 0.5) / 3)  # mean Jaccard
    assert lab.at[2, "agreement"] == pytest.approx((1 + 1 + 0) / 3)
    assert lab["n_annotations"].tolist() == [3, 3]
    ann = res.annotators
    assert list(ann.columns) == ["n_annotations", "sensitivity", "specificity", "agreement",
                                 "quality"]
    assert ann.loc["a", "agreement"] == 1.0 and ann.loc["c", "agreement"] == 0.25
    assert ((ann[["sensitivity", "specificity", "quality"]] >= 0)
            & (ann[["sensitivity", "specificity", "quality"]] <= 1)).all().all()


def test_careless_annotators_get_lower_sensitivity() -> None:
    df, _ = _tagged(3, n_items=600)
    ann = set_consensus(df, labels=NAMES).annotators
    good = ann.loc[["w0", "w1", "w2"]]
    bad = ann.loc[["w3", "w4", "w5"]]
    assert good["sensitivity"].min() > bad["sensitivity"].max()
    assert good["quality"].min() > bad["quality"].max()


def test_label_forms_and_label_names() -> None:
    df = pd.DataFrame({"item": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"],
                       "label": ['["x", "y"]', ("y", "x"), np.array(["x"]), {"x"}]})
    res = set_consensus(df, labels=["y", "x", "w"], method="majority")
    assert list(res.probas.columns) == ["y", "x", "w"]  # the given order, unused w kept
    assert res.labels.at[1, "label"] == ["x", "y"]
    with pytest.raises(InputError, match="not in labels=: 'y'"):
        set_consensus(df, labels=["x"])
    assert "y" in set_consensus(df, labels=["x"], allow_new=True).probas.columns
    bad = df.assign(label=[["x"], 3, ["x"], ["x"]])
    with pytest.raises(InputError, match="is not a list of labels"):
        set_consensus(bad)
    empty = df.assign(label=[[], [], [], []])
    with pytest.raises(InputError, match="give labels="):
        set_consensus(empty)
    assert set_consensus(empty, labels=["x"]).labels["label"].tolist() == [[], []]


def test_task_argument_hands_off_to_the_multilabel_engine() -> None:
    df, _ = _tagged(4, n_items=80)
    res = consensus(df, task="multilabel")
    assert res.method == "dawid_skene"
    pd.testing.assert_frame_equal(res.probas, set_consensus(df).probas)
    assert consensus(df, "majority", task="multilabel").method == "majority"
    with pytest.raises(InputError, match="classes= apply to single-label classification"):
        consensus(df, task="multilabel", classes=NAMES)


def test_summary_and_json() -> None:
    df, _ = _tagged(5, n_items=50)
    res = set_consensus(df)
    assert all(len(line) <= 80 for line in res.summary().splitlines())
    data = json.loads(json.dumps(res.to_dict()))
    assert data["n_items"] == 50 and data["label_names"] == NAMES
    first = data["labels"][0]
    assert set(first["probas"]) == set(NAMES)
    assert first["label"] == [n for n in NAMES if first["probas"][n] >= 0.5]
