"""User-given numbers beyond the INTEGER columns are refused, never sent to SQL."""

from __future__ import annotations

import pandas as pd
import pytest

from assay.cli.main import main
from assay.exceptions import InputError, NotFoundError
from assay.store.refs import SQL_INT_MAX, Ref, check_sql_int, parse_ref
from assay.store.workspace import Workspace


@pytest.fixture
def digits(workspace: Workspace) -> Workspace:
    workspace.import_dataset("digits", pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]}), label="y")
    return workspace


@pytest.mark.parametrize("number", [2**31, 2**63, 99999999999999999999])
def test_versions_beyond_int32_are_refused(digits: Workspace, number: int) -> None:
    with pytest.raises(InputError, match=rf"names version v{number}, beyond the largest"):
        digits.dataset(f"digits@v{number}")
    with pytest.raises(InputError, match=rf"the version number of digits {number} is out"):
        digits.dataset(Ref("digits", number))


def test_the_largest_version_is_simply_absent(digits: Workspace) -> None:
    with pytest.raises(NotFoundError, match=f"has no version v{SQL_INT_MAX}"):
        digits.dataset(f"digits@v{SQL_INT_MAX}")
    assert parse_ref(f"digits@v{SQL_INT_MAX}").number == SQL_INT_MAX


def test_the_cli_refuses_in_one_line(digits: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("show", "export"):
        extra = [str(digits.root / "out.csv")] if command == "export" else []
        code = main([command, "digits@v99999999999999999999", *extra, "-w", str(digits.root)])
        err = " ".join(capsys.readouterr().err.split())
        assert code == 2, err
        assert "beyond the largest version number (v2147483647)" in err
        assert "assay log digits" in err


def test_check_sql_int() -> None:
    assert check_sql_int(7, "review entry id") == 7
    with pytest.raises(InputError, match="review entry id 2147483648 is out of range; give a"):
        check_sql_int(2**31, "review entry id")
    with pytest.raises(InputError, match="window -1 is out of range; give a number from 1"):
        check_sql_int(-1, "window", low=1)
    with pytest.raises(InputError, match="must be a whole number, not '3'"):
        check_sql_int("3", "window")  # type: ignore[arg-type]
