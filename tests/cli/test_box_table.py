"""Labelers' boxes as a table, one row per box (``image,annotator,label,x,y,w,h``):
``assay annotations import`` into a detection dataset and ``assay agree FILE``, on 8
real chess photos (Roboflow Chess Pieces, ``valid/``); bad rows refused by line and
column with exit 2 and nothing stored.

Simulated second labeler (stated): ``ben`` moves every corner of the published boxes by
N(0, 3% of the box side) and leaves out the first box of every other image.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

N_IMAGES = 8


@pytest.fixture(scope="module")
def chess(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, Any]:
    """The first 8 photos of ``valid/`` as a COCO file, and two labelers' box table."""
    folder = shared_data / "detection" / "chess-pieces" / "valid"
    coco = json.loads((folder / "_annotations.coco.json").read_text())
    images = sorted(coco["images"], key=lambda i: i["file_name"])[:N_IMAGES]
    ids = {i["id"]: i["file_name"] for i in images}
    notes = [a for a in coco["annotations"] if a["image_id"] in ids]
    tmp = tmp_path_factory.mktemp("boxtable")
    (tmp / "chess.json").write_text(json.dumps({**coco, "images": images, "annotations": notes}))
    names = {c["id"]: c["name"] for c in coco["categories"]}
    rng = np.random.default_rng(0)
    rows, seen = [], set()
    for a in notes:
        image, (x, y, w, h) = ids[a["image_id"]], a["bbox"]
        rows.append([image, "ann", names[a["category_id"]], x, y, w, h])
        first = image not in seen
        seen.add(image)
        if first and sorted(ids.values()).index(image) % 2 == 0:
            continue  # ben leaves this box out
        x1, y1, x2, y2 = np.array([x, y, x + w, y + h]) + rng.normal(0, 0.03, 4) * [w, h, w, h]
        rows.append(
            [
                image,
                "ben",
                names[a["category_id"]],
                max(x1, 0),
                max(y1, 0),
                x2 - max(x1, 0),
                y2 - max(y1, 0),
            ]
        )
    table = pd.DataFrame(rows, columns=["image", "annotator", "label", "x", "y", "w", "h"])
    table.to_csv(tmp / "boxes.csv", index=False)
    return {"coco": tmp / "chess.json", "images": folder, "table": table, "tmp": tmp}


def test_agree_on_a_box_table_file(cli, chess: dict[str, Any], tmp_path: Path) -> None:
    report = tmp_path / "a.html"
    path = str(chess["tmp"] / "boxes.csv")
    code, out, err = cli("agree", path, "--json", "--report", str(report))
    assert code == 0, err
    result = json.loads(out)
    assert result["kind"] == "detection" and result["n_annotators"] == 2
    assert result["n_boxes"] == len(chess["table"])
    assert 0.9 < result["overall"]["f1_50"] < 1.0  # ben left 4 boxes out, moved the rest a bit


BAD = [  # (column, bad value, words of the error)
    ("w", "abc", "column w: 'abc' is not a number"),
    ("h", "0", "column h: 0 is not positive"),
    ("x", "-5", "column x: -5 is outside the image"),
    ("w", "99999", "column w: the box ends at"),
    ("label", "", "column label: empty"),
    ("image", "not-a-photo.jpg", "column image: 'not-a-photo.jpg' is not an item of chess@v1"),
]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_import_a_box_table_and_refuse_bad_rows(
    cli, chess: dict[str, Any], tmp_path: Path, db_url: str | None
) -> None:
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    w = ["-w", str(tmp_path / "ws")]
    code, out, err = cli(
        "import",
        "chess",
        "--boxes",
        str(chess["coco"]),
        "--format",
        "coco",
        "--images",
        str(chess["images"]),
        *w,
    )
    assert code == 0, err
    table: pd.DataFrame = chess["table"]
    for column, value, words in BAD:
        bad = table.astype(str)
        bad.loc[5, column] = value
        bad.to_csv(tmp_path / "bad.csv", index=False)
        code, out, err = cli("annotations", "import", "chess", str(tmp_path / "bad.csv"), *w)
        assert code == 2, (column, out, err)
        assert f"bad.csv line 7, {words}" in " ".join(err.split()), err
    table.drop(columns="h").to_csv(tmp_path / "bad.csv", index=False)
    code, out, err = cli("annotations", "import", "chess", str(tmp_path / "bad.csv"), *w)
    assert code == 2 and "no column 'h'" in err, err
    code, out, err = cli("agree", "chess", "--json", "--report", str(tmp_path / "a.html"), *w)
    assert code == 2 and "has no annotations" in err, err  # nothing half-stored
    looked = pd.concat(
        [
            table,
            pd.DataFrame(
                [[table["image"].iloc[0], "cara", "", "", "", "", ""]], columns=table.columns
            ),
        ]
    )
    looked.to_csv(tmp_path / "boxes.csv", index=False)
    code, out, err = cli("annotations", "import", "chess", str(tmp_path / "boxes.csv"), *w)
    assert code == 0, err
    pairs = len(table.groupby(["image", "annotator"])) + 1  # cara looked, drew nothing
    assert f"{pairs} annotations of {N_IMAGES} items by 3 annotators" in out
    code, out, err = cli("agree", "chess", "--json", "--report", str(tmp_path / "a.html"), *w)
    assert code == 0, err
    result = json.loads(out)
    assert result["kind"] == "detection" and result["n_boxes"] == len(table)
