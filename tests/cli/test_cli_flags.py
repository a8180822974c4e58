"""Library messages name Python parameters; the CLI rewrites them to its flags."""

from __future__ import annotations

import pytest

from assay._validation import check_in, check_number, param_error
from assay.cli._common import cli_flags, flag_message
from assay.exceptions import InputError, NotFoundError

FLAGS = {"n": "--n", "ci_width": "--ci-width", "method": "--method"}


def test_parameter_errors_become_flag_errors() -> None:
    with pytest.raises(InputError) as err, cli_flags(**FLAGS):
        check_number(0, name="n", func="plan_sample", low=1, integer=True)
    assert str(err.value) == "--n must be an int >= 1. Got 0 instead."
    with pytest.raises(InputError) as err, cli_flags(**FLAGS):
        check_in("vote", ["majority", "dawid_skene"], name="method", func="consensus")
    assert str(err.value).startswith("--method must be one of 'majority', 'dawid_skene'.")
    exc = param_error("n", "plan_sample", "given, or else ci_width (exactly one)", None)
    assert flag_message(str(exc), FLAGS) == (
        "--n must be given, or else --ci-width (exactly one). Got None instead."
    )


def test_keywords_and_snake_case_names_only() -> None:
    text = "ci_width= needs shares; n items were given; use n=3 or maxn=2; min_ci_width_x"
    assert flag_message(text, FLAGS) == (
        "--ci-width needs shares; n items were given; use --n 3 or maxn=2; min_ci_width_x"
    )
    assert flag_message("The 'seed' parameter of f must be >= 0.", FLAGS) == (
        "The 'seed' parameter of f must be >= 0."
    )


def test_the_error_class_is_kept_and_untouched_errors_pass_through() -> None:
    with pytest.raises(NotFoundError, match="^--n must be"), cli_flags(n="--n"):
        raise NotFoundError("The 'n' parameter of x must be known.")
    original = InputError("the file is empty")
    with pytest.raises(InputError) as err, cli_flags(**FLAGS):
        raise original
    assert err.value is original
