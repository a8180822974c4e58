"""Objects are checked against their hash on read: damage is reported as damage."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.cli.main import main
from assay.exceptions import StoreError
from assay.store.workspace import Workspace


def _frame(n: int = 500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n), "y": rng.integers(0, 3, size=n)})


def _damage(path: Path, seed: int = 0) -> None:
    """Flip one byte in the middle of the file (the data, not the footer)."""
    data = bytearray(path.read_bytes())
    where = int(np.random.default_rng(seed).integers(len(data) // 4, len(data) // 2))
    data[where] ^= 0xFF
    stat = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def test_a_damaged_object_is_reported(workspace: Workspace) -> None:
    for number in (1, 2, 3):
        workspace.import_dataset("digits", _frame(seed=number), label="y")
    v3 = workspace.dataset("digits@v3")
    assert v3.to_arrow().num_rows == 500  # read (and verified) once: cached
    _damage(workspace.objects.path(v3.object_hash))
    expected = (
        f"object {v3.object_hash} of digits@v3 does not match its hash; the workspace is "
        r"damaged \(restore .assay/objects from a backup\)"
    )
    with pytest.raises(StoreError, match=expected):
        v3.to_arrow()
    with pytest.raises(StoreError, match=expected):
        v3.schema  # noqa: B018
    assert workspace.dataset("digits@v2").to_arrow().num_rows == 500  # the others are fine


def test_the_cli_says_damage_in_one_line(
    sqlite_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite_workspace.import_dataset("digits", _frame(), label="y")
    version = sqlite_workspace.dataset("digits")
    _damage(sqlite_workspace.objects.path(version.object_hash), seed=1)
    code = main(["show", "digits@v1", "-w", str(sqlite_workspace.root)])
    err = capsys.readouterr().err
    assert code == 2
    assert "digits@v1 does not match its hash" in err
    assert "restore .assay/objects from a backup" in err
    assert "Traceback" not in err
