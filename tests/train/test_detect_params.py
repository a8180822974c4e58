"""HogDetector's constructor parameters: declared, refused with one line when bad.

The same generator of bad values as tests/test_param_validation.py (each constraint's
own bad values plus a wrong type), on the class assay.train.detect exports.
"""

from __future__ import annotations

import inspect
from typing import Any

import pandas as pd
import pytest

from assay._validation import _make
from assay.exceptions import InputError
from assay.train.detect import HogDetector

CONSTRAINTS = {p: [_make(c) for c in cs] for p, cs in HogDetector._parameter_constraints.items()}
BOXES = pd.DataFrame(
    {"image": ["a"], "label": ["x"], "x": [0.0], "y": [0.0], "w": [4.0], "h": [4.0]}
)


def _bad(param: str) -> list[Any]:
    constraints = CONSTRAINTS[param]
    values = [v for c in constraints for v in c.bad_values()] + [object()]
    return [v for v in values if not any(c.is_satisfied_by(v) for c in constraints)]


def test_every_constructor_parameter_is_declared_and_its_default_passes() -> None:
    signature = inspect.signature(HogDetector.__init__).parameters
    params = {p for p in signature if p != "self"}
    assert params == set(CONSTRAINTS)
    for p in params:
        assert any(c.is_satisfied_by(signature[p].default) for c in CONSTRAINTS[p]), p
        assert _bad(p), p


@pytest.mark.parametrize(("param", "value"), [(p, v) for p in CONSTRAINTS for v in _bad(p)])
def test_a_bad_parameter_is_refused_by_fit_in_one_line(param: str, value: Any) -> None:
    # the parameters are checked before the data: an empty image mapping does not matter
    with pytest.raises(InputError) as err:
        HogDetector(**{param: value}).fit({}, BOXES)
    message = str(err.value)
    assert err.value.param == param
    assert message.startswith(f"The '{param}' parameter of HogDetector.fit must be ")
    assert message.endswith(" instead.") and "\n" not in message
