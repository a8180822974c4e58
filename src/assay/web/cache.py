"""A small in-process cache of version tables, safe because versions are immutable.

A version's rows live in a content-addressed Parquet object, so a table cached by its
object hash can never go stale. The review page looks up one row among 100,000 on
every request; reading the Parquet file each time would cost tens of milliseconds.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from assay.store.datasets import DatasetVersion

__all__ = ["CachedTable", "TableCache", "TtlCache"]


@dataclass
class CachedTable:
    """A version's rows and an index from item id (as text) to row position."""

    table: pa.Table
    ids: pd.Index
    id_column: str
    label_column: str
    _classes: list[Any] | None = None

    def row(self, item_id: str) -> dict[str, Any] | None:
        """The row of ``item_id`` as a dict, or None when the version lacks it."""
        try:
            pos = self.ids.get_loc(item_id)
        except KeyError:
            return None
        if not isinstance(pos, int):  # duplicated text forms of ids: take the first
            return None
        # a scalar per column: about 5x less CPU than slicing the table to a row list
        return {
            name: column[pos].as_py()
            for name, column in zip(self.table.column_names, self.table.columns, strict=True)
        }

    def label(self, item_id: str) -> Any:
        """The label of ``item_id``, or None."""
        try:
            pos = self.ids.get_loc(item_id)
        except KeyError:
            return None
        return self.table.column(self.label_column)[pos].as_py() if isinstance(pos, int) else None

    def classes(self) -> list[Any]:
        """The distinct labels, sorted (computed once)."""
        if self._classes is None:
            values = self.table.column(self.label_column).unique().to_pylist()
            self._classes = sorted(
                (v for v in values if v is not None), key=lambda v: (str(type(v)), v)
            )
        return self._classes


class TableCache:
    """Keep the last ``size`` version tables in memory, by object hash.

    Parameters
    ----------
    size : int, default 4
        How many tables to keep.
    """

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._items: OrderedDict[str, CachedTable] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version: DatasetVersion) -> CachedTable:
        """The cached table of ``version`` (loaded on first use)."""
        key = version.object_hash
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        table = version.to_arrow()
        ids = pd.Index(table.column(version.roles.id).to_pandas().astype(str))
        entry = CachedTable(table, ids, version.roles.id, version.roles.label)
        with self._lock:
            self._items[key] = entry
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return entry


class TtlCache:
    """Remember values for ``seconds`` (e.g. the signed-in session, read on every request).

    A change made elsewhere (another process, the CLI) takes effect within ``seconds``;
    :meth:`forget` makes one in this process take effect at once.
    """

    def __init__(
        self, seconds: float = 2.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.clock = clock
        self._items: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached value of ``key``, or ``load()`` when absent or older than the TTL."""
        now = self.clock()
        hit = self._items.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        if len(self._items) > 10_000:
            self._items.clear()
        self._items[key] = (now + self.seconds, value)
        return value

    def forget(self, key: Hashable) -> None:
        """Drop ``key`` (the next :meth:`get` loads it again)."""
        self._items.pop(key, None)
