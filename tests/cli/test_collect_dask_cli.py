"""``assay agree`` / ``assay consensus`` on a folder of Parquet annotations, on a real
2-worker Dask LocalCluster (``--dask-scheduler``): the same numbers as the in-memory
path on the HITspam (CrowdFlower) crowd labels, and one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import assay

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask.dataframe")

pytestmark = pytest.mark.filterwarnings("ignore:.*single (label|annotation):UserWarning")

@pytest.fixture(scope="module")
def cluster(dask_scheduler: str) -> str:
    """The module's 2-worker LocalCluster (tests/conftest.py)."""
    return dask_scheduler


@pytest.fixture(scope="module")
def hitspam(shared_data: Path) -> pd.DataFrame:
    """The 42,761 CrowdFlower labels (worker, item, label) as crowd-kit's long table."""
    path = shared_data / "crowd" / "HITspam-UsingCrowdflower" / "labels.txt"
    frame = pd.read_csv(path, sep="\t", header=None, names=["worker", "task", "label"])
    return frame.astype({"worker": str, "task": str, "label": str})


def _folder(frame: pd.DataFrame, folder: Path, parts: int = 4) -> Path:
    """``frame`` as ``parts`` Parquet files (rows in file order, items split across)."""
    folder.mkdir()
    size = -(-len(frame) // parts)
    for k in range(parts):
        frame.iloc[k * size : (k + 1) * size].to_parquet(folder / f"part-{k}.parquet")
    return folder


def test_agree_on_a_parquet_folder_equals_memory(
    cli, cluster: str, hitspam: pd.DataFrame, tmp_path: Path
) -> None:
    folder = _folder(hitspam, tmp_path / "labels")
    report = tmp_path / "agreement.html"
    code, out, err = cli(
        "agree", str(folder), "--dask-scheduler", cluster, "--report", str(report), "--json"
    )
    assert code == 0, err
    got = json.loads(out)
    want = assay.agreement(
        hitspam.rename(columns={"task": "item", "worker": "annotator"}), ci=False
    ).to_dict()
    for key in ("n_items", "n_annotations", "n_annotators"):
        assert got[key] == want[key]
    for key in ("percent_agreement", "fleiss_kappa", "krippendorff_alpha", "mean_cohen_kappa"):
        assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-12), key
    assert set(got["ci"]) == {"percent_agreement", "fleiss_kappa", "krippendorff_alpha",
                              "cohen_kappa"}
    for key, (low, high) in got["ci"].items():
        estimate = got["mean_cohen_kappa" if key == "cohen_kappa" else key]
        assert low <= estimate <= high, key
    assert report.stat().st_size > 0
    code, out, err = cli("agree", str(folder), "--dask-scheduler", cluster, "--report",
                         str(report))  # fmt: skip
    assert code == 0 and "Krippendorff" in out, err
    assert all(len(line) <= 80 for line in out.splitlines() if not line.startswith("Report"))


def test_consensus_on_a_parquet_folder_equals_memory(
    cli, cluster: str, hitspam: pd.DataFrame, tmp_path: Path
) -> None:
    folder = _folder(hitspam, tmp_path / "labels")
    out_file = tmp_path / "consensus.parquet"
    code, out, err = cli("consensus", str(folder), "--dask-scheduler", cluster,
                         "--out", str(out_file))  # fmt: skip
    assert code == 0 and f"written to {out_file}" in " ".join(out.split()), err
    got = pd.read_parquet(out_file).set_index("item")
    want = assay.consensus(
        hitspam.rename(columns={"task": "item", "worker": "annotator"}), method="dawid_skene"
    ).labels
    assert len(got) == len(want) == hitspam["task"].nunique()
    got = got.loc[want.index.astype(str)]
    assert (got["label"].astype(str).to_numpy() == want["label"].astype(str).to_numpy()).all()
    pd.testing.assert_series_equal(
        got["quality"], want["quality"].set_axis(got.index), check_exact=False, rtol=1e-9
    )


def test_folder_refusals(
    cli, cluster: str, hitspam: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_DASK_TIMEOUT", "1")  # for the scheduler nothing listens at
    folder = _folder(hitspam.head(2000), tmp_path / "labels")
    single = tmp_path / "labels.csv"
    hitspam.head(2000).to_csv(single, index=False)
    wrong = _folder(hitspam.head(100).rename(columns={"label": "answer"}), tmp_path / "wrong")
    expected = [
        (("agree", str(single), "--dask-scheduler", cluster), "is not a folder"),
        (("consensus", str(folder), "--commit"), "--commit writes a dataset version"),
        (("agree", str(folder), "--label-sep", "|"), "--label-sep reads one annotation file"),
        (("consensus", str(folder), "--columns", "a,b,c"), "--columns reads one annotation"),
        (("agree", str(wrong)), "no column 'label'"),
        (("consensus", str(folder), "--out", str(tmp_path / "x.txt")), "a .csv or .parquet"),
        (("agree", str(folder), "--dask-scheduler", "tcp://127.0.0.1:9"), "cannot reach"),
    ]
    for args, message in expected:
        code, out, err = cli(*args)
        assert code == 2 and message in err and "Traceback" not in err, (args, err)
        assert err.count("\n") <= 3, err
    assert not (tmp_path / "x.txt").exists()
