"""Bad inputs a new user makes (found in a QA pass): one line, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.store.workspace import Workspace

RECIPE = (
    "featurizer: standard_scaler\nestimator: sklearn.linear_model.LogisticRegression\nseed: 0\n"
)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"id": range(40), "f": rng.normal(size=40), "label": rng.integers(0, 3, 40)}
    )
    frame.to_csv(tmp_path / "ok.csv", index=False)
    ws.import_dataset("a", tmp_path / "ok.csv", label="label", id="id")
    return ws


def test_reimport_keeps_the_id_column(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    code, out, err = cli("import", "a", str(tmp_path / "ok.csv"), *w)
    assert code == 0 and "a@v2" in out, err
    pd.DataFrame({"k": [1], "f": [0.0], "label": [1]}).to_csv(tmp_path / "k.csv", index=False)
    code, _, err = cli("import", "a", str(tmp_path / "k.csv"), *w)
    assert code == 2 and "identifies its items by that column" in err
    assert [v.ref for v in ws.log("a")] == ["a@v2", "a@v1"]


def test_reimport_cannot_change_the_id_column(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    frame = pd.read_csv(tmp_path / "ok.csv").assign(key=lambda d: d["id"].astype(str) + "x")
    frame.to_csv(tmp_path / "keyed.csv", index=False)
    code, _, err = cli("import", "a", str(tmp_path / "keyed.csv"), "--id", "key", *w)
    assert code == 2 and "by column 'id'" in err and "use --id id" in err
    code, _, err = cli("import", "b", str(tmp_path / "keyed.csv"), *w)  # row numbers
    assert code == 0, err
    code, _, err = cli("import", "b", str(tmp_path / "keyed.csv"), "--id", "key", *w)
    assert code == 2 and "by row number" in err and "without --id" in err
    assert [v.ref for v in ws.log("a")] == ["a@v1"] and [v.ref for v in ws.log("b")] == ["b@v1"]


def test_recipe_with_a_bad_parameter_value_is_refused(cli, ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(RECIPE.replace("seed: 0", "params: {C: abc}\nseed: 0"))
    code, _, err = cli("recipe", "add", "r", str(tmp_path / "r.yaml"), "-w", ws.location)
    assert code == 2 and "'C' parameter of LogisticRegression" in err
    assert ws.recipes.list() == []


def test_unusable_paths(cli, ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "folder.csv").mkdir()
    code, _, err = cli("export", "a@v1", str(tmp_path / "folder.csv"), "-w", ws.location)
    assert code == 2 and "is a folder" in err
    code, _, err = cli("export", "a@v1", str(tmp_path / "ok.csv" / "x.csv"), "-w", ws.location)
    assert code == 2 and "choose another path" in err
    code, _, err = cli("init", str(tmp_path / "ok.csv"))
    assert code == 2 and "is a file" in err


def test_monitor_names_and_review_inputs(cli, ws: Workspace) -> None:
    w = ["-w", ws.location]
    assert cli("monitor", "add", "m", "--reference", "a@v1", *w)[0] == 0
    code, _, err = cli("monitor", "add", "m", "--reference", "a@v1", *w)
    assert code == 2 and "exists already" in err and "Traceback" not in err
    code, _, err = cli("monitor", "add", " ", "--reference", "a@v1", *w)
    assert code == 2 and "name is empty" in err
    assert [m["name"] for m in ws.monitors.list()] == ["m"]
    ws.review.add(
        "a", pd.DataFrame({"item_id": ["0"], "score": [0.1], "reason": "?"}), source="label_issue"
    )
    entry = str(ws.review.list("a")["id"].iloc[0])
    code, _, err = cli("review", "decide", entry, "--relabel", "42", *w)
    assert code == 2 and "not a class of a" in err
    assert cli("review", "decide", entry, "--relabel", "2", *w)[0] == 0
    code, _, err = cli("review", "list", "--status", "dun", *w)
    assert code == 2 and "open, decided, applied, all" in err
    code, _, err = cli("review", "list", "nope", *w)
    assert code == 2 and "no dataset named 'nope'" in err


def test_ui_refuses_a_bad_port(cli, ws: Workspace) -> None:
    code, _, err = cli("ui", ws.location, "--port", "99999")
    assert code == 2 and "not a TCP port" in err


def test_audio_recipe_on_an_audio_folder(cli, tmp_path: Path, shared_data: Path) -> None:
    """A recipe whose featurizer is the dataset's modality trains on the workspace's features."""
    import shutil

    for digit in ("0", "1"):
        (tmp_path / "audio" / digit).mkdir(parents=True)
        for wav in sorted((shared_data / "audio" / "fsdd").glob(f"{digit}_*.wav"))[:10]:
            shutil.copy(wav, tmp_path / "audio" / digit / wav.name)
    w = ["-w", str(tmp_path / "aws")]
    assert cli("init", str(tmp_path / "aws"))[0] == 0
    assert cli("import", "sounds", str(tmp_path / "audio"), *w)[0] == 0
    (tmp_path / "a.yaml").write_text(RECIPE.replace("standard_scaler", "audio"))
    assert cli("recipe", "add", "arec", str(tmp_path / "a.yaml"), *w)[0] == 0
    code, _, err = cli(
        "audit",
        "sounds",
        "--recipe",
        "arec",
        "--checks",
        "label",
        "--no-queue",
        "--report",
        str(tmp_path / "a.html"),
        *w,
    )
    assert code == 0, err


def test_recipe_whose_yaml_name_differs_is_refused(cli, ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text("name: other\n" + RECIPE)
    code, _, err = cli("recipe", "add", "r", str(tmp_path / "r.yaml"), "-w", ws.location)
    assert code == 2 and "other" in err, err
    assert ws.recipes.list() == []
