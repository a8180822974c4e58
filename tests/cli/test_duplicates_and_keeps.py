"""Duplicates queued once per pair naming the partner; a keep holds; review list fits
80 columns (issue 17), on the UCI red wine table (240 exact duplicate rows)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from assay.store.workspace import Workspace

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture
def red(tmp_path: Path, cli) -> tuple[Workspace, pd.DataFrame]:
    path = DATA / "regression" / "wine-quality" / "winequality-red.csv"
    if not path.exists():
        pytest.skip(f"real data folder absent: {path}")
    frame = pd.read_csv(path, sep=";")
    frame.insert(0, "id", range(1000, 1000 + len(frame)))
    frame["quality"] = "q" + frame["quality"].astype(str)
    frame.to_csv(tmp_path / "red.csv", index=False)
    ws = Workspace.init(tmp_path / "ws")
    w = ["-w", ws.location]
    assert (
        cli("import", "red", str(tmp_path / "red.csv"), "--label", "quality", "--id", "id", *w)[0]
        == 0
    )
    code, out, err = cli(
        "audit",
        "red",
        "--checks",
        "exact_duplicate,near_duplicate",
        "--report",
        str(tmp_path / "a.html"),
        *w,
    )
    assert code == 0, err
    return ws, frame


def test_one_entry_per_duplicate_pair_naming_its_partner(red, tmp_path: Path) -> None:
    ws, frame = red
    queued = ws.review.list("red", limit=None)
    exact = queued[queued["source"] == "exact_duplicate"]
    features = frame.drop(columns=["id", "quality"])
    assert len(exact) == int(features.duplicated().sum()) == 240  # one per extra copy
    assert not queued.duplicated(["item_id"]).any()  # exact pairs not queued again as near
    rows = frame.set_index("id").drop(columns="quality")
    for entry in exact.itertuples():
        partner = int(entry.reason.removeprefix("exact duplicate of item "))
        assert partner < int(entry.item_id)
        assert rows.loc[partner].equals(rows.loc[int(entry.item_id)])
    near = queued[queued["source"] == "near_duplicate"]
    assert near["reason"].str.match(r"near duplicate of item \d+$").all()
    page = (tmp_path / "a.html").read_text()
    assert "<th>id</th>" in page and "<th>duplicate of</th>" in page
    assert f"<td>{exact.iloc[0].item_id}</td>" in page  # rows by id, not position


def test_a_kept_item_is_not_queued_again_until_its_label_changes(cli, red, tmp_path: Path) -> None:
    ws, _ = red
    w = ["-w", ws.location]
    queued = ws.review.list("red", source="exact_duplicate", limit=None)
    kept, relabeled = queued.iloc[:5], queued.iloc[5]
    for entry in kept["id"]:
        assert cli("review", "decide", str(entry), "--keep", *w)[0] == 0
    assert cli("review", "decide", str(relabeled.id), "--relabel", "q8", *w)[0] == 0
    assert cli("review", "apply", "red", *w)[0] == 0  # red@v2: same labels for the kept
    ws.review.add(
        "red",
        pd.DataFrame(
            {
                "item_id": [kept.iloc[0].item_id],
                "score": [0.0],
                "reason": "x",
                "given_label": ["q9"],
            }
        ),
        source="exact_duplicate",
    )  # a new label: a keep no longer holds
    report = ["--report", str(tmp_path / "b.html")]
    assert cli("audit", "red", "--checks", "exact_duplicate", *report, *w)[0] == 0
    again = ws.review.list("red", source="exact_duplicate", limit=None)
    assert set(kept["item_id"][1:]).isdisjoint(again["item_id"])  # the keeps hold
    assert kept.iloc[0].item_id in set(again["item_id"])
    assert relabeled.item_id in set(again["item_id"])  # relabeled, not kept: queued again


def test_review_list_fits_80_columns_ids_first(cli, red) -> None:
    ws, _ = red
    w = ["-w", ws.location]
    code, out, _ = cli("review", "list", "red", "--limit", "5", *w)
    lines = out.splitlines()
    assert code == 0 and all(len(line) <= 80 for line in lines), out
    assert lines[1].split()[:2] == ["#", "item"]
    assert "exact duplicate of item 1000" in out and "fixed acidity=7.4" in out
    code, out, _ = cli("review", "list", "red", "--limit", "5", "--wide", *w)
    assert "alcohol=9.4" in out and "exact_duplicate" in out and "…" not in out


def test_auditing_again_says_nothing_new_was_queued(cli, red, tmp_path: Path) -> None:
    ws, _ = red
    w = ["-w", ws.location, "--report", str(tmp_path / "again.html")]
    before = len(ws.review.list("red", limit=None))
    code, out, err = cli("audit", "red", "--checks", "exact_duplicate,near_duplicate", *w)
    assert code == 0, err
    assert "Queued 0" not in out and "No new items queued for review" in out
    assert len(ws.review.list("red", limit=None)) == before


def test_regression_duplicates_show_the_given_number_alone(cli, tmp_path: Path) -> None:
    # a duplicate suggests no label: the entry reads '5', not '5.0 -> nan'
    path = DATA / "regression" / "wine-quality" / "winequality-red.csv"
    if not path.exists():
        pytest.skip(f"real data folder absent: {path}")
    frame = pd.read_csv(path, sep=";").head(300)
    frame.insert(0, "id", range(len(frame)))
    frame.to_csv(tmp_path / "red.csv", index=False)
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    args = ("--label", "quality", "--id", "id", "--task", "regression", *w)
    assert cli("import", "red", str(tmp_path / "red.csv"), *args)[0] == 0
    report = ["--report", str(tmp_path / "a.html")]
    code, _, err = cli("audit", "red", "--checks", "exact_duplicate", *report, *w)
    assert code == 0, err
    code, out, _ = cli("review", "list", "red", *w)
    entries = [line for line in out.splitlines() if "exact duplicate of item" in line]
    assert code == 0 and entries, out
    assert all(line.split()[2].isdigit() and "nan" not in line for line in entries), out
