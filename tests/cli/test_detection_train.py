"""The fixed detection recipe through the CLI on real raccoon images (Pascal VOC):
``assay train NAME --recipe hog --eval SET`` records an experiment with mAP and its
image-bootstrap interval, ``assay compare`` pairs two data versions on the same frozen
evaluation images, and ``assay curve NAME --recipe hog`` ends with a verdict.

The training folder's first version has half of its boxes moved by half their width
(stated noise, seeded); the second is the boxes as published."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

TRAIN = [f"raccoon-{i}" for i in range(1, 31)]
EVAL = [f"raccoon-{i}" for i in range(101, 113)]


def _copy(source: Path, names: list[str], folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in names:
        shutil.copy(source / "annotations" / f"{name}.xml", folder)
        shutil.copy(source / "images" / f"{name}.jpg", folder)
    return folder


def _move_boxes(folder: Path, seed: int) -> None:
    """Every other box moved right by half its width (kept inside the image)."""
    rng = np.random.default_rng(seed)
    for path in sorted(folder.glob("*.xml")):
        tree = ET.parse(path)
        width = float(tree.findtext("size/width") or 0)
        for box in tree.iter("bndbox"):
            if rng.random() >= 0.5:
                continue
            x0, x1 = (float(box.findtext(k) or 0) for k in ("xmin", "xmax"))
            shift = min((x1 - x0) / 2, width - x1)
            box.find("xmin").text = str(int(x0 + shift))  # type: ignore[union-attr]
            box.find("xmax").text = str(int(x1 + shift))  # type: ignore[union-attr]
        tree.write(path)


@pytest.fixture
def w(tmp_path: Path, cli, db_url: str | None, shared_data: Path) -> list[str]:
    args = ["init", str(tmp_path / "ws")] + (["--db", db_url] if db_url else [])
    assert cli(*args)[0] == 0
    w = ["-w", str(tmp_path / "ws")]
    raccoon = shared_data / "detection" / "raccoon"
    noisy = _copy(raccoon, TRAIN, tmp_path / "noisy")
    _move_boxes(noisy, seed=0)
    assert cli("import", "rac", "--boxes", str(noisy), "--format", "voc", *w)[0] == 0
    clean = _copy(raccoon, TRAIN, tmp_path / "clean")
    code, out, err = cli("import", "rac", "--boxes", str(clean), "--format", "voc", *w)
    assert code == 0 and "rac@v2" in out, err
    test = _copy(raccoon, EVAL, tmp_path / "test")
    assert cli("import", "rac-test", "--boxes", str(test), "--format", "voc", *w)[0] == 0
    return w


def test_train_compare_and_curve_with_the_fixed_detector(cli, w: list[str]) -> None:
    code, out, err = cli("train", "rac@v1", "--recipe", "hog", "--eval", "rac-test", "--json", *w)
    assert code == 0, err
    first = json.loads(out)
    assert first["task"] == "detection" and first["n_eval"] == 12 and first["n_train"] == 30
    head = first["headline"]
    assert head["metric"] == "map" and 0 <= head["low"] <= head["value"] <= head["high"] <= 1
    assert head["high"] > head["low"]
    code, out, err = cli("train", "rac@v2", "--recipe", "hog", "--eval", "rac-test", *w)
    assert code == 0, err
    assert re.search(r"^map\s+0\.\d{4} \[0\.\d{4}, 0\.\d{4}\]", out, re.M), out
    assert "weakest classes" in out and "raccoon" in out
    code, out, err = cli("compare", "E1", "E2", *w)
    assert code == 0, err
    assert "paired bootstrap over images (mAP)" in out and "box 1 moved (IoU" in out
    assert re.search(r"map\s+0\.\d{4} -> 0\.\d{4}\s+[+-]0\.\d{4} \[", out), out
    code, out, err = cli("curve", "rac@v2", "--recipe", "hog", "--repeats", "2", *w)
    assert code == 0, err
    assert "map (higher is better)" in out and "cleaning ≈ collecting" in out
    assert re.search(
        r"verdict: (clean|collect) \(map after cleaning 0\.\d{3} vs after "
        r"collecting 30 more 0\.\d{3}\)",
        out,
    ), out


def test_unknown_detector_and_detector_on_a_table_are_one_line_errors(
    cli, w: list[str], tmp_path: Path
) -> None:
    code, out, err = cli("train", "rac", "--recipe", "hogg", "--eval", "rac-test", *w)
    assert code == 2 and "no recipe named 'hogg'" in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("detector: hog\nparams: {C: -1}\n")
    code, out, err = cli("recipe", "add", "det", str(bad), *w)
    assert code == 2 and "C" in err and len(err.strip().splitlines()) == 1, err
    bad.write_text("detector: hog\nparams: {C: 0.05}\n")
    code, out, err = cli("recipe", "add", "det", str(bad), *w)
    assert code == 0, err
    assert "det" in cli("recipe", "list", *w)[1]
