"""The CLI names a parameter by its flag from ``InputError.param``, not from the text."""

from __future__ import annotations

import pytest

import assay
from assay.cli._common import cli_flags
from assay.exceptions import InputError

FLAGS = {"n": "--n", "ci_width": "--ci-width", "seed": "--seed", "status": "--status"}


def test_the_parameter_comes_from_the_attribute() -> None:
    with pytest.raises(InputError) as err, cli_flags(**FLAGS):
        raise InputError("The 'n' parameter of plan_sample must be given, or else ci_width "
                         "(exactly one). Got None instead.", param="n")
    # the parameter of the error gets its flag; a name in prose only by a phrase table
    assert str(err.value) == (
        "--n must be given, or else ci_width (exactly one). Got None instead."
    )
    assert err.value.param == "n"


def test_names_in_prose_are_left_alone() -> None:
    original = InputError("use n=3 or ci_width above 0.1", param="seed")
    with pytest.raises(InputError) as err, cli_flags(**FLAGS):
        raise original
    assert err.value is original


def test_keyword_form_of_the_parameter() -> None:
    with pytest.raises(InputError) as err, cli_flags(**FLAGS):
        raise InputError("status='dun' is not one of open, decided.", param="status")
    assert str(err.value) == "--status 'dun' is not one of open, decided."
    with pytest.raises(InputError) as err, cli_flags(**FLAGS):
        raise InputError("ci_width= needs class prevalences.", param="ci_width")
    assert str(err.value) == "--ci-width needs class prevalences."


def test_phrases_translate_prose() -> None:
    with pytest.raises(InputError) as err, cli_flags(phrases={"or else ci_width": "or else "
                                                              "--ci-width"}, **FLAGS):
        raise InputError("The 'n' parameter of f must be given, or else ci_width. Got 0 "
                         "instead.", param="n")
    assert str(err.value) == "--n must be given, or else --ci-width. Got 0 instead."


def test_a_declared_engine_parameter_becomes_its_flag() -> None:
    with pytest.raises(InputError) as err, cli_flags(k="--top"):
        assay.classes_to_revise(None, k=0)  # type: ignore[arg-type]
    assert str(err.value) == "--top must be an int >= 1. Got 0 instead."
    assert err.value.param == "k"
    with pytest.raises(InputError) as err, cli_flags(**FLAGS):
        assay.transcript_agreement(None, max_value_pairs=0)  # type: ignore[arg-type]
    assert str(err.value).startswith("The 'max_value_pairs' parameter of transcript_agreement")
