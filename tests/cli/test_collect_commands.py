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


def test_plan_sample_errors_name_the_flags(cli, ws: Workspace, tmp_path: Path) -> None:
    out_csv = tmp_path / "s.csv"
    w = ["--out", str(out_csv), "-w", ws.location]
    expected = [
        ([], "exactly one of --n (items) and --ci-width"),
        (["--n", "5", "--ci-width", "0.2"], "exactly one of --n (items) and --ci-width"),
        (["--n", "0"], "--n must be an int >= 1. Got 0"),
        (["--ci-width", "5"], "--ci-width must be a number in"),
        (["--n", "5", "--by", "colour"], "pets@v1 (--by) has no column 'colour'"),
        (["--n", "5", "--seed", "-1"], "--seed"),
    ]
    for args, message in expected:
        code, out, err = cli("plan-sample", "pets", *args, *w)
        assert code == 2 and out == "" and message in err, (args, err)
        assert "parameter of plan_sample" not in err and "ci_width" not in err
    assert not out_csv.exists()


def test_plan_sample_ci_width_reads_the_label_role(cli, tmp_path: Path) -> None:
    """--ci-width needs class shares: from the dataset's label column, whatever its name."""
    rng = np.random.default_rng(0)
    ws = Workspace.init(tmp_path / "ws")
    frame = pd.DataFrame({"x": rng.normal(size=300), "kind": rng.choice(["a", "b"], 300)})
    ws.import_dataset("things", frame, label="kind")
    out_csv = tmp_path / "s.csv"
    code, out, err = cli(
        "plan-sample",
        "things",
        "--ci-width",
        "0.4",
        "--out",
        str(out_csv),
        "--json",
        "-w",
        ws.location,
    )
    assert code == 0, err
    n = json.loads(out)["n"]
    assert 0 < n <= 300 and len(pd.read_csv(out_csv)) == n
    deep = tmp_path / "a-folder-with-a-long-name" / "and-another-long-one"
    deep.mkdir(parents=True)
    code, out, err = cli(
        "plan-sample", "things", "--ci-width", "0.4", "--out", str(deep / "sample.csv"),
        "-w", ws.location,
    )  # fmt: skip
    assert code == 0 and "expected 95% CI width on" in out and "kappa: " in out, err
    # wrapped at 80 columns; only a path longer than that stands alone on its line
    assert all(len(line) <= 80 or " " not in line.strip() for line in out.splitlines())
    assert len(out.splitlines()) > 1


def test_consensus_and_agree_errors_name_the_flags(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    file = tmp_path / "ann.csv"
    _annotations(30, 0.5, seed=2).to_csv(file, index=False)
    assert cli("annotations", "import", "pets", str(file), *w)[0] == 0
    code, out, err = cli("consensus", "pets", "--method", "vote", "--commit", *w)
    assert code == 2 and out == ""
    assert "--method must be one of 'majority', 'dawid_skene'. Got 'vote'" in err
    assert [v.ref for v in ws.log("pets")] == ["pets@v1"]
    report = tmp_path / "a.html"
    code, _, err = cli("agree", "pets", "--level", "ratio", "--report", str(report), *w)
    assert code == 2 and "--level must be one of" in err and not report.exists()


def test_labelbook_help_and_docs_example(cli, ws: Workspace, tmp_path: Path) -> None:
    """`labelbook edit --help` points at docs/labelbook.md, whose example is valid."""
    import re

    code, out, _ = cli("labelbook", "edit", "--help")
    assert code == 0 and "docs/labelbook.md" in out
    doc = Path(__file__).parents[2] / "docs" / "labelbook.md"
    example = re.search(r"```yaml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert example is not None
    (tmp_path / "book.yaml").write_text(example.group(1))
    w = ["-w", ws.location]
    assert cli("labelbook", "edit", "pets", "--file", str(tmp_path / "book.yaml"), *w)[0] == 0
    code, out, _ = cli("labelbook", "show", "pets", "--json", *w)
    classes = json.loads(out)["classes"]
    assert list(classes) == ["1", "7", "8", "9"]
    assert classes["1"]["examples"] == {
        "positive": ["12", "48"],
        "negative": ["33"],
        "borderline": ["105"],
    }
    assert classes["7"]["rules"][-1].startswith("Unreadable: a top bar")
    assert classes["8"]["description"] == "Two closed loops stacked vertically."
    assert classes["9"] == {"description": "", "rules": [], "examples": {}}


def test_labelbook_diff_lists_rule_and_example_changes(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    for text in (
        "classes:\n  cat:\n    rules: [whiskers, tail]\n    examples: {positive: [1]}\n"
        "  fox: red\n",
        "classes:\n  cat:\n    rules: [whiskers, ears]\n    examples: {positive: [1, 2]}\n"
        "  dog: big\n",
    ):
        (tmp_path / "b.yaml").write_text(text)
        assert cli("labelbook", "edit", "pets", "--file", str(tmp_path / "b.yaml"), *w)[0] == 0
    code, out, _ = cli("labelbook", "diff", "pets", "1", "2", *w)
    assert code == 0
    assert "added dog, removed fox" in out and "['dog']" not in out
    assert "cat.rules: - 'tail'" in out and "cat.rules: + 'ears'" in out
    assert "cat.examples.positive: + '2'" in out and "whiskers" not in out
    (tmp_path / "b.yaml").write_text(
        "classes:\n  cat:\n    rules: [ears, whiskers]\n    examples: {positive: [1, 2]}\n"
        "  dog: big\n"
    )
    assert cli("labelbook", "edit", "pets", "--file", str(tmp_path / "b.yaml"), *w)[0] == 0
    code, out, _ = cli("labelbook", "diff", "pets", "2", "3", *w)
    assert code == 0 and "cat.rules: reordered" in out


def test_labelbook_edit_in_editor_refuses_a_stale_base(
    cli, ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone saves a version while the editor is open: the edit is refused, theirs kept."""
    import sys

    w = ["-w", ws.location]
    (tmp_path / "b.yaml").write_text("classes:\n  cat: small\n")
    assert cli("labelbook", "edit", "pets", "--file", str(tmp_path / "b.yaml"), *w)[0] == 0
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys\n"
        "from assay.store.workspace import Workspace\n"
        f"ws = Workspace({ws.location!r})\n"
        "ws.labelbook.save('pets', {'cat': {'description': 'theirs', 'rules': [], "
        "'examples': {}}}, message='meanwhile')\n"
        "path = sys.argv[1]\n"
        "open(path, 'a').write('  dog: big\\n')\n"
    )
    script = tmp_path / "editor.sh"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} {editor} "$1"\n')
    script.chmod(0o755)
    monkeypatch.setenv("VISUAL", str(script))
    code, _, err = cli("labelbook", "edit", "pets", "-m", "mine", *w)
    assert code == 2 and "changed while you edited it" in err
    books = ws.labelbook.versions("pets")
    assert [b.message for b in books][1:] == ["meanwhile"]
    assert books[-1].classes["cat"]["description"] == "theirs"
    (tmp_path / "editor.py").write_text(
        "import sys\nopen(sys.argv[1], 'a').write('  dog: big\\n')\n"
    )
    code, out, _ = cli("labelbook", "edit", "pets", "-m", "mine", *w)
    assert code == 0 and "v3 (2 classes)" in out


def test_agree_report_path_that_is_a_folder_exits_2_before_any_work(
    cli, ws: Workspace, tmp_path: Path
) -> None:
    file = tmp_path / "ann.csv"
    _annotations(30, 0.5, seed=2).to_csv(file, index=False)
    assert cli("annotations", "import", "pets", str(file), "-w", ws.location)[0] == 0
    code, _, err = cli("agree", "pets", "--report", str(tmp_path), "-w", ws.location)
    assert code == 2 and "--report" in err and "is a folder" in err, err
    assert ws.analyses("agreement") == []


def _ls_export(tasks: list[dict], choose) -> list[dict]:
    """What Label Studio exports after labelling imported tasks: its own ids 1..N."""
    return [
        {"id": i, "data": task["data"], "annotations": [{
            "completed_by": {"id": 2, "email": "second@lab.org"},
            "result": [{"from_name": "label", "to_name": "text", "type": "choices",
                        "value": {"choices": [choose(task)]}}]}]}
        for i, task in enumerate(tasks, start=1)
    ]


@pytest.mark.parametrize("ids", [list(range(1000, 1060)), [f"img-{j:03d}" for j in range(60)]])
def test_label_studio_round_trip_labels_the_sampled_items(cli, tmp_path: Path, ids) -> None:
    rng = np.random.default_rng(1)
    ws = Workspace.init(tmp_path / "ws")
    frame = pd.DataFrame({"id": ids, "x": rng.normal(size=60),
                          "label": rng.choice(["cat", "dog"], 60)})
    ws.import_dataset("pets", frame, label="label", id="id")
    w = ["-w", ws.location]
    tasks_file = tmp_path / "tasks.json"
    code, _, err = cli("plan-sample", "pets", "--n", "12", "--out", str(tmp_path / "s.csv"),
                       "--label-studio", str(tasks_file), *w)
    assert code == 0, err
    tasks = json.loads(tasks_file.read_text())
    sampled = [t["data"]["item"] for t in tasks]
    assert set(sampled) <= set(ids) and all(type(i) is type(ids[0]) for i in sampled)
    truth = dict(zip(frame["id"], frame["label"], strict=True))
    export = tmp_path / "export.json"
    export.write_text(json.dumps(_ls_export(tasks, lambda t: truth[t["data"]["item"]])))
    code, out, err = cli("annotations", "import", "pets", str(export), "--json", *w)
    assert code == 0, err
    stored = ws.annotations.load("pets")
    assert sorted(stored["item"]) == sorted(map(str, sampled))
    assert all(truth[type(ids[0])(i)] == lab for i, lab in zip(stored["item"], stored["label"],
                                                              strict=True))


def test_label_studio_item_key_and_unknown_items(cli, tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset("pets", pd.DataFrame({"id": [1000, 1001, 1002], "label": ["a", "b", "a"]}),
                      label="label", id="id")
    w = ["-w", ws.location]
    tasks = [{"data": {"image_id": i, "text": "t"}} for i in (1000, 1002)]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(_ls_export(tasks, lambda t: "a")))
    # no data.item: the task ids 1, 2 are taken (with a warning) and are not items of pets
    code, out, err = cli("annotations", "import", "pets", str(export), *w)
    assert code == 2 and out == ""
    assert "task ids were taken as the item ids" in err and "--item-key KEY" in err
    assert "2 item(s) are not in pets@v1, e.g. 1, 2" in err and "item_key=" not in err
    code, _, err = cli("annotations", "import", "pets", str(export), "--item-key", "img", *w)
    assert code == 2 and "2 task(s) have no item id under data['img']" in err
    assert "their data keys: 'image_id', 'text'" in err and "--item-key KEY" in err
    assert ws.annotations.load("pets").empty
    code, _, err = cli("annotations", "import", "pets", str(export), "--item-key", "image_id", *w)
    assert code == 0, err
    assert sorted(ws.annotations.load("pets")["item"]) == ["1000", "1002"]
    strays = [{"data": {"item": i}} for i in (1000, 5, 1002, 9.0, "x")]
    export.write_text(json.dumps(_ls_export(strays, lambda t: "b")))
    code, _, err = cli("annotations", "import", "pets", str(export), *w)
    assert code == 2 and "3 item(s) are not in pets@v1, e.g. 5, 9.0, x" in err
    assert len(ws.annotations.load("pets")) == 2  # nothing of the refused file was stored


def test_agree_checks_each_batch_against_its_labelbook_version(
    cli, tmp_path: Path
) -> None:
    """docs/labelbook.md: v2 removes class 9; round 1 (v1) used it, round 2 (v2) does not."""
    rng = np.random.default_rng(3)
    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset("digits", pd.DataFrame({"x": rng.normal(size=40),
                                              "label": rng.choice([1, 7, 8, 9], 40)}),
                      label="label")
    w = ["-w", ws.location]
    book = tmp_path / "book.yaml"
    for classes in ('"1": one\n  "7": seven\n  "8": eight\n  "9": nine\n',
                    '"1": one\n  "7": seven\n  "8": eight\n'):
        book.write_text(f"classes:\n  {classes}")
        assert cli("labelbook", "edit", "digits", "--file", str(book), *w)[0] == 0
    rounds = {}
    for version, labels in ((1, [1, 7, 8, 9]), (2, [1, 7, 8])):
        rounds[version] = tmp_path / f"round{version}.csv"
        pd.DataFrame({"item": np.tile(np.arange(40), 2), "annotator": np.repeat(["a", "b"], 40),
                      "label": rng.choice(labels, 80)}).to_csv(rounds[version], index=False)
    code, _, err = cli("annotations", "import", "digits", str(rounds[1]), *w)  # latest: v2
    assert code == 2 and "label book v2 (the latest version): 9;" in err
    assert "--labelbook-version N" in err and ws.annotations.load("digits").empty
    for version, file in rounds.items():
        code, _, err = cli("annotations", "import", "digits", str(file),
                           "--labelbook-version", str(version), *w)
        assert code == 0, err
    code, out, err = cli("agree", "digits", "--by-labelbook", "--json", *w)
    assert code == 0, err
    table = json.loads(out)
    assert set(table) == {"v1", "v2"} and "9" not in map(str, table["v2"]["per_class"])
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"item": [0, 0], "annotator": ["c", "d"], "label": [9, 1],
                  "labelbook_version": [2, 2]}).to_csv(bad, index=False)
    assert cli("annotations", "import", "digits", str(bad), "--allow-new", *w)[0] == 0
    code, _, err = cli("agree", "digits", "--report", str(tmp_path / "a.html"), *w)
    assert code == 2 and "1 annotation(s) (batch 3) have labels outside" in err
    assert "label book v2 (the version they followed): 9;" in err
    assert not (tmp_path / "a.html").exists()


def test_collect_messages_speak_cli(cli, ws: Workspace, tmp_path: Path) -> None:
    """Plain values, CLI flags and commands; no Python names or numpy reprs."""
    w = ["-w", ws.location]
    ints = tmp_path / "ints.csv"
    pd.DataFrame({"item": [0, 0], "annotator": ["a", "b"], "label": [1, 3]}).to_csv(
        ints, index=False
    )
    (tmp_path / "book.yaml").write_text('classes:\n  "1": one\n  "2": two\n')
    assert cli("labelbook", "edit", "pets", "--file", str(tmp_path / "book.yaml"), *w)[0] == 0
    code, _, err = cli("annotations", "import", "pets", str(ints), *w)
    assert code == 2 and "label book v1 (the latest version): 3;" in err
    assert "--allow-new" in err and "np." not in err and "allow_new" not in err
    one = tmp_path / "one.csv"
    pd.DataFrame({"item": [1, 2], "annotator": ["a", "b"], "label": ["x", "y"]}).to_csv(
        one, index=False
    )
    code, _, err = cli("agree", str(one), "--report", str(tmp_path / "a.html"))
    assert code == 2 and "(see `assay plan-sample`)" in err and "plan_sample" not in err
    two = tmp_path / "two.csv"
    pd.DataFrame({"item": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"],
                  "label": ["x", "y", "x", "x"]}).to_csv(two, index=False)
    code, _, err = cli("agree", str(two), "--level", "interval", "--report",
                       str(tmp_path / "a.html"))
    assert code == 2 and "--level interval needs numeric labels" in err
    assert "Use --level nominal, or --level ordinal" in err
    assert "classes=" not in err and "level=" not in err
    assert not (tmp_path / "a.html").exists()


def test_agree_ordinal_follows_the_labelbook_order(cli, ws: Workspace, tmp_path: Path) -> None:
    """low < mid < high as the label book lists them, not alphabetically (high < low < mid)."""
    w = ["-w", ws.location]
    (tmp_path / "book.yaml").write_text("classes:\n  low: l\n  mid: m\n  high: h\n")
    assert cli("labelbook", "edit", "pets", "--file", str(tmp_path / "book.yaml"), *w)[0] == 0
    file = tmp_path / "ann.csv"
    first = ["low", "mid", "high"] * 10
    second = ["mid", "high", "high"] * 10  # one step apart, never low vs high
    pd.DataFrame({"item": list(range(30)) * 2, "annotator": ["a"] * 30 + ["b"] * 30,
                  "label": first + second}).to_csv(file, index=False)
    assert cli("annotations", "import", "pets", str(file), *w)[0] == 0
    alphas = {}
    for level in ("ordinal", "nominal"):
        code, out, err = cli("agree", "pets", "--level", level, "--json", "--report",
                             str(tmp_path / f"{level}.html"), *w)
        assert code == 0, err
        alphas[level] = json.loads(out)["krippendorff_alpha"]
        assert json.loads(out)["classes"][:3] == (["low", "mid", "high"] if level == "ordinal"
                                                  else ["high", "low", "mid"])
    assert alphas["ordinal"] > alphas["nominal"]


def test_labelbook_scalar_examples_are_refused(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    for text, message in (
        ('classes: {"1": {examples: {positive: 5}}}\n', "positive must be a list, not 5; "
                                                        "write positive: [5]."),
        ('classes: {"1": {rules: 5}}\n', "rules must be a list, not 5"),
        ('classes: {"1": {examples: 5}}\n', "examples must be a mapping"),
    ):
        (tmp_path / "b.yaml").write_text(text)
        code, out, err = cli("labelbook", "edit", "pets", "--file", str(tmp_path / "b.yaml"), *w)
        assert code == 2 and out == "" and message in err, err
    assert ws.labelbook.versions("pets") == []


def test_label_studio_from_name_picks_the_choices_control(cli, tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset("pets", pd.DataFrame({"id": [1, 2], "label": ["a", "b"]}),
                      label="label", id="id")
    w = ["-w", ws.location]

    def task(i: int, quality: str, species: str) -> dict:
        return {"id": 10 + i, "data": {"item": i}, "annotations": [{
            "completed_by": {"id": 1},
            "result": [{"from_name": "quality", "type": "choices",
                        "value": {"choices": [quality]}},
                       {"from_name": "species", "type": "choices",
                        "value": {"choices": [species]}}]}]}

    export = tmp_path / "export.json"
    export.write_text(json.dumps([task(1, "blurry", "a"), task(2, "sharp", "b")]))
    code, _, err = cli("annotations", "import", "pets", str(export), "--from-name", "nope", *w)
    assert code == 2 and "'quality', 'species'" in err and "--from-name" in err, err
    assert "from_name=" not in err
    code, _, err = cli("annotations", "import", "pets", str(export), "--from-name", "species",
                       *w)
    assert code == 0, err
    stored = ws.annotations.load("pets").sort_values("item")
    assert list(stored["label"]) == ["a", "b"]


CROWD = Path(__file__).resolve().parents[3] / "shared/data/crowd"


def test_headerless_crowd_file_is_read_as_worker_item_label(cli, tmp_path: Path) -> None:
    """Get-Another-Label's labels.txt (worker, item, label; no header) on a real crowd set."""
    source = CROWD / "BarzanMozafari/labels.txt"
    raw = pd.read_csv(source, sep="\t", header=None, names=["annotator", "item", "label"])
    code, out, err = cli("agree", str(source), "--json", "--report", str(tmp_path / "a.html"))
    assert code == 0
    assert "no header row: its 3 columns are read as annotator, item, label" in err
    assert "name them with --columns" in err
    assert json.loads(out)["n_items"] == raw["item"].nunique()


def test_columns_names_a_headerless_file(cli, ws: Workspace, tmp_path: Path) -> None:
    frame = _annotations(60, 0.5, seed=2)[["task", "label", "worker"]]
    file = tmp_path / "ann.tsv"
    frame.to_csv(file, sep="\t", header=False, index=False)
    w = ["-w", ws.location]
    code, out, _ = cli("annotations", "import", "pets", str(file), "--allow-new",
                       "--columns", "item,label,annotator", "--json", *w)
    assert code == 0 and json.loads(out)["annotators"] == 2
    stored = ws.annotations.load("pets")
    assert sorted(stored["annotator"].unique()) == ["w1", "w2"]
    code, out, _ = cli("consensus", str(file), "--columns", "item,label,annotator", "--json")
    assert code == 0 and len(json.loads(out)["labels"]) == 60
    code, _, err = cli("agree", str(file), "--columns", "item,,label")
    assert code == 2 and "--columns 'item,,label' must name each column once" in err


def test_consensus_shows_the_least_reliable_annotators(cli) -> None:
    """83 real crowd workers: ten rows, the lowest qualities of the JSON; --wide: all."""
    source = str(CROWD / "BarzanMozafari/labels.txt")
    code, out, _ = cli("consensus", source, "--json")
    annotators = json.loads(out)["annotators"]
    qualities = sorted(a["quality"] for a in annotators)
    code, out, _ = cli("consensus", source)
    assert code == 0 and "the 10 least reliable annotators" in out
    shown = [float(row[-1]) for row in _table_rows(out)]
    assert shown == pytest.approx(qualities[:10], abs=5e-4)
    assert f"and {len(annotators) - 10} more annotators" in out
    code, out, _ = cli("consensus", source, "--wide")
    assert len(_table_rows(out)) == len(annotators)


def _table_rows(out: str) -> list[list[str]]:
    """The cells of a printed table's rows: the lines under its dashes with as many
    cells as its header."""
    lines = out.splitlines()
    under = next(i for i, line in enumerate(lines) if line.startswith("---"))
    width = len(lines[under - 1].split())
    rows = []
    for line in lines[under + 1 :]:
        if len(line.split()) != width:
            break
        rows.append(line.split())
    return rows
