"""`assay consensus` on regression and multi-label datasets and annotation files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.store.workspace import Workspace

TAGS = ["bird", "cat", "dog"]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    rng = np.random.default_rng(0)
    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset("prices", pd.DataFrame({"x": rng.normal(size=40),
                                              "price": rng.normal(10, 2, 40)}), label="price")
    sets = [sorted(rng.choice(TAGS, rng.integers(0, 3), replace=False).tolist())
            for _ in range(40)]
    ws.import_dataset("pics", pd.DataFrame({"x": rng.normal(size=40), "tags": sets}),
                      label="tags")
    return ws


def _numeric(n_items: int = 40, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """Three annotators: unbiased, +3 biased, noisy."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(10, 2, n_items)
    bias, noise = {"a": 0.0, "b": 3.0, "c": 0.0}, {"a": 0.2, "b": 0.2, "c": 2.0}
    frame = pd.concat([
        pd.DataFrame({"item": range(n_items), "annotator": a,
                      "label": truth + bias[a] + rng.normal(0, noise[a], n_items)})
        for a in bias
    ])
    return frame, truth


def _sets(n_items: int = 40, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = [set(rng.choice(TAGS, rng.integers(1, 3), replace=False)) for _ in range(n_items)]
    rows = []
    for i, tags in enumerate(truth):
        for a, drop in (("a", 0.0), ("b", 0.1), ("c", 0.5)):
            kept = sorted(t for t in tags if rng.random() >= drop)
            rows.append((i, a, json.dumps(kept)))
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def test_regression_dataset_consensus_and_commit(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    frame, truth = _numeric()
    file = tmp_path / "ann.csv"
    frame.to_csv(file, index=False)
    assert cli("annotations", "import", "prices", str(file), *w)[0] == 0
    code, out, err = cli("consensus", "prices", *w)
    assert code == 0, err
    assert "40 items" in out and "bias" in out and "noise sd" in out
    code, out, _ = cli("consensus", "prices", "--commit", "--json", *w)
    data = json.loads(out)
    assert code == 0 and data["method"] == "em" and data["kind"] == "regression"
    assert data["version"] == "prices@v2"
    bias = {r["annotator"]: r["bias"] for r in data["annotators"]}
    assert bias["b"] - bias["a"] == pytest.approx(3.0, abs=0.3)
    committed = ws.dataset("prices").to_pandas().set_index(ws.dataset("prices").roles.id)
    labels = {str(r["item"]): r["label"] for r in data["labels"]}
    values = committed["price"].rename(index=str)
    assert values[list(labels)].to_numpy() == pytest.approx(list(labels.values()))
    # the committed values are closer to the truth than the plain mean would be
    assert np.abs(values.to_numpy() - truth).mean() < np.abs(
        frame.groupby("item")["label"].mean().to_numpy() - truth).mean()
    code, out, _ = cli("consensus", "prices", "--method", "median", "--json", *w)
    assert code == 0 and json.loads(out)["method"] == "median"
    code, _, err = cli("consensus", "prices", "--method", "dawid_skene", *w)
    assert code == 2 and "--method must be one of 'em', 'mean', 'median'" in err


def test_multilabel_dataset_consensus_and_commit(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    file = tmp_path / "ann.csv"
    _sets().to_csv(file, index=False)
    code, _, err = cli("annotations", "import", "pics", str(file), *w)
    assert code == 0, err
    code, out, err = cli("consensus", "pics", *w)
    assert code == 0, err
    assert "sensitivity" in out and "specificity" in out
    code, out, _ = cli("consensus", "pics", "--commit", "--json", *w)
    data = json.loads(out)
    assert code == 0 and data["kind"] == "multilabel" and data["version"] == "pics@v2"
    ds = ws.dataset("pics")
    committed = ds.to_pandas().set_index(ds.roles.id)["tags"].rename(index=str)
    for row in data["labels"]:
        assert list(committed[str(row["item"])]) == row["label"]
    code, out, _ = cli("consensus", "pics", "--method", "majority", "--json", *w)
    assert code == 0 and json.loads(out)["method"] == "majority"


def test_annotation_files_of_each_kind(cli, tmp_path: Path) -> None:
    numeric, sets = tmp_path / "numbers.csv", tmp_path / "sets.csv"
    _numeric()[0].to_csv(numeric, index=False)
    _sets().to_csv(sets, index=False)
    code, out, err = cli("consensus", str(numeric), "--task", "regression", "--json")
    assert code == 0, err
    assert json.loads(out)["kind"] == "regression" and len(json.loads(out)["labels"]) == 40
    code, out, err = cli("consensus", str(sets), "--task", "multilabel", "--json")
    assert code == 0, err
    labels = json.loads(out)["labels"]
    assert all(set(r["label"]) <= set(TAGS) for r in labels)
    code, _, err = cli("consensus", str(sets), "--task", "multilabel", "--commit")
    assert code == 2 and "--commit writes a dataset version" in err
    code, _, err = cli("consensus", str(numeric), "--task", "ranking")
    assert code == 2 and "unknown task 'ranking'" in err


def test_task_must_match_the_datasets_kind(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    file = tmp_path / "ann.csv"
    _numeric()[0].to_csv(file, index=False)
    cli("annotations", "import", "prices", str(file), *w)
    code, _, err = cli("consensus", "prices", "--task", "multilabel", *w)
    assert code == 2 and "holds regression labels" in err
