"""Agreement per label-book version: did a revision of the instructions help?

The workflow of the issue: measure agreement, revise the definitions of the classes with
the lowest agreement, have a sample labelled again under the new label-book version, and
compare. :func:`agreement_by` splits an annotation table by a column (by default
``labelbook_version``) and :func:`compare_classes` lines up per-class agreement.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import pandas as pd

from assay._validation import check_columns
from assay.collect.agreement import AgreementReport, agreement
from assay.exceptions import InputError

__all__ = ["agreement_by", "compare_classes"]


def agreement_by(
    df: pd.DataFrame, column: str = "labelbook_version", **kwargs: Any
) -> dict[Any, AgreementReport]:
    """One :class:`AgreementReport` per value of ``column`` (in sorted order).

    Parameters
    ----------
    df : DataFrame of shape (n_annotations, >= 4)
        Annotations with ``item``, ``annotator``, ``label`` and ``column``.
    column : str, default "labelbook_version"
    **kwargs
        Passed to :func:`~assay.collect.agreement.agreement` (e.g. ``classes``,
        ``ci=False``).

    Returns
    -------
    dict
        Value of ``column`` -> report. Groups where no item has two labels are left out
        with a warning.
    """
    check_columns(df, [column], where="the annotations")
    out: dict[Any, AgreementReport] = {}
    for value, group in df.groupby(column, sort=True):
        try:
            out[value] = agreement(group.drop(columns=[column]), **kwargs)
        except InputError as exc:
            if "no item has labels from two annotators" not in str(exc):
                raise
            warnings.warn(f"{column}={value!r}: {exc}", UserWarning, stacklevel=2)
    return out


def compare_classes(reports: Mapping[Any, AgreementReport]) -> pd.DataFrame:
    """Per-class agreement side by side, one column per report (e.g. per version).

    Parameters
    ----------
    reports : mapping of name -> AgreementReport

    Returns
    -------
    DataFrame of shape (n_classes, n_reports + 1), indexed by class
        The ``agreement`` of each class in each report (NaN where the class did not
        occur) and ``change``: last minus first.
    """
    if not reports:
        raise InputError("no reports to compare; give at least one AgreementReport.")
    table = pd.DataFrame({name: rep.per_class["agreement"] for name, rep in reports.items()})
    table["change"] = table.iloc[:, -1] - table.iloc[:, 0]
    return table
