"""``assay audit`` and ``assay train`` say when feature columns determine the label:
hourly bike rentals (UCI Bike Sharing, ``hour.csv``), whose ``cnt`` is
``casual + registered``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

IMPORTED = ("--label", "cnt", "--id", "instant", "--task", "regression")


def _bikes(cli, tmp_path: Path, shared_data: Path, drop: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """A workspace with the first 1,500 hours as ``bikes`` (without ``drop``); returns
    its ``-w`` arguments."""
    hours = pd.read_csv(shared_data / "regression" / "bike-sharing" / "hour.csv").head(1500)
    hours.drop(columns=["dteday", *drop]).to_csv(tmp_path / "hours.csv", index=False)
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    assert cli("import", "bikes", str(tmp_path / "hours.csv"), *IMPORTED, *w)[0] == 0
    return w


def _audit(cli, tmp_path: Path, w: list[str]) -> str:  # type: ignore[no-untyped-def]
    """What ``assay audit bikes`` writes to stderr (its exit code checked)."""
    code, _, err = cli("audit", "bikes", "--checks", "outlier", "--report",
                       str(tmp_path / "audit.html"), *w)
    assert code == 0
    return str(err)


def test_the_cli_audit_says_it(cli, tmp_path: Path, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    err = _audit(cli, tmp_path, _bikes(cli, tmp_path, shared_data, []))
    assert "warning: target leakage? columns casual and registered" in err
    assert "import a version without them" in err
    assert "target leakage?" in (tmp_path / "audit.html").read_text()


def test_a_version_without_the_parts_is_quiet(cli, tmp_path: Path, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    w = _bikes(cli, tmp_path, shared_data, ["casual", "registered"])
    assert "target leakage" not in _audit(cli, tmp_path, w)


def test_train_notes_it(cli, tmp_path: Path, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    hours = pd.read_csv(shared_data / "regression" / "bike-sharing" / "hour.csv")
    hours = hours.drop(columns=["dteday"])
    hours[hours.yr == 0].head(800).to_csv(tmp_path / "y0.csv", index=False)
    hours[hours.yr == 1].head(800).to_csv(tmp_path / "y1.csv", index=False)
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    assert cli("import", "bikes", str(tmp_path / "y0.csv"), *IMPORTED, *w)[0] == 0
    assert cli("import", "later", str(tmp_path / "y1.csv"), *IMPORTED, *w)[0] == 0
    assert cli("recipe", "add", "lin", "sklearn.linear_model:LinearRegression", *w)[0] == 0
    code, out, _ = cli("train", "bikes", "--recipe", "lin", "--eval", "later", *w)
    assert code == 0
    said = " ".join(out.split())  # the note is wrapped to 80 columns
    assert "note: target leakage? columns casual and registered together predict" in said
    assert "leave them out of the features" in said
