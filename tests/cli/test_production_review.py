"""Decisions on production samples (Elec2) have their own apply (issue 17).

A reviewer keeps and removes production rows that ``assay monitor sample`` queued; the
dataset's own decisions still apply (with a line saying what was left aside), and
``assay review apply NAME --production`` adds the kept and relabeled rows as a version.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from assay.store.workspace import Workspace

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
RECIPE = (
    "featurizer: standard_scaler\nestimator: sklearn.linear_model.LogisticRegression\nseed: 0\n"
)


@pytest.fixture
def elec(tmp_path: Path, cli) -> tuple[Workspace, Path]:
    path = DATA / "drift" / "elec.csv"
    if not path.exists():
        pytest.skip(f"real data folder absent: {path}")
    frame = pd.read_csv(path)
    frame.insert(0, "id", range(len(frame)))
    frame.iloc[:1500].to_csv(tmp_path / "ref.csv", index=False)
    frame.iloc[30000:31000].drop(columns=["class"]).to_csv(tmp_path / "batch.csv", index=False)
    ws = Workspace.init(tmp_path / "ws")
    w = ["-w", ws.location]
    assert (
        cli("import", "elec", str(tmp_path / "ref.csv"), "--label", "class", "--id", "id", *w)[0]
        == 0
    )
    (tmp_path / "r.yaml").write_text(RECIPE)
    assert cli("recipe", "add", "lr", str(tmp_path / "r.yaml"), *w)[0] == 0
    assert cli("monitor", "add", "m", "--reference", "elec@v1", "--recipe", "lr", *w)[0] == 0
    cli("monitor", "ingest", "m", str(tmp_path / "batch.csv"), *w)
    return ws, tmp_path


def test_production_decisions_do_not_block_the_dataset(cli, elec) -> None:
    ws, _ = elec
    w = ["-w", ws.location]
    assert cli("monitor", "sample", "m", "--n", "6", *w)[0] == 0
    queued = ws.review.list("elec", source="drift_sample")
    ids = queued["id"].astype(int).tolist()
    for entry, flag in zip(
        ids, ["--keep", "--keep", "--remove", "--keep", "--remove"], strict=False
    ):
        assert cli("review", "decide", str(entry), flag, *w)[0] == 0
    assert cli("review", "decide", str(ids[5]), "--relabel", "0", *w)[0] == 0
    code, _, err = cli("review", "apply", "elec", *w)  # nothing of the dataset's own decided
    assert code == 2 and "assay review apply elec --production" in err
    ws.review.add(
        "elec",
        pd.DataFrame({"item_id": [7], "score": [0.1], "reason": "test", "given_label": [1]}),
        source="label_issue",
    )
    own = int(ws.review.list("elec", source="label_issue").iloc[0].id)
    assert cli("review", "decide", str(own), "--relabel", "0", *w)[0] == 0
    code, out, _ = cli("review", "apply", "elec", *w)
    assert code == 0 and out.startswith("elec@v2: review: 1 relabel")
    assert "Left aside 6 decision(s) on production items (3 keep, 1 relabel, 2 remove)" in out
    assert all(len(line) <= 80 for line in out.splitlines())
    code, out, _ = cli("review", "apply", "elec", "--production", "--json", *w)
    version = json.loads(out)
    assert code == 0 and version["ref"] == "elec@v3" and version["rows"] == 1504
    added = ws.dataset("elec").to_pandas().tail(4)
    batch = pd.read_csv(elec[1] / "batch.csv")
    kept = sorted(i for i in ids if ws.review.get(i)["decision"] != "remove")
    rows = [ws.review.get(i)["payload"]["row"] for i in kept]  # in entry order
    assert added["nswprice"].tolist() == pytest.approx([r["nswprice"] for r in rows])
    assert set(added["nswprice"]) <= set(batch["nswprice"])
    assert added["id"].tolist() == [1500, 1501, 1502, 1503]  # ids continue after the largest
    labels = dict(zip(added["nswprice"], added["class"], strict=True))
    relabeled = ws.review.get(ids[5])["payload"]["row"]["nswprice"]
    assert labels[relabeled] == 0
    for entry in (ws.review.get(i) for i in kept if i != ids[5]):  # kept: the model's label
        assert labels[entry["payload"]["row"]["nswprice"]] == int(entry["suggested_label"])
    assert ws.review.production_waiting("elec") == {}


def test_concept_alarms_name_the_batch_ids(cli, elec) -> None:
    """Alarm rows are the data's ids, not offsets in the error stream (issue 17)."""
    ws, tmp_path = elec
    w = ["-w", ws.location]
    frame = pd.read_csv(DATA / "drift" / "elec.csv")
    frame.insert(0, "id", range(len(frame)))
    batch = frame.iloc[1500:2300].copy()
    batch.loc[batch.index[300:], "class"] = 1 - batch["class"].iloc[300:]  # the concept flips
    batch.to_csv(tmp_path / "flipped.csv", index=False)
    code, out, err = cli("monitor", "ingest", "m", str(tmp_path / "flipped.csv"), "--json", *w)
    window = json.loads(out)
    named = window["performance"]["concept_alarm_rows"]
    # ids of this batch (the stream offsets would be 2,500 and up: 1,500 reference rows
    # and a 1,000-row window came first), one of them after the flip
    assert named and all(1500 <= int(i) < 2300 for i in named), named
    assert any(int(i) >= 1800 for i in named), named
    alert = next(a for a in window["alerts"] if a.startswith("concept drift"))
    assert alert.startswith(f"concept drift: Page-Hinkley alarm at id {named[0]}")
    code, out, err = cli("monitor", "status", "m", *w)
    assert code == 1 and f"id {named[0]}" in out + err
