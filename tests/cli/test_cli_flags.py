"""Library messages name Python parameters; the CLI rewrites them to its flags."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import typer

from assay._validation import check_in, check_number, param_error
from assay.cli._common import check_output_file, cli_flags, in_range
from assay.exceptions import InputError, NotFoundError

FLAGS = {"n": "--n", "ci_width": "--ci-width", "method": "--method"}


def test_parameter_errors_become_flag_errors() -> None:
    with pytest.raises(InputError) as err, cli_flags(**FLAGS):
        check_number(0, name="n", func="plan_sample", low=1, integer=True)
    assert str(err.value) == "--n must be an int >= 1. Got 0 instead."
    with pytest.raises(InputError) as err, cli_flags(**FLAGS):
        check_in("vote", ["majority", "dawid_skene"], name="method", func="consensus")
    assert str(err.value).startswith("--method must be one of 'majority', 'dawid_skene'.")
    with pytest.raises(InputError) as err, cli_flags(**FLAGS):
        raise param_error("n", "plan_sample", "given, or else ci_width (exactly one)", None)
    assert str(err.value) == "--n must be given, or else ci_width (exactly one). Got None instead."


def test_the_error_class_is_kept_and_untouched_errors_pass_through() -> None:
    with pytest.raises(NotFoundError, match="^--n must be"), cli_flags(n="--n"):
        raise NotFoundError("The 'n' parameter of x must be known.")
    original = InputError("the file is empty")
    with pytest.raises(InputError) as err, cli_flags(**FLAGS):
        raise original
    assert err.value is original


def test_in_range_bounds_open_and_closed() -> None:
    alpha = in_range(0, 1, low_open=True, hint="a weight")
    assert alpha(1) == 1 and alpha(1e-6) == 1e-6 and alpha(None) is None
    for bad in (0, -0.5, 1.0001, math.nan):
        with pytest.raises(typer.BadParameter, match=r"in \(0, 1\] \(a weight\); got"):
            alpha(bad)
    drop = in_range(0, 1, low_open=True, high_open=True)
    assert drop(0.05) == 0.05
    with pytest.raises(typer.BadParameter, match=r"must be a number in \(0, 1\); got 1\.$"):
        drop(1)
    assert in_range(low=2)(math.inf) == math.inf
    with pytest.raises(typer.BadParameter, match="must be a number >= 2; got 1.5"):
        in_range(low=2)(1.5)
    with pytest.raises(typer.BadParameter, match="must be a number < 3; got 3"):
        in_range(high=3, high_open=True)(3)


def test_check_output_file(tmp_path: Path) -> None:
    assert check_output_file(tmp_path / "new" / "deeper" / "r.html", "--report").name == "r.html"
    assert not (tmp_path / "new").exists()  # nothing is created by the check
    with pytest.raises(InputError, match="^--report .* is a folder; give a file name such as"):
        check_output_file(tmp_path, "--report")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(InputError, match="f.txt is a file, not a folder; choose another path"):
        check_output_file(tmp_path / "f.txt" / "sub" / "r.html", "--out")
