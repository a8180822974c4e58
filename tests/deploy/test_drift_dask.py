"""Drift and monitor ingest on Dask DataFrames and Parquet folders (2-worker LocalCluster)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assay
from assay.cli.main import main
from assay.exceptions import InputError
from assay.store.workspace import Workspace

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

COLUMNS = ["type", "method", "p_value", "effect_size", "missing_cur", "n_cur", "drifted"]


@pytest.fixture(scope="module")
def cluster(dask_scheduler: str) -> str:
    """The module's 2-worker LocalCluster (tests/conftest.py)."""
    return dask_scheduler


def _frame(n: int, shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    x[rng.random(n) < 0.02] = np.nan
    p = [0.4, 0.3, 0.2, 0.1] if shift == 0 else [0.25] * 4
    return pd.DataFrame(
        {
            "x": x,
            "z": rng.integers(0, 100, n),
            "c": rng.choice(list("abcd"), n, p=p),
            "t": rng.choice(["hello world", "good bye", "foo bar"], n),
        }
    )


def test_dask_drift_equals_pandas_drift(cluster: str) -> None:
    reference = _frame(20_000, 0.0, seed=1)
    current = _frame(30_000, 0.3, seed=2)
    stored = assay.profile(reference)
    expected = assay.drift(stored, current)
    with distributed.Client(cluster):
        got = assay.drift(stored, dd.from_pandas(current, npartitions=6))
        from_frames = assay.drift(
            dd.from_pandas(reference, npartitions=3), dd.from_pandas(current, npartitions=6)
        )
    pd.testing.assert_frame_equal(got.columns[COLUMNS], expected.columns[COLUMNS])
    assert got.drifted and set(got.drifted_columns) == {"x", "c"}
    assert from_frames.columns.loc["c", "effect_size"] == pytest.approx(
        expected.columns.loc["c", "effect_size"]
    )


def test_dask_drift_samples_large_numeric_columns_and_keeps_counts_exact(
    cluster: str,
) -> None:
    reference = _frame(20_000, 0.0, seed=3)
    current = _frame(150_000, 0.0, seed=4)
    current.loc[:29_999, "x"] = np.nan  # 20% + 2% missing: missing-rate drift
    with distributed.Client(cluster):
        got = assay.drift(assay.profile(reference), dd.from_pandas(current, npartitions=5))
    row = got.columns.loc["x"]
    assert row["n_cur"] == 150_000
    assert row["missing_cur"] == pytest.approx(current["x"].isna().mean())
    assert bool(row["missing_drifted"]) and not bool(row["distribution_drifted"])
    assert not got.columns.loc["c", "drifted"]


def test_a_parquet_folder_is_a_table_batch(tmp_path: Path, cluster: str) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    current = _frame(9_000, 0.3, seed=5)
    for i in range(3):
        current.iloc[i * 3000 : (i + 1) * 3000].to_parquet(folder / f"part-{i}.parquet")
    with distributed.Client(cluster):
        got = assay.drift(assay.profile(_frame(9_000, 0.0, seed=6)), folder)
    assert got.columns["n_cur"].eq(9_000).all() and got.drifted
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no .parquet file"):
        assay.drift(assay.profile(current), tmp_path / "empty")


def test_monitor_ingest_takes_a_dask_frame_and_a_parquet_folder(
    tmp_path: Path, cluster: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = Workspace.init(tmp_path / "ws")
    reference = _frame(3_000, 0.0, seed=7).assign(y=lambda f: (f["x"].fillna(0) > 0).astype(int))
    ws.import_dataset("d", reference, label="y")
    ws.monitors.add("m", "d@v1")
    batch = _frame(2_000, 0.3, seed=8)
    with distributed.Client(cluster):
        window = ws.monitors.ingest("m", dd.from_pandas(batch, npartitions=4))
    assert window["window"] == 1 and window["drifted"]
    assert len(ws.monitors.window_frame("m", 1)) == 2_000
    folder = tmp_path / "batch"
    folder.mkdir()
    batch.iloc[:1000].to_parquet(folder / "a.parquet")
    batch.iloc[1000:].to_parquet(folder / "b.parquet")
    code = main(
        [
            "monitor",
            "ingest",
            "m",
            str(folder),
            "--dask-scheduler",
            cluster,
            "-w",
            str(tmp_path / "ws"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1 or code == 0, out
    assert "window 2 of m" in out
    assert len(ws.monitors.window_frame("m", 2)) == 2_000


def test_an_unreachable_scheduler_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_DASK_TIMEOUT", "1")  # nothing listens there: no need to wait 10
    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset("d", _frame(500, 0.0, seed=9).assign(y=1), label="y")
    ws.monitors.add("m", "d@v1")
    folder = tmp_path / "batch"
    folder.mkdir()
    _frame(300, 0.0, seed=10).to_parquet(folder / "a.parquet")
    code = main(
        [
            "monitor",
            "ingest",
            "m",
            str(folder),
            "--dask-scheduler",
            "tcp://127.0.0.1:9",
            "-w",
            str(tmp_path / "ws"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert "Traceback" not in err and ws.monitors.windows("m") == []


@pytest.mark.parametrize("value", ["soon", "0", "-3", "inf"])
def test_a_bad_dask_timeout_is_named(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from assay._dask import dask_cluster
    from assay.exceptions import InputError

    monkeypatch.setenv("ASSAY_DASK_TIMEOUT", value)
    message = f"ASSAY_DASK_TIMEOUT='{value}' is not a positive"
    with pytest.raises(InputError, match=message), dask_cluster("tcp://127.0.0.1:9"):
        pass


def test_a_hive_partitioned_folder_keeps_its_partition_column(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from assay._dask import read_parquet_folder

    current = _frame(6_000, 0.0, seed=9).assign(region=np.repeat(["north", "south"], 3_000))
    pq.write_to_dataset(pa.Table.from_pandas(current, preserve_index=False), tmp_path / "b",
                        partition_cols=["region"])
    frame = read_parquet_folder(tmp_path / "b")
    assert "region" in frame.columns
    counts = frame["region"].astype(str).value_counts().compute()
    assert counts.to_dict() == {"north": 3_000, "south": 3_000}
