"""The train/iterate workflows word their refusals with Python parameters
(``recipe=``); at the command line the same refusals name the flags."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from assay.store.workspace import Workspace
from assay.train.recipe import load_recipe

RECIPE = (
    "featurizer: standard_scaler\nestimator: sklearn.linear_model.LogisticRegression\n"
    "params: {C: 0.5, max_iter: 300}\nseed: 0\n"
)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """``digits``: 240 real digits with a tag ``ink``; recipe ``lr`` (nothing is trained:
    every command here is refused before any work)."""
    data = load_digits()
    frame = pd.DataFrame(data.data[:240], columns=[f"p{i}" for i in range(64)])
    frame["ink"] = np.where(data.data[:240].sum(axis=1) > 300, "heavy", "light")
    frame["label"] = data.target[:240].astype(np.int64)
    frame.insert(0, "item_id", np.arange(240))
    workspace = Workspace.init(tmp_path / "ws")
    workspace.import_dataset("digits", frame, label="label", id="item_id", tags=["ink"])
    workspace.recipes.add("lr", load_recipe(RECIPE))
    try:
        yield workspace
    finally:
        workspace.close()


def test_the_cli_still_names_its_flags(cli, ws: Workspace, tmp_path: Path) -> None:
    """The workflows' parameter wording becomes flags at the command line."""
    w = ["-w", ws.location]
    pd.DataFrame({"prediction": np.zeros(240, dtype=int)}).to_csv(tmp_path / "p.csv")
    code, _, err = cli("slices", "digits", "--recipe", "lr", "--predictions",
                       str(tmp_path / "p.csv"), *w)  # fmt: skip
    assert code == 2 and "give either --recipe or --predictions, not both" in err
    code, _, err = cli("slices", "digits", "--hlp", "0.9", "--hlp-from-annotations", *w)
    assert code == 2 and "give either --hlp or --hlp-from-annotations, not both" in err
    code, _, err = cli("slices", "digits", "--recipe", "lr", "--hlp-from-annotations", *w)
    assert code == 2 and "`assay annotations import digits FILE`, or give --hlp X" in err
    code, _, err = cli("slices", "digits", "--recipe", "lr", "--by", "nope", *w)
    assert code == 2 and "give --by one of them" in err and "by=" not in err
    code, _, err = cli("loop", "digits@v1", "--recipe", "lr", "--eval", "digits", *w)
    assert code == 2 and "latest version; give digits, not a version" in err
    assert ws.analyses() == []
