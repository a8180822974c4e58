"""`assay demo --task detection` on the real BCCD blood-cell boxes, at small settings
(16 training and 8 test images): every chapter is told within 80 columns, and its facts
agree with the workspace and with assay's public functions on the same boxes."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import assay
from assay.cli.main import main
from assay.demo import detection as det
from assay.demo import detection_data as dd
from assay.store.workspace import Workspace

CHAPTERS = ("Data", "Collect", "Train", "Iterate", "Deploy")
SMALL = det.Sizes(train=16, test=8, labelled_twice=6, review_budget=8)


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("det") / "demo-detection"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ASSAY_DETECTION_DATA", str(shared_data / "detection"))
        patch.setattr(det, "SIZES", SMALL)
        code, text, err = _run("demo", "--task", "detection", str(path))
        assert code == 0, err
        code, out, err = _run("demo", "--task", "detection", str(path), "--json")
        assert code == 0, err
    return {"path": path, "text": text, "facts": json.loads(out)["facts"]}


def test_every_chapter_is_told_in_80_columns(demo: dict[str, Any]) -> None:
    story = [line for line in demo["text"].splitlines() if str(demo["path"]) not in line]
    assert max(len(line) for line in story) <= 80, [x for x in story if len(x) > 80]
    for chapter in CHAPTERS:
        assert any(line.startswith(chapter + "  ") for line in story), chapter
    assert (demo["path"] / "report.html").is_file()


def test_the_images_are_copied_and_the_errors_planted(demo: dict[str, Any]) -> None:
    facts, path = demo["facts"], demo["path"]
    assert len(list((path / "images").glob("*.jpg"))) == SMALL.train + SMALL.test
    assert len(list((path / "images" / "dim").glob("*.jpg"))) == SMALL.test
    ws = Workspace(path)
    try:
        v1 = ws.dataset("cells@v1").to_pandas()
        assert len(v1) == SMALL.train and facts["data"]["images"] == SMALL.train
        assert sum(len(b) for b in v1["label"]) == facts["data"]["boxes"]
        assert facts["data"]["boxes"] < facts["data"]["true_boxes"]  # boxes were dropped
        assert 0 < facts["data"]["images_with_errors"] < SMALL.train
    finally:
        ws.close()


def test_agreement_matches_box_agreement_on_the_stored_annotations(
    demo: dict[str, Any],
) -> None:
    ws = Workspace(demo["path"])
    try:
        stored = ws.annotations.load("cells")
    finally:
        ws.close()
    rows = [
        {"image": r.item, "annotator": r.annotator, **dict(b)}
        for r in stored.itertuples()
        for b in r.label
    ]
    report = assay.box_agreement(pd.DataFrame(rows))
    assert demo["facts"]["collect"]["f1_50"] == pytest.approx(report.overall["f1_50"])
    assert demo["facts"]["collect"]["kinds"].get("missing", 0) > 0  # ben omits small cells


def test_audit_review_and_the_comparison(demo: dict[str, Any]) -> None:
    audit, turn = demo["facts"]["audit"], demo["facts"]["iterate"]
    assert audit["auprc"] > audit["base_rate"]  # the strong detector's boxes rank errors
    assert 0 <= audit["hog"]["auprc"] <= 1
    assert turn["relabel"] + turn["keep"] == min(SMALL.review_budget, audit["queued"])
    assert turn["low"] <= turn["delta"] <= turn["high"]
    assert turn["delta"] == pytest.approx(turn["map_v2"] - turn["map_v1"])


def test_monitor_windows_report_realised_map_and_image_drift(demo: dict[str, Any]) -> None:
    first, dim = demo["facts"]["deploy"]["windows"]
    # window 1 holds the v2 detector's boxes on the test images: the same mAP as the
    # evaluation of the Iterate chapter
    assert first["map"] == pytest.approx(demo["facts"]["iterate"]["map_v2"], abs=1e-9)
    assert any(a.startswith("image drift") for a in dim["alerts"])
    assert not any(a.startswith("image drift") for a in first["alerts"])
    ws = Workspace(demo["path"])
    try:
        window = ws.monitors.window_frame("cells-prod", 2)
        queued = ws.review.list("cells", source="drift_sample")
    finally:
        ws.close()
    assert window["brightness"].mean() < 0.7 * ws_brightness(demo["path"])
    assert len(queued) == demo["facts"]["deploy"]["sampled"] == 5
    assert window["path"].str.startswith("dim/").all()  # served from the image folder


def ws_brightness(path: Path) -> float:
    """Mean brightness of the test images as copied (before dimming)."""
    from assay.deploy.drift_boxes import image_statistics

    names = sorted(p.name for p in (path / "images" / "dim").glob("*.jpg"))
    stats = image_statistics({n: path / "images" / n for n in names})
    return float(np.mean(stats["brightness"]))


def test_planted_errors_are_seeded_and_stay_in_the_image() -> None:
    boxes = pd.DataFrame(
        {
            "image": ["a"] * 10 + ["b"] * 10,
            "label": ["x", "y"] * 10,
            "x": np.linspace(0, 500, 20),
            "y": 10.0,
            "w": 40.0,
            "h": 30.0,
        }
    )
    noisy, planted = dd.plant_box_errors(boxes, seed=0)
    again, _ = dd.plant_box_errors(boxes, seed=0)
    pd.testing.assert_frame_equal(noisy, again)
    assert (noisy["x"] >= 0).all() and (noisy["x"] + noisy["w"] <= dd.WIDTH).all()
    assert set(planted.index) == {"a", "b"} and (planted > 0).sum() == 1  # half the images
