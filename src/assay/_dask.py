"""Dask, an optional dependency: recognise its collections without importing it, read
a folder of Parquet files as one Dask DataFrame, and connect to a scheduler.

Every entry point that accepts a Dask DataFrame or array (import, drift, agreement,
consensus, label issues) asks these, so that the in-memory path never pays Dask's
import time; the CLI's ``--dask-scheduler`` goes through :func:`dask_cluster`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assay.exceptions import InputError

__all__ = ["dask_cluster", "is_dask_collection", "is_dask_frame", "read_parquet_folder"]


def is_dask_frame(data: Any) -> bool:
    """Whether ``data`` is a Dask DataFrame."""
    return type(data).__module__.startswith("dask") and hasattr(data, "npartitions")


def is_dask_collection(data: Any) -> bool:
    """Whether ``data`` is any Dask collection (array, Series or DataFrame)."""
    return type(data).__module__.startswith("dask") and hasattr(data, "dask")


def read_parquet_folder(folder: Path) -> Any:
    """A folder of Parquet files as one Dask DataFrame (a table batch, not media).

    Hidden files are left out; hive partition folders (``month=2024-01/``) become
    columns, as :func:`assay.store.stream_sources.hive_partitions` reads them on import.

    Raises
    ------
    InputError
        When Dask is not installed, the folder holds no ``.parquet`` file, or its files
        sit under different partition keys.
    """
    from assay.store.stream_sources import hive_partitions, parquet_files

    files = parquet_files(folder)
    if not files:
        raise InputError(
            f"{folder} holds no .parquet file; give a folder of Parquet files (one table "
            "batch) or a single CSV / Parquet / JSONL file."
        )
    try:
        import dask.dataframe as dd
    except ImportError as exc:
        raise InputError(
            f"reading the Parquet folder {folder} needs Dask; install it with "
            "`pip install 'assay[dask]'`."
        ) from exc
    hive = {"partitioning": "hive", "partition_base_dir": str(folder)}
    return dd.read_parquet([str(f) for f in files],
                           dataset=hive if hive_partitions(folder, files) else {})


def _connect_timeout() -> float:
    """Seconds to keep trying a scheduler: ``ASSAY_DASK_TIMEOUT``, else 10."""
    raw = os.environ.get("ASSAY_DASK_TIMEOUT", "10")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise InputError(
            f"ASSAY_DASK_TIMEOUT={raw!r} is not a positive number of seconds; "
            "set it to, say, 10, or unset it."
        )
    return seconds


@contextmanager
def dask_cluster(address: str | None) -> Iterator[Any]:
    """Run Dask work on the scheduler at ``address`` (or ``DASK_SCHEDULER_ADDRESS``).

    Without either, Dask runs in this process (its default scheduler). Connecting
    gives up after ``ASSAY_DASK_TIMEOUT`` seconds (default 10).

    Raises
    ------
    InputError
        When the scheduler cannot be reached, or distributed is not installed.
    """
    address = address or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if address is None:
        yield None
        return
    try:
        from distributed import Client
    except ImportError as exc:
        raise InputError(
            "--dask-scheduler needs dask.distributed; install it with `pip install 'assay[dask]'`."
        ) from exc
    try:
        client = Client(address, timeout=f"{_connect_timeout()}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            f"cannot reach the Dask scheduler at {address} ({str(exc).splitlines()[0][:80]}); "
            "start it (`dask scheduler`) or fix --dask-scheduler / DASK_SCHEDULER_ADDRESS."
        ) from exc
    with client:
        yield client
