"""``assay audit --dask-scheduler``: the recipe's cross-validation folds are fitted on a
real 2-worker Dask LocalCluster, and the audit finds what it finds in this process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine

distributed = pytest.importorskip("distributed")

RECIPE = """\
name: lr
featurizer: standard_scaler
estimator: sklearn.linear_model.LogisticRegression
params: {C: 1.0, max_iter: 300}
seed: 0
"""


def _transitions(address: str) -> int:
    """How many task state transitions the scheduler has made so far."""
    with distributed.Client(address) as client:
        return int(client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter))


def test_audit_folds_on_a_cluster_find_the_same(
    cli, dask_scheduler: str, tmp_path: Path
) -> None:
    wine = load_wine(as_frame=True).frame
    rng = np.random.default_rng(0)
    flipped = rng.choice(len(wine), 12, replace=False)
    wine.loc[flipped, "target"] = (wine.loc[flipped, "target"] + 1) % 3
    wine.insert(0, "id", [f"w{i}" for i in range(len(wine))])
    wine.to_csv(tmp_path / "wine.csv", index=False)
    (tmp_path / "lr.yaml").write_text(RECIPE)
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    assert cli("import", "wine", str(tmp_path / "wine.csv"), "--label", "target",
               "--id", "id", *w)[0] == 0  # fmt: skip
    assert cli("recipe", "add", "lr", str(tmp_path / "lr.yaml"), *w)[0] == 0
    common = ["audit", "wine", "--recipe", "lr", "--no-queue", "--json", *w]
    code, here, err = cli(*common, "--report", str(tmp_path / "a.html"))
    assert code in (0, 1), err
    before = _transitions(dask_scheduler)
    code, there, err = cli(*common, "--report", str(tmp_path / "b.html"),
                           "--dask-scheduler", dask_scheduler)  # fmt: skip
    assert code in (0, 1), err
    assert _transitions(dask_scheduler) > before  # the folds ran as tasks on the cluster
    a, b = json.loads(here), json.loads(there)
    assert a["checks"]["label"]["count"] == b["checks"]["label"]["count"] > 0
    assert a["label_probs_source"] == b["label_probs_source"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(a["worst_labels"]), pd.DataFrame(b["worst_labels"]),
        check_exact=False, rtol=1e-9,
    )


def test_audit_unreachable_scheduler_is_one_line(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ASSAY_DASK_TIMEOUT", "1")  # nothing listens there: no need to wait 10
    pd.DataFrame({"x": range(20), "y": [0, 1] * 10}).to_csv(tmp_path / "t.csv", index=False)
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    assert cli("import", "t", str(tmp_path / "t.csv"), "--label", "y", *w)[0] == 0
    (tmp_path / "lr.yaml").write_text(RECIPE)
    assert cli("recipe", "add", "lr", str(tmp_path / "lr.yaml"), *w)[0] == 0
    code, _, err = cli("audit", "t", "--recipe", "lr", "--report", str(tmp_path / "a.html"),
                       "--dask-scheduler", "tcp://127.0.0.1:9", *w)  # fmt: skip
    assert code == 2 and "cannot reach the Dask scheduler" in err and "Traceback" not in err
    assert not (tmp_path / "a.html").exists()
