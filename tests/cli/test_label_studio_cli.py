"""Label Studio from the command line: --from-name and --annotators on agree, annotations
import and consensus; plan-sample's --image-url, label_config.xml and --predictions.

benchmarks/label_studio_roundtrip.py runs the same commands against a real server.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.collect.label_studio_exports import ANNOTATIONS, full_export, min_export

from assay.store.workspace import Workspace

RACCOON = Path(__file__).resolve().parents[3] / "shared/data/detection/raccoon/images"


@pytest.fixture
def reviews(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    items = sorted({item for _, item, *_ in ANNOTATIONS})
    frame = pd.DataFrame({"id": items, "text": [f"text of {i}" for i in items],
                          "label": ["negative", "positive", "negative"]})
    ws.import_dataset("reviews", frame, label="label", id="id")
    return ws


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_agree_and_consensus_refuse_two_controls_and_read_the_named_one(
        cli, tmp_path: Path) -> None:
    report = ["--report", str(tmp_path / "a.html")]
    for export in (_write(tmp_path / "full.json", full_export()),
                   _write(tmp_path / "min.json", min_export())):
        code, out, err = cli("agree", str(export), *report)
        assert code == 2 and out == "" and "('label', 'clarity')" in err, err
        assert "--from-name NAME" in err and "from_name=" not in err
        code, out, err = cli("agree", str(export), "--from-name", "label", "--json", *report)
        assert code == 0, err
        assert json.loads(out)["n_items"] == 3
        code, out, err = cli("agree", str(export), "--from-name", "mood", *report)
        assert code == 2 and "its Choices controls are 'label', 'clarity'" in err
        assert "--from-name" in err and "from_name=" not in err
        code, out, err = cli("consensus", str(export), "--json")
        assert code == 2 and "('label', 'clarity')" in err
        code, out, err = cli("consensus", str(export), "--from-name", "clarity", "--json")
        assert code == 0, err
        assert {r["label"] for r in json.loads(out)["labels"]} <= {"clear", "unclear"}


def test_import_maps_user_ids_to_emails(cli, reviews: Workspace, tmp_path: Path) -> None:
    w = ["-w", reviews.location]
    export = _write(tmp_path / "min.json", min_export())
    users = _write(tmp_path / "users.json", [{"id": 9, "email": "ann@lab.org"},
                                             {"id": 10, "email": "ben@lab.org"}])
    code, _, err = cli("annotations", "import", "reviews", str(export), "--from-name", "label",
                       "--annotators", str(users), *w)
    assert code == 0, err
    stored = reviews.annotations.load("reviews")
    assert sorted(set(stored["annotator"])) == ["ann@lab.org", "ben@lab.org"]
    assert len(stored) == len(ANNOTATIONS)
    (tmp_path / "some.csv").write_text("id,email\n9,ann@lab.org\n")
    code, out, err = cli("annotations", "import", "reviews", str(export), "--from-name",
                         "label", "--annotators", str(tmp_path / "some.csv"), *w)
    assert code == 2 and out == "" and "annotator(s) 10 are not in the annotator map" in err
    assert len(reviews.annotations.load("reviews")) == len(ANNOTATIONS)  # nothing added


def test_file_options_are_refused_for_a_dataset(cli, reviews: Workspace, tmp_path: Path) -> None:
    w = ["-w", reviews.location]
    code, _, err = cli("agree", "reviews", "--from-name", "label", "--report",
                       str(tmp_path / "a.html"), *w)
    assert code == 2 and "--from-name reads an annotation file" in err, err
    code, _, err = cli("consensus", "reviews", "--annotators", str(tmp_path / "u.csv"), *w)
    assert code == 2 and "--annotators reads an annotation file" in err, err


@pytest.fixture
def pictures(tmp_path: Path) -> tuple[Workspace, Path]:
    if not RACCOON.is_dir():
        pytest.skip(f"{RACCOON} is absent (shared data)")
    root = tmp_path / "docroot"
    for k, cls in enumerate(("left", "right")):
        (root / "set" / cls).mkdir(parents=True)
        for f in sorted(RACCOON.glob("*.jpg"))[k * 4:(k + 1) * 4]:
            shutil.copy(f, root / "set" / cls / f.name)
    ws = Workspace.init(tmp_path / "ws")
    return ws, root


def test_image_tasks_get_urls_and_a_labeling_config(
        cli, pictures: tuple[Workspace, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ws, root = pictures
    w = ["-w", ws.location]
    assert cli("import", "pics", str(root / "set"), *w)[0] == 0
    tasks_file = tmp_path / "ls" / "tasks.json"
    plan = ["plan-sample", "pics", "--n", "4", "--out", str(tmp_path / "s.csv"),
            "--label-studio", str(tasks_file), *w]
    monkeypatch.delenv("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT", raising=False)
    code, out, err = cli(*plan, "--image-url", "local-files")
    assert code == 2 and "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT" in err and not tasks_file.exists()
    monkeypatch.setenv("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT", str(root))
    code, out, err = cli(*plan, "--image-url", "local-files")
    assert code == 0, err
    tasks = json.loads(tasks_file.read_text())
    for task in tasks:
        url = task["data"]["image"]
        assert url.startswith("/data/local-files/?d=set/")
        assert (root / url.split("?d=", 1)[1]).is_file()
    config = (tasks_file.parent / "label_config.xml").read_text()
    assert '<Image name="image" value="$image"/>' in config
    assert '<Choice value="left"/>' in config and '<Choice value="right"/>' in config
    code, out, err = cli(*plan, "--image-url", "https://media.lab.org/pics/")
    assert code == 0, err
    urls = [t["data"]["image"] for t in json.loads(tasks_file.read_text())]
    assert all(u.startswith("https://media.lab.org/pics/") for u in urls)
    code, out, err = cli(*plan, "--image-url", "pics/")
    assert code == 2 and "--image-url 'pics/' is neither" in err, err
    monkeypatch.setenv("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT", str(tmp_path / "elsewhere"))
    code, out, err = cli(*plan, "--image-url", "local-files")
    assert code == 2 and "not under Label Studio's document root" in err


def test_image_url_needs_tasks_and_media(cli, reviews: Workspace, tmp_path: Path) -> None:
    w = ["-w", reviews.location]
    out_csv = tmp_path / "s.csv"
    code, _, err = cli("plan-sample", "reviews", "--n", "2", "--out", str(out_csv),
                       "--image-url", "local-files", *w)
    assert code == 2 and "give --label-studio PATH too" in err and not out_csv.exists(), err
    code, _, err = cli("plan-sample", "reviews", "--n", "2", "--out", str(out_csv),
                       "--label-studio", str(tmp_path / "t.json"), "--image-url",
                       "local-files", *w)
    assert code == 2 and "--image-url applies to image and audio" in err, err


def test_predictions_pre_annotate_queue_items_but_never_the_sample(
        cli, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    ws = Workspace.init(tmp_path / "ws")
    ids = [f"s{i:02d}" for i in range(40)]
    frame = pd.DataFrame({"id": ids, "text": [f"sentence {i}" for i in range(40)],
                          "label": rng.choice(["neg", "pos"], 40)})
    ws.import_dataset("reviews", frame, label="label", id="id")
    w = ["-w", ws.location]
    tasks_file = tmp_path / "tasks.json"
    plan = ["plan-sample", "reviews", "--n", "10", "--out", str(tmp_path / "s.csv"),
            "--label-studio", str(tasks_file), "--predictions", "--json", *w]
    code, _, err = cli(*plan)
    assert code == 2 and "assay audit reviews" in err and "--predictions" in err, err
    flip = {"neg": "pos", "pos": "neg"}
    entries = pd.DataFrame({"item_id": ids[:20], "reason": "label issue",
                            "score": np.linspace(0.05, 0.4, 20),
                            "given_label": frame["label"][:20].tolist(),
                            "suggested_label": [flip[v] for v in frame["label"][:20]]})
    ws.review.add("reviews", entries, source="label_issue")
    code, out, err = cli(*plan)
    assert code == 0, err
    sample = set(pd.read_csv(tmp_path / "s.csv")["item"])
    tasks = {t["data"]["item"]: t for t in json.loads(tasks_file.read_text())}
    queued = dict(zip(entries["item_id"], zip(entries["suggested_label"], entries["score"],
                                              strict=True), strict=True))
    assert json.loads(out)["predictions"] == len(set(queued) - sample)
    assert set(tasks) == sample | set(queued)
    for item, task in tasks.items():
        if item in sample:  # blind: the agreement sample carries no suggestion
            assert "predictions" not in task
            continue
        prediction = task["predictions"][0]
        label, score = queued[item]
        assert prediction["result"][0]["value"]["choices"] == [label]
        assert prediction["score"] == pytest.approx(1 - score)
        assert prediction["result"][0]["from_name"] == "label"
        assert prediction["result"][0]["to_name"] == "text"
    config = (tmp_path / "label_config.xml").read_text()
    assert '<Text name="text" value="$text"/>' in config and 'toName="text"' in config


def test_item_key_names_the_data_key_on_agree_and_consensus(cli, tmp_path: Path) -> None:
    records = [{("image_id" if k == "item" else k): v for k, v in r.items()}
               for r in min_export()]
    export = _write(tmp_path / "min.json", records)
    report = ["--report", str(tmp_path / "a.html")]
    code, out, err = cli("agree", str(export), "--from-name", "label", "--json", *report)
    assert code == 0 and "task ids were taken" in err and "--item-key KEY" in err, err
    assert "item_key=" not in err
    code, out, err = cli("agree", str(export), "--from-name", "label", "--item-key",
                         "image_id", "--json", *report)
    assert code == 0 and err == "", err
    code, out, err = cli("consensus", str(export), "--from-name", "label", "--item-key",
                         "image_id", "--json")
    assert code == 0, err
    assert sorted(r["item"] for r in json.loads(out)["labels"]) == [
        "amz-0156", "amz-0196", "amz-0466"]


def test_predictions_skip_the_agreement_sample_of_a_labeling_project(
        cli, tmp_path: Path) -> None:
    from assay.workflows.sampling import labeling_sample

    ws = Workspace.init(tmp_path / "ws")
    ids = [f"s{i:02d}" for i in range(40)]
    labels = ["neg", "pos"] * 20
    ws.import_dataset("reviews", pd.DataFrame({"id": ids, "text": ids, "label": labels}),
                      label="label", id="id")
    w = ["-w", ws.location]
    pd.DataFrame({"item": ids}).to_csv(tmp_path / "items.csv", index=False)
    code, _, err = cli("label", "plan", "reviews", "--labelers", "ann,ben", "--overlap", "0.5",
                       "--items", str(tmp_path / "items.csv"), *w)
    assert code == 0, err
    blind = labeling_sample(ws, "reviews")
    assert len(blind) == 20
    ws.review.add("reviews", pd.DataFrame({
        "item_id": ids, "reason": "label issue", "score": 0.1, "given_label": labels,
        "suggested_label": [{"neg": "pos", "pos": "neg"}[v] for v in labels]}),
        source="label_issue")
    tasks_file = tmp_path / "tasks.json"
    code, _, err = cli("plan-sample", "reviews", "--n", "4", "--out", str(tmp_path / "s.csv"),
                       "--label-studio", str(tasks_file), "--predictions", *w)
    assert code == 0, err
    sample = set(pd.read_csv(tmp_path / "s.csv")["item"])
    predicted = {t["data"]["item"] for t in json.loads(tasks_file.read_text())
                 if "predictions" in t}
    assert predicted == set(ids) - blind - sample and predicted
