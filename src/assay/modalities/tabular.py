"""Tabular data: numeric columns as they are, categorical columns one-hot encoded."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.preprocessing import OneHotEncoder

from assay._validation import name_rows
from assay.exceptions import InputError

__all__ = ["TabularModality"]

_READERS: dict[str, Callable[..., pd.DataFrame]] = {
    ".csv": pd.read_csv,
    ".parquet": pd.read_parquet,
    ".pq": pd.read_parquet,
}


class TabularModality:
    """Rows of a table.

    Parameters
    ----------
    max_categories : int, default=50
        Most frequent categories kept per categorical column (the rest share one column).
    """

    name = "tabular"

    def __init__(self, max_categories: int = 50) -> None:
        self.max_categories = max_categories

    def load(self, paths: Sequence[str | Path]) -> list[Any]:
        """Read CSV or Parquet files; return their rows (as dicts), files concatenated."""
        frames = []
        for path in map(Path, paths):
            reader = _READERS.get(path.suffix.lower())
            if reader is None:
                raise InputError(f"{path}: cannot read {path.suffix!r} files; use CSV or Parquet.")
            frames.append(reader(path))
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return table.to_dict(orient="records")

    def featurize(self, items: Any) -> np.ndarray:
        """Numeric columns as float64 and one-hot categoricals.

        Parameters
        ----------
        items : DataFrame or list of dict
            The rows.

        Returns
        -------
        ndarray of shape (n_rows, n_numeric + n_category_columns)
        """
        df = items if isinstance(items, pd.DataFrame) else pd.DataFrame(list(items))
        numeric = df.select_dtypes(include=["number", "bool"])
        _check_missing(numeric)
        parts = [numeric.to_numpy(dtype=np.float64)]
        other = df.drop(columns=numeric.columns)
        if other.shape[1]:
            encoder = OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                max_categories=self.max_categories,
                sparse_output=False,
            )
            filled = other.astype(object).where(other.notna(), "<missing>").astype(str)
            parts.append(encoder.fit_transform(filled))
        return np.hstack(parts) if parts else np.zeros((len(df), 0))

    def render_html(self, item: Any) -> str:
        """A one-row HTML table of the item's fields."""
        fields = dict(item) if not isinstance(item, pd.Series) else item.to_dict()
        head = "".join(f"<th>{html.escape(str(k))}</th>" for k in fields)
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in fields.values())
        return f"<table><tr>{head}</tr><tr>{cells}</tr></table>"


def _check_missing(
    numeric: pd.DataFrame,
    *,
    where: str = "",
    fix: str = "impute or drop missing values before the audit.",
) -> None:
    """Refuse the first missing value of ``numeric``, naming its column and row.

    ``where`` (e.g. ``" of the training data"``) follows the column's name; ``fix``
    ends the message. Also used by :mod:`assay.train.evaluate._missing`.
    """
    missing = numeric.isna().to_numpy()
    if missing.any():
        row, col = np.argwhere(missing)[0]
        raise InputError(
            f"column {numeric.columns[col]!r}{where} is missing a value at "
            f"{name_rows(row, numeric.index)}; {fix}"
        )
