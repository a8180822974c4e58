"""`assay monitor` on a regression dataset (UCI wine quality, windows by alcohol) and a
multi-label one (MULAN yeast): drift of features and predictions, estimated
performance without labels (direct loss estimation; per-label CBPE), realised
performance when labels come, alerts; no accuracy anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.metrics import f1_score, mean_absolute_error

from assay.store.workspace import Workspace
from assay.train.recipe import load_recipe

RIDGE = "name: ridge\nestimator: sklearn.linear_model.Ridge\nparams: {alpha: 1.0}\nseed: 0\n"
FOREST = ("name: forest\nestimator: sklearn.ensemble.RandomForestClassifier\n"
          "params: {n_estimators: 30, min_samples_leaf: 5}\nseed: 0\n")
LABELS = [f"Class{i}" for i in range(1, 15)]


def _short(text: str) -> bool:
    return all(len(line) <= 80 for line in text.splitlines())


@pytest.fixture
def wine(shared_data: Path, tmp_path: Path) -> dict[str, object]:
    frame = pd.read_csv(shared_data / "regression" / "wine-quality" / "winequality-white.csv",
                        sep=";")
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame = frame.sort_values("alcohol", kind="stable", ignore_index=True)
    frame.insert(0, "item_id", np.arange(len(frame)))
    half = len(frame) // 2
    paths = {"ref": tmp_path / "ref.csv", "same": tmp_path / "same.csv",
             "high": tmp_path / "high.csv"}
    frame.iloc[:half].to_csv(paths["ref"], index=False)
    rng = np.random.default_rng(0)
    same = frame.iloc[rng.choice(half, 500, replace=False)].drop(columns="quality")
    same.to_csv(paths["same"], index=False)
    frame.iloc[-600:].to_csv(paths["high"], index=False)  # the most alcoholic, labelled
    return {"frame": frame, "half": half, **paths}


def _monitor(cli, ws: Workspace, name: str, batch: Path) -> dict:  # type: ignore[no-untyped-def]
    code, out, err = cli("monitor", "ingest", name, str(batch), "--json", "-w", ws.location)
    assert code == 0, err
    return json.loads(out)


def _wine_monitor(cli, tmp_path: Path, wine: dict) -> tuple[Workspace, str]:  # type: ignore[no-untyped-def]
    """A workspace with the reference half imported and monitor ``m`` (Ridge) on it;
    returns it and the output of ``monitor add``."""
    ws = Workspace.init(tmp_path / "ws")
    w = ["-w", ws.location]
    code, _, err = cli("import", "wine", str(wine["ref"]), "--label", "quality", "--id",
                       "item_id", "--task", "regression", *w)
    assert code == 0, err
    ws.recipes.add("ridge", load_recipe(RIDGE))
    code, out, err = cli("monitor", "add", "m", "--reference", "wine", "--recipe", "ridge", *w)
    assert code == 0, err
    return ws, out


def test_monitor_a_regression_model(cli, tmp_path: Path, wine: dict) -> None:  # type: ignore[no-untyped-def]
    ws, out = _wine_monitor(cli, tmp_path, wine)
    w = ["-w", ws.location]
    assert "reference mae (out of sample)" in out and "accuracy" not in out

    calm = _monitor(cli, ws, "m", wine["same"])
    assert "realised" not in calm["performance"]
    est = calm["performance"]["estimated"]
    assert est["estimated_mae_low"] <= calm["performance"]["reference_mae"] <= est[
        "estimated_mae_high"] + 0.02
    assert not any("MAE" in a for a in calm["alerts"]), calm["alerts"]
    columns = {c["column"]: c for c in calm["columns"]}
    assert columns["prediction"]["type"] == "numeric" and columns["prediction"][
        "role"] == "prediction"

    shifted = _monitor(cli, ws, "m", wine["high"])
    frame, features = wine["frame"], [c for c in wine["frame"].columns
                                      if c not in ("item_id", "quality")]
    ref = frame.iloc[: wine["half"]]
    model = Ridge(alpha=1.0).fit(ref[features], ref["quality"])
    high = frame.iloc[-600:]
    realised = shifted["performance"]["realised"]
    assert realised["mae"] == pytest.approx(
        mean_absolute_error(high["quality"], model.predict(high[features])), rel=1e-9)
    assert realised["mae_low"] <= realised["mae"] <= realised["mae_high"]
    assert any(a.startswith("data drift") for a in shifted["alerts"])
    assert "alcohol" in {c["column"] for c in shifted["columns"] if c["drifted"]}

    code, out, _ = cli("monitor", "ingest", "m", str(wine["high"]), *w)
    assert "estimated mae" in out and "realised mae" in out and "accuracy" not in out
    mine = [line for line in out.splitlines()
            if line.startswith(("estimated", "realised", "ALERT estimated", "ALERT realised"))]
    assert len(mine) >= 4 and _short("\n".join(mine)), mine
    code, out, _ = cli("monitor", "status", "m", *w)
    assert code == 1  # the drift alert is active


def test_regression_labels_that_move_given_the_inputs_are_concept_drift(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, wine: dict
) -> None:
    ws, _ = _wine_monitor(cli, tmp_path, wine)
    frame = wine["frame"]
    rows = frame.iloc[: wine["half"]].sample(500, random_state=1)  # inputs as in the reference
    rows.to_csv(tmp_path / "labelled.csv", index=False)
    rows.assign(quality=rows["quality"] + 1).to_csv(tmp_path / "moved.csv", index=False)
    same = _monitor(cli, ws, "m", tmp_path / "labelled.csv")
    assert not any(a.startswith("concept drift") for a in same["alerts"]), same["alerts"]
    moved = _monitor(cli, ws, "m", tmp_path / "moved.csv")
    est, real = moved["performance"]["estimated"], moved["performance"]["realised"]
    assert real["mae_low"] > est["estimated_mae_high"]
    drift = [a for a in moved["alerts"] if a.startswith("concept drift")]
    assert len(drift) == 1 and f"{real['mae']:.4g}" in drift[0], moved["alerts"]


@pytest.fixture
def yeast(shared_data: Path, tmp_path: Path) -> dict[str, object]:
    folder = shared_data / "multilabel" / "yeast"
    frame = pd.read_csv(folder / "yeast.csv").copy()
    split = pd.read_csv(folder / "yeast-mulan-split.csv")
    frame.insert(0, "item_id", np.arange(len(frame)))
    train = (split.iloc[:, -1].astype(str).str.lower() == "train").to_numpy()
    frame = frame.copy()
    ref, test = frame[train], frame[~train].copy()
    paths = {"ref": tmp_path / "ref.csv", "unlabelled": tmp_path / "u.csv",
             "labelled": tmp_path / "l.csv", "other": tmp_path / "o.csv"}
    ref.to_csv(paths["ref"], index=False)
    features = [c for c in frame.columns if c.startswith("Att")]
    test[["item_id", *features]].to_csv(paths["unlabelled"], index=False)
    sets = [json.dumps([n for n in LABELS if row[n] == 1]) for _, row in test.iterrows()]
    test[["item_id", *features]].assign(labels=sets).to_csv(paths["labelled"], index=False)
    # a batch of one kind of gene: rows where Class1 is on (a shifted mix)
    test[test["Class1"] == 1][["item_id", *features]].to_csv(paths["other"], index=False)
    return {"frame": frame, "train": train, "test": test, "features": features, **paths}


def test_monitor_a_multilabel_model(cli, tmp_path: Path, yeast: dict) -> None:  # type: ignore[no-untyped-def]
    ws = Workspace.init(tmp_path / "ws")
    w = ["-w", ws.location]
    code, _, err = cli("import", "y", str(yeast["ref"]), "--label", ",".join(LABELS),
                       "--id", "item_id", *w)
    assert code == 0, err
    ws.recipes.add("forest", load_recipe(FOREST))
    code, out, err = cli("monitor", "add", "m", "--reference", "y", "--recipe", "forest", *w)
    assert code == 0, err
    assert "reference micro_f1 (out of sample)" in out

    calm = _monitor(cli, ws, "m", yeast["unlabelled"])
    perf = calm["performance"]
    assert {"estimated_micro_f1", "estimated_macro_f1", "estimated_hamming_loss"} <= set(
        perf["estimated"])
    assert not perf["prediction_drift"]["drifted"], perf["prediction_drift"]

    labelled = _monitor(cli, ws, "m", yeast["labelled"])
    realised = labelled["performance"]["realised"]
    est = labelled["performance"]["estimated"]
    assert abs(est["estimated_micro_f1"] - realised["micro_f1"]) < 0.05, (est, realised)
    window = ws.monitors.window_frame("m")
    truth = [json.loads(t) for t in window["labels"]]
    pred = [json.loads(p) for p in window["prediction"]]
    from sklearn.preprocessing import MultiLabelBinarizer

    binar = MultiLabelBinarizer(classes=LABELS).fit([LABELS])
    assert realised["micro_f1"] == pytest.approx(
        f1_score(binar.transform(truth), binar.transform(pred), average="micro"), rel=1e-9)

    shifted = _monitor(cli, ws, "m", yeast["other"])
    assert shifted["performance"]["prediction_drift"]["drifted"]
    assert any(a.startswith("prediction drift: predicted label sets changed")
               for a in shifted["alerts"])
    code, out, _ = cli("monitor", "ingest", "m", str(yeast["labelled"]), *w)
    assert "estimated micro_f1" in out and "realised micro_f1" in out
    assert "accuracy" not in out


def test_label_sets_may_come_as_the_0_1_columns_they_were_imported_from(
    cli, tmp_path: Path, yeast: dict  # type: ignore[type-arg]
) -> None:
    """A yeast batch with Class1..Class14 as 0/1 columns, like the imported file: the
    monitor combines them into label sets and gives the realised metrics, the same as
    for the batch with a list column; a 2 among them is named by line and column."""
    ws = Workspace.init(tmp_path / "ws")
    w = ["-w", ws.location]
    assert cli("import", "y", str(yeast["ref"]), "--label", ",".join(LABELS),
               "--id", "item_id", *w)[0] == 0
    ws.recipes.add("forest", load_recipe(FOREST))
    assert cli("monitor", "add", "m", "--reference", "y", "--recipe", "forest", *w)[0] == 0
    test = yeast["test"]
    wide = tmp_path / "wide.csv"
    test[["item_id", *yeast["features"], *LABELS]].to_csv(wide, index=False)
    as_columns = _monitor(cli, ws, "m", wide)
    as_lists = _monitor(cli, ws, "m", yeast["labelled"])
    assert as_columns["performance"]["realised"] == as_lists["performance"]["realised"]
    assert not set(LABELS) & set(as_columns["schema"]["new"])
    bad = test[["item_id", *yeast["features"], *LABELS]].copy()
    bad.loc[bad.index[4], "Class3"] = 2
    bad.to_csv(tmp_path / "bad.csv", index=False)
    code, _, err = cli("monitor", "ingest", "m", str(tmp_path / "bad.csv"), *w)
    assert code == 2 and "'Class3' holds 2" in err and "line 6" in err, err
    assert len(ws.monitors.windows("m")) == 2  # nothing stored for the refused batch
