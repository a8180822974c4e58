"""The train and iterate workflows called from Python, on real workspaces (SQLite and
PostgreSQL): typed results, recorded analyses, and refusals that name the Python
parameters, never a command-line flag (tests/cli/test_workflow_wording.py checks that
the CLI still names its flags)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from assay.exceptions import InputError
from assay.store.workspace import Workspace
from assay.train.recipe import load_recipe
from assay.workflows.audit import AuditRecord, AuditRun, record_audit, run_audit
from assay.workflows.curve import CurveRun, record_curve, run_curve
from assay.workflows.loop import run_loop
from assay.workflows.slices import SlicesRun, record_slices, run_slices

RECIPE = (
    "featurizer: standard_scaler\nestimator: sklearn.linear_model.LogisticRegression\n"
    "params: {C: 0.5, max_iter: 300}\nseed: 0\n"
)
FLAG = re.compile(r"(?<![\w-])--[a-z]")


def digits_workspace(workspace: Workspace) -> Workspace:
    """``digits``: 240 real digits, 10% of labels flipped, tag ``ink``; recipe ``lr``."""
    data = load_digits()
    n = 240
    frame = pd.DataFrame(data.data[:n], columns=[f"p{i}" for i in range(64)])
    rng = np.random.default_rng(0)
    labels = data.target[:n].astype(np.int64)
    flip = rng.random(n) < 0.10
    labels[flip] = (labels[flip] + 1) % 10
    ink = data.data[:n].sum(axis=1)
    frame["ink"] = np.where(ink > np.median(ink), "heavy", "light")
    frame["label"] = labels
    frame.insert(0, "item_id", np.arange(n))
    workspace.import_dataset("digits", frame, label="label", id="item_id", tags=["ink"])
    workspace.recipes.add("lr", load_recipe(RECIPE))
    return workspace


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    return digits_workspace(workspace)


def _refusal(call, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert not FLAG.search(message), message  # a Python caller gets no CLI wording
    assert "assay " not in message, message
    return message


def test_audit_returns_a_typed_run_and_record(ws: Workspace, tmp_path: Path) -> None:
    run = run_audit(ws, "digits", recipe="lr", checks=["label"])
    assert isinstance(run, AuditRun) and run.recipe_hash == ws.recipes.get("lr").hash
    assert ws.analyses("audit") == []  # not yet recorded
    record = record_audit(ws, run, fail_on=["label_issue>1%"], report_path=tmp_path / "a.html")
    assert isinstance(record, AuditRecord)
    stored = ws.analyses("audit")
    assert [a["id"] for a in stored] == [record.analysis]
    count = record.checks["label"]["count"]
    assert count > 0 and record.queued == {"label_issue": count}
    assert record.exceeded and (tmp_path / "a.html").exists()
    assert record.to_dict()["analysis"] == record.analysis
    assert stored[0]["result"]["queued"] == record.queued


def test_audit_refusals_name_parameters(ws: Workspace, tmp_path: Path) -> None:
    np.save(tmp_path / "p.npy", np.full((240, 10), 0.1))
    message = _refusal(run_audit, ws, "digits", recipe="lr", pred_probs=tmp_path / "p.npy")
    assert "recipe=" in message and "pred_probs=" in message
    assert ws.analyses() == [] and ws.review.count(status=None) == 0


def test_slices_refusals_name_parameters(ws: Workspace, tmp_path: Path) -> None:
    pd.DataFrame({"prediction": np.zeros(240, dtype=int)}).to_csv(tmp_path / "p.csv")
    message = _refusal(run_slices, ws, "digits", recipe="lr", predictions=tmp_path / "p.csv")
    assert "recipe=" in message and "predictions=" in message
    message = _refusal(run_slices, ws, "digits", hlp=0.9, hlp_from_annotations=True)
    assert "hlp=" in message and "hlp_from_annotations=True" in message
    message = _refusal(run_slices, ws, "digits", recipe="lr", hlp_from_annotations=True)
    assert "no item labelled by two or more annotators" in message and "hlp=" in message
    message = _refusal(run_slices, ws, "digits", recipe="lr", by=["nope"])
    assert "digits@v1 has no column 'nope'" in message and "by=" in message
    assert ws.analyses() == []


def test_slices_and_curve_return_typed_runs_and_record(ws: Workspace) -> None:
    slices = run_slices(ws, "digits", recipe="lr", find=False)
    assert isinstance(slices, SlicesRun) and slices.result["by"] == ["ink"]
    assert slices.table.num_rows == 240 and slices.significant == []
    curve = run_curve(ws, "digits", recipe="lr", repeats=1)
    assert isinstance(curve, CurveRun) and curve.result["verdict"] in ("clean", "collect")
    ids = [record_slices(ws, slices), record_curve(ws, curve)]
    assert [a["id"] for a in ws.analyses("slices") + ws.analyses("curve")] == ids


def test_loop_refuses_a_version_and_an_unknown_recipe_before_any_work(ws: Workspace) -> None:
    message = _refusal(run_loop, ws, "digits@v1", recipe="lr", eval_set="digits")
    assert "latest version" in message and "give digits," in message
    with pytest.raises(Exception, match="no recipe named 'nope'"):
        run_loop(ws, "digits", recipe="nope", eval_set="digits")
    assert ws.analyses() == []


def test_audit_of_integer_classes_not_from_zero(workspace: Workspace) -> None:
    """Real wine quality scores (3..8) are the dataset's classes: no empty classes 0..2
    (integer labels are column indices only for pred_probs), and the label check's
    suggestions are scores that occur."""
    path = Path("/work/shared/data/regression/wine-quality/winequality-red.csv")
    if not path.exists():
        pytest.skip(f"{path} is not on this machine")
    wine = pd.read_csv(path, sep=None, engine="python")
    workspace.import_dataset("wine", wine.head(600), label="quality")
    run = run_audit(workspace, "wine", checks=["label"])
    assert not [w for w in run.warnings if "no examples" in w], run.warnings
    issues = run.report.issues
    assert issues["is_label_issue"].any()
    assert set(issues["suggested_label"]) <= set(wine["quality"].head(600))
