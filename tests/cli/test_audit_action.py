"""``assay audit --action relabel|drop``: the automatic action on the flagged labels as
review decisions by ``assay-auto``, applied by ``assay review apply``; refusals write
nothing. Real data: scikit-learn's breast cancer set with 40 labels flipped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from tests.cli.conftest import Cli

from assay.store.workspace import Workspace
from assay.train.audit import audit

RECIPE = """\
name: lr
featurizer: standard_scaler
estimator: sklearn.linear_model.LogisticRegression
params: {max_iter: 1000}
seed: 0
"""


@pytest.fixture
def cancer(cli: Cli, tmp_path: Path) -> tuple[list[str], pd.Series]:
    """A workspace with breast cancer (40 of 569 labels flipped) and an lr recipe; the
    workspace flag and the true labels by id."""
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns=lambda c: c.replace(" ", "_"))
    truth = np.where(frame.pop("target") == 1, "benign", "malignant")
    flipped = np.random.default_rng(1).choice(len(frame), 40, replace=False)
    given = truth.copy()
    given[flipped] = np.where(truth[flipped] == "benign", "malignant", "benign")
    frame.insert(0, "id", [f"p{i}" for i in range(len(frame))])
    frame["diagnosis"] = given
    return _workspace(cli, tmp_path, "cancer", frame), pd.Series(truth, index=frame["id"])


def _workspace(cli: Cli, tmp_path: Path, name: str, frame: pd.DataFrame) -> list[str]:
    """A new workspace with ``frame`` imported as ``name`` and the lr recipe; its flag."""
    frame.to_csv(tmp_path / f"{name}.csv", index=False)
    (tmp_path / "lr.yaml").write_text(RECIPE)
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    assert cli("import", name, str(tmp_path / f"{name}.csv"), "--label", "diagnosis",
               "--id", "id", *w)[0] == 0  # fmt: skip
    assert cli("recipe", "add", "lr", str(tmp_path / "lr.yaml"), *w)[0] == 0
    return w


def _wrong(ws: Workspace, ref: str, truth: pd.Series) -> int:
    labels = ws.dataset(ref).to_pandas().set_index("id")["diagnosis"]
    return int((labels != truth[labels.index]).sum())


def test_relabel_decides_as_label_action_and_apply_fixes_labels(
    cli: Cli, cancer: tuple[list[str], pd.Series], tmp_path: Path
) -> None:
    w, truth = cancer
    code, out, err = cli("audit", "cancer", "--recipe", "lr", "--checks", "label", "--action",
                         "relabel", "--json", "--report", str(tmp_path / "a.html"), *w)
    assert code == 0, err
    decided = json.loads(out)["decided"]
    ws = Workspace(tmp_path / "ws")
    entries = ws.review.list("cancer", status="decided")
    assert len(entries) == decided["relabelled"] + decided["removed"] > 0
    assert set(entries["decided_by"]) == {"assay-auto"}
    assert (entries["decision"] == "relabel").sum() == decided["relabelled"] > 0
    assert not decided["skipped"]
    # the same decisions as the library's label_action on the same audit
    frame = ws.dataset("cancer").to_pandas()
    report = audit(frame, label="diagnosis", features=frame.drop(columns=["id", "diagnosis"]),
                   model=ws.recipes.get("lr").build(), checks=["label"], seed=0)
    acts = report.label_action().set_axis(frame["id"].to_numpy())
    relabelled = entries[entries["decision"] == "relabel"]
    assert (acts.loc[relabelled["item_id"], "action"] == "relabel").all()
    assert list(acts.loc[relabelled["item_id"], "label"]) == list(relabelled["decision_label"])
    assert cli("review", "apply", "cancer", *w)[0] == 0
    assert _wrong(ws, "cancer@v2", truth) < _wrong(ws, "cancer@v1", truth) / 2


def test_drop_removes_every_flagged_row(
    cli: Cli, cancer: tuple[list[str], pd.Series], tmp_path: Path
) -> None:
    w, _ = cancer
    code, out, err = cli("audit", "cancer", "--recipe", "lr", "--checks", "label", "--action",
                         "drop", "--report", str(tmp_path / "a.html"), *w)
    assert code == 0, err
    assert "as assay-auto (drop)" in out and "assay review apply cancer" in out
    ws = Workspace(tmp_path / "ws")
    entries = ws.review.list("cancer", status=None)
    assert set(entries["decision"]) == {"remove"}
    assert cli("review", "apply", "cancer", *w)[0] == 0
    assert len(ws.dataset("cancer@v2").to_pandas()) == 569 - len(entries)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--action", "fix"], "--action must be one of drop, relabel (got 'fix')"),
        (["--action", "relabel", "--no-queue"], "--action decides the queued label issues; it cannot run with --no-queue"),
        (["--action", "relabel", "--checks", "outlier"], "(--checks label, or the default"),
    ],
)
def test_refusals_write_nothing(
    cli: Cli, cancer: tuple[list[str], pd.Series], tmp_path: Path, args: list[str], says: str
) -> None:
    w, _ = cancer
    code, _, err = cli("audit", "cancer", "--recipe", "lr", "--report",
                       str(tmp_path / "a.html"), *args, *w)  # fmt: skip
    assert code == 2 and says in err and "Traceback" not in err, err
    ws = Workspace(tmp_path / "ws")
    assert ws.review.count("cancer", status=None) == 0
    assert not (tmp_path / "a.html").exists()
    assert not ws.analyses(kind="audit")


def test_a_model_too_weak_for_its_flags_decides_nothing(cli: Cli, tmp_path: Path) -> None:
    """Breast cancer features with labels drawn at random: the model cannot predict
    them, so its flags are not acted on; they are still queued for a reviewer."""
    frame = load_breast_cancer(as_frame=True).frame.drop(columns="target")
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame.insert(0, "id", [f"p{i}" for i in range(len(frame))])
    frame["diagnosis"] = np.random.default_rng(3).choice(["benign", "malignant"], len(frame))
    w = _workspace(cli, tmp_path, "rand", frame)
    code, out, err = cli("audit", "rand", "--recipe", "lr", "--checks", "label", "--action",
                         "relabel", "--report", str(tmp_path / "a.html"), *w)
    assert code == 0, err
    assert "No automatic decisions: the model is too weak" in " ".join(out.split())
    ws = Workspace(tmp_path / "ws")
    assert ws.review.count("rand", status="decided") == 0
    assert ws.review.count("rand", status="open") > 0
