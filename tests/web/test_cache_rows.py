"""The table cache's row lookup gives what pyarrow's row list gives, for every type."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa

from assay.web.cache import CachedTable


def _table() -> pa.Table:
    chunks = [
        pa.table(
            {
                "id": ["a", "b"],
                "n": pa.array([1, None], pa.int64()),
                "x": [0.5, float("nan")],
                "t": pa.array([dt.datetime(2026, 1, 2, 3, 4, 5), None], pa.timestamp("us", tz="UTC")),
                "tags": pa.array([["p", "q"], []], pa.list_(pa.string())),
                "box": pa.array([{"w": 1, "h": 2}, None], pa.struct([("w", pa.int32()), ("h", pa.int32())])),
                "cat": pa.array(["u", "v"]).dictionary_encode(),
            }
        ),
        pa.table(
            {
                "id": ["c"],
                "n": pa.array([7], pa.int64()),
                "x": [2.0],
                "t": pa.array([None], pa.timestamp("us", tz="UTC")),
                "tags": pa.array([None], pa.list_(pa.string())),
                "box": pa.array([{"w": 3, "h": 4}], pa.struct([("w", pa.int32()), ("h", pa.int32())])),
                "cat": pa.array(["u"]).dictionary_encode(),
            }
        ),
    ]
    return pa.concat_tables(chunks)


def test_row_matches_pyarrow_rows_across_chunks() -> None:
    table = _table()
    cached = CachedTable(table, pd.Index(["a", "b", "c"]), "id", "n")
    expected = table.to_pylist()
    for pos, item_id in enumerate(["a", "b", "c"]):
        got = cached.row(item_id)
        assert got is not None
        assert list(got) == table.column_names
        assert repr(got) == repr(expected[pos])  # NaN-safe, and the types too
    assert cached.row("missing") is None
