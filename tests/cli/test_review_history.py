"""``assay review show ID`` lists the entry's decisions: who, when, what, applied where."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from assay.store.workspace import Workspace


def test_show_lists_every_decision_and_where_it_was_applied(cli, tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    frame = pd.DataFrame({"x": np.random.default_rng(5).normal(size=8), "y": np.arange(8) % 4})
    ws.import_dataset("d", frame, label="y")
    ws.review.add("d", pd.DataFrame({"item_id": [6], "score": [0.1]}), source="label_issue")
    entry = int(ws.review.list("d")["id"].iloc[0])
    w = ["-w", ws.location]
    ws.review.decide(entry, "relabel", label="3", user="ann", note="a three")
    ws.review.undo(entry, user="bob")
    ws.review.decide(entry, "relabel", label="1", user="bob")
    assert cli("review", "apply", "d", *w)[0] == 0
    code, out, _ = cli("review", "show", str(entry), *w)
    assert code == 0
    lines = out[out.index("history") :].splitlines()[1:]
    assert "relabel 3" in lines[0] and "ann" in lines[0] and "a three" in lines[0]
    assert "not applied" in lines[0]
    assert "undo" in lines[1] and "bob" in lines[1]
    assert "relabel 1" in lines[2] and "applied to d@v2" in lines[2] and "in force" in lines[2]
    code, out, _ = cli("review", "show", str(entry), "--json", *w)
    record = json.loads(out)
    assert [h["action"] for h in record["history"]] == ["relabel", "undo", "relabel"]
    assert record["history"][-1]["applied_to"] == "d@v2"
    assert record["decision_id"] == record["history"][-1]["id"]
