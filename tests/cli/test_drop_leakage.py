"""Leakage names both sides, and `assay drop` removes the training rows (issue 17), on
Elec2: a training version that overlaps the frozen evaluation set by 50 rows."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from assay.store.workspace import Workspace

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
RECIPE = "featurizer: standard_scaler\nestimator: sklearn.linear_model.LogisticRegression\nseed: 0\n"


@pytest.fixture
def leaky(tmp_path: Path, cli) -> tuple[Workspace, pd.DataFrame]:
    path = DATA / "drift" / "elec.csv"
    if not path.exists():
        pytest.skip(f"real data folder absent: {path}")
    frame = pd.read_csv(path).iloc[:1200]
    frame.insert(0, "id", range(len(frame)))
    frame.iloc[:1000].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[950:1200].to_csv(tmp_path / "eval.csv", index=False)  # ids 950-999 on both sides
    ws = _workspace(cli, tmp_path, ("train", "eval"), ["--label", "class", "--id", "id"],
                    ("lr", RECIPE))
    return ws, frame


def _workspace(cli, tmp_path: Path, names: tuple[str, str], options: list[str],
               recipe: tuple[str, str]) -> Workspace:
    """A workspace with ``names``' CSV files (in ``tmp_path``) imported and a recipe."""
    ws = Workspace.init(tmp_path / "ws")
    w = ["-w", ws.location]
    for name in names:
        code, _, err = cli("import", name, str(tmp_path / f"{name}.csv"), *options, *w)
        assert code == 0, err
    (tmp_path / "r.yaml").write_text(recipe[1])
    assert cli("recipe", "add", recipe[0], str(tmp_path / "r.yaml"), *w)[0] == 0
    return ws


def test_leakage_names_both_sides_then_drop_fixes_it(cli, leaky, tmp_path: Path) -> None:
    ws, _ = leaky
    w = ["-w", ws.location]
    code, _, err = cli("train", "train", "--recipe", "lr", "--eval", "eval", *w)
    assert code == 2 and "50 evaluation rows also sit in the training data" in err, err
    assert re.search(r"\): 950, 951, .*; the training rows they collide with: 950, 951, ", err)
    assert "assay drop NAME --ids FILE" in err
    (tmp_path / "ids.txt").write_text("# leaked\n" + "\n".join(map(str, range(950, 1000))) + "\n")
    code, out, err = cli("drop", "train", "--ids", str(tmp_path / "ids.txt"), "-m", "leaked", *w)
    assert code == 0 and out.strip() == "train@v2: 950 rows (50 dropped from train@v1): leaked"
    kept = ws.dataset("train").to_pandas()["id"]
    assert kept.tolist() == list(range(950))
    code, _, err = cli("train", "train", "--recipe", "lr", "--eval", "eval", *w)
    assert code == 0, err


def test_drop_where_and_bad_input(cli, leaky, tmp_path: Path) -> None:
    ws, frame = leaky
    w = ["-w", ws.location]
    code, out, _ = cli("drop", "train", "--where", "nswprice > 0.1", "-m", "spikes", *w)
    expected = int((frame.iloc[:1000]["nswprice"] > 0.1).sum())
    assert code == 0 and f"({expected} dropped from train@v1)" in out
    assert (ws.dataset("train").to_pandas()["nswprice"] <= 0.1).all()
    (tmp_path / "bad.txt").write_text("3\n123456\n")
    for args, message in (
        (["--ids", str(tmp_path / "bad.txt")], "1 of the ids to drop are not items of train@v2: 123456"),
        ([], "give the rows to drop as --ids FILE or --where EXPR"),
        (["--where", "period >= 0"], "that drops all"),
        (["--where", "colour == 'red'"], "not a column"),
    ):
        code, _, err = cli("drop", "train", *args, "-m", "x", *w)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert ws.dataset("train").ref == "train@v2"  # nothing written by a refusal


def test_row_numbers_of_two_imports_are_not_leakage_but_equal_rows_are(
    cli, tmp_path: Path
) -> None:
    """Train and test files imported without --id both number their rows 0, 1, ...:
    sharing a row number is not sharing an item (red wine: 2 test rows repeat training
    rows exactly, and only those are refused). A one-column CSV of ids keeps its
    header out of the ids."""
    path = DATA / "regression" / "wine-quality" / "winequality-red.csv"
    if not path.exists():
        pytest.skip(f"real data folder absent: {path}")
    wine = pd.read_csv(path, sep=";")
    wine.iloc[:1199].to_csv(tmp_path / "train.csv", index=False)
    wine.iloc[1199:].to_csv(tmp_path / "test.csv", index=False)
    features = wine.columns.drop("quality").tolist()
    repeated = wine.iloc[1199:][features].merge(
        wine.iloc[:1199][features].drop_duplicates(), how="inner"
    )
    ws = _workspace(cli, tmp_path, ("train", "test"),
                    ["--label", "quality", "--task", "regression"],
                    ("ridge", "estimator: sklearn.linear_model.Ridge\n"))
    w = ["-w", ws.location]
    code, _, err = cli("train", "train", "--recipe", "ridge", "--eval", "test", *w)
    assert code == 2 and len(repeated) == 2, err
    assert "2 evaluation rows also sit in the training data (2 as identical content" in err
    test = ws.dataset("test").to_pandas()
    leaked = test.merge(wine.iloc[:1199][features].drop_duplicates(), on=features)["item_id"]
    (tmp_path / "leaked.csv").write_text("item_id\n" + "\n".join(map(str, leaked)) + "\n")
    code, out, err = cli("drop", "test", "--ids", str(tmp_path / "leaked.csv"), "-m", "dupes", *w)
    assert code == 0 and "(2 dropped from test@v1)" in out, err
    code, out, err = cli("train", "train", "--recipe", "ridge", "--eval", "test", *w)
    assert code == 0, err
    ws.close()


def test_texts_imported_without_ids_leak_only_by_their_text(cli, tmp_path: Path) -> None:
    """Yelp sentences split into train and test files, no --id, a TF-IDF recipe: the
    shared row numbers are not leakage, the sentences that appear on both sides are."""
    path = DATA / "text" / "yelp_labelled.txt"
    if not path.exists():
        pytest.skip(f"real data folder absent: {path}")
    yelp = pd.read_csv(path, sep="\t", header=None, names=["text", "label"], quoting=3)
    yelp.iloc[:800].to_csv(tmp_path / "train.csv", index=False)
    yelp.iloc[800:].to_csv(tmp_path / "test.csv", index=False)
    both = set(yelp.iloc[:800]["text"]) & set(yelp.iloc[800:]["text"])
    recipe = "featurizer: tfidf\nestimator: sklearn.linear_model.LogisticRegression\n"
    ws = _workspace(cli, tmp_path, ("train", "test"), ["--label", "label"], ("tf", recipe))
    code, _, err = cli("train", "train", "--recipe", "tf", "--eval", "test", "-w", ws.location)
    shared = int(yelp.iloc[800:]["text"].isin(both).sum())
    assert code == 2 and 0 < shared < 200, err
    assert f"{shared} evaluation rows also sit in the training data ({shared} as identical" in err
    ws.close()
