"""``assay audit``, ``assay slices`` and ``assay curve`` end to end on real workspaces.

The data are scikit-learn's real digits with labels flipped at known rows, so the audit's
flags are scored against ground truth; every bad input of issue 4 goes through the CLI
and must exit 2 with nothing recorded, queued or written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from assay.report.build import write_report
from assay.store.workspace import Workspace

RECIPE = (
    "featurizer: standard_scaler\nestimator: sklearn.linear_model.LogisticRegression\n"
    "params: {C: 0.5, max_iter: 500}\nseed: 0\n"
)
N = 360
TAG = "<b>odd</b>"  # user text that the report must escape


def _digits(n: int = N, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """n digits with 64 pixel columns, tags, and 10% of labels flipped (returns the mask)."""
    data = load_digits()
    frame = pd.DataFrame(data.data[:n], columns=[f"pixel_{i}" for i in range(64)])
    rng = np.random.default_rng(seed)
    truth = data.target[:n].astype(np.int64)
    flipped = rng.random(n) < 0.10
    noisy = truth.copy()
    noisy[flipped] = (truth[flipped] + rng.integers(1, 10, int(flipped.sum()))) % 10
    frame["ink"] = np.where(
        data.data[:n].sum(axis=1) > np.median(data.data[:n].sum(axis=1)), "heavy", TAG
    )
    frame["scanner"] = rng.choice(["A", "B"], size=n)
    frame["label"] = noisy
    frame.insert(0, "item_id", np.arange(n) + 1000)
    return frame, flipped


@pytest.fixture
def ws(tmp_path: Path, cli) -> Workspace:
    workspace = Workspace.init(tmp_path / "ws")
    frame, flipped = _digits()
    workspace.import_dataset("digits", frame, label="label", id="item_id", tags=["ink", "scanner"])
    (tmp_path / "r.yaml").write_text(RECIPE)
    assert cli("recipe", "add", "lr", str(tmp_path / "r.yaml"), "-w", workspace.location)[0] == 0
    workspace.flipped = frame["item_id"].to_numpy()[flipped]  # type: ignore[attr-defined]
    return workspace


def _nothing_written(ws: Workspace, report: Path) -> None:
    assert ws.analyses() == []
    assert ws.review.count(status=None) == 0
    assert not report.exists()


def test_audit_records_queues_and_reports(cli, ws: Workspace, tmp_path: Path) -> None:
    report = tmp_path / "audit.html"
    code, out, err = cli(
        "audit", "digits", "--recipe", "lr", "--report", str(report), "--json", "-w", ws.location
    )
    assert code == 0, err
    record = json.loads(out)
    label = record["checks"]["label"]
    # honest: the flags are scored against the rows whose labels were really flipped
    queued = ws.review.list("digits", source="label_issue", limit=None)
    flagged = set(queued["item_id"].astype(int))
    hits = len(flagged & set(ws.flipped.tolist()))  # type: ignore[attr-defined]
    assert len(flagged) == label["count"] == record["queued"]["label_issue"]
    assert hits / len(flagged) >= 0.7 and hits / len(ws.flipped) >= 0.6  # type: ignore[attr-defined]
    truth = load_digits().target[:N]
    suggested = queued.set_index(queued["item_id"].astype(int))["suggested_label"]
    right = [suggested[i] == truth[i - 1000] for i in flagged & set(ws.flipped.tolist())]  # type: ignore[attr-defined]
    assert np.mean(right) >= 0.8
    assert (queued["score"].between(0, 1)).all() and queued["score"].is_monotonic_increasing
    [analysis] = ws.analyses("audit")
    assert (
        analysis["version"] == "digits@v1" and analysis["recipe_hash"] == ws.recipes.get("lr").hash
    )
    stored = ws.analysis_table(analysis)
    assert stored is not None
    issues = stored.to_pandas()
    assert len(issues) == N and int(issues["is_label_issue"].sum()) == label["count"]
    assert issues["item_id"].tolist() == list(range(1000, 1000 + N))
    page = report.read_text()
    assert page.count("<img") >= 10 and "data:image/png;base64" in page


def test_audit_text_output_and_no_queue(cli, ws: Workspace, tmp_path: Path) -> None:
    code, out, _ = cli(
        "audit",
        "digits",
        "--recipe",
        "lr",
        "--no-queue",
        "--checks",
        "label,outlier",
        "--report",
        str(tmp_path / "a.html"),
        "-w",
        ws.location,
    )
    assert code == 0 and "most likely label errors" in out and " -> " in out
    assert ws.review.count(status=None) == 0
    assert set(ws.analyses("audit")[0]["result"]["checks"]) == {"label", "outlier"}


def test_fail_on_threshold_exits_1(cli, ws: Workspace, tmp_path: Path) -> None:
    args = [
        "audit",
        "digits",
        "--recipe",
        "lr",
        "--checks",
        "label",
        "--no-queue",
        "--report",
        str(tmp_path / "a.html"),
        "-w",
        ws.location,
    ]
    code, _, err = cli(*args, "--fail-on", "label_issue>2%")
    assert code == 1 and "threshold exceeded: label_issue>2%" in err
    code, _, err = cli(*args, "--fail-on", "label_issue>60%", "--fail-on", "label_issue>=300")
    assert code == 0, err


def _probs(n: int, k: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(k), size=n)


def _bad_probs(kind: str) -> np.ndarray:
    probs = _probs(N, 10)
    if kind == "sum":
        probs[7] *= 1.01
    elif kind == "nan":
        probs[3, 2] = np.nan
    elif kind == "shape":
        probs = probs[:-1]
    elif kind == "classes":
        probs = _probs(N, 5)
    return probs


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("sum", "position 7 (0-based) sums to 1.01"),
        ("nan", "position 3 (0-based) contains NaN"),
        ("shape", f"has {N - 1} rows but there are {N} labels"),
        ("classes", "outside the 5 classes"),
    ],
)
def test_bad_pred_probs_exit_2(cli, ws: Workspace, tmp_path: Path, kind: str, message: str) -> None:
    path = tmp_path / "p.npy"
    np.save(path, _bad_probs(kind))
    report = tmp_path / "a.html"
    code, out, err = cli(
        "audit", "digits", "--pred-probs", str(path), "--report", str(report), "-w", ws.location
    )
    assert code == 2 and message in err and out == ""
    assert len(err.strip().splitlines()) == 1
    _nothing_written(ws, report)


def test_pred_probs_within_tolerance_are_renormalised(cli, ws: Workspace, tmp_path: Path) -> None:
    probs = _probs(N, 10) * (1 + 5e-5)
    np.save(tmp_path / "p.npy", probs)
    code, out, err = cli(
        "audit",
        "digits",
        "--pred-probs",
        str(tmp_path / "p.npy"),
        "--checks",
        "label",
        "--report",
        str(tmp_path / "a.html"),
        "--json",
        "-w",
        ws.location,
    )
    assert code == 0, err
    assert json.loads(out)["label_probs_source"] == "pred_probs"


def _import(ws: Workspace, name: str, labels: np.ndarray) -> None:
    frame, _ = _digits(len(labels))
    ws.import_dataset(name, frame.assign(label=labels), label="label", id="item_id")


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.zeros(60, dtype=np.int64), "only one class"),
        (np.r_[np.zeros(30), np.ones(29), [2]].astype(np.int64), "class 2 has 1 example"),
    ],
)
def test_bad_labels_exit_2(
    cli, ws: Workspace, tmp_path: Path, labels: np.ndarray, message: str
) -> None:
    _import(ws, "small", labels)
    report = tmp_path / "a.html"
    code, _, err = cli(
        "audit", "small", "--recipe", "lr", "--report", str(report), "-w", ws.location
    )
    assert code == 2 and message in err
    _nothing_written(ws, report)


def test_fewer_examples_than_folds_warns_and_goes_on(cli, ws: Workspace, tmp_path: Path) -> None:
    _import(ws, "small", np.r_[np.zeros(30), np.ones(27), [2, 2, 2]].astype(np.int64))
    code, _, err = cli(
        "audit",
        "small",
        "--recipe",
        "lr",
        "--checks",
        "label",
        "--report",
        str(tmp_path / "a.html"),
        "-w",
        ws.location,
    )
    assert code == 0 and "using 3 folds instead" in err and err.count("using 3 folds") == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--recipe", "lr", "--pred-probs", "p.npy"], "either --recipe or --pred-probs"),
        (["--recipe", "lr", "--fail-on", "label_issue>>5"], "cannot read the threshold"),
        (["--recipe", "lr", "--checks", "label,typo"], "unknown check 'typo'"),
        (
            ["--recipe", "lr", "--fail-on", "label_issues>5%"],
            "unknown check 'label_issues' in --fail-on 'label_issues>5%' (did you mean "
            "'label_issue'?); the checks are: label, outlier, near_duplicate,",
        ),
        (["--checks", "outlyer"], "unknown check 'outlyer' in --checks (did you mean 'outlier'?)"),
        (["--checks", "label", "--fail-on", "outlier>1"], "the checks to run are label;"),
        (["--recipe", "lr", "--fail-on", "leakage_issue>1"], "did not run"),
        (["--recipe", "nope"], "nope"),
    ],
)
def test_bad_options_exit_2(
    cli, ws: Workspace, tmp_path: Path, extra: list[str], message: str
) -> None:
    np.save(tmp_path / "p.npy", _probs(N, 10))
    extra = [str(tmp_path / e) if e.endswith(".npy") else e for e in extra]
    report = tmp_path / "a.html"
    code, _, err = cli("audit", "digits", *extra, "--report", str(report), "-w", ws.location)
    assert code == 2 and message in err
    _nothing_written(ws, report)


def test_check_names_are_validated_before_any_work(cli, ws: Workspace, tmp_path: Path) -> None:
    """A misspelt check fails before the dataset is even read (QA: it trained first)."""
    report = tmp_path / "a.html"
    code, _, err = cli(
        "audit", "no-such-dataset", "--recipe", "lr", "--fail-on", "label_issues>5%",
        "--report", str(report), "-w", ws.location,
    )  # fmt: skip
    assert code == 2 and "unknown check 'label_issues'" in err and "no-such-dataset" not in err
    _nothing_written(ws, report)
    code, out, err = cli(
        "audit", "digits", "--checks", "label_issue,outlier", "--fail-on", "label>90%",
        "--no-queue", "--report", str(report), "--json", "-w", ws.location,
    )  # fmt: skip
    assert code == 0, err  # NAME_issue names the check NAME in --checks too
    assert set(json.loads(out)["checks"]) == {"label", "outlier"}


# ----------------------------------------------------------------- slices
def _planted_predictions(ws: Workspace, tmp_path: Path) -> tuple[Path, np.ndarray]:
    """Predictions that are wrong on 70% of (scanner=B, ink=heavy) and 5% elsewhere."""
    frame = ws.dataset("digits").to_pandas()
    rng = np.random.default_rng(1)
    weak = ((frame["scanner"] == "B") & (frame["ink"] == "heavy")).to_numpy()
    wrong = rng.random(len(frame)) < np.where(weak, 0.7, 0.05)
    pred = np.where(wrong, (frame["label"] + 1) % 10, frame["label"])
    path = tmp_path / "pred.csv"
    pd.DataFrame({"item_id": frame["item_id"], "prediction": pred}).iloc[::-1].to_csv(
        path, index=False
    )
    return path, wrong


def test_slices_tag_table_matches_direct_counts(cli, ws: Workspace, tmp_path: Path) -> None:
    path, wrong = _planted_predictions(ws, tmp_path)
    code, out, err = cli(
        "slices", "digits", "--predictions", str(path), "--find", "--json", "-w", ws.location
    )
    assert code == 0, err
    result = json.loads(out)
    frame = ws.dataset("digits").to_pandas()
    rows = {r["tag"]: r for r in result["tag_table"]["rows"]}
    for col in ("ink", "scanner"):
        for value in frame[col].unique():
            mask = (frame[col] == value).to_numpy()
            assert rows[f"{col}={value}"]["n"] == mask.sum()
            assert rows[f"{col}={value}"]["metric"] == pytest.approx(1 - wrong[mask].mean())
    top = result["slices"]["rows"][0]
    assert "scanner" in top["slice"] and "B" in top["slice"] and top["is_significant"]
    [analysis] = ws.analyses("slices")
    table = ws.analysis_table(analysis)
    assert table is not None
    stored = table.to_pandas()
    assert stored["error"].to_numpy().tolist() == wrong.tolist()
    code, _, err = cli(
        "slices",
        "digits",
        "--predictions",
        str(path),
        "--find",
        "--fail-on-slices",
        "-w",
        ws.location,
    )
    assert code == 1 and "significant weak slice" in err


def test_slices_found_without_tag_columns(cli, ws: Workspace, tmp_path: Path) -> None:
    # the same rows with ink and scanner as plain columns: --find searches them
    frame = ws.dataset("digits").to_pandas()
    ws.import_dataset("plain", frame, label="label", id="item_id")
    path, _ = _planted_predictions(ws, tmp_path)
    w = ["-w", ws.location]
    code, _, err = cli("slices", "plain", "--predictions", str(path), *w)
    assert code == 2 and "has no tag columns" in err and "--find" in err
    code, out, err = cli("slices", "plain", "--predictions", str(path), "--find", "--json", *w)
    assert code == 0, err
    result = json.loads(out)
    assert result["tag_table"] is None and result["by"] == []
    top = result["slices"]["rows"][0]
    assert "scanner" in top["slice"] and "B" in top["slice"] and top["is_significant"]
    code, out, err = cli("slices", "plain", "--predictions", str(path), "--find", *w)
    assert code == 0 and "no tag columns" in out and "tags by potential gain" not in out
    code, _, err = cli("report", "--out", str(tmp_path / "r.html"), *w)
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert "Accuracy (out of sample) 0." in page and "No tag columns" in page


def _bikes(cli, tmp_path: Path, shared_data: Path, rows: int) -> list[str]:  # type: ignore[no-untyped-def]
    """A workspace with the first ``rows`` hours of the bike rentals as ``bikes``
    (regression on ``cnt``, no tags); returns its ``-w`` arguments."""
    path = shared_data / "regression" / "bike-sharing" / "hour.csv"
    data = pd.read_csv(path).head(rows).drop(columns=["dteday", "casual", "registered"])
    data.to_csv(tmp_path / "bikes.csv", index=False)
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    imported = ("--label", "cnt", "--id", "instant", "--task", "regression")
    assert cli("import", "bikes", str(tmp_path / "bikes.csv"), *imported, *w)[0] == 0
    return w


def test_regression_slices_read_as_mean_errors(cli, tmp_path: Path, shared_data: Path) -> None:
    # hourly bike rentals: mean absolute errors, not rates ('overall error rate 2149.2%')
    w = _bikes(cli, tmp_path, shared_data, 3000)
    code, out, err = cli("slices", "bikes", "--find", *w)
    assert code == 0, err
    assert "overall mean error" in out and "error rate" not in out and "100.0%" not in out
    assert "(significant)" in out and "add features (mean error" in out
    code, _, err = cli("report", "--out", str(tmp_path / "r.html"), *w)
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert "MAE (out of sample)" in page and "mean error [95%]" in page


def test_regression_audit_page_shows_whole_numbers_as_integers(
    cli, tmp_path: Path, shared_data: Path
) -> None:
    w = _bikes(cli, tmp_path, shared_data, 1500)
    report = tmp_path / "a.html"
    code, out, err = cli("audit", "bikes", "--checks", "label", "--report", str(report), *w)
    assert code == 0, err
    page = report.read_text()
    worst = page[page.index("label: worst"):]
    cells = re.findall(r"<td>(-?[0-9.]+)</td><td>(-?[0-9.]+)</td><td><code>", worst)
    assert cells and all(v.isdigit() for pair in cells for v in pair), cells[:3]
    assert "season=1;" in worst and "season=1.0" not in worst  # ints stay ints


def test_slices_hlp_from_annotations(cli, ws: Workspace) -> None:
    frame = ws.dataset("digits").to_pandas()
    rng = np.random.default_rng(2)
    items = frame["item_id"].to_numpy()[:200]
    first = frame["label"].to_numpy()[:200]
    second = np.where(rng.random(200) < 0.2, (first + 1) % 10, first)
    ws.annotations.add(
        "digits",
        pd.DataFrame(
            {
                "item": np.r_[items, items],
                "annotator": ["a"] * 200 + ["b"] * 200,
                "label": np.r_[first, second],
            }
        ),
    )
    code, out, err = cli(
        "slices",
        "digits",
        "--recipe",
        "lr",
        "--by",
        "scanner",
        "--hlp-from-annotations",
        "--json",
        "-w",
        ws.location,
    )
    assert code == 0, err
    rows = {r["tag"]: r for r in json.loads(out)["tag_table"]["rows"]}
    scanner = frame["scanner"].to_numpy()[:200]
    for value in ("A", "B"):
        expected = np.mean(first[scanner == value] == second[scanner == value])
        assert rows[f"scanner={value}"]["hlp"] == pytest.approx(expected)


def test_slices_bad_input_exit_2(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    code, _, err = cli("slices", "digits", "--recipe", "lr", "--hlp-from-annotations", *w)
    assert code == 2 and "no item labelled by two or more annotators" in err
    code, _, err = cli("slices", "digits", "--recipe", "lr", "--by", "nope", *w)
    assert code == 2 and "nope" in err
    pd.DataFrame({"prediction": [1, 2]}).to_csv(tmp_path / "short.csv", index=False)
    code, _, err = cli("slices", "digits", "--predictions", str(tmp_path / "short.csv"), *w)
    assert code == 2 and "one prediction per item" in err
    assert ws.analyses() == []


# ----------------------------------------------------------------- curve + report
def test_curve_and_report_sections(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    code, out, err = cli("curve", "digits", "--recipe", "lr", "--repeats", "2", *w)
    assert code == 0, err
    assert "cleaning ≈ collecting" in out and "verdict: " in out
    [curve] = ws.analyses("curve")
    result = curve["result"]
    assert result["verdict"] in ("clean", "collect") and len(result["series"]) == 4
    rows = {r["scenario"]: r for r in result["table"]}
    after_clean, after_collect = rows["after cleaning"]["accuracy"], result["table"][2]["accuracy"]
    assert result["verdict"] == ("clean" if after_clean >= after_collect else "collect")
    assert (
        cli(
            "audit",
            "digits",
            "--recipe",
            "lr",
            "--checks",
            "label",
            "--report",
            str(tmp_path / "a.html"),
            *w,
        )[0]
        == 0
    )
    assert cli("slices", "digits", "--recipe", "lr", "--find", *w)[0] == 0
    page = write_report(ws, tmp_path / "report.html").read_text()
    for title in ("Train: label quality", "Train: error analysis", "Train: clean vs collect"):
        assert title in page
    assert "data:image/png;base64" in page and "<svg" in page
    assert TAG not in page and "&lt;b&gt;odd&lt;/b&gt;" in page


def test_audit_with_embeddings_file(cli, ws: Workspace, tmp_path: Path) -> None:
    """Embeddings are searched as they are (cosine); the same numbers as columns are tabular
    features, robustly standardised (euclidean)."""
    frame = ws.dataset("digits").to_pandas()
    emb = frame[[f"pixel_{i}" for i in range(64)]].to_numpy(dtype=float)
    pd.DataFrame(emb, columns=[f"e{i}" for i in range(64)]).assign(item_id=frame["item_id"]).iloc[
        ::-1
    ].to_parquet(tmp_path / "e.parquet")
    common = ["--recipe", "lr", "--checks", "label,outlier", "--no-queue", "--json"]
    code, out, err = cli(
        "audit", "digits", *common, "--embeddings", str(tmp_path / "e.parquet"),
        "--report", str(tmp_path / "a.html"), "-w", ws.location,
    )  # fmt: skip
    assert code == 0, err
    with_emb = json.loads(out)["checks"]
    code, out, _ = cli(
        "audit", "digits", *common, "--report", str(tmp_path / "b.html"), "-w", ws.location
    )
    tabular = json.loads(out)["checks"]
    assert (with_emb["outlier"]["space"], with_emb["outlier"]["metric"]) == ("embedding", "cosine")
    assert (tabular["outlier"]["space"], tabular["outlier"]["metric"]) == ("tabular", "euclidean")
    assert ws.analyses("audit")[1]["params"]["embeddings"].endswith("e.parquet")
    # the model reads the same pixels either way: its flags agree on the planted errors
    flipped = set(ws.flipped.tolist())  # type: ignore[attr-defined]
    for checks in (with_emb, tabular):
        assert checks["label"]["count"] >= 0.8 * len(flipped)


# ----------------------------------------------------------------- option ranges
@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["audit", "digits", "--recipe", "lr", "--seed", "-1"], "'--seed'"),
        (["slices", "digits", "--recipe", "lr", "--seed", "-1"], "'--seed'"),
        (["curve", "digits", "--recipe", "lr", "--seed", "-1"], "'--seed'"),
        (["slices", "digits", "--recipe", "lr", "--hlp", "1.5"], "'--hlp'"),
        (["slices", "digits", "--recipe", "lr", "--hlp", "nan"], "'--hlp'"),
        (["slices", "digits", "--recipe", "lr", "--find", "--alpha", "5"], "'--alpha'"),
        (["slices", "digits", "--recipe", "lr", "--alpha", "0"], "'--alpha'"),
        (["curve", "digits", "--recipe", "lr", "--repeats", "0"], "'--repeats'"),
        (["curve", "digits", "--recipe", "lr", "--extra", "-5"], "'--extra'"),
    ],
)
def test_numbers_out_of_range_exit_2(
    cli, ws: Workspace, tmp_path: Path, args: list[str], flag: str
) -> None:
    """Refused while parsing, before any model is trained: the flag is named, not a
    Python parameter, and nothing is recorded, queued or written."""
    report = tmp_path / "a.html"
    extra = ["--report", str(report)] if args[0] == "audit" else []
    code, out, err = cli(*args, *extra, "-w", ws.location)
    assert code == 2 and flag in err and out == "", err
    assert "parameter of" not in err and "internal error" not in err
    _nothing_written(ws, report)


def test_in_range_numbers_still_run(cli, ws: Workspace, tmp_path: Path) -> None:
    """The bounds themselves are accepted (alpha 1, hlp 0 and 1, seed 0)."""
    path, _ = _planted_predictions(ws, tmp_path)
    w = ["-w", ws.location]
    for hlp in ("0", "1"):
        code, _, err = cli(
            "slices", "digits", "--predictions", str(path), "--find", "--alpha", "1",
            "--hlp", hlp, "--seed", "0", *w,
        )  # fmt: skip
        assert code in (0, 1), err
    assert [a["params"]["alpha"] for a in ws.analyses("slices")] == [1.0, 1.0]


def test_slices_unknown_by_column_names_the_dataset_and_its_tags(cli, ws: Workspace) -> None:
    code, _, err = cli(
        "slices", "digits", "--recipe", "lr", "--by", "scanner,nope", "-w", ws.location
    )
    assert code == 2 and "digits@v1 has no column 'nope'" in err and "--by" in err
    assert "tag columns are: ink, scanner" in err and "slice_table" not in err
    assert ws.analyses() == []


@pytest.mark.parametrize("where", ["folder", "under_a_file"])
def test_audit_unwritable_report_exit_2_before_work(
    cli, ws: Workspace, tmp_path: Path, where: str
) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.txt").write_text("x")
    report = tmp_path / "folder" if where == "folder" else tmp_path / "file.txt" / "a.html"
    code, _, err = cli(
        "audit", "digits", "--recipe", "lr", "--report", str(report), "-w", ws.location
    )
    assert code == 2 and "--report" in err and "internal error" not in err, err
    assert ws.analyses() == [] and ws.review.count(status=None) == 0
    assert sorted(p.name for p in (tmp_path / "folder").iterdir()) == []
