"""Collect commands on a real workspace: annotations, label book, agree, consensus, plans."""

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
    frame = pd.DataFrame({"x": rng.normal(size=60), "label": rng.choice(["cat", "dog", "fox"], 60)})
    ws.import_dataset("pets", frame, label="label")
    return ws


def _annotations(n_items: int, confuse: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.choice(["cat", "dog", "fox"], n_items)
    second = truth.copy()
    flip = (truth == "dog") & (rng.random(n_items) < confuse)
    second[flip] = "fox"
    return pd.concat(
        [
            pd.DataFrame({"task": range(n_items), "worker": "w1", "label": truth}),
            pd.DataFrame({"task": range(n_items), "worker": "w2", "label": second}),
        ]
    )


def test_annotations_agree_consensus_round_trip(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    book = tmp_path / "book.yaml"
    book.write_text("classes:\n  cat: a cat\n  dog: a dog\n  fox: a fox\n")
    assert cli("labelbook", "edit", "pets", "--file", str(book), *w)[0] == 0
    file = tmp_path / "ann.csv"
    _annotations(60, 0.8, seed=1).to_csv(file, index=False)
    code, out, _ = cli(
        "annotations", "import", "pets", str(file), "--labelbook-version", "1", "--json", *w
    )
    assert code == 0 and json.loads(out)["annotations"] == 120
    code, out, _ = cli("agree", "pets", "--json", "--report", str(tmp_path / "a.html"), *w)
    result = json.loads(out)
    assert code == 0 and result["revise"][0]["class"] in ("dog", "fox")
    assert (tmp_path / "a.html").read_text().count("<table") >= 1
    code, _, err = cli(
        "agree", "pets", "--min-alpha", "0.99", "--report", str(tmp_path / "b.html"), *w
    )
    assert code == 1 and "below --min-alpha" in err
    code, out, _ = cli("consensus", "pets", "--commit", "--json", *w)
    assert code == 0 and json.loads(out)["version"] == "pets@v2"


def test_agree_by_labelbook_shows_the_revision(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    book = tmp_path / "book.yaml"
    file = tmp_path / "round.csv"
    _annotations(60, 0.9, seed=1).to_csv(file, index=False)
    code, _, err = cli("annotations", "import", "pets", str(file), "--labelbook-version", "1", *w)
    assert code == 2 and "no label book version 1" in err  # the version must exist
    for version, confuse in ((1, 0.9), (2, 0.05)):
        book.write_text(f"classes:\n  cat: a cat\n  dog: a dog (v{version})\n  fox: a fox\n")
        assert cli("labelbook", "edit", "pets", "--file", str(book), *w)[0] == 0
        _annotations(60, confuse, seed=version).to_csv(file, index=False)
        cli("annotations", "import", "pets", str(file), "--labelbook-version", str(version), *w)
    code, out, _ = cli("agree", "pets", "--by-labelbook", "--json", *w)
    table = json.loads(out)
    assert code == 0 and table["v2"]["per_class"]["dog"] > table["v1"]["per_class"]["dog"]


def test_bad_annotations_exit_2_and_store_nothing(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    unknown = tmp_path / "unknown.csv"
    pd.DataFrame({"item": [0, 999], "annotator": ["a", "a"], "label": ["cat", "dog"]}).to_csv(
        unknown, index=False
    )
    broken = tmp_path / "export.json"
    broken.write_text("[{not json")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    for file, expected in (
        (unknown, "not in pets@v1"),
        (broken, "not valid JSON"),
        (empty, "empty"),
    ):
        code, _, err = cli("annotations", "import", "pets", str(file), *w)
        assert code == 2 and expected in err, err
    assert ws.annotations.load("pets").empty


def test_labels_outside_the_labelbook(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    book = tmp_path / "book.yaml"
    book.write_text("classes:\n  cat: a cat\n  dog: a dog\n")
    cli("labelbook", "edit", "pets", "--file", str(book), *w)
    file = tmp_path / "ann.csv"
    pd.DataFrame({"item": [0, 0], "annotator": ["a", "b"], "label": ["cat", "fox"]}).to_csv(
        file, index=False
    )
    code, _, err = cli("annotations", "import", "pets", str(file), *w)
    assert code == 2 and "fox" in err
    assert cli("annotations", "import", "pets", str(file), "--allow-new", *w)[0] == 0


def test_labelbook_versions_and_diff(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    for text in (
        "classes:\n  cat: small\n",
        "classes:\n  cat:\n    description: small\n    rules: [whiskers]\n  dog: big\n",
    ):
        (tmp_path / "b.yaml").write_text(text)
        assert cli("labelbook", "edit", "pets", "--file", str(tmp_path / "b.yaml"), *w)[0] == 0
    code, out, _ = cli("labelbook", "diff", "pets", "1", "2", "--json", *w)
    delta = json.loads(out)
    assert delta["added"] == ["dog"] and delta["changed"]["cat"]["rules"]["new"] == ["whiskers"]
    code, out, _ = cli("labelbook", "show", "pets", "--markdown", *w)
    assert "## cat" in out and "- whiskers" in out


def test_plan_sample_writes_csv_and_label_studio(cli, ws: Workspace, tmp_path: Path) -> None:
    out_csv, tasks = tmp_path / "s.csv", tmp_path / "tasks.json"
    code, out, _ = cli(
        "plan-sample",
        "pets",
        "--n",
        "12",
        "--out",
        str(out_csv),
        "--label-studio",
        str(tasks),
        "--json",
        "-w",
        ws.location,
    )
    assert code == 0 and json.loads(out)["n"] == 12
    sample = pd.read_csv(out_csv)
    assert len(sample) == 12 and sample["item"].is_unique
    exported = json.loads(tasks.read_text())
    assert len(exported) == 12
    assert all("label" not in task["data"] for task in exported)  # the first label stays hidden


def test_transcriptions_show_the_conventions(cli, tmp_path: Path) -> None:
    """The seed's example: three ways to type one utterance."""
    file = tmp_path / "transcripts.csv"
    pd.DataFrame(
        {
            "item": [1, 1, 1, 2, 2],
            "annotator": ["a", "b", "c", "a", "b"],
            "label": [
                "Um, today's weather",
                "Um today's weather",
                "Today's weather",
                "turn on the lights",
                "Turn on the lights.",
            ],
        }
    ).to_csv(file, index=False)
    code, out, _ = cli("agree", str(file), "--text", "--json", "--report", str(tmp_path / "t.html"))
    result = json.loads(out)
    assert code == 0 and 0 < result["agreement"]["krippendorff_alpha"] < 1
    resolved = {
        n["normalization"]: n["pairs_resolved_alone"]
        for n in result["conventions"]["normalizations"]
    }
    assert resolved["punctuation"] >= 1 and resolved["fillers"] >= 1 and resolved["all"] == 4
    assert (tmp_path / "t.html").exists()
