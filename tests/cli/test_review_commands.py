"""``assay review`` on a real workspace: list, decide, conflict, undo, apply."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.store.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    rng = np.random.default_rng(0)
    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset(
        "d", pd.DataFrame({"x": rng.normal(size=10), "y": rng.integers(0, 3, 10)}), label="y"
    )
    ws.review.add(
        "d",
        pd.DataFrame(
            {
                "item_id": range(5),
                "score": np.linspace(0, 0.4, 5),
                "reason": "suspicious",
                "suggested_label": 1,
            }
        ),
        source="label_issue",
    )
    return ws


def test_decide_conflict_undo_apply(cli, ws: Workspace) -> None:
    w = ["-w", ws.location]
    code, out, _ = cli("review", "list", "d", "--json", *w)
    entries = json.loads(out)
    assert code == 0 and [e["item_id"] for e in entries] == ["0", "1", "2", "3", "4"]
    first, second = entries[0]["id"], entries[1]["id"]
    assert (
        cli("review", "decide", str(first), "--relabel", "2", "--note", "looks like 2", *w)[0] == 0
    )
    code, _, err = cli("review", "decide", str(first), "--keep", *w)
    assert code == 2 and "already decided" in err
    assert cli("review", "decide", str(second), "--remove", *w)[0] == 0
    assert cli("review", "undo", str(second), *w)[0] == 0
    assert cli("review", "decide", str(second), "--keep", *w)[0] == 0
    code, out, _ = cli("review", "apply", "d", "--json", *w)
    version = json.loads(out)
    assert code == 0 and version["ref"] == "d@v2" and version["summary"]["relabeled"] == 1
    assert ws.dataset("d@v2").to_pandas().set_index("item_id").loc[0, "y"] == 2


def test_bad_decisions_exit_2(cli, ws: Workspace) -> None:
    w = ["-w", ws.location]
    code, _, err = cli("review", "decide", "1", "--keep", "--remove", *w)
    assert code == 2 and "exactly one of" in err
    code, _, err = cli("review", "decide", "999", "--keep", *w)
    assert code == 2 and "no review entry #999" in err
    code, _, err = cli("review", "decide", "1", "--relabel", "cat", *w)
    assert code == 2 and "not an integer" in err
    code, _, err = cli("review", "apply", "d", *w)
    assert code == 2 and "no decided review entries" in err
    assert [v.ref for v in ws.log("d")] == ["d@v1"]
