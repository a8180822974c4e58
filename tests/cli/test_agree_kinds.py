"""`assay agree` on numeric labels and on label sets: files and datasets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.collect import numeric_agreement, set_agreement
from assay.store.workspace import Workspace

from .conftest import Cli


def _numbers(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.normal(20, 5, n)
    rows = [(i, a, round(float(truth[i] + off + rng.normal(0, 1)), 2))
            for i in range(n) for a, off in (("ann", 0.0), ("bob", 1.5), ("cy", -0.5))]
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def _sets(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = ["cat", "dog", "fox", "owl"]
    rows = []
    for i in range(n):
        truth = set(rng.choice(names, rng.integers(1, 3), replace=False))
        for a in ("ann", "bob", "cy"):
            got = {t for t in truth if rng.random() > 0.2} | (
                {names[rng.integers(4)]} if rng.random() < 0.15 else set())
            rows.append((i, a, sorted(got)))
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def _no_wide_lines(text: str, *paths: str) -> None:
    """Every line fits 80 columns, except where it names a file the user chose."""
    lines = [line for line in text.splitlines() if not any(p in line for p in paths)]
    assert max(len(line) for line in lines) <= 80


def test_agree_numeric_csv(cli: Cli, tmp_path: Path) -> None:
    df = _numbers()
    path = tmp_path / "scores.csv"
    df.to_csv(path, index=False)
    report = tmp_path / "a.html"
    code, out, err = cli("agree", str(path), "--level", "interval", "--report", str(report))
    assert code == 0, err
    _no_wide_lines(out)
    expected = numeric_agreement(df)
    assert f"{expected.krippendorff_alpha:.3f}" in out and "ICC(2,1)" in out
    assert "Bland-Altman" in out and report.is_file()
    code, out, err = cli("agree", str(path), "--json", "--report", str(report))
    assert code == 0, err
    data = json.loads(out)
    assert data["kind"] == "regression" and data["level"] == "interval"
    assert data["krippendorff_alpha"] == pytest.approx(expected.krippendorff_alpha, abs=1e-12)
    assert data["revise"][0]["annotator"] == "bob"  # the largest offset
    code, out, _ = cli("agree", str(path), "--level", "ratio", "--json", "--report", str(report))
    assert code == 0 and json.loads(out)["level"] == "ratio"
    code, _, _ = cli("agree", str(path), "--min-alpha", "0.999", "--report", str(report))
    assert code == 1


def test_agree_label_sets_jsonl_parquet_and_separator(cli: Cli, tmp_path: Path) -> None:
    df = _sets()
    df = df[df["label"].map(len) > 0]  # an empty cell of a CSV is a missing label
    expected = set_agreement(df).krippendorff_alpha
    jsonl = tmp_path / "tags.jsonl"
    df.to_json(jsonl, orient="records", lines=True)
    parquet = tmp_path / "tags.parquet"
    df.to_parquet(parquet)
    joined = tmp_path / "tags.csv"
    df.assign(label=df["label"].map("|".join)).to_csv(joined, index=False)
    report = str(tmp_path / "a.html")
    for args in ((str(jsonl),), (str(parquet),), (str(joined), "--label-sep", "|")):
        code, out, err = cli("agree", *args, "--json", "--report", report)
        assert code == 0, err
        data = json.loads(out)
        assert data["kind"] == "multilabel"
        assert data["krippendorff_alpha"] == pytest.approx(expected, abs=1e-12)
    code, out, err = cli("agree", str(jsonl), "--report", report)
    assert code == 0, err
    _no_wide_lines(out, report)
    assert "MASI" in out and "most swapped label pairs" in out


def test_agree_bad_input_is_one_line_exit_2(cli: Cli, tmp_path: Path) -> None:
    report = tmp_path / "a.html"
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"item": 1, "annotator": "a", "label": ["x"]}\n'
                     '{"item": 1, "annotator": "b", "label": 3}\n')
    code, _, err = cli("agree", str(mixed), "--report", str(report))
    assert code == 2 and "label 3 is not a list of labels" in err
    assert len(err.strip().splitlines()) == 1
    inf = tmp_path / "inf.csv"
    pd.DataFrame({"item": [1, 1], "annotator": ["a", "b"], "label": [1.0, np.inf]}).to_csv(
        inf, index=False)
    code, _, err = cli("agree", str(inf), "--level", "interval", "--report", str(report))
    assert code == 2 and "not finite" in err
    code, _, err = cli("agree", str(mixed.with_name("x.jsonl")), "--report", str(report))
    assert code == 2
    sets = tmp_path / "sets.jsonl"
    _sets(10).to_json(sets, orient="records", lines=True)
    code, _, err = cli("agree", str(sets), "--level", "ordinal", "--report", str(report))
    assert code == 2 and "leave out --level" in err
    assert not report.exists()


def test_agree_dataset_uses_its_task(cli: Cli, tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    numbers = _numbers(30)
    items = pd.DataFrame({"id": range(30), "y": numbers.groupby("item")["label"].mean()})
    ws.import_dataset("scores", items, label="y", id="id", task="regression")
    ws.annotations.add("scores", numbers)
    sets = _sets(30)
    first = sets.groupby("item")["label"].first()
    ws.import_dataset("tags", pd.DataFrame({"id": range(30), "tags": list(first)}),
                      label="tags", id="id", task="multilabel")
    ws.annotations.add("tags", sets)
    report = str(tmp_path / "a.html")
    w = ("--workspace", str(tmp_path / "ws"))
    code, out, err = cli("agree", "scores", "--json", "--report", report, *w)
    assert code == 0, err
    assert json.loads(out)["krippendorff_alpha"] == pytest.approx(
        numeric_agreement(numbers).krippendorff_alpha, abs=1e-12)
    code, out, err = cli("agree", "tags", "--json", "--report", report, *w)
    assert code == 0, err
    assert json.loads(out)["krippendorff_alpha"] == pytest.approx(
        set_agreement(sets).krippendorff_alpha, abs=1e-12)
    code, out, err = cli("agree", "tags", "--report", report, *w)
    assert code == 0 and "MASI" in out
