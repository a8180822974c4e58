"""Tests of the audit: the contract of every check, label ranking, thresholds, reports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from assay.exceptions import InputError
from assay.train.audit import (
    Check,
    CheckResult,
    audit,
    available_checks,
    make_result,
    parse_threshold,
    register_check,
)
from assay.train.audit._checks import AuditContext
from assay.train.audit._label_probs import blend_with_neighbors, repeated_cv_probs


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread() -> Iterator[None]:
    with threadpool_limits(1):
        yield


def _noisy(y: np.ndarray, rate: float, seed: int) -> np.ndarray:
    """Class-conditional noise: each class flips to its own random mix of other classes."""
    rng = np.random.default_rng(seed)
    k = int(y.max()) + 1
    out = y.copy()
    for c in range(k):
        idx = np.flatnonzero(y == c)
        flip = idx[rng.random(idx.size) < rate]
        others = np.delete(np.arange(k), c)
        out[flip] = rng.choice(others, size=flip.size, p=rng.dirichlet(np.ones(k - 1) * 0.5))
    return out


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    X, y = load_digits(return_X_y=True)
    df = pd.DataFrame(X[:300], columns=[f"p{i}" for i in range(64)])
    df["digit"] = _noisy(y[:300], 0.1, 0)
    df = pd.concat([df, df.iloc[:4]], ignore_index=True)  # exact duplicates
    split = np.where(np.arange(len(df)) % 4 == 0, "test", "train")
    split[:4], split[300:] = "train", "test"  # the copies of rows 0..3 sit in test
    df["split"] = split
    df.index = pd.Index([f"r{i}" for i in range(len(df))])
    return df


@pytest.fixture(scope="module")
def small_probs(small: pd.DataFrame) -> np.ndarray:
    X = small.drop(columns=["digit", "split"]).to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    return cross_val_predict(model, X, small["digit"], cv=5, method="predict_proba")


@pytest.mark.parametrize("name", available_checks())
def test_every_check_honours_the_contract(
    name: str, small: pd.DataFrame, small_probs: np.ndarray
) -> None:
    report = audit(small, label="digit", pred_probs=small_probs, split="split", checks=[name])
    result = report.results[name]
    assert isinstance(result, CheckResult) and report.checks == [name]
    flags = report.issues[f"is_{name}_issue"]
    score = report.issues[result.score_column]
    assert flags.dtype == bool and len(flags) == len(small)
    assert (report.issues.index == small.index).all()
    assert score.between(0.0, 1.0).all() and np.isfinite(score).all()
    assert report.summary[name]["count"] == int(flags.sum())
    assert report.summary[name]["rate"] == pytest.approx(flags.mean())
    if flags.any() and not flags.all():  # flagged examples score lower on average
        assert score[flags].mean() <= score[~flags].mean()


def test_default_checks_depend_on_inputs(small: pd.DataFrame, small_probs: np.ndarray) -> None:
    full = audit(small, label="digit", pred_probs=small_probs, split="split")
    assert set(full.checks) == set(available_checks())
    unlabeled = audit(small.drop(columns=["digit"]), label=None)
    assert "label" not in unlabeled.checks and "class_imbalance" not in unlabeled.checks
    assert "leakage" not in unlabeled.checks
    with pytest.raises(InputError, match="split"):
        audit(small, label="digit", pred_probs=small_probs, checks=["leakage"])
    with pytest.raises(InputError, match="unknown check"):
        audit(small, label="digit", checks=["typo"])
    with pytest.raises(InputError, match="no column"):
        audit(small, label="missing")


def test_duplicates_and_leakage_are_found(small: pd.DataFrame, small_probs: np.ndarray) -> None:
    report = audit(small, label="digit", pred_probs=small_probs, split="split")
    exact = report.issues["is_exact_duplicate_issue"].to_numpy()
    assert set(np.flatnonzero(exact)) == {0, 1, 2, 3, 300, 301, 302, 303}
    leak = report.issues["is_leakage_issue"].to_numpy()
    assert set(np.flatnonzero(report.issues["leakage_exact"].to_numpy())) == set(
        np.flatnonzero(exact)
    )
    assert leak[exact].all()
    assert report.issues["is_near_duplicate_issue"].to_numpy()[exact].all()


def _single_pass_ap(probs: np.ndarray, noisy: np.ndarray, truth: np.ndarray) -> float:
    """AUPRC of cleanlab's default label-quality score (self-confidence) on one CV pass."""
    return float(average_precision_score(noisy != truth, -probs[np.arange(len(noisy)), noisy]))


@pytest.mark.parametrize("rate", [0.12, 0.25])
def test_audit_ranks_label_errors_better_than_single_pass(rate: float) -> None:
    X, y = load_digits(return_X_y=True)
    noisy = _noisy(y, rate, 1)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    probs = cross_val_predict(
        model, X, noisy, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba"
    )
    df = pd.DataFrame(X).rename(columns=str).assign(label=noisy)
    report = audit(df, label="label", pred_probs=probs, checks=["label"])
    ours = average_precision_score(noisy != y, -report.issues["label_quality"])
    assert ours > _single_pass_ap(probs, noisy, y) + 0.02
    assert report.summary["label"]["label_knn_weight"] > 0


def test_repeated_cv_probs_average_the_seeded_passes() -> None:
    from assay.train.predict import cross_val_predict_proba

    X, y = load_wine(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    averaged = repeated_cv_probs(model, X, y, n_repeats=2, seed=5)
    manual = [cross_val_predict_proba(model, X, y, seed=s) for s in (5, 6)]
    np.testing.assert_allclose(averaged, np.mean(manual, axis=0))


def test_audit_with_model_and_string_labels() -> None:
    X, y = load_wine(return_X_y=True)
    names = np.array(["barolo", "grignolino", "barbera"])[_noisy(y, 0.1, 2)]
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]).assign(kind=names)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    report = audit(df, label="kind", model=model, checks={"label": {"n_repeats": 2}})
    assert report.summary["label"]["label_n_repeats"] == 2
    assert set(report.issues["suggested_label"]) <= set(names)
    assert (report.issues["given_label"] == names).all()
    wrong = names != np.array(["barolo", "grignolino", "barbera"])[y]
    assert average_precision_score(wrong, -report.issues["label_quality"]) > 0.6


def test_blend_weight_is_chosen_by_log_loss() -> None:
    codes = np.array([0, 1, 0, 1])
    good = np.eye(2)[codes] * 0.9 + 0.05
    bad = 1 - good
    blended, weight = blend_with_neighbors(bad, good, codes)
    assert weight == 0.5 and np.allclose(blended, 0.5)
    assert blend_with_neighbors(good, bad, codes)[1] == 0.0


def test_parse_threshold_and_exceeds(small: pd.DataFrame, small_probs: np.ndarray) -> None:
    rule = parse_threshold("label_issue>5%")
    assert (rule.check, rule.op, rule.value, rule.kind) == ("label", ">", 0.05, "rate")
    assert parse_threshold(" outlier >= 10 ").kind == "count"
    assert str(parse_threshold("near_duplicate<=2.5%")) == "near_duplicate_issue<=2.5%"
    for bad in ["label_issue", "label_issue=>5%", "label_issue>150%", ">5%"]:
        with pytest.raises(InputError):
            parse_threshold(bad)
    report = audit(small, label="digit", pred_probs=small_probs)
    count = report.summary["exact_duplicate"]["count"]
    assert report.exceeds([f"exact_duplicate>={count}"]) != []
    assert report.exceeds([f"exact_duplicate>{count}", "class_imbalance>0%"]) == []
    with pytest.raises(InputError, match="did not run"):
        report.exceeds(["leakage>0"])
    table = report.summary_table()
    assert table["check"].tolist() == report.checks
    counts = {c: v["count"] for c, v in report.to_dict()["checks"].items()}
    assert table.set_index("check")["count"].to_dict() == counts
    assert counts["exact_duplicate"] == int(report.issues["is_exact_duplicate_issue"].sum())


def test_worst_and_review_items(small: pd.DataFrame, small_probs: np.ndarray) -> None:
    report = audit(small, label="digit", pred_probs=small_probs)
    worst = report.worst("label", 5)
    scores = report.issues["label_quality"]
    n_flagged = int(report.issues["is_label_issue"].sum())
    assert len(worst) == 5 and worst["is_label_issue"].all() == (n_flagged >= 5)
    assert worst["label_quality"].is_monotonic_increasing
    assert worst["label_quality"].iloc[0] == scores[report.issues["is_label_issue"]].min()
    items = report.review_items()
    total = sum(report.summary[c]["count"] for c in report.checks)
    assert len(items) == total
    labels = items[items["check"] == "label"]
    assert labels["suggested_label"].notna().all()
    assert items.loc[items["check"] != "label", "suggested_label"].isna().all()
    first = labels.iloc[0]
    assert report.issues.index[first["row"]] == first["index"]
    assert str(first["suggested_label"]) in first["reason"]


def test_html_escapes_and_uses_the_render_hook(
    small: pd.DataFrame, small_probs: np.ndarray
) -> None:
    df = small.assign(note="<script>alert(1)</script>")
    report = audit(df, label="digit", pred_probs=small_probs, features=[f"p{i}" for i in range(64)])
    page = report.to_html(k=3)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    # Jupyter shows the flagged-by-check chart above the same report
    assert "<table>" in page and report._repr_html_().endswith(report.to_html())
    hooked = report.to_html(k=2, render_item=lambda pos: f"<b>item-{pos}</b>")
    assert "<b>item-" in hooked


def test_registered_custom_check_runs(small: pd.DataFrame) -> None:
    @register_check
    class ConstantRow(Check):
        name = "constant_row"
        requires: ClassVar[tuple[str, ...]] = ("features",)

        def run(self, ctx: AuditContext) -> CheckResult:
            assert ctx.features is not None
            flat = ctx.features.std(axis=1) == 0
            return make_result("constant_row", flat, np.where(flat, 0.0, 1.0))

    try:
        report = audit(
            small.assign(**{f"p{i}": 0.0 for i in range(64)}).iloc[:20],
            label=None,
            features=[f"p{i}" for i in range(64)],
            checks=["constant_row"],
        )
        assert report.issues["is_constant_row_issue"].all()
    finally:
        from assay.train.audit import _checks

        _checks._REGISTRY.pop("constant_row")


def test_integer_labels_with_an_empty_first_class() -> None:
    X, y = load_wine(return_X_y=True)
    df = pd.DataFrame(X[:, :5], columns=list("abcde")).assign(label=y + 1)  # classes 1..3
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    with pytest.warns(UserWarning):
        report = audit(df, label="label", model=model, checks={"label": {"n_repeats": 1}})
    agree = (report.issues["suggested_label"] == df["label"]).mean()
    assert agree > 0.8 and set(report.issues["suggested_label"]) <= {1, 2, 3}


# ----------------------------------------------------------------- bad input (issue 4)
@pytest.fixture(scope="module")
def tiny() -> tuple[pd.DataFrame, np.ndarray]:
    """60 rows, 3 well-separated integer classes, and honest-looking probabilities."""
    rng = np.random.default_rng(7)
    y = np.arange(60) % 3
    X = rng.normal(size=(60, 3)) + 3 * np.eye(3)[y]
    probs = 0.1 + 0.7 * np.eye(3)[y]  # rows sum to 1
    return pd.DataFrame(X, columns=list("xyz")).assign(y=y), probs


def _columns(probs: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` columns, renormalised (valid probabilities of the wrong width)."""
    return probs[:, :k] / probs[:, :k].sum(axis=1, keepdims=True)


def _letters(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(y=np.array(["a", "b", "c"])[df["y"].to_numpy()])


def test_fewer_columns_than_classes_is_an_input_error(
    tiny: tuple[pd.DataFrame, np.ndarray],
) -> None:
    df, probs = tiny
    with pytest.raises(
        InputError,
        match=r"pred_probs has 2 columns but the labels have 3 classes \(a, b, c\); give one column per class, in the order of classes=",
    ):
        audit(_letters(df), label="y", pred_probs=_columns(probs, 2))
    with pytest.raises(
        InputError, match=r"pred_probs has 2 columns .* label 2 at row 2 is outside"
    ):
        audit(df, label="y", pred_probs=_columns(probs, 2))


@pytest.mark.parametrize("letters", [False, True])
@pytest.mark.parametrize("with_probs", [False, True])
def test_single_class_is_an_input_error(
    tiny: tuple[pd.DataFrame, np.ndarray], letters: bool, with_probs: bool
) -> None:
    df, probs = tiny
    one = (_letters(df) if letters else df).assign(y="a" if letters else 0)
    name = "'a'" if letters else "0"
    with pytest.raises(
        InputError, match=rf"only one class \({name}\); label issues need at least two classes"
    ):
        audit(one, label="y", pred_probs=probs if with_probs else None)


def test_single_class_is_fine_without_the_label_check(
    tiny: tuple[pd.DataFrame, np.ndarray],
) -> None:
    df, _ = tiny
    report = audit(df.assign(y=0), label="y", checks=["outlier", "class_imbalance"])
    assert not report.issues["is_class_imbalance_issue"].any()


def test_fewer_examples_than_folds_warns_once(tiny: tuple[pd.DataFrame, np.ndarray]) -> None:
    df, _ = tiny
    rare = df.assign(y=np.r_[3, 3, df["y"].to_numpy()[2:]])  # class 3 has 2 examples
    with pytest.warns(UserWarning) as caught:
        audit(rare, label="y", model=LogisticRegression(), checks=["label"])
    folds = [w for w in caught if "folds instead" in str(w.message)]
    assert len(folds) == 1 and "class 3 has only 2 examples" in str(folds[0].message)


def test_single_example_class_with_a_model_is_an_input_error(
    tiny: tuple[pd.DataFrame, np.ndarray],
) -> None:
    df, _ = tiny
    lone = _letters(df).assign(y=np.r_[["d"], _letters(df)["y"].to_numpy()[1:]])
    with pytest.raises(InputError, match="class 'd' has 1 example; .* at least 2 examples"):
        audit(lone, label="y", model=LogisticRegression(), checks=["label"])


def test_classes_allow_a_trailing_empty_class(tiny: tuple[pd.DataFrame, np.ndarray]) -> None:
    df, probs = tiny
    four = np.c_[probs * 0.9, np.full(len(probs), 0.1)]
    reports = []
    for frame, classes in [(df, [0, 1, 2, 3]), (df, None), (_letters(df), list("abcd"))]:
        with pytest.warns(UserWarning, match="no examples"):
            reports.append(
                audit(frame, label="y", classes=classes, pred_probs=four, checks=["label"])
            )
    for report in reports:
        assert report.issues.shape[0] == len(df)
    np.testing.assert_allclose(
        reports[0].issues["label_quality"], reports[2].issues["label_quality"]
    )
    assert set(reports[2].issues["suggested_label"]) <= set("abcd")


def test_classes_set_the_column_order(tiny: tuple[pd.DataFrame, np.ndarray]) -> None:
    df, probs = tiny
    rng = np.random.default_rng(3)
    noisy = rng.dirichlet(np.ones(3) * 2, size=len(df)) * 0.5 + probs * 0.5
    frame = _letters(df)
    base = audit(frame, label="y", pred_probs=noisy, checks=["label"]).issues
    order = [2, 0, 1]
    permuted = audit(
        frame, label="y", classes=["c", "a", "b"], pred_probs=noisy[:, order], checks=["label"]
    ).issues
    np.testing.assert_allclose(permuted["label_quality"], base["label_quality"])
    assert (permuted["suggested_label"] == base["suggested_label"]).all()
    one_based = df.assign(y=df["y"] + 1)  # integer labels 1..3, columns for 1, 2, 3
    shifted = audit(one_based, label="y", classes=[1, 2, 3], pred_probs=noisy, checks=["label"])
    np.testing.assert_allclose(shifted.issues["label_quality"], base["label_quality"])
    assert (shifted.issues["suggested_label"] - 1 == base["suggested_label"].map("abc".index)).all()


def test_model_with_an_empty_class_warns_and_goes_on(tiny: tuple[pd.DataFrame, np.ndarray]) -> None:
    df, _ = tiny
    kwargs = {"model": LogisticRegression(), "checks": {"label": {"n_repeats": 1}}}
    with pytest.warns(UserWarning, match="no examples"):
        report = audit(_letters(df), label="y", classes=list("abcd"), **kwargs)  # type: ignore[arg-type]
    without = audit(_letters(df), label="y", **kwargs).issues  # type: ignore[arg-type]
    np.testing.assert_allclose(report.issues["label_quality"], without["label_quality"])
    assert "d" not in set(report.issues["suggested_label"])


def test_rows_within_tolerance_are_renormalised(tiny: tuple[pd.DataFrame, np.ndarray]) -> None:
    df, probs = tiny
    off = probs * (1 + 5e-5 * np.where(np.arange(len(probs)) % 2, 1, -1))[:, None]
    exact = audit(df, label="y", pred_probs=probs, checks=["label"]).issues
    loose = audit(df, label="y", pred_probs=off, checks=["label"]).issues
    np.testing.assert_allclose(loose["label_quality"], exact["label_quality"], rtol=1e-9)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda p: p * np.where(np.arange(60) == 5, 1.01, 1.0)[:, None],
            r"position 5 \(0-based\) sums to 1\.01, not 1; give probabilities",
        ),
        (
            lambda p: np.where(np.arange(60)[:, None] == 7, np.nan, p),
            r"position 7 \(0-based\) contains NaN or inf",
        ),
        (
            lambda p: np.where(np.arange(60)[:, None] == 9, np.inf, p),
            r"position 9 \(0-based\) contains NaN or inf",
        ),
        (lambda p: p[:50], "pred_probs has 50 rows but there are 60 labels"),
        (lambda p: p[:, 0], r"'pred_probs' parameter of audit must be a 2-d array"),
        (
            lambda p: np.c_[p, p[:, :1]] / np.c_[p, p[:, :1]].sum(1, keepdims=True),
            r"pred_probs has 4 columns but the labels have 3 classes \(a, b, c\)",
        ),
    ],
)
def test_bad_pred_probs_are_input_errors(
    tiny: tuple[pd.DataFrame, np.ndarray], change: object, message: str
) -> None:
    df, probs = tiny
    with pytest.raises(InputError, match=message):
        audit(_letters(df), label="y", pred_probs=change(probs))  # type: ignore[operator]


def test_labels_outside_the_classes_are_input_errors(tiny: tuple[pd.DataFrame, np.ndarray]) -> None:
    df, probs = tiny
    with pytest.raises(
        InputError, match=r"labels c are not among the classes \(a, b, x\); pass classes="
    ):
        audit(_letters(df), label="y", classes=["a", "b", "x"], pred_probs=probs)
    with pytest.raises(InputError, match="label 3 at row 3 is outside"):
        audit(df.assign(y=np.arange(60) % 4), label="y", pred_probs=probs)
    with pytest.raises(InputError, match="pass label=<column> too"):
        audit(df, label=None, pred_probs=probs)


# ----------------------------------------------------------------- tabular features
def _frame(loader: Any) -> pd.DataFrame:
    data = loader(as_frame=True)
    return data.frame.rename(columns={"target": "label"})


@pytest.mark.parametrize("loader", [load_wine, load_breast_cancer])
def test_tabular_audit_does_not_depend_on_units(loader: Any) -> None:
    """QA: on raw wine, cosine distance let proline decide: 16 outliers and 12 near
    duplicates, all in class 0. Robustly standardised columns: none of those, and
    rescaling a column changes nothing."""
    df = _frame(loader)
    checks = ["outlier", "near_duplicate"]
    report = audit(df, label="label", checks=checks)
    rescaled = df.assign(
        **{df.columns[0]: df.iloc[:, 0] * 1000.0, df.columns[3]: df.iloc[:, 3] / 7}
    )
    again = audit(rescaled, label="label", checks=checks)
    assert report.summary["near_duplicate"]["count"] == 0
    assert report.summary["outlier"]["space"] == "tabular"
    assert report.summary["outlier"]["metric"] == "euclidean"
    pd.testing.assert_frame_equal(report.issues, again.issues, rtol=1e-9)
    flagged = df["label"][report.issues["is_outlier_issue"]]
    assert flagged.nunique() > 1  # a tail of every class, not one class's units


def test_embeddings_keep_cleanlabs_metric() -> None:
    X, y = load_digits(return_X_y=True)
    df = pd.DataFrame({"y": y[:300]})
    report = audit(df, label="y", embeddings=X[:300], checks=["outlier"])
    assert (report.summary["outlier"]["space"], report.summary["outlier"]["metric"]) == (
        "embedding",
        "cosine",
    )


@pytest.mark.parametrize(("loader", "space"), [(load_digits, "raw"), (load_wine, "tabular")])
def test_label_votes_use_the_space_that_explains_the_labels(loader: Any, space: str) -> None:
    """Pixels share one unit (their spread is the signal): votes as they are; wine's
    columns do not: votes on standardised columns. Chosen by the given labels' log-loss."""
    df = _frame(loader)
    df["label"] = _noisy(df["label"].to_numpy(), 0.1, 0)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    report = audit(df, label="label", model=model, checks={"label": {"n_repeats": 1}})
    assert report.summary["label"]["label_knn_space"] == space
    assert report.summary["label"]["label_knn_weight"] > 0
