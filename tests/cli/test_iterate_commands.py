"""The data iteration loop from the command line, on real SQLite workspaces.

One turn end to end (loop -> review -> apply -> train -> compare), augmentation, and
every bad input of issue 6: a clear message, exit code 2, nothing written. Data:
scikit-learn's real handwritten digits (bundled) with class-conditional label noise.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from assay.store.workspace import Workspace
from assay.train.recipe import load_recipe

RECIPE = """\
name: lr
featurizer: standard_scaler
estimator: sklearn.linear_model.LogisticRegression
params: {C: 0.5, max_iter: 300}
seed: 0
"""
PIXELS = [f"p{i}" for i in range(64)]
CONFUSABLE = {0: 6, 1: 7, 2: 3, 3: 8, 4: 9, 5: 3, 6: 0, 7: 1, 8: 3, 9: 4}


@pytest.fixture
def truth() -> pd.DataFrame:
    """300 training and 150 evaluation digits, with an ``ink`` tag and true labels."""
    data = load_digits()
    frame = pd.DataFrame(data.data, columns=PIXELS)
    frame.insert(0, "item_id", np.arange(len(frame)))
    ink = data.data.sum(axis=1)
    frame["ink"] = np.where(ink < np.median(ink), "light", "heavy")
    frame["label"] = data.target.astype(np.int64)
    return frame.drop_duplicates(subset=PIXELS).iloc[:450].reset_index(drop=True)


@pytest.fixture
def ws(tmp_path: Path, truth: pd.DataFrame) -> Workspace:
    """``d``: 300 training digits, 15% of labels flipped to a confusable class; ``t``: 150
    clean evaluation digits; recipe ``lr`` registered from a YAML file."""
    train, test = truth.iloc[:300].copy(), truth.iloc[300:].copy()
    flip = np.random.default_rng(0).random(len(train)) < 0.15
    train.loc[flip, "label"] = train.loc[flip, "label"].map(CONFUSABLE)
    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset("d", train, label="label", id="item_id", tags=["ink"])
    ws.import_dataset("t", test, label="label", id="item_id", tags=["ink"])
    ws.recipes.add("lr", load_recipe(RECIPE))
    return ws


def test_one_turn_end_to_end(cli, ws: Workspace, truth: pd.DataFrame) -> None:
    w = ["-w", ws.location]
    code, out, _ = cli("loop", "d", "--recipe", "lr", "--eval", "t", "--json", *w)
    found = json.loads(out)
    assert code == 0 and found["experiment"]["id"] == "E1"
    assert found["audit"]["queued"]["label_issue"] == found["open_label_issues"] > 0
    assert any("assay review list d" in step for step in found["next"])
    code, out, _ = cli(
        "review", "list", "d", "--source", "label_issue", "--limit", "1000", "--json", *w
    )
    entries = json.loads(out)
    true_label = truth.set_index("item_id")["label"]
    rows = [
        {"id": e["id"], "decision": "relabel", "label": int(true_label[int(e["item_id"])])}
        if e["given_label"] != true_label[int(e["item_id"])]
        else {"id": e["id"], "decision": "keep", "label": None}
        for e in entries
    ]
    csv = Path(ws.location) / "decisions.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    assert cli("review", "decide", "--csv", str(csv), *w)[0] == 0
    assert cli("review", "apply", "d", *w)[0] == 0
    code, out, _ = cli("train", "d", "--recipe", "lr", "--eval", "t", "--json", *w)
    second = json.loads(out)
    assert code == 0 and second["id"] == "E2" and second["data"] == "d@v2"
    code, out, _ = cli("compare", "E1", "E2", "--json", *w)
    result = json.loads(out)
    relabeled = sum(r["decision"] == "relabel" for r in rows)
    assert code == 0 and result["diff"]["counts"]["relabeled"] == relabeled
    acc = result["comparison"]["metrics"]["accuracy"]
    assert acc["delta"] == pytest.approx(
        second["evaluation"]["overall"]["accuracy"]["value"]
        - found["experiment"]["evaluation"]["overall"]["accuracy"]["value"]
    )
    assert 0 <= result["comparison"]["p_value"] <= 1
    code, out, _ = cli("experiments", "d", "--json", *w)
    assert [e["id"] for e in json.loads(out)] == ["E1", "E2"]
    code, out, _ = cli("compare", "E1", "E2", *w)
    assert code == 0 and "relabeled" in out and "McNemar" in out
    code, out, _ = cli("loop", "d", "--recipe", "lr", "--eval", "t", "--json", *w)
    again = json.loads(out)  # E3 on d@v2: compared with the latest experiment on other data
    assert code == 0 and again["experiment"]["id"] == "E3"
    assert again["comparison"]["a"]["id"] == "E1" and again["comparison"]["b"]["id"] == "E3"
    assert again["comparison"]["diff"]["counts"]["relabeled"] == relabeled


def test_train_prints_metrics_with_intervals(cli, ws: Workspace) -> None:
    code, out, _ = cli("train", "d@v1", "--recipe", "lr", "--eval", "t", "-w", ws.location)
    assert code == 0 and "E1" in out and "accuracy" in out and "[" in out
    code, out, _ = cli("experiments", "d", "-w", ws.location)
    assert code == 0 and "E1" in out and "d@v1" in out


def test_augment_makes_a_version_train_refuses_it_as_eval(cli, ws: Workspace) -> None:
    w = ["-w", ws.location]
    code, out, _ = cli(
        "augment",
        "d@v1",
        "--slice",
        "ink == 'light'",
        "--factor",
        "1",
        "--seed",
        "2",
        "--json",
        *w,
    )
    version = json.loads(out)
    light = int((ws.dataset("d@v1").to_pandas()["ink"] == "light").sum())
    assert code == 0 and version["ref"] == "d@v2" and version["summary"]["added"] == light
    assert version["provenance"]["augment"]["seed"] == 2
    code, _, err = cli("train", "d@v1", "--recipe", "lr", "--eval", "d@v2", *w)
    assert code == 2 and "augmented rows never enter evaluation sets" in err
    assert ws.analyses("experiment") == []


def _nothing_written(ws: Workspace) -> None:
    assert ws.analyses("experiment") == []
    assert [v.ref for v in ws.log("d")] == ["d@v1"]


def test_bad_recipes_exit_2(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    good = tmp_path / "lr.yaml"
    good.write_text(RECIPE)
    assert cli("recipe", "add", "lr", str(good), *w)[0] == 0  # same spec: idempotent
    code, _, err = cli("recipe", "add", "r2", "no_such_pkg.models:make", *w)
    assert code == 2 and "no_such_pkg" in err
    code, _, err = cli("train", "d", "--recipe", "no_such_pkg.models:make", "--eval", "t", *w)
    assert code == 2 and "importing module 'no_such_pkg.models' failed" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text(RECIPE.replace("max_iter: 300", "max_iter: 300, colour: red")
                   .replace("name: lr", "name: r3"))
    code, _, err = cli("recipe", "add", "r3", str(bad), *w)
    assert code == 2 and "colour" in err
    code, _, err = cli("train", "d", "--recipe", "unregistered", "--eval", "t", *w)
    assert code == 2 and "no recipe named 'unregistered'" in err
    assert [r["name"] for r in ws.recipes.list()] == ["lr"]
    _nothing_written(ws)


def test_unseen_eval_classes_exit_2(cli, ws: Workspace) -> None:
    test = ws.dataset("t").to_pandas()
    ws.import_dataset(
        "t2",
        test.assign(label=np.where(test["label"] == 3, 42, test["label"])),
        label="label",
        id="item_id",
        tags=["ink"],
    )
    code, _, err = cli("train", "d", "--recipe", "lr", "--eval", "t2", "-w", ws.location)
    assert code == 2 and "never occur in training: 42" in err
    _nothing_written(ws)


def test_leakage_exit_2_lists_items(cli, ws: Workspace) -> None:
    w = ["-w", ws.location]
    code, _, err = cli("train", "d", "--recipe", "lr", "--eval", "d", *w)
    assert code == 2 and "evaluation rows also sit in the training data" in err
    test = ws.dataset("t").to_pandas()
    ws.import_dataset(
        "leaky",
        pd.concat([ws.dataset("d").to_pandas(), test.iloc[[4]]]),
        label="label",
        id="item_id",
        tags=["ink"],
    )
    code, _, err = cli("train", "leaky", "--recipe", "lr", "--eval", "t", *w)
    assert code == 2 and f": {test['item_id'].iloc[4]};" in err
    assert ws.analyses("experiment") == []


def test_bad_slice_predicate_exit_2(cli, ws: Workspace) -> None:
    w = ["-w", ws.location]
    code, _, err = cli("augment", "d@v1", "--slice", "ink === 'light'", *w)
    assert code == 2 and "is not valid" in err and "ink" in err
    code, _, err = cli("augment", "d@v1", "--slice", "shade == 'x'", *w)
    assert code == 2 and "'shade' is not defined" in err
    code, _, err = cli("augment", "d@v1", "--slice", "ink == 'light'", "--factor", "0", *w)
    assert code == 2 and "factor" in err
    _nothing_written(ws)


def test_review_bad_inputs_exit_2(cli, ws: Workspace) -> None:
    w = ["-w", ws.location]
    code, _, err = cli("review", "apply", "d", *w)
    assert code == 2 and "no decided review entries" in err
    csv = Path(ws.location) / "decisions.csv"
    pd.DataFrame([{"id": 999, "decision": "keep", "label": None}]).to_csv(csv, index=False)
    code, _, err = cli("review", "decide", "--csv", str(csv), *w)
    assert code == 2 and "no review entry #999" in err
    _nothing_written(ws)


def test_decisions_for_items_not_in_the_version_exit_2(cli, ws: Workspace) -> None:
    ws.review.add(
        "d",
        pd.DataFrame({"item_id": ["no-such-item"], "score": [0.1], "reason": "?"}),
        source="label_issue",
    )
    entry = int(ws.review.list("d")["id"].iloc[0])
    ws.review.decide(entry, "relabel", label=3)
    code, _, err = cli("review", "apply", "d", "-w", ws.location)
    assert code == 2 and "no-such-item" in err
    _nothing_written(ws)


def test_compare_and_loop_refusals_exit_2(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    assert cli("train", "d", "--recipe", "lr", "--eval", "t", *w)[0] == 0
    test = ws.dataset("t").to_pandas()
    ws.import_dataset("t3", test.iloc[:100], label="label", id="item_id", tags=["ink"])
    assert cli("train", "d", "--recipe", "lr", "--eval", "t3", *w)[0] == 0
    code, _, err = cli("compare", "E1", "E2", *w)
    assert code == 2 and "same frozen evaluation set" in err
    code, _, err = cli("compare", "E1", "E9", *w)
    assert code == 2 and "no experiment E9" in err
    code, _, err = cli("loop", "d@v1", "--recipe", "lr", "--eval", "t", *w)
    assert code == 2 and "latest version" in err
    assert len(ws.analyses("experiment")) == 2


def test_next_steps_turn_a_weak_slice_into_an_augment_command(ws: Workspace) -> None:
    from assay.cli.iterate import next_steps
    from assay.store.experiments import ExperimentStore
    from assay.workflows.loop import tag_predicate

    exp = ExperimentStore(ws).run("d", recipe="lr", eval_set="t")
    frame = ws.dataset("d").to_pandas()
    predicate = tag_predicate("ink=light", frame)
    assert predicate == "ink == 'light'" and tag_predicate("label=3", frame) == "label == 3"
    rec = {
        "slice": "ink=light",
        "action": "collect / augment",
        "evidence": "accuracy 0.8",
        "predicate": predicate,
    }
    steps = next_steps({"open_label_issues": 4, "recommendations": [rec]}, exp, ws)
    assert steps[0].startswith("review 4 suspected label errors")
    assert f'assay augment d@v1 --slice "{predicate}" --factor 1' in steps[1]
    assert "assay compare E1 E2" in steps[-1]
    assert "--eval t@v1 " in steps[-1]  # the exact evaluation version of the experiments
    # the suggested predicate is valid input for `assay augment`
    from assay.store.augmentation import slice_mask

    assert slice_mask(frame, predicate).sum() == (frame["ink"] == "light").sum()


def test_loop_hint_names_the_evaluation_version(cli, ws: Workspace) -> None:
    w = ["-w", ws.location]
    code, out, _ = cli("loop", "d", "--recipe", "lr", "--eval", "t", "--json", *w)
    hint = json.loads(out)["next"][-1]
    assert code == 0 and "assay train d --recipe lr --eval t@v1 " in hint
    code, out, _ = cli("loop", "d", "--recipe", "lr", "--eval", "t", *w)
    assert code == 0 and "--eval t@v1" in out
    # prose wrapped at 80 columns; a command stands whole on a line of its own
    assert all(len(line) <= 80 or line.startswith("      assay ") for line in out.splitlines())
    assert any(line.startswith("      assay train d --recipe lr") for line in out.splitlines())
    # one command per line, each naming the workspace, so that each can be pasted
    commands = [line.strip() for line in out.splitlines() if line.startswith("      assay ")]
    assert any(c.startswith("assay compare E") for c in commands), out
    assert all(" then " not in c and "; " not in c and c.endswith(ws.location) for c in commands)
    code, out, _ = cli("loop", "d", "--recipe", "lr", "--eval", "t", "--wide", *w)
    assert code == 0 and any(
        line.startswith("  - after the next version:") and "--eval t@v1 " in line
        for line in out.splitlines()
    )


def test_augment_refuses_a_frozen_evaluation_set(cli, ws: Workspace) -> None:
    w = ["-w", ws.location]
    assert cli("train", "d", "--recipe", "lr", "--eval", "t", *w)[0] == 0
    for ref in ("t", "t@v1"):
        code, out, err = cli("augment", ref, "--slice", "ink == 'light'", "--factor", "2", *w)
        assert code == 2 and out == ""
        assert "t is the frozen evaluation set of E1" in err and "assay augment TRAIN" in err
    assert [v.ref for v in ws.log("t")] == ["t@v1"]
    assert len(ws.analyses("experiment")) == 1


def test_errors_name_flags_not_python_parameters(cli, ws: Workspace) -> None:
    w = ["-w", ws.location]
    code, _, err = cli("augment", "d@v1", "--slice", "ink == 'light'", "--factor", "-1", *w)
    assert code == 2 and "--factor must be a number" in err and "parameter of" not in err
    for command in (["train", "d"], ["loop", "d"]):
        code, _, err = cli(*command, "--recipe", "lr", "--eval", "t", "--seed", "-1", *w)
        assert code == 2 and "--seed" in err
    code, _, err = cli("compare", "E1", "E1", "--seed", "-1", *w)
    assert code == 2 and "--seed" in err
    _nothing_written(ws)


def test_folders_with_the_same_file_names_train_with_a_note(cli, tmp_path: Path) -> None:
    """train/ and test/ folders that both hold 0/000.png ... (other images): not leakage."""
    from PIL import Image

    data = load_digits()
    for split, rows in (("train", range(0, 300)), ("test", range(300, 450))):
        counts: dict[int, int] = {}
        for i in rows:
            label = int(data.target[i])
            if label > 2:
                continue
            counts[label] = n = counts.get(label, 0) + 1
            folder = tmp_path / split / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            pixels = (data.images[i] * 255 / 16).astype("uint8")
            Image.fromarray(pixels).save(folder / f"{n:03d}.png")
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    assert cli("import", "digits", str(tmp_path / "train"), *w)[0] == 0
    assert cli("import", "digits-test", str(tmp_path / "test"), *w)[0] == 0
    (tmp_path / "lr.yaml").write_text(RECIPE)
    assert cli("recipe", "add", "lr", str(tmp_path / "lr.yaml"), *w)[0] == 0
    n_test = sum(1 for _ in (tmp_path / "test").rglob("*.png"))
    code, out, err = cli("train", "digits", "--recipe", "lr", "--eval", "digits-test", *w)
    assert code == 0, err
    assert f"note: {n_test} evaluation items of digits-test@v1 share an id" in out
    code, out, _ = cli("train", "digits", "--recipe", "lr", "--eval", "digits-test", "--json", *w)
    assert code == 0 and "different files" in json.loads(out)["notes"][0]
