"""``assay label``: an unlabeled CSV and image folder to a labeled version, audited and
trained on, all from the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sqlalchemy import select

from assay.collect import agreement
from assay.store import models as m
from assay.store.workspace import Workspace

RECIPE = """\
name: lr
featurizer: standard_scaler
estimator: sklearn.linear_model.LogisticRegression
params: {C: 1.0, max_iter: 300}
seed: 0
"""


@pytest.fixture
def iris(tmp_path: Path) -> tuple[pd.DataFrame, Path, Path]:
    """Iris without its labels (a CSV) and the true labels; a held-out labeled set."""
    data = load_iris(as_frame=True)
    frame = data.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    frame = frame[~frame.drop(columns="target").duplicated()].drop(columns="target")
    frame["label"] = np.asarray(data.target_names)[data.target[frame.index]]
    frame.insert(0, "id", [f"f{i}" for i in range(len(frame))])
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)  # 149 flowers
    unlabeled, held = tmp_path / "flowers.csv", tmp_path / "held.csv"
    frame.iloc[:120].drop(columns="label").to_csv(unlabeled, index=False)
    frame.iloc[120:].to_csv(held, index=False)
    return frame.iloc[:120], unlabeled, held


def _json(cli, *args: str) -> object:
    code, out, err = cli(*args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_unlabeled_csv_to_an_audited_and_trained_version(cli, tmp_path: Path, iris) -> None:
    truth, unlabeled, held = iris
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    code, out, _ = cli("import", "flowers", str(unlabeled), "--id", "id", *w)
    assert code == 0 and "120 of 120 items await a label" in out
    assert "assay label plan flowers" in out
    assert cli("import", "held", str(held), "--id", "id", *w)[0] == 0
    (tmp_path / "lr.yaml").write_text(RECIPE)
    assert cli("recipe", "add", "lr", str(tmp_path / "lr.yaml"), *w)[0] == 0
    code, _, err = cli("audit", "flowers", "--recipe", "lr", *w)
    assert code == 2 and "120 item(s) have no label yet (ids f" in err
    assert "assay label plan flowers" in err
    plan = _json(
        cli, "label", "plan", "flowers", "--labelers", "ann,ben,cara", "--overlap", "0.25", *w
    )
    assert plan["items"] == 120 and plan["sample"] == 30
    assert sum(plan["assignments"].values()) == 150
    true = dict(zip(truth["id"], truth["label"], strict=True))
    given = []
    for who in ("ann", "ben", "cara"):
        while task := _json(cli, "label", "next", "flowers", "--labeler", who, *w):
            item = task["item_id"]
            label = true[item]
            if who == "cara" and label == "versicolor":
                label = "virginica"  # cara confuses the two
            code, out, err = cli(
                "label", "submit", "flowers", label, "--labeler", who, "--item", item, *w
            )
            assert code == 0, err
            given.append((item, who, label))
    code, out, _ = cli("label", "status", "flowers", *w)
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 80
    assert "120/120 items labeled" in out and "30/30 items with all 2 labels" in out
    live = _json(cli, "label", "agreement", "flowers", *w)
    frame = pd.DataFrame(given, columns=["item", "annotator", "label"])
    shared = frame[frame.groupby("item")["annotator"].transform("size") == 2]
    expected = agreement(shared, ci=False)
    assert live["report"]["fleiss_kappa"] == pytest.approx(expected.fleiss_kappa)
    disagreed = [d["item"] for d in live["disagreed"]]
    assert disagreed and all(true[i] == "versicolor" for i in disagreed)
    for item in disagreed:
        code, _, err = cli("label", "adjudicate", "flowers", true[item], "--item", item, *w)
        assert code == 0, err
    code, out, err = cli("label", "apply", "flowers", "-m", "first labels", *w)
    assert code == 0 and "flowers@v2: 120 items labeled" in out, err
    version = _json(cli, "show", "flowers@v2", *w)
    assert version["rows"] == 120 and sum(version["label_counts"].values()) == 120
    assert set(version["label_counts"]) == {"setosa", "versicolor", "virginica"}
    report = str(tmp_path / "audit.html")
    code, _, err = cli("audit", "flowers", "--recipe", "lr", "--report", report, *w)
    assert code in (0, 1), err
    code, _, err = cli("train", "flowers", "--recipe", "lr", "--eval", "held", *w)
    assert code == 0, err


def test_unlabeled_image_folder(cli, tmp_path: Path, shared_data: Path) -> None:
    source = sorted((shared_data / "detection" / "bccd" / "BCCD" / "JPEGImages").glob("*.jpg"))
    folder = tmp_path / "cells"
    folder.mkdir()
    for file in source[:6]:
        shutil.copy(file, folder / file.name)
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    code, out, err = cli("import", "cells", str(folder), *w)
    assert code == 0, err
    shown = _json(cli, "show", "cells", *w)
    assert shown["modality"] == "image"
    plan = _json(
        cli, "label", "plan", "cells", "--labelers", "ann", "--per-item", "1", "--overlap", "0", *w
    )
    assert plan["items"] == 6
    task = _json(cli, "label", "next", "cells", "--labeler", "ann", *w)
    assert task["item_id"].endswith(".jpg") and task["prefill"] is None


def test_label_commands_refuse_bad_input(cli, tmp_path: Path, iris) -> None:
    _, unlabeled, _ = iris
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    assert cli("import", "flowers", str(unlabeled), "--id", "id", *w)[0] == 0
    code, _, err = cli("label", "status", "flowers", *w)
    assert code == 2 and "has no labeling plan" in err
    code, _, err = cli("label", "plan", "flowers", "--labelers", "ann", *w)
    assert code == 2 and "--per-item 2" in err and "per_item" not in err.replace("--per-item", "")
    code, _, err = cli("label", "plan", "flowers", "--labelers", "ann,ben", "--overlap", "3", *w)
    assert code == 2 and "--overlap" in err
    code, _, err = cli(
        "label",
        "plan",
        "flowers",
        "--labelers",
        "ann,ben",
        "--sample",
        str(tmp_path / "nope.csv"),
        *w,
    )
    assert code == 2 and "does not exist" in err
    assert cli("label", "plan", "flowers", "--labelers", "ann,ben", *w)[0] == 0
    code, _, err = cli("label", "submit", "flowers", "--labeler", "ann", "--item", "f0", *w)
    assert code == 2 and "--skip" in err
    code, _, err = cli("label", "apply", "flowers", "-m", "x", "--method", "vote", *w)
    assert code == 2 and "--method" in err
    assert len(err.strip().splitlines()) == 1


def test_plan_from_a_plan_sample_of_unlabeled_items(cli, tmp_path: Path, iris) -> None:
    _, unlabeled, _ = iris
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    assert cli("import", "flowers", str(unlabeled), "--id", "id", *w)[0] == 0
    sample = tmp_path / "sample.csv"
    code, _, err = cli("plan-sample", "flowers", "--n", "20", "--out", str(sample), *w)
    assert code == 0, err
    plan = _json(
        cli, "label", "plan", "flowers", "--labelers", "ann,ben,cara", "--sample", str(sample), *w
    )
    assert plan["sample"] == 20 and sum(plan["assignments"].values()) == 120 + 20
    chosen = set(pd.read_csv(sample)["item"].astype(str))
    ws = Workspace(tmp_path / "ws")
    with ws.session(readonly=True) as s:
        rows = s.execute(select(m.LabelingAssignment.item_id, m.LabelingAssignment.in_sample))
        in_sample = {item for item, flag in rows if flag}
    ws.close()
    assert in_sample == chosen


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "flowers", "--recipe", "lr"],
        ["slices", "flowers", "--recipe", "lr", "--by", "sepal_width"],
        ["curve", "flowers", "--recipe", "lr"],
        ["train", "flowers", "--recipe", "lr", "--eval", "flowers"],
        ["loop", "flowers", "--recipe", "lr", "--eval", "flowers"],
        ["augment", "flowers", "--slice", "sepal_width > 3", "--factor", "0.5"],
        ["monitor", "add", "m", "--reference", "flowers", "--recipe", "lr"],
    ],
)
def test_engines_that_need_labels_name_the_unlabeled_items(
    cli, tmp_path: Path, iris, command: list[str]
) -> None:
    truth, unlabeled, _ = iris
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    partly = truth.assign(label=truth["label"].where(truth.index % 10 != 3))
    partly.to_csv(tmp_path / "partly.csv", index=False)
    assert cli("import", "flowers", str(tmp_path / "partly.csv"), "--id", "id", *w)[0] == 0
    (tmp_path / "lr.yaml").write_text(RECIPE)
    assert cli("recipe", "add", "lr", str(tmp_path / "lr.yaml"), *w)[0] == 0
    code, _, err = cli(*command, *w)
    missing = truth["id"][truth.index % 10 == 3].tolist()
    assert code == 2, err
    assert f"{len(missing)} item(s) have no label yet (ids {', '.join(missing[:5])}, ...)" in err
    assert "assay label plan flowers" in err and len(err.strip().splitlines()) == 1


def test_prefill_outside_the_sample_only(cli, tmp_path: Path, iris) -> None:
    truth, unlabeled, _ = iris
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    assert cli("import", "flowers", str(unlabeled), "--id", "id", *w)[0] == 0
    truth.rename(columns={"id": "item"})[["item", "label"]].to_csv(
        tmp_path / "model.csv", index=False
    )
    plan = _json(
        cli,
        "label",
        "plan",
        "flowers",
        "--labelers",
        "ann,ben",
        "--overlap",
        "0.5",
        "--prefill",
        str(tmp_path / "model.csv"),
        *w,
    )
    assert plan["prefill"] is True
    ws = Workspace(tmp_path / "ws")
    with ws.session(readonly=True) as s:
        rows = s.execute(select(m.LabelingAssignment.in_sample, m.LabelingAssignment.suggestion))
        seen = {(flag, text is not None) for flag, text in rows}
    ws.close()
    assert seen == {(True, False), (False, True)}  # a suggestion for every item but the sample
    task = _json(cli, "label", "next", "flowers", "--labeler", "ann", *w)
    true = dict(zip(truth["id"], truth["label"], strict=True))
    assert task["prefill"] in (None, true[task["item_id"]])


def test_revision_messages_say_what_to_give(cli, tmp_path: Path, iris) -> None:
    """Changing a label: each refusal names the revision to give, as a CLI flag."""
    _, unlabeled, _ = iris
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    assert cli("import", "flowers", str(unlabeled), "--id", "id", *w)[0] == 0
    assert cli("label", "plan", "flowers", "--labelers", "ann,ben", *w)[0] == 0
    item = _json(cli, "label", "next", "flowers", "--labeler", "ann", *w)["item_id"]  # type: ignore[index]
    base = ["label", "submit", "flowers", "--labeler", "ann", "--item", item, *w]
    code, _, err = cli(*base[:3], "setosa", *base[3:], "--revision", "2")
    assert code == 2 and "no revision 2 to change" in err and "without --revision" in err
    assert cli(*base[:3], "setosa", *base[3:])[0] == 0
    code, _, err = cli(*base[:3], "virginica", *base[3:])
    assert code == 2 and "--revision 0" in err and "expected_revision" not in err
    code, _, err = cli(*base[:3], "virginica", *base[3:], "--revision", "5")
    assert code == 2 and "at revision 0, not 5" in err and "give --revision 0" in err
    code, out, err = cli(*base[:3], "virginica", *base[3:], "--revision", "0")
    assert code == 0 and "(revision 1)" in out, err
