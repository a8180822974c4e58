"""Experiments on real SQLite workspaces: recorded metrics, honesty checks, comparison,
augmentation as a version. Data: scikit-learn's real handwritten digits (bundled)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, f1_score

from assay.exceptions import InputError, NotFoundError
from assay.store.augmentation import augment_version, slice_mask
from assay.store.experiments import ExperimentStore, feature_columns
from assay.store.workspace import Workspace
from assay.train.augment import PROVENANCE_COLUMNS
from assay.train.recipe import Recipe

RECIPE = """\
featurizer: standard_scaler
estimator: sklearn.linear_model.LogisticRegression
params: {C: 0.5, max_iter: 300}
seed: 0
"""
PIXELS = [f"p{i}" for i in range(64)]


def digits(n_train: int = 240, n_eval: int = 120) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Disjoint training and evaluation rows of the real digits, with an ``ink`` tag."""
    data = load_digits()
    frame = pd.DataFrame(data.data, columns=PIXELS)
    frame.insert(0, "item_id", np.arange(len(frame)))
    ink = data.data.sum(axis=1)
    frame["ink"] = np.where(ink < np.median(ink), "light", "heavy")
    frame["label"] = data.target.astype(np.int64)
    frame = frame.drop_duplicates(subset=PIXELS)
    return frame.iloc[:n_train].copy(), frame.iloc[n_train : n_train + n_eval].copy()


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    train, test = digits()
    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset("d", train, label="label", id="item_id", tags=["ink"])
    ws.import_dataset("t", test, label="label", id="item_id", tags=["ink"])
    ws.recipes.add("lr", Recipe.from_yaml(RECIPE))
    return ws


def test_experiment_metrics_match_scikit_learn(ws: Workspace) -> None:
    exp = ExperimentStore(ws).run("d@v1", recipe="lr", eval_set="t")
    train, test = ws.dataset("d").to_pandas(), ws.dataset("t").to_pandas()
    model = Recipe.from_yaml(RECIPE).build().fit(train[PIXELS], train["label"])
    expected = model.predict(test[PIXELS])
    assert exp.id == "E1" and exp.data == "d@v1" and exp.eval_set == "t@v1"
    assert exp.recipe_hash == Recipe.from_yaml(RECIPE).hash
    assert exp.data_hash == ws.dataset("d@v1").object_hash
    assert exp.features == PIXELS
    assert exp.accuracy["value"] == pytest.approx(accuracy_score(test["label"], expected))
    assert exp.accuracy["low"] < exp.accuracy["value"] < exp.accuracy["high"]
    macro = exp.evaluation.overall["macro_f1"]["value"]
    assert macro == pytest.approx(f1_score(test["label"], expected, average="macro"))
    assert set(exp.evaluation.per_tag["value"]) == {"light", "heavy"}
    assert np.asarray(exp.evaluation.confusion).sum() == len(test)


def test_an_evaluation_set_from_another_period_is_noted(
    tmp_path: Path, shared_data: Path
) -> None:
    # hourly bike rentals: trained on 2011, evaluated on 2012 (more riders, warmer days)
    hours = pd.read_csv(shared_data / "regression" / "bike-sharing" / "hour.csv")
    hours = hours.drop(columns=["dteday", "casual", "registered"])
    ws = Workspace.init(tmp_path / "ws")
    first = hours[hours.yr == 0].sample(frac=1.0, random_state=0)  # a random split of 2011
    ws.import_dataset("bikes", first.iloc[:2000], label="cnt", id="instant", task="regression")
    ws.import_dataset("same", first.iloc[2000:2500], label="cnt", id="instant",
                      task="regression")
    later = hours[hours.yr == 1].sample(500, random_state=0)
    ws.import_dataset("later", later, label="cnt", id="instant", task="regression")
    ws.recipes.add("ridge", Recipe.from_yaml("estimator: sklearn.linear_model.Ridge\nseed: 0\n"))
    store = ExperimentStore(ws)
    [note] = [n for n in store.run("bikes", recipe="ridge", eval_set="later").notes
              if "differs from the training data" in n]
    assert note.startswith("later@v1 differs from the training data bikes@v1 in ")
    assert "yr" in note and "collect training data like it" in note
    same = store.run("bikes", recipe="ridge", eval_set="same").notes
    assert not any("differs from the training data" in n for n in same), same


def test_experiments_are_numbered_and_reload(ws: Workspace) -> None:
    store = ExperimentStore(ws)
    first = store.run("d", recipe="lr", eval_set="t")
    second = store.run("d", recipe="lr", eval_set="t")
    assert [e.id for e in store.list("d")] == ["E1", "E2"]
    again = store.get("e1")
    assert again.accuracy == first.accuracy
    assert list(again.evaluation.y_pred) == list(first.evaluation.y_pred)
    assert [str(i) for i in again.evaluation.ids] == [str(i) for i in first.evaluation.ids]
    assert store.get(2).analysis_id == second.analysis_id
    with pytest.raises(NotFoundError, match="no experiment E7"):
        store.get("E7")
    with pytest.raises(InputError, match="not an experiment id"):
        store.get("first")


def _no_experiment(ws: Workspace) -> None:
    assert ws.analyses("experiment") == []


def test_leakage_by_id_is_refused(ws: Workspace) -> None:
    test = ws.dataset("t").to_pandas()
    train = pd.concat([ws.dataset("d").to_pandas(), test.head(3)], ignore_index=True)
    ws.commit("d", train, message="oops: eval rows in training")
    with pytest.raises(InputError, match="3 evaluation rows also sit in the training data") as err:
        ExperimentStore(ws).run("d", recipe="lr", eval_set="t")
    assert str(test["item_id"].iloc[0]) in str(err.value)
    _no_experiment(ws)


def test_an_id_leak_is_refused_before_any_text_is_embedded(tmp_path: Path) -> None:
    """Yelp sentences whose test ids overlap the training ids: the refusal comes before
    the texts are embedded (no embedding stage starts), so it costs no model time."""
    from tests.progress_recorder import RecordingReporter

    from assay._progress import reporting

    path = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "text"
    if not (path / "yelp_labelled.txt").exists():
        pytest.skip(f"real data folder absent: {path}")
    yelp = pd.read_csv(path / "yelp_labelled.txt", sep="\t", header=None,
                       names=["text", "label"], quoting=3).reset_index(names="id")
    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset("train", yelp.iloc[:300], label="label", id="id")
    ws.import_dataset("test", yelp.iloc[290:400], label="label", id="id")  # ids 290-299 twice
    ws.recipes.add("lr", Recipe.from_yaml(RECIPE))
    recorded = RecordingReporter()
    with reporting(recorded), pytest.raises(InputError, match="10 evaluation rows also sit"):
        ExperimentStore(ws).run("train", recipe="lr", eval_set="test")
    assert not any("embedding" in description for description, *_ in recorded.stages)
    _no_experiment(ws)


def test_leakage_by_identical_features_is_refused(ws: Workspace) -> None:
    test = ws.dataset("t").to_pandas()
    copy = test.head(2).assign(item_id=[10_001, 10_002])  # same pixels, new ids
    train = pd.concat([ws.dataset("d").to_pandas(), copy], ignore_index=True)
    ws.commit("d", train, message="duplicates of eval images under new ids")
    with pytest.raises(InputError, match="2 evaluation rows"):
        ExperimentStore(ws).run("d", recipe="lr", eval_set="t")
    _no_experiment(ws)


def test_augmented_copy_of_an_eval_item_is_leakage(ws: Workspace) -> None:
    test = ws.dataset("t").to_pandas()
    child = test.head(1).assign(item_id=[20_000])
    child[PIXELS] = child[PIXELS] + 0.5  # not identical, but derived from an eval item
    train = ws.dataset("d").to_pandas().assign(parent_id=pd.NA, augmented=False)
    child = child.assign(parent_id=int(test["item_id"].iloc[0]), augmented=True)
    frame = pd.concat([train, child], ignore_index=True)
    frame["parent_id"] = frame["parent_id"].astype("Int64")
    ws.commit("d", frame, message="augmented copy of an eval item")
    with pytest.raises(InputError, match="augmented copy"):
        ExperimentStore(ws).run("d", recipe="lr", eval_set="t")
    _no_experiment(ws)


def test_augmented_eval_rows_are_refused(ws: Workspace) -> None:
    augment_version(ws, "t@v1", predicate="ink == 'light'", factor=0.5, seed=0)
    with pytest.raises(InputError, match="augmented rows never enter evaluation sets"):
        ExperimentStore(ws).run("d", recipe="lr", eval_set="t")
    _no_experiment(ws)


def test_unseen_eval_classes_are_refused(ws: Workspace) -> None:
    train = ws.dataset("d").to_pandas()
    ws.commit("d", train[train["label"] != 9], message="no nines")
    with pytest.raises(InputError, match="never occur in training: 9"):
        ExperimentStore(ws).run("d", recipe="lr", eval_set="t")
    _no_experiment(ws)


def test_compare_pairs_items_and_shows_the_diff(ws: Workspace) -> None:
    store = ExperimentStore(ws)
    store.run("d", recipe="lr", eval_set="t")
    frame = ws.dataset("d").to_pandas()
    flipped = frame["item_id"].iloc[:30].to_numpy()
    frame.loc[frame.index[:30], "label"] = (frame["label"].iloc[:30] + 1) % 10
    ws.commit("d", frame, message="30 wrong labels")
    store.run("d", recipe="lr", eval_set="t")
    result = store.compare("E1", "E2")
    a, b = result.a.evaluation, result.b.evaluation
    right_a, right_b = a.correct, b.correct
    assert result.comparison.only_a == int((right_a & ~right_b).sum())
    assert result.comparison.only_b == int((right_b & ~right_a).sum())
    assert result.comparison.accuracy_delta == pytest.approx(right_b.mean() - right_a.mean())
    assert result.diff is not None and result.diff.counts["relabeled"] == 30
    assert set(result.diff.relabeled["item_id"]) == set(flipped)
    assert "30 relabeled" in result.summary()


def test_compare_refuses_other_eval_sets_and_recipes(ws: Workspace) -> None:
    store = ExperimentStore(ws)
    store.run("d", recipe="lr", eval_set="t")
    ws.recipes.add("lr2", Recipe.from_yaml(RECIPE.replace("C: 0.5", "C: 2.0")))
    store.run("d", recipe="lr2", eval_set="t")
    test = ws.dataset("t").to_pandas()
    ws.commit("t", test.iloc[:-5], message="smaller eval set")
    store.run("d", recipe="lr", eval_set="t")
    with pytest.raises(InputError, match="hold the recipe fixed"):
        store.compare("E1", "E2")
    with pytest.raises(InputError, match="same frozen evaluation set"):
        store.compare("E1", "E3")


def test_augment_version_adds_rows_with_provenance(ws: Workspace) -> None:
    parent = ws.dataset("d@v1").to_pandas()
    light = int((parent["ink"] == "light").sum())
    version = augment_version(ws, "d@v1", predicate="ink == 'light'", factor=2, seed=3)
    frame = version.to_pandas()
    new = frame[frame["augmented"]]
    assert version.ref == "d@v2" and len(frame) == len(parent) + 2 * light
    assert version.summary["added"] == 2 * light
    assert set(PROVENANCE_COLUMNS) <= set(frame.columns)
    by_id = parent.set_index("item_id")
    assert set(new["parent_id"]) == set(parent.loc[parent["ink"] == "light", "item_id"])
    assert (by_id.loc[new["parent_id"].to_numpy(), "label"].to_numpy() == new["label"]).all()
    assert new["item_id"].min() > parent["item_id"].max()
    assert new["transform"].str.startswith("tabular:smote").all()
    assert frame.loc[~frame["augmented"], "parent_id"].isna().all()
    assert feature_columns(version) == PIXELS  # provenance columns are not features
    exp = ExperimentStore(ws).run("d", recipe="lr", eval_set="t")
    assert exp.n_augmented == 2 * light and exp.n_train == len(frame)


@pytest.mark.parametrize(
    ("predicate", "reason"),
    [
        ("ink ==", "SyntaxError"),
        ("colour == 'red'", "not defined"),
        ("p1", "not a true/false condition"),
        ("ink = 'light'", "not a true/false condition"),
        ("ink == 'purple'", "selects no rows"),
    ],
)
def test_bad_slice_predicates_write_nothing(ws: Workspace, predicate: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        augment_version(ws, "d@v1", predicate=predicate, factor=1)
    assert [v.ref for v in ws.log("d")] == ["d@v1"]


def test_slice_mask_matches_pandas_query() -> None:
    train, _ = digits()
    mask = slice_mask(train, "ink == 'light' and label < 5")
    expected = ((train["ink"] == "light") & (train["label"] < 5)).to_numpy()
    assert np.array_equal(mask, expected)


def test_report_section_tables_and_charts_the_versions(ws: Workspace) -> None:
    from assay.report.sections_iterate import experiments_section

    assert experiments_section(ws) is None  # no experiment, no section
    store = ExperimentStore(ws)
    store.run("d", recipe="lr", eval_set="t")
    frame = ws.dataset("d").to_pandas()
    frame.loc[frame.index[:5], "label"] = (frame["label"].iloc[:5] + 1) % 10
    ws.commit("d", frame, message="five labels changed")
    second = store.run("d", recipe="lr", eval_set="t")
    section = experiments_section(ws)
    assert section is not None
    page = section["html"]
    assert "E1" in page and "E2" in page and "5 relabeled (from v1)" in page
    assert f"{second.accuracy['value']:.3f}" in page
    chart = page[page.index("<svg") :]
    assert ">v1<" in chart and ">v2<" in chart and ">v1.5<" not in chart


def test_augment_image_folder_writes_files_under_the_media_root(tmp_path: Path) -> None:
    pytest.importorskip("albumentations")
    from PIL import Image

    rng = np.random.default_rng(0)
    root = tmp_path / "pets"
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            pixels = (rng.random((12, 12, 3)) * 255).astype("uint8")
            Image.fromarray(pixels).save(root / cls / f"{i}.png")
    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset("pets", root, label="label")
    version = augment_version(ws, "pets@v1", predicate="label == 'cat'", factor=1, seed=1)
    frame = version.to_pandas()
    new = frame[frame["augmented"]]
    assert len(new) == 3 and set(new["parent_id"]) == {"cat/0.png", "cat/1.png", "cat/2.png"}
    for rel in new["path"]:
        assert not Path(rel).is_absolute() and rel.startswith(".assay-augmented/pets-v1/")
        assert (root / rel).is_file()
    assert new["transform"].str.startswith("image:").all()


def test_a_frozen_evaluation_set_is_never_augmented(ws: Workspace) -> None:
    store = ExperimentStore(ws)
    assert store.evaluated_on("t") == []
    store.run("d", recipe="lr", eval_set="t@v1")
    assert store.evaluated_on("t") == store.evaluated_on("t@v1") == ["E1"]
    assert store.evaluated_on("d") == []
    with pytest.raises(InputError, match="t is the frozen evaluation set of E1"):
        augment_version(ws, "t@v1", predicate="ink == 'light'", factor=1)
    assert [v.ref for v in ws.log("t")] == ["t@v1"]
    assert augment_version(ws, "d", predicate="ink == 'light'", factor=1).ref == "d@v2"


# -- folders of media files: ids are relative paths, confirmed by content -------------
def _digit_folder(root: Path, rows: pd.DataFrame) -> Path:
    """Real digits as 8x8 PNG files, ``root/<label>/<n>.png`` numbered per class."""
    from PIL import Image

    for label, group in rows.groupby("label"):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        for n, (_, row) in enumerate(group.iterrows()):
            pixels = (row[PIXELS].to_numpy(dtype=float).reshape(8, 8) * 255 / 16).astype("uint8")
            Image.fromarray(pixels).save(root / str(label) / f"{n:03d}.png")
    return root


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Workspace, Path, Path]:
    """Two corpora of digits 0-2 whose file names repeat (train/0/000.png, test/0/000.png)."""
    train, test = digits(n_train=400, n_eval=200)
    train, test = train[train["label"] < 3].iloc[:60], test[test["label"] < 3].iloc[:30]
    train_dir = _digit_folder(tmp_path / "train", train)
    test_dir = _digit_folder(tmp_path / "test", test)
    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset("digits", train_dir, label="label")
    ws.import_dataset("digits-test", test_dir, label="label")
    ws.recipes.add("lr", Recipe.from_yaml(RECIPE))
    return ws, train_dir, test_dir


def test_same_file_names_in_two_corpora_are_not_leakage(
    folders: tuple[Workspace, Path, Path],
) -> None:
    ws, _, _ = folders
    shared = set(ws.dataset("digits").to_pandas()["item_id"]) & set(
        ws.dataset("digits-test").to_pandas()["item_id"]
    )
    assert len(shared) == 30  # every evaluation file name is also a training file name
    exp = ExperimentStore(ws).run("digits", recipe="lr", eval_set="digits-test")
    assert exp.evaluation.n == 30 and len(exp.notes) == 1
    assert "30 evaluation items" in exp.notes[0] and "different files" in exp.notes[0]
    assert ExperimentStore(ws).get("E1").notes == exp.notes
    assert exp.eval_content is not None and len(exp.eval_content) == 64


def test_the_same_file_under_any_name_is_leakage(folders: tuple[Workspace, Path, Path]) -> None:
    import shutil

    ws, train_dir, test_dir = folders
    shutil.copy(test_dir / "0" / "003.png", train_dir / "0" / "extra.png")  # another name
    shutil.copy(test_dir / "1" / "004.png", train_dir / "1" / "004.png")  # the same name
    ws.import_dataset("digits", train_dir, label="label")
    with pytest.raises(InputError) as err:
        ExperimentStore(ws).run("digits", recipe="lr", eval_set="digits-test")
    message = str(err.value)
    assert message.startswith("2 evaluation rows also sit in the training data")
    assert "1 by id and content" in message and "1 as identical content under another id" in message
    assert "0/003.png" in message and "1/004.png" in message
    _no_experiment(ws)


def test_changed_evaluation_files_are_not_compared(folders: tuple[Workspace, Path, Path]) -> None:
    import shutil

    ws, _, test_dir = folders
    store = ExperimentStore(ws)
    first = store.run("digits", recipe="lr", eval_set="digits-test")
    shutil.copy(test_dir / "2" / "000.png", test_dir / "2" / "001.png")  # edited in place
    second = store.run("digits", recipe="lr", eval_set="digits-test")
    assert first.eval_hash == second.eval_hash  # the rows (paths, labels) did not change
    assert first.eval_content != second.eval_content
    with pytest.raises(InputError, match="files of the evaluation set digits-test@v1 changed"):
        store.compare("E1", "E2")
