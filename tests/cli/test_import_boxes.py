"""``assay import NAME --boxes ... --format ...`` and ``assay export NAME --format coco|yolo``
on the real detection sets: an image dataset whose labels are boxes, box-level diffs,
refusals with exit 2 and nothing written. Run on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assay.store.box_formats import read_coco, read_voc, read_yolo
from assay.store.workspace import Workspace


@pytest.fixture
def w(tmp_path: Path, cli, db_url: str | None) -> list[str]:
    args = ["init", str(tmp_path / "ws")] + (["--db", db_url] if db_url else [])
    assert cli(*args)[0] == 0
    return ["-w", str(tmp_path / "ws")]


@pytest.fixture
def detection(shared_data: Path) -> Path:
    return shared_data / "detection"


def _state(w: list[str]) -> list[str]:
    ws = Workspace(w[1])
    refs = [v.ref for d in ws.datasets() for v in ws.log(d.name)]
    ws.close()
    return refs


def _refusal(cli, w: list[str], *args: str) -> str:
    before = _state(w)
    code, _, err = cli(*args, *w)
    assert code == 2, err
    assert err.startswith("error: ") and err.strip().count("\n") == 0, err
    assert _state(w) == before
    return err


def test_import_voc_makes_an_image_dataset_of_boxes(cli, w: list[str], detection: Path) -> None:
    code, out, err = cli("import", "raccoon", "--boxes", str(detection / "raccoon" / "annotations"),
                         "--format", "voc", *w)
    assert code == 0, err
    assert "raccoon@v1: 200 rows" in out and "Detection labels in 'label' (raccoon)" in out
    ws = Workspace(w[1])
    version = ws.dataset("raccoon")
    assert (version.task_kind, version.modality, version.roles.media) == ("detection", "image", "path")
    frame = version.to_pandas()
    assert sum(len(v) for v in frame["label"]) == 217
    assert all((Path(version.media_root or "") / p).is_file() for p in frame["path"])
    ws.close()


def test_bccd_zero_area_boxes_refused_then_dropped(cli, w: list[str], detection: Path) -> None:
    boxes = str(detection / "bccd" / "BCCD" / "Annotations")
    err = _refusal(cli, w, "import", "bccd", "--boxes", boxes, "--format", "voc")
    assert "BloodImage_00338.xml object" in err and "--drop-empty-boxes" in err
    code, out, _ = cli("import", "bccd", "--boxes", boxes, "--format", "voc", "--drop-empty-boxes", *w)
    assert code == 0 and "Left out 2 zero-area box(es)" in out
    code, out, _ = cli("show", "bccd", "--json", *w)
    assert code == 0 and "4886" in out


def test_export_coco_and_yolo_equal_the_source(cli, w: list[str], detection: Path, tmp_path: Path) -> None:
    source = detection / "chess-pieces" / "valid" / "_annotations.coco.json"
    assert cli("import", "chess", "--boxes", str(source), "--format", "coco", *w)[0] == 0
    code, out, _ = cli("export", "chess", "--format", "coco", str(tmp_path / "c.json"), *w)
    assert code == 0 and "58 images, 386 boxes" in out
    original = read_coco(source)
    again = read_coco(tmp_path / "c.json", images=source.parent)
    keys = ["image", "label", "x", "y", "w", "h"]
    assert again.boxes[keys].sort_values(keys).values.tolist() == (
        original.boxes[keys].sort_values(keys).values.tolist())
    assert cli("export", "chess", "--format", "yolo", str(tmp_path / "y"), *w)[0] == 0
    yolo = read_yolo(tmp_path / "y", images=source.parent)
    assert len(yolo.boxes) == 386 and len(yolo.images) == 58


def test_a_new_version_diffs_box_by_box(cli, w: list[str], detection: Path, tmp_path: Path) -> None:
    folder = tmp_path / "voc"
    shutil.copytree(detection / "raccoon" / "annotations", folder / "annotations")
    images = str(detection / "raccoon" / "images")
    assert cli("import", "r", "--boxes", str(folder / "annotations"), "--format", "voc",
               "--images", images, *w)[0] == 0
    xml = folder / "annotations" / "raccoon-1.xml"
    xml.write_text(xml.read_text().replace("<xmin>81</xmin>", "<xmin>121</xmin>"))
    first = read_voc(detection / "raccoon" / "annotations").boxes
    box = first[first["image"] == "raccoon-1.jpg"].iloc[0]
    inter = (box.w - 40) * box.h
    iou = inter / (box.w * box.h)
    assert cli("import", "r", "--boxes", str(folder / "annotations"), "--format", "voc",
               "--images", images, *w)[0] == 0
    code, out, _ = cli("diff", "r@v1", "r@v2", "--json", *w)
    delta = json.loads(out)
    assert delta["label_changes"] == [f"box 1 moved (IoU {iou:.2f} with the old one)"]
    assert [r["item_id"] for r in delta["relabeled"]] == ["raccoon-1.jpg"]


def test_refusals(cli, w: list[str], detection: Path, tmp_path: Path) -> None:
    coco = str(detection / "chess-pieces" / "test" / "_annotations.coco.json")
    assert "needs --format" in _refusal(cli, w, "import", "x", "--boxes", coco)
    assert "not both" in _refusal(cli, w, "import", "x", coco, "--boxes", coco, "--format", "coco")
    assert "unknown box format 'csv'" in _refusal(cli, w, "import", "x", "--boxes", coco, "--format", "csv")
    assert "--format: only with --boxes" in _refusal(cli, w, "import", "x", coco, "--format", "coco")
    assert "leave out --task regression" in _refusal(
        cli, w, "import", "x", "--boxes", coco, "--format", "coco", "--task", "regression")
    bad = json.loads(Path(coco).read_text())
    bad["annotations"][3]["id"] = bad["annotations"][2]["id"]
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    err = _refusal(cli, w, "import", "x", "--boxes", str(tmp_path / "bad.json"), "--format", "coco",
                   "--images", str(Path(coco).parent))
    assert "bad.json: annotation id 2 repeats" in err
    assert cli("import", "chess", "--boxes", coco, "--format", "coco", *w)[0] == 0
    assert "cannot write box format 'voc'" in _refusal(cli, w, "export", "chess", "--format", "voc", str(tmp_path / "o"))
    assert not (tmp_path / "o").exists()
