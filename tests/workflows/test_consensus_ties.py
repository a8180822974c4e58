"""Consensus ties (issue 18, item 4): a one-to-one tie between equally reliable
annotators must not look certain, and a commit leaves such ties for review."""

from __future__ import annotations

import numpy as np
import pandas as pd

from assay.collect import consensus
from assay.store.workspace import Workspace
from assay.workflows.agreement import import_annotations
from assay.workflows.consensus import TIE_QUALITY, run_consensus


def _two_annotators(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Two annotators, each right 85% of the time on every item, binary classes."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(["neg", "pos"], n)
    parts = []
    for who in ("ann", "bob"):
        said = np.where(rng.random(n) < 0.85, truth, np.where(truth == "neg", "pos", "neg"))
        parts.append(pd.DataFrame({"item": range(n), "annotator": who, "label": said}))
    return pd.concat(parts, ignore_index=True), truth


def _tied(df: pd.DataFrame) -> pd.Index:
    per_item = df.groupby("item")["label"].nunique()
    return per_item.index[per_item == 2]


def test_ties_between_equally_reliable_annotators_are_not_certain() -> None:
    for seed in range(3):
        df, _ = _two_annotators(1000, seed)
        result = consensus(df, "dawid_skene")
        labels = result.labels
        assert "(expected wrong: 50%)" in result.summary(0.8)  # the ties, at about 0.5
        tied = labels.loc[_tied(df), "quality"]
        assert len(tied) > 100
        assert tied.between(0.4, 0.6).all(), tied.describe()
        agreed = labels.drop(index=_tied(df))["quality"]
        assert agreed.min() > 0.9  # agreement is still confident


def test_commit_keeps_unresolved_ties_and_queues_them(workspace: Workspace, tmp_path) -> None:
    df, truth = _two_annotators(60, 3)
    given = np.where(np.arange(60) % 2 == 0, "neg", "pos")
    workspace.import_dataset(
        "sents", pd.DataFrame({"x": np.arange(60.0), "label": given}), label="label"
    )
    df.to_csv(tmp_path / "a.csv", index=False)
    import_annotations(workspace, "sents", tmp_path / "a.csv")
    done = run_consensus(workspace, "sents", method="dawid_skene", commit=True)
    tied = [str(i) for i in _tied(df)]
    assert done.unresolved == len(tied) > 0
    assert (
        done.labels.loc[done.labels.index.astype(str).isin(tied), "quality"] < TIE_QUALITY
    ).all()
    new = workspace.dataset("sents").to_pandas()
    ids = new[workspace.dataset("sents").roles.id].astype(str)
    kept = ids.isin(tied).to_numpy()
    assert (new["label"].to_numpy()[kept] == given[kept]).all()  # ties keep their label
    settled = done.labels.set_axis(done.labels.index.astype(str))["label"]
    assert (new["label"][~kept].to_numpy() == ids[~kept].map(settled).to_numpy()).all()
    queued = workspace.review.list("sents", source="consensus_tie")
    assert sorted(queued["item_id"].astype(str)) == sorted(tied)
    kept_label = dict(zip(ids[kept], new["label"][kept], strict=True))
    assert [kept_label[str(i)] for i in queued["item_id"]] == list(queued["given_label"])
    assert done.to_dict()["unresolved_ties"] == len(tied)
