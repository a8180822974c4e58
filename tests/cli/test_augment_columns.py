"""`assay augment` on a text CSV uses the text transforms, and --columns names what to
augment (issue 17: it said "name them in columns=" with no such option), on UCI
sentences and Elec2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from assay.store.workspace import Workspace

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture
def amazon(tmp_path: Path, cli) -> Workspace:
    path = DATA / "text" / "amazon_cells_labelled.txt"
    if not path.exists():
        pytest.skip(f"real data folder absent: {path}")
    lines = [line.rsplit("\t", 1) for line in path.read_text().splitlines()[:200]]
    frame = pd.DataFrame(lines, columns=["text", "label"]).assign(site="amazon")
    frame.to_csv(tmp_path / "a.csv", index=False)
    ws = Workspace.init(tmp_path / "ws")
    assert (
        cli("import", "a", str(tmp_path / "a.csv"), "--label", "label", "-w", ws.location)[0] == 0
    )
    return ws


def test_text_table_gets_text_transforms(cli, amazon: Workspace) -> None:
    w = ["-w", amazon.location]
    code, out, err = cli("augment", "a", "--slice", "label == 1", "--factor", "1", *w)
    assert code == 0, err
    assert "(text, seed 0)" in out
    frame = amazon.dataset("a").to_pandas()
    new = frame[frame["augmented"].fillna(False).astype(bool)]
    assert len(new) == int((frame["label"] == 1).sum()) // 2  # factor 1: a copy per item
    assert new["transform"].str.startswith("text:").all()
    parents = frame.set_index("item_id").loc[new["parent_id"].astype(int), "text"].to_numpy()
    changed = (new["text"].to_numpy() != parents).mean()
    assert changed > 0.3  # the transforms change the words of most copies
    assert (new["site"] == "amazon").all()


def test_columns_option(cli, amazon: Workspace, tmp_path: Path) -> None:
    w = ["-w", amazon.location]
    code, _, err = cli("augment", "a", "--slice", "label == 1", "--columns", "nope", *w)
    assert code == 2 and "--columns names 'nope', not columns of a@v1" in err, err
    code, _, err = cli("augment", "a", "--slice", "label == 1", "--columns", "text,site", *w)
    assert code == 2 and "one text column at a time" in err, err
    code, out, err = cli("augment", "a", "--slice", "label == 0", "--columns", "text", *w)
    assert code == 0 and "(text, seed 0)" in out, err
    elec = pd.read_csv(DATA / "drift" / "elec.csv").iloc[:300]
    elec.to_csv(tmp_path / "e.csv", index=False)
    assert cli("import", "e", str(tmp_path / "e.csv"), "--label", "class", *w)[0] == 0
    code, out, err = cli(
        "augment",
        "e",
        "--slice",
        "`class` == 1",
        "--factor",
        "0.5",
        "--columns",
        "nswprice,nswdemand",
        *w,
    )
    assert code == 0 and "(tabular, seed 0)" in out, err
    frame = amazon.dataset("e").to_pandas()
    new = frame[frame["augmented"].fillna(False).astype(bool)]
    original = frame[~frame["augmented"].fillna(False).astype(bool)].set_index("item_id")
    parents = original.loc[new["parent_id"].astype(int)]
    assert (new["vicprice"].to_numpy() == parents["vicprice"].to_numpy()).all()  # not named
    assert (new["nswprice"].to_numpy() != parents["nswprice"].to_numpy()).any()  # interpolated
