"""The CLI loop on a detection dataset (raccoon, Pascal VOC): labelers' boxes imported as
annotations, ``assay agree`` and ``assay consensus --commit`` with box-level diffs, and
``assay audit --predictions`` with a detector's COCO results queueing per-image entries.
The second and third labelers follow the stated simulation of tests/collect/box_labelers.py
(looser boxes and omitted small objects; merged neighbours)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from assay.store.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collect"))
from box_labelers import load_raccoon, simulate_labelers  # noqa: E402

GEOM = ["x", "y", "w", "h"]


@pytest.fixture
def w(tmp_path: Path, cli, db_url: str | None, shared_data: Path) -> list[str]:
    args = ["init", str(tmp_path / "ws")] + (["--db", db_url] if db_url else [])
    assert cli(*args)[0] == 0
    w = ["-w", str(tmp_path / "ws")]
    voc = shared_data / "detection" / "raccoon" / "annotations"
    assert cli("import", "raccoon", "--boxes", str(voc), "--format", "voc", *w)[0] == 0
    return w


def _annotations(path: Path, images: list[str]) -> Path:
    labelers = simulate_labelers(load_raccoon(), seed=2)
    labelers = labelers[labelers["image"].isin(images)]
    with path.open("w") as out:
        for (name, image), _ in labelers.groupby(["annotator", "image"]):
            own = labelers[(labelers["annotator"] == name) & (labelers["image"] == image)]
            boxes = [{"label": r["label"], **{k: float(r[k]) for k in GEOM}}
                     for r in own.to_dict("records")]
            out.write(json.dumps({"item": image, "annotator": name, "label": boxes}) + "\n")
    return path


def test_agree_and_consensus_on_labelers_boxes(cli, w: list[str], tmp_path: Path) -> None:
    images = sorted(load_raccoon()["image"].unique())[:60]
    file = _annotations(tmp_path / "boxes.jsonl", images)
    book = tmp_path / "book.yaml"
    book.write_text("classes:\n  dog: a dog\n")
    assert cli("labelbook", "edit", "raccoon", "--file", str(book), *w)[0] == 0
    code, out, err = cli("annotations", "import", "raccoon", str(file), *w)
    assert code == 2 and "raccoon" in err and "label book v1" in err
    book.write_text("classes:\n  raccoon: the whole animal, occluded parts included\n")
    assert cli("labelbook", "edit", "raccoon", "--file", str(book), *w)[0] == 0
    code, out, err = cli("annotations", "import", "raccoon", str(file), *w)
    assert code == 0, err
    code, out, err = cli("agree", "raccoon", "--report", str(tmp_path / "a.html"), *w)
    assert code == 0, err
    assert "box F1 at IoU 0.5" in out and "loose_tight" in out
    assert all(len(line) <= 80 for line in out.splitlines() if not line.startswith("Report:"))
    code, out, err = cli("agree", "raccoon", "--json", "--report", str(tmp_path / "a.html"), *w)
    assert json.loads(out)["kind"] == "detection"
    code, out, err = cli("consensus", "raccoon", "--commit", *w)
    assert code == 0, err
    assert "60 items; mean quality" in out and "raccoon@v2" in out
    assert all(len(line) <= 80 for line in out.splitlines() if not line.startswith("Report:"))
    code, out, _ = cli("diff", "raccoon@v1", "raccoon@v2", "--json", *w)
    assert code == 0 and "moved (IoU" in out
    ws = Workspace(w[1])
    labels = ws.dataset("raccoon").to_pandas().set_index("item_id")["label"]
    ws.close()
    assert all(len(labels[i]) >= 1 for i in images)


def _predictions(path: Path, seed: int) -> tuple[Path, set[str]]:
    """A detector's COCO results (every real raccoon, 3% jitter, score 0.9), and 15
    images whose label boxes the test then moves by half their width."""
    rng = np.random.default_rng(seed)
    true = load_raccoon()
    rows = []
    for r in true.to_dict("records"):
        jitter = rng.normal(0, 0.03, 4) * np.array([r["w"], r["h"], r["w"], r["h"]])
        rows.append({"image_id": r["image"], "category_id": "raccoon", "score": 0.9,
                     "bbox": [r["x"] + jitter[0], r["y"] + jitter[1], r["w"], r["h"]]})
    moved = set(rng.choice(sorted(true["image"].unique()), 15, replace=False))
    path.write_text(json.dumps(rows))
    return path, moved


def test_audit_with_a_detectors_coco_results_queues_images(cli, w: list[str],
                                                          tmp_path: Path) -> None:
    preds, moved = _predictions(tmp_path / "preds.json", seed=0)
    ws = Workspace(w[1])
    frame = ws.dataset("raccoon").to_pandas()
    ws.close()
    shifted = frame.copy()
    shifted["label"] = [
        [{**b, "x": b["x"] + 0.5 * b["w"]} for b in boxes] if item in moved else list(boxes)
        for item, boxes in zip(frame["item_id"], frame["label"], strict=True)]
    ws = Workspace(w[1])
    ws.commit("raccoon", shifted, message="shift 15 images' boxes by half their width")
    ws.close()
    code, out, err = cli("audit", "raccoon", "--predictions", str(preds), *w)
    assert code == 0, err
    assert "box label issues" in out and "Queued" in out
    code, out, _ = cli("review", "list", "raccoon", "--json", *w)
    entries = json.loads(out)
    items = {e["item_id"] for e in (entries if isinstance(entries, list) else entries["items"])}
    assert items == moved
    code, out, _ = cli("review", "list", "raccoon", "--limit", "3", *w)
    assert code == 0 and "raccoon" in out, out
    assert "'label'" not in out and "'x'" not in out  # "1 box: raccoon", not dict text
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"image_id": "raccoon-1.jpg", "category_id": 1,
                                "bbox": [1, 2, 3, 4], "score": 0.5}]))
    code, _, err = cli("audit", "raccoon", "--predictions", str(bad), *w)
    assert code == 2 and "entry 0: category_id 1 is a number" in err and err.count("\n") <= 1


def _label_studio(path: Path, sizes: dict[str, tuple[int, int]], images: list[str]) -> Path:
    """The simulated labelers' boxes as a Label Studio export (percent coordinates)."""
    labelers = simulate_labelers(load_raccoon(), seed=3)
    tasks = []
    for number, image in enumerate(images, start=1):
        width, height = sizes[image]
        annotations = []
        for name in ("truth", "loose", "merger"):
            own = labelers[(labelers["image"] == image) & (labelers["annotator"] == name)]
            result = [{"type": "rectanglelabels", "from_name": "box", "to_name": "image",
                       "original_width": width, "original_height": height,
                       "value": {"rectanglelabels": [r["label"]],
                                 "x": 100 * max(r["x"], 0) / width,
                                 "y": 100 * max(r["y"], 0) / height,
                                 "width": 100 * min(r["w"], width - max(r["x"], 0)) / width,
                                 "height": 100 * min(r["h"], height - max(r["y"], 0)) / height}}
                      for r in own.to_dict("records")]
            if name == "merger" and number == 1:
                result = []  # looked at the first image and drew nothing
            annotations.append({"completed_by": {"email": f"{name}@lab"}, "result": result})
        tasks.append({"id": number, "data": {"image": f"/data/upload/1/{image}"},
                      "annotations": annotations})
    path.write_text(json.dumps(tasks))
    return path


def test_label_studio_rectangles_of_several_labelers(cli, w: list[str], tmp_path: Path) -> None:
    ws = Workspace(w[1])
    frame = ws.dataset("raccoon").to_pandas()
    ws.close()
    sizes = {p: (int(a), int(b)) for p, a, b in zip(frame["path"], frame["width"],
                                                      frame["height"], strict=True)}
    images = sorted(sizes)[:40]
    export = _label_studio(tmp_path / "ls.json", sizes, images)
    code, out, err = cli("annotations", "import", "raccoon", str(export), *w)
    assert code == 0, err
    assert "Stored 120 annotations of 40 items by 3 annotators" in out
    ws = Workspace(w[1])
    stored = ws.annotations.load("raccoon")
    ws.close()
    first = stored[(stored["item"] == images[0]) & (stored["annotator"] == "merger@lab")]
    assert len(first) == 1 and len(first["label"].iloc[0]) == 0
    code, out, err = cli("agree", "raccoon", "--json", "--report", str(tmp_path / "a.html"), *w)
    assert code == 0, err
    result = json.loads(out)
    assert result["n_annotators"] == 3 and set(result["annotators"]) == {
        "truth@lab", "loose@lab", "merger@lab"}
    assert 0.5 < result["overall"]["f1_50"] < 1.0
    export.write_text(export.read_text().replace(images[0], "not-a-raccoon.jpg", 1))
    code, _, err = cli("annotations", "import", "raccoon", str(export), *w)
    assert code == 2 and "not-a-raccoon.jpg" in err


def test_decide_relabel_boxes_runs_the_import_checks(cli, w: list[str], tmp_path: Path) -> None:
    # a box decided on the CLI passes the same checks as an imported one: inside the
    # image (raccoon-1.jpg is 650 x 417 pixels), positive size; nothing is recorded
    # for a refused box
    preds, _ = _predictions(tmp_path / "preds.json", seed=1)
    ws = Workspace(w[1])
    frame = ws.dataset("raccoon").to_pandas()
    shifted = frame.assign(label=[
        [{**b, "x": b["x"] + 0.5 * b["w"]} for b in boxes] if item == "raccoon-1.jpg"
        else list(boxes) for item, boxes in zip(frame["item_id"], frame["label"], strict=True)])
    ws.commit("raccoon", shifted, message="shift raccoon-1's box")
    ws.close()
    assert cli("audit", "raccoon", "--predictions", str(preds), *w)[0] == 0
    code, out, _ = cli("review", "list", "raccoon", "--json", *w)
    entries = json.loads(out)
    entries = entries if isinstance(entries, list) else entries["items"]
    entry = str(next(e["id"] for e in entries if e["item_id"] == "raccoon-1.jpg"))
    outside = json.dumps([{"label": "raccoon", "x": 600, "y": 10, "w": 100, "h": 50}])
    code, _, err = cli("review", "decide", entry, "--relabel", outside, *w)
    assert code == 2 and "outside the image (650 x 417 pixels)" in err, err
    assert err.strip().count("\n") == 0
    flat = json.dumps([{"label": "raccoon", "x": 10, "y": 10, "w": 0, "h": 50}])
    code, _, err = cli("review", "decide", entry, "--relabel", flat, *w)
    assert code == 2 and "positive" in err, err
    code, out, _ = cli("review", "list", "raccoon", "--json", *w)
    assert all(e["status"] == "open" for e in json.loads(out)
               if isinstance(e, dict) and str(e.get("id")) == entry)
    inside = json.dumps([{"label": "raccoon", "x": 80, "y": 20, "w": 300, "h": 300}])
    code, out, err = cli("review", "decide", entry, "--relabel", inside, *w)
    assert code == 0 and "relabel to" in out, err
