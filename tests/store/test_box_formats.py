"""Box annotation files on the real detection sets (raccoon VOC, BCCD VOC, chess COCO):
counts against the data README, round trips, and every kind of bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.exceptions import InputError
from assay.store.box_formats import (
    read_boxes,
    read_coco,
    read_label_studio,
    read_voc,
    read_yolo,
    write_coco,
    write_yolo,
)

GEOMETRY = ["x", "y", "w", "h"]


@pytest.fixture(scope="module")
def detection(shared_data: Path) -> Path:
    return shared_data / "detection"


@pytest.fixture(scope="module")
def chess_test(detection: Path) -> Path:
    return detection / "chess-pieces" / "test" / "_annotations.coco.json"


def _sorted(boxes: pd.DataFrame) -> pd.DataFrame:
    keys = ["image", "label", *GEOMETRY]
    return boxes[keys].sort_values(keys).reset_index(drop=True)


def _raccoon_subset(detection: Path, tmp_path: Path, stems: list[str]) -> tuple[Path, Path]:
    """Copies of a few raccoon annotation files and their images, to spoil one."""
    ann, img = tmp_path / "annotations", tmp_path / "images"
    ann.mkdir()
    img.mkdir()
    for stem in stems:
        shutil.copy(detection / "raccoon" / "annotations" / f"{stem}.xml", ann)
        shutil.copy(detection / "raccoon" / "images" / f"{stem}.jpg", img)
    return ann, img


def test_raccoon_voc_equals_the_authors_csv(detection: Path) -> None:
    got = read_voc(detection / "raccoon" / "annotations")
    assert (len(got.images), len(got.boxes), got.classes) == (200, 217, ("raccoon",))
    csv = pd.read_csv(detection / "raccoon" / "data" / "raccoon_labels.csv")
    expected = pd.DataFrame({
        "image": csv["filename"], "label": csv["class"], "x": csv["xmin"].astype(float),
        "y": csv["ymin"].astype(float), "w": (csv["xmax"] - csv["xmin"]).astype(float),
        "h": (csv["ymax"] - csv["ymin"]).astype(float),
    })
    pd.testing.assert_frame_equal(_sorted(got.boxes), _sorted(expected))
    sizes = got.images.set_index("image")
    first = csv.drop_duplicates("filename").set_index("filename")
    assert (sizes.loc[first.index, "width"].to_numpy() == first["width"].to_numpy()).all()
    assert all(Path(p).is_file() for p in got.images["path"])


def test_bccd_zero_area_boxes_are_refused_by_name_or_dropped(detection: Path) -> None:
    annotations = detection / "bccd" / "BCCD" / "Annotations"
    with pytest.raises(InputError, match=r"BloodImage_00338\.xml object \d+.*BloodImage_00343\.xml object \d+: zero-area.*--drop-empty-boxes"):
        read_voc(annotations)
    got = read_boxes(annotations, "voc", drop_empty=True)
    assert len(got.images) == 364
    assert len(got.boxes) == 4888 - 2
    assert got.boxes["label"].value_counts().to_dict() == {"RBC": 4155 - 2, "WBC": 372, "Platelets": 361}
    assert sorted(got.dropped["image"]) == ["BloodImage_00338.jpg", "BloodImage_00343.jpg"]
    assert ((got.dropped["w"] == 0) & (got.dropped["h"] == 0)).all()


def test_chess_coco_counts_and_classes(detection: Path) -> None:
    for split, n_images, n_boxes in (("valid", 58, 386), ("test", 29, 376)):
        got = read_coco(detection / "chess-pieces" / split / "_annotations.coco.json")
        assert (len(got.images), len(got.boxes)) == (n_images, n_boxes)
        assert got.classes[:2] == ("pieces", "bishop") and len(got.classes) == 14
        assert got.boxes["label"].nunique() == 12
    assert len(set(got.images["image"]) - set(got.boxes["image"])) == 1  # the test image without boxes


def test_coco_round_trip_keeps_every_box(chess_test: Path, tmp_path: Path) -> None:
    first = read_coco(chess_test)
    out = tmp_path / "copy" / "_annotations.coco.json"
    write_coco(first.boxes, first.images, out, classes=first.classes)
    again = read_coco(out, images=chess_test.parent)
    pd.testing.assert_frame_equal(_sorted(again.boxes), _sorted(first.boxes))
    pd.testing.assert_frame_equal(again.images, first.images)
    assert again.classes == first.classes
    raw = json.loads(chess_test.read_text())
    names = {c["id"]: c["name"] for c in raw["categories"]}
    files = {i["id"]: i["file_name"] for i in raw["images"]}
    original = sorted((files[a["image_id"]], names[a["category_id"]], *map(float, a["bbox"]))
                      for a in raw["annotations"])
    written = json.loads(out.read_text())
    names = {c["id"]: c["name"] for c in written["categories"]}
    files = {i["id"]: i["file_name"] for i in written["images"]}
    assert sorted((files[a["image_id"]], names[a["category_id"]], *a["bbox"])
                  for a in written["annotations"]) == original


def test_yolo_round_trip_within_a_thousandth_of_a_pixel(detection: Path, tmp_path: Path) -> None:
    first = read_voc(detection / "raccoon" / "annotations")
    write_yolo(first.boxes, first.images, tmp_path / "yolo", classes=first.classes)
    assert (tmp_path / "yolo" / "classes.txt").read_text() == "raccoon\n"
    assert len(list((tmp_path / "yolo" / "labels").glob("*.txt"))) == 200
    again = read_yolo(tmp_path / "yolo", images=detection / "raccoon" / "images")
    a, b = _sorted(first.boxes), _sorted(again.boxes)
    assert (a[["image", "label"]] == b[["image", "label"]]).all().all()
    np.testing.assert_allclose(b[GEOMETRY].to_numpy(), a[GEOMETRY].to_numpy(), atol=1e-3)
    assert set(again.images["image"]) == set(first.images["image"])


def test_coco_to_yolo_to_coco_on_twelve_classes(chess_test: Path, tmp_path: Path) -> None:
    first = read_coco(chess_test)
    write_yolo(first.boxes, first.images, tmp_path, classes=first.classes)
    again = read_yolo(tmp_path / "labels", images=chess_test.parent)
    assert again.classes == first.classes
    np.testing.assert_allclose(_sorted(again.boxes)[GEOMETRY], _sorted(first.boxes)[GEOMETRY], atol=1e-3)


def test_label_studio_export_of_real_boxes(detection: Path, tmp_path: Path) -> None:
    voc = read_voc(detection / "raccoon" / "annotations")
    sizes = {r["image"]: (float(r["width"]), float(r["height"])) for r in voc.images.to_dict("records")}
    tasks = []
    for number, (image, group) in enumerate(voc.boxes.groupby("image")):
        width, height = sizes[str(image)]
        result = [{"id": f"r{i}", "type": "rectanglelabels", "original_width": int(width),
                   "original_height": int(height), "value": {
                       "x": b.x / width * 100, "y": b.y / height * 100, "width": b.w / width * 100,
                       "height": b.h / height * 100, "rotation": 0, "rectanglelabels": [b.label]}}
                  for i, b in enumerate(group.itertuples())]
        tasks.append({"id": number, "data": {"image": f"/data/upload/3/0a1b2c3d-{image}"},
                      "annotations": [{"completed_by": 7, "result": result}]})
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    got = read_boxes(export, "label-studio", images=detection / "raccoon" / "images")
    np.testing.assert_allclose(_sorted(got.boxes)[GEOMETRY], _sorted(voc.boxes)[GEOMETRY], atol=1e-6)
    assert (got.boxes["annotator"] == "7").all() and len(got.images) == 200


# --- bad input ---------------------------------------------------------------


def _spoil_xml(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_voc_box_outside_the_image(detection: Path, tmp_path: Path) -> None:
    ann, _ = _raccoon_subset(detection, tmp_path, ["raccoon-1", "raccoon-2"])
    _spoil_xml(ann / "raccoon-1.xml", "<xmax>522</xmax>", "<xmax>700</xmax>")
    with pytest.raises(InputError, match=r"raccoon-1\.xml object 1: .*outside its 650x417 image"):
        read_voc(ann)


def test_voc_negative_size_unknown_class_and_missing_image(detection: Path, tmp_path: Path) -> None:
    ann, img = _raccoon_subset(detection, tmp_path, ["raccoon-1", "raccoon-2"])
    _spoil_xml(ann / "raccoon-2.xml", "<name>raccoon</name>", "<name>dog</name>")
    with pytest.raises(InputError, match=r"raccoon-2\.xml object 1: unknown class 'dog'"):
        read_voc(ann, classes=["raccoon"])
    _spoil_xml(ann / "raccoon-1.xml", "<xmax>522</xmax>", "<xmax>50</xmax>")
    with pytest.raises(InputError, match=r"raccoon-1\.xml object 1: box of negative size"):
        read_voc(ann)
    (img / "raccoon-2.jpg").unlink()
    with pytest.raises(InputError, match=r"raccoon-2\.xml: image raccoon-2\.jpg is missing"):
        read_voc(ann)


def test_voc_size_that_does_not_match_the_image(detection: Path, tmp_path: Path) -> None:
    ann, _ = _raccoon_subset(detection, tmp_path, ["raccoon-1"])
    _spoil_xml(ann / "raccoon-1.xml", "<width>650</width>", "<width>651</width>")
    with pytest.raises(InputError, match=r"raccoon-1\.xml: the annotation says the image is 651x417 but .* is 650x417"):
        read_voc(ann)


def _chess_copy(chess_test: Path, tmp_path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    data = json.loads(chess_test.read_text())
    change(data)
    out = tmp_path / "bad.json"
    out.write_text(json.dumps(data))
    return out


def test_coco_repeated_ids(chess_test: Path, tmp_path: Path) -> None:
    def repeat_annotation(d: dict) -> None:
        d["annotations"][5]["id"] = d["annotations"][4]["id"]

    def repeat_image(d: dict) -> None:
        d["images"][3]["id"] = d["images"][2]["id"]

    with pytest.raises(InputError, match=r"bad\.json: annotation id 4 repeats"):
        read_coco(_chess_copy(chess_test, tmp_path, repeat_annotation), images=chess_test.parent)
    with pytest.raises(InputError, match=r"bad\.json: image id 2 repeats"):
        read_coco(_chess_copy(chess_test, tmp_path, repeat_image), images=chess_test.parent)


def test_coco_unknown_class_unknown_image_and_missing_file(chess_test: Path, tmp_path: Path) -> None:
    def unknown_class(d: dict) -> None:
        d["annotations"][7]["category_id"] = 99

    def unknown_image(d: dict) -> None:
        d["annotations"][8]["image_id"] = 1234

    def missing_file(d: dict) -> None:
        d["images"][1]["file_name"] = "nowhere.jpg"

    with pytest.raises(InputError, match=r"annotation id 7: unknown class \(category id 99"):
        read_coco(_chess_copy(chess_test, tmp_path, unknown_class), images=chess_test.parent)
    with pytest.raises(InputError, match=r"annotation id 8: image id 1234 is not in images"):
        read_coco(_chess_copy(chess_test, tmp_path, unknown_image), images=chess_test.parent)
    with pytest.raises(InputError, match=r"image id 1: image .*nowhere\.jpg is missing on disk"):
        read_coco(_chess_copy(chess_test, tmp_path, missing_file), images=chess_test.parent)


def _yolo_folder(detection: Path, tmp_path: Path) -> Path:
    ann, _ = _raccoon_subset(detection, tmp_path, ["raccoon-1", "raccoon-2", "raccoon-3"])
    got = read_voc(ann)
    write_yolo(got.boxes, got.images, tmp_path, classes=got.classes)
    return tmp_path / "labels"


def test_yolo_line_with_the_wrong_number_of_fields(detection: Path, tmp_path: Path) -> None:
    labels = _yolo_folder(detection, tmp_path)
    with open(labels / "raccoon-2.txt", "a") as fh:
        fh.write("0 0.5 0.5 0.1 0.1 0.9\n")
    with pytest.raises(InputError, match=r"raccoon-2\.txt line 2: 6 fields, a YOLO box line has 5"):
        read_yolo(tmp_path)


def test_yolo_unknown_class_outside_box_and_file_without_image(detection: Path, tmp_path: Path) -> None:
    labels = _yolo_folder(detection, tmp_path)
    good = (labels / "raccoon-3.txt").read_text()
    (labels / "raccoon-3.txt").write_text("1 0.5 0.5 0.1 0.1\n")
    with pytest.raises(InputError, match=r"raccoon-3\.txt line 1: unknown class '1'"):
        read_yolo(tmp_path)
    (labels / "raccoon-3.txt").write_text("0 0.95 0.5 0.2 0.1\n")
    with pytest.raises(InputError, match=r"raccoon-3\.txt line 1: .*outside"):
        read_yolo(tmp_path)
    (labels / "raccoon-3.txt").write_text(good)
    (labels / "raccoon-9.txt").write_text(good)
    with pytest.raises(InputError, match=r"raccoon-9\.txt: no image raccoon-9\.\* .*do not match the images"):
        read_yolo(tmp_path)


def test_writers_write_nothing_on_error(chess_test: Path, tmp_path: Path) -> None:
    got = read_coco(chess_test)
    outside = got.boxes.copy()
    outside.loc[3, "x"] = 5000.0
    with pytest.raises(InputError, match=r"boxes row 3: .*outside its 2048x1371 image"):
        write_coco(outside, got.images, tmp_path / "out.json")
    with pytest.raises(InputError, match=r"boxes row 0: unknown class 'white-rook'"):
        write_yolo(got.boxes, got.images, tmp_path / "yolo", classes=["black-king"])
    assert list(tmp_path.rglob("*")) == []


def test_label_studio_rotated_box_and_size_mismatch(detection: Path, tmp_path: Path) -> None:
    value = {"x": 10, "y": 10, "width": 20, "height": 20, "rotation": 0, "rectanglelabels": ["raccoon"]}
    task = {"id": 4, "data": {"image": "/data/upload/1/raccoon-1.jpg"}, "annotations": [
        {"completed_by": 1, "result": [{"id": "a", "type": "rectanglelabels", "original_width": 650,
                                         "original_height": 400, "value": value}]}]}
    export = tmp_path / "ls.json"
    export.write_text(json.dumps([task]))
    images = detection / "raccoon" / "images"
    with pytest.raises(InputError, match=r"ls\.json task 4 result a: the annotation says the image is 650x400"):
        read_label_studio(export, images=images)
    task["annotations"][0]["result"][0]["original_height"] = 417  # type: ignore[index]
    value["rotation"] = 30
    export.write_text(json.dumps([task]))
    with pytest.raises(InputError, match=r"task 4 result a: rotated rectangle"):
        read_label_studio(export, images=images)
