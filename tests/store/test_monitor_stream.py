"""A monitor window from a Parquet folder or a Dask DataFrame is checked and stored
chunk by chunk, and reports what the same batch ingested whole reports; on SQLite and
PostgreSQL.

Real data: the electricity drift set (/work/shared/data/drift/elec.csv; a reference
from its first months, a production batch from its last, whose prices drifted, and
whose last third gets flipped labels as a concept change) with a logistic regression, and the bike-sharing hours
(/work/shared/data/regression/bike-sharing/hour.csv) with a ridge regression, whose
direct loss estimation reads the features of every row. The anchor is the same batch
ingested as one pandas DataFrame by a second monitor on the same reference.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.store.test_streamed_import import write_folder

from assay.exceptions import InputError
from assay.store.workspace import Workspace
from assay.train.recipe import Recipe

ELEC = Path("/work/shared/data/drift/elec.csv")
BIKE = Path("/work/shared/data/regression/bike-sharing/hour.csv")
YEAST = Path("/work/shared/data/multilabel/yeast/yeast.csv")
PART_ROWS = 1_500
LOGISTIC = "featurizer: standard_scaler\nestimator: sklearn.linear_model.LogisticRegression\n" \
    "seed: 0\n"
FOREST = "estimator: sklearn.ensemble.RandomForestClassifier\nparams: {n_estimators: 10}\n" \
    "seed: 0\n"
RIDGE = "featurizer: standard_scaler\nestimator: sklearn.linear_model.Ridge\nseed: 0\n"

pytestmark = pytest.mark.skipif(
    not (ELEC.exists() and BIKE.exists() and YEAST.exists()), reason="the shared data is not on this machine"
)


@pytest.fixture(autouse=True)
def _small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_PART_ROWS", str(PART_ROWS))


@pytest.fixture(scope="module")
def elec() -> pd.DataFrame:
    frame = pd.read_csv(ELEC)
    return frame.assign(uid=[f"e{i:05d}" for i in range(len(frame))])


def _pair(ws: Workspace, reference: str, recipe: str) -> None:
    """Two monitors on one reference: ``whole`` (the anchor) and ``streamed``."""
    for name in ("whole", "streamed"):
        ws.monitors.add(name, reference, recipe=recipe)


def _same_report(whole: dict[str, Any], streamed: dict[str, Any]) -> None:
    for key in ("drifted", "rule", "schema", "alerts", "performance", "detector"):
        assert streamed[key] == whole[key], key
    by_column = {c["column"]: c for c in whole["columns"]}
    for column in streamed["columns"]:
        anchor = by_column[column["column"]]
        for key in ("drifted", "n_cur", "missing_cur"):
            assert column[key] == anchor[key], (column["column"], key)
        assert column["p_value"] == pytest.approx(anchor["p_value"], rel=1e-9, abs=1e-300)
        assert column["effect_size"] == pytest.approx(anchor["effect_size"], rel=1e-9)


def test_a_folder_is_checked_in_chunks_as_the_whole_batch_is(
    workspace: Workspace, elec: pd.DataFrame, tmp_path: Path
) -> None:
    workspace.import_dataset("elec", elec.iloc[:8_000], label="class", id="uid")
    workspace.recipes.add("lr", Recipe.from_yaml(LOGISTIC))
    _pair(workspace, "elec@v1", "lr")
    batch = elec.iloc[-6_000:].reset_index(drop=True)
    batch.loc[4_000:, "class"] = 1 - batch.loc[4_000:, "class"]  # a concept change
    folder = write_folder(batch, tmp_path / "batch", files=3)
    whole = workspace.monitors.ingest("whole", batch)
    streamed = workspace.monitors.ingest("streamed", folder, source=str(folder))
    assert streamed["source"] == str(folder)
    _same_report(whole, streamed)
    perf = streamed["performance"]
    assert streamed["drifted"] and perf["realised"]["accuracy"] < perf["reference_accuracy"]
    alarms = perf["concept_alarm_rows"]
    assert set(alarms) <= set(batch["uid"]), alarms  # named by the batch's ids
    assert max(alarms) >= batch["uid"].iloc[4_000], "the concept change raised no alarm"
    window = workspace.monitors.windows("streamed")[-1]
    assert window["rows"] == 6_000
    assert len(workspace.objects.parts(window["object"]) or []) >= 4
    pd.testing.assert_frame_equal(
        workspace.monitors.window_frame("streamed"), workspace.monitors.window_frame("whole")
    )
    # the next window continues the detector where the streamed one left it
    again = elec.iloc[-12_000:-6_000].reset_index(drop=True)
    _same_report(
        workspace.monitors.ingest("whole", again),
        workspace.monitors.ingest("streamed", write_folder(again, tmp_path / "again", 3)),
    )


def test_a_regression_window_in_chunks_estimates_its_loss_as_a_whole_one(
    workspace: Workspace, tmp_path: Path
) -> None:
    hours = pd.read_csv(BIKE).drop(columns=["dteday", "casual", "registered"])
    reference = hours[hours["yr"] == 0].iloc[:2_000]
    workspace.import_dataset("bike", reference, label="cnt", id="instant", task="regression")
    workspace.recipes.add("ridge", Recipe.from_yaml(RIDGE))
    # one monitor, two windows (a regression watch has no detector state to carry):
    # fitting the loss estimator once halves the test's time
    workspace.monitors.add("m", "bike@v1", recipe="ridge")
    batch = hours[hours["yr"] == 1].iloc[:2_500].reset_index(drop=True)
    whole = workspace.monitors.ingest("m", batch)
    streamed = workspace.monitors.ingest("m", write_folder(batch, tmp_path / "batch", 3))
    assert whole["detector"] is None and streamed["window"] == 2
    _same_report(whole, streamed)
    estimated = streamed["performance"]["estimated"]
    assert estimated["n"] == 2_500 and estimated["estimated_mae"] > 0


def test_a_multilabel_window_in_chunks_reports_as_a_whole_one(
    workspace: Workspace, tmp_path: Path
) -> None:
    yeast = pd.read_csv(YEAST)
    labels = [f"Class{i}" for i in range(1, 15)]
    workspace.import_dataset("yeast", yeast.iloc[:800], label=labels)
    workspace.recipes.add("forest", Recipe.from_yaml(FOREST))
    _pair(workspace, "yeast@v1", "forest")
    combined = workspace.import_dataset("later", yeast.iloc[800:], label=labels)
    batch = combined.to_pandas().drop(columns="item_id")
    whole = workspace.monitors.ingest("whole", batch)
    streamed = workspace.monitors.ingest("streamed", write_folder(batch, tmp_path / "b", 3))
    _same_report(whole, streamed)
    assert streamed["performance"]["realised"]["micro_f1"] > 0.3


def test_a_bad_value_in_a_later_file_is_named_and_nothing_is_stored(
    workspace: Workspace, elec: pd.DataFrame, tmp_path: Path
) -> None:
    workspace.import_dataset("elec", elec.iloc[:4_000], label="class", id="uid")
    workspace.recipes.add("lr", Recipe.from_yaml(LOGISTIC))
    workspace.monitors.add("m", "elec@v1", recipe="lr")
    batch = elec.iloc[-4_500:].reset_index(drop=True)
    batch.loc[3_700, "vicprice"] = np.inf  # third file, its 700th row
    folder = write_folder(batch, tmp_path / "batch", files=3)
    with pytest.raises(InputError) as caught:
        workspace.monitors.ingest("m", folder)
    message = str(caught.value)
    assert str(folder / "part-02.parquet") in message
    assert "'vicprice'" in message and "row 701" in message
    assert workspace.monitors.windows("m") == []
    workspace.gc(grace_s=0)  # the parts written before the error are orphans
    (folder / "part-02.parquet").unlink()
    assert workspace.monitors.ingest("m", folder)["window"] == 1


def test_the_window_parts_survive_gc(
    workspace: Workspace, elec: pd.DataFrame, tmp_path: Path
) -> None:
    workspace.import_dataset("elec", elec.iloc[:4_000], label="class", id="uid")
    workspace.monitors.add("m", "elec@v1")
    workspace.monitors.ingest("m", write_folder(elec.iloc[-5_000:], tmp_path / "batch", 3))
    workspace.gc(grace_s=0)
    frame = workspace.monitors.window_frame("m")
    assert len(frame) == 5_000 and frame["uid"].iloc[-1] == elec["uid"].iloc[-1]


def test_a_dask_frame_is_ingested_partition_by_partition(
    workspace: Workspace, elec: pd.DataFrame
) -> None:
    dd = pytest.importorskip("dask.dataframe")
    workspace.import_dataset("elec", elec.iloc[:8_000], label="class", id="uid")
    workspace.recipes.add("lr", Recipe.from_yaml(LOGISTIC))
    _pair(workspace, "elec@v1", "lr")
    batch = elec.iloc[-5_000:].reset_index(drop=True)
    whole = workspace.monitors.ingest("whole", batch)
    streamed = workspace.monitors.ingest("streamed", dd.from_pandas(batch, npartitions=4))
    _same_report(whole, streamed)
    assert len(workspace.monitors.window_frame("streamed")) == 5_000


def test_the_cli_ingests_a_folder_in_chunks_and_names_a_bad_row(
    workspace: Workspace,
    elec: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from assay.cli.main import main

    workspace.import_dataset("elec", elec.iloc[:4_000], label="class", id="uid")
    workspace.monitors.add("m", "elec@v1")
    batch = elec.iloc[-4_000:].reset_index(drop=True)
    good = write_folder(batch, tmp_path / "good", files=3)
    assert main(["monitor", "ingest", "m", str(good), "-w", str(workspace.location)]) in (0, 1)
    assert "window 1 of m" in capsys.readouterr().out
    assert len(workspace.objects.parts(workspace.monitors.windows("m")[0]["object"]) or []) > 1
    bad = write_folder(batch, tmp_path / "bad", files=3)
    third = pd.read_parquet(bad / "part-02.parquet")  # its prices as text, one "n/a"
    third["nswprice"] = third["nswprice"].astype(str).where(third.index != 100, "n/a")
    third.to_parquet(bad / "part-02.parquet", index=False)
    code = main(["monitor", "ingest", "m", str(bad), "-w", str(workspace.location)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "part-02.parquet" in err and "'nswprice'" in err, err
    assert len(workspace.monitors.windows("m")) == 1


def test_a_large_window_is_sampled_in_two_phases(
    workspace: Workspace, elec: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_SAMPLE_ROWS rows, the labeling sample is drawn from a uniform subsample
    read part by part; its inclusion probabilities carry the first phase's share."""
    monitors = importlib.import_module("assay.store.monitors")
    workspace.import_dataset("elec", elec.iloc[:4_000], label="class", id="uid")
    workspace.recipes.add("lr", Recipe.from_yaml(LOGISTIC))
    workspace.monitors.add("m", "elec@v1", recipe="lr")
    batch = elec.iloc[-6_000:].reset_index(drop=True)
    workspace.monitors.ingest("m", write_folder(batch, tmp_path / "batch", 3))
    window = workspace.monitors.window_frame("m")
    monkeypatch.setattr(monitors, "MAX_SAMPLE_ROWS", 1_000)
    picked = workspace.monitors.sample("m", n=40, seed=3)
    assert len(picked) == 40
    positions = [int(i.rsplit(":", 1)[1]) for i in picked["item_id"]]
    assert max(positions) >= 3_000  # rows of every part, not only the first
    for position, payload in zip(positions, picked["payload"], strict=True):
        assert payload["row"]["nswprice"] == window.loc[position, "nswprice"]
        assert 0 < payload["inclusion_probability"] <= 1_000 / 6_000
    # the 8 random picks (20%): 8 of the 1,000 rows, which are 1,000 of the 6,000, so
    # each row of the window had 8 / 6,000, as when the whole window is sampled
    randoms = [p["inclusion_probability"] for p in picked["payload"] if p["random"]]
    assert len(randoms) == 8 and randoms == pytest.approx([8 / 6_000] * 8)
    monkeypatch.setattr(monitors, "MAX_SAMPLE_ROWS", 200_000)  # the whole window
    whole = workspace.monitors.sample("m", n=40, seed=3)
    assert [p["inclusion_probability"] for p in whole["payload"] if p["random"]] == \
        pytest.approx([8 / 6_000] * 8)
