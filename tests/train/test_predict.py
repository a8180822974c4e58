"""Tests of out-of-sample predicted probabilities (assay.train.predict)."""

from __future__ import annotations

from collections.abc import Iterator

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from assay.exceptions import InputError
from assay.train.predict import cross_val_predict_proba, default_model, fold_count


@pytest.fixture(autouse=True)
def _one_blas_thread() -> Iterator[None]:
    """BLAS threads oversubscribe the shared test machine; one is faster here."""
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def wine() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_wine(return_X_y=True)
    return X, y


def _logreg() -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


def test_matches_sklearn_cross_val_predict(wine: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = wine
    model = default_model("embeddings")
    ours = cross_val_predict_proba(model, X, y, cv=4, seed=3, n_jobs=1)
    folds = StratifiedKFold(4, shuffle=True, random_state=3)
    ref = cross_val_predict(model, X, y, cv=folds, method="predict_proba")
    np.testing.assert_allclose(ours, ref)
    assert not hasattr(model, "classes_")  # the caller's model stays unfitted


def test_out_of_sample_differs_from_in_sample(wine: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = wine
    model = default_model("tabular", seed=0)
    oos = cross_val_predict_proba(model, X, y, n_jobs=1)
    in_sample = model.fit(X, y).predict_proba(X)
    # Gradient boosting fits its training data perfectly; held-out predictions do not.
    assert (in_sample.argmax(1) == y).all()
    assert (oos.argmax(1) != y).sum() > 0
    np.testing.assert_allclose(oos.sum(axis=1), 1.0)


def test_string_labels_and_dataframe() -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y.to_numpy()]
    proba = cross_val_predict_proba(_logreg(), X, names, n_jobs=1)
    assert proba.shape == (150, 3)
    classes = np.unique(names)  # column order
    assert (classes[proba.argmax(1)] == names).mean() > 0.9


def test_missing_class_in_a_training_fold() -> None:
    X, y = load_iris(return_X_y=True)
    # Unshuffled KFold on class-sorted data: each training fold lacks one class.
    proba = cross_val_predict_proba(_logreg(), X, y, cv=KFold(3), n_jobs=1)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    for k in range(3):
        held_out = y == k  # fold k held out exactly class k, so its model never saw k
        assert proba[held_out, k].max() < 1e-9


def test_fewer_examples_than_folds_reduces_folds() -> None:
    X, y = load_iris(return_X_y=True)
    keep = np.r_[0:3, 50:150]  # class 0 keeps 3 examples
    with pytest.warns(UserWarning, match="using 3 folds"):
        proba = cross_val_predict_proba(_logreg(), X[keep], y[keep], cv=5, n_jobs=1)
    assert proba.shape == (103, 3)


def test_single_example_class_is_an_error() -> None:
    X, y = load_iris(return_X_y=True)
    keep = np.r_[0:1, 50:150]
    with pytest.raises(InputError, match="class 0 has 1 example"):
        cross_val_predict_proba(_logreg(), X[keep], y[keep], n_jobs=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cv": 1}, "'cv' parameter"),
        ({"model": SVC()}, "predict_proba"),
        ({"y": np.zeros(3)}, "178 rows but y has 3"),
        ({"X": None}, "needs X"),
        ({"modality": "video"}, "'modality' parameter"),
    ],
)
def test_bad_parameters(
    wine: tuple[np.ndarray, np.ndarray], kwargs: dict[str, object], message: str
) -> None:
    X, y = wine
    call: dict[str, object] = {"model": _logreg(), "X": X, "y": y, **kwargs}
    if "modality" in kwargs:
        call["model"] = None
    with pytest.raises(InputError, match=message):
        cross_val_predict_proba(**call)  # type: ignore[arg-type]


def test_missing_label_is_an_error(wine: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = wine
    labels = pd.Series(y.astype(float))
    labels[7] = np.nan
    with pytest.raises(InputError, match=r"position 7 \(0-based\) is missing"):
        cross_val_predict_proba(_logreg(), X, labels.to_numpy())


def test_default_models() -> None:
    assert isinstance(default_model("tabular"), HistGradientBoostingClassifier)
    assert default_model("tabular", seed=4).random_state == 4
    for modality in ("embeddings", "text", "image", "audio"):
        model = default_model(modality)
        assert isinstance(model, Pipeline)
        assert isinstance(model[-1], LogisticRegression)


def test_deterministic_and_seeded(wine: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = wine
    first = cross_val_predict_proba(None, X, y, modality="image", n_jobs=1)
    again = cross_val_predict_proba(None, X, y, modality="image", n_jobs=1)
    other = cross_val_predict_proba(None, X, y, modality="image", seed=1, n_jobs=1)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_progress_hook_and_parallel_threads(wine: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = wine
    calls: list[tuple[int, int]] = []
    serial = cross_val_predict_proba(_logreg(), X, y, cv=3, n_jobs=1)
    with joblib.parallel_backend("threading"):
        threaded = cross_val_predict_proba(
            _logreg(), X, y, cv=3, n_jobs=2, progress=lambda d, t: calls.append((d, t))
        )
    np.testing.assert_allclose(serial, threaded)
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_rich_progress_bar_runs(wine: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = wine
    proba = cross_val_predict_proba(_logreg(), X, y, cv=2, n_jobs=1, progress=True)
    assert proba.shape == (178, 3)


#: Addresses of the Dask workers that fitted a fold (the cluster runs in-process).
_WORKERS: list[str] = []


class _WorkerRecordingLogReg(LogisticRegression):
    """A LogisticRegression that records which Dask worker fits it."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> _WorkerRecordingLogReg:
        from dask.distributed import get_worker

        _WORKERS.append(get_worker().address)  # raises ValueError outside a worker
        return super().fit(X, y)


@pytest.mark.parametrize("threads", [1, 2])
def test_folds_run_on_a_dask_cluster(wine: tuple[np.ndarray, np.ndarray], threads: int) -> None:
    """With one Dask thread joblib runs the folds in the caller (its n_jobs == 1 shortcut);
    with two, every fold is fitted on the Dask worker. Results are the same."""
    distributed = pytest.importorskip("dask.distributed")
    X, y = wine
    X = StandardScaler().fit_transform(X)
    serial = cross_val_predict_proba(LogisticRegression(), X, y, cv=3, n_jobs=1)
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=threads, processes=False, dashboard_address=":0"
    )
    _WORKERS.clear()
    model = _WorkerRecordingLogReg() if threads > 1 else LogisticRegression()
    try:
        with distributed.Client(cluster), joblib.parallel_backend("dask"):
            on_dask = cross_val_predict_proba(model, X, y, cv=3, n_jobs=-1)
    finally:
        cluster.close()
    np.testing.assert_allclose(serial, on_dask)
    assert len(_WORKERS) == (3 if threads > 1 else 0)


# ----------------------------------------------------------------- bad input (issue 4)
@pytest.mark.parametrize("y", [np.zeros(178, dtype=int), np.array(["red"] * 178)])
def test_single_class_is_an_input_error(wine: tuple[np.ndarray, np.ndarray], y: np.ndarray) -> None:
    X, _ = wine
    name = repr(y[0].item())
    with pytest.raises(InputError, match=rf"only one class \({name}\); .* at least two classes"):
        cross_val_predict_proba(_logreg(), X, y, n_jobs=1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"y": "2d"},
            r"'y' parameter of cross_val_predict_proba must be a 1-d array .* \(178, 2\)",
        ),
        ({"X": "1d"}, r"'X' parameter of cross_val_predict_proba must be 2-d .* \(178,\)"),
    ],
)
def test_bad_shapes_are_input_errors(
    wine: tuple[np.ndarray, np.ndarray], change: dict[str, str], message: str
) -> None:
    X, y = wine
    X = X[:, 0] if change.get("X") == "1d" else X
    y = np.c_[y, y] if change.get("y") == "2d" else y
    with pytest.raises(InputError, match=message):
        cross_val_predict_proba(_logreg(), X, y, n_jobs=1)


def test_fewer_examples_than_folds_warns_once_per_call() -> None:
    X, y = load_iris(return_X_y=True)
    keep = np.r_[0:3, 50:150]
    with pytest.warns(UserWarning) as caught:
        cross_val_predict_proba(_logreg(), X[keep], y[keep], cv=5, n_jobs=1)
    assert sum("folds instead" in str(w.message) for w in caught) == 1


def test_fold_count_rules() -> None:
    classes = np.array(["a", "b", "c", "d"])
    codes = np.r_[np.zeros(10, int), np.ones(3, int), np.full(8, 3)]  # "c" has no examples
    with pytest.warns(UserWarning, match="class 'b' has only 3 examples, fewer than cv=5"):
        assert fold_count(codes, classes, 5) == 3
    assert fold_count(codes, classes, 3) == 3 and fold_count(codes, classes, 2) == 2
    with pytest.raises(InputError, match="class 'b' has 1 example"):
        fold_count(np.r_[codes[codes != 1], 1], classes, 5)
    with pytest.raises(InputError, match=r"only one class \('d'\)"):
        fold_count(np.full(5, 3), classes, 5)
    with pytest.raises(InputError, match="'cv' parameter"):
        fold_count(codes, classes, 1)


def test_multilabel_progress_counts_the_labels_not_their_folds(shared_data) -> None:  # type: ignore[no-untyped-def]
    """Yeast's 14 labels are 14 cross-validations: one stage counts them (the time
    left follows), and no label opens a stage of its own folds."""
    from tests.progress_recorder import RecordingReporter

    from assay._progress import reporting
    from assay.train.predict import cross_val_predict_multilabel

    frame = pd.read_csv(shared_data / "multilabel" / "yeast" / "yeast.csv").iloc[:300]
    X = frame[[c for c in frame.columns if c.startswith("Att")]].to_numpy()
    Y = frame[[f"Class{i}" for i in range(1, 15)]].to_numpy()
    learnable = int((np.minimum(Y.sum(0), len(Y) - Y.sum(0)) >= 2).sum())
    recorded = RecordingReporter()
    with reporting(recorded):
        probs = cross_val_predict_multilabel(LogisticRegression(max_iter=300), X, Y, cv=3)
    assert probs.shape == Y.shape and learnable < 14  # Class14 is too rare here
    assert recorded.stages == [
        [f"cross-validating {learnable} labels one by one (3 folds each)", learnable, learnable]
    ]
