"""`assay monitor` on a detection dataset (the real raccoon photos with their boxes):
a batch carries image files, the detector's scored boxes and, once they arrive, the
label boxes. A calm batch (raccoon photos) raises nothing and reports realised mAP equal
to assay.mean_average_precision on the same boxes; a batch of blood-cell micrographs
(BCCD) drifts in brightness, contrast, box size and class mix; sampling queues images
with the detector's confident boxes as suggestions; a missing image is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import assay
from assay.store.workspace import Workspace

RACCOON = ("detection", "raccoon")


def _jittered(boxes: list[dict], rng: np.random.Generator) -> list[dict]:
    """A detector's boxes: each label box moved by 4% of its size, scored in (0.2, 1)."""
    return [
        {
            **b,
            "x": b["x"] + rng.normal(0, 0.04 * b["w"]),
            "y": b["y"] + rng.normal(0, 0.04 * b["h"]),
            "score": float(rng.uniform(0.2, 1)),
        }
        for b in boxes
    ]


def _bccd(folder: Path, n: int) -> list[tuple[str, list[dict]]]:
    """The first ``n`` BCCD images (copied) and their boxes."""
    frame = pd.read_csv(folder / "test.csv")
    frame = frame[(frame["xmax"] > frame["xmin"]) & (frame["ymax"] > frame["ymin"])]
    out = []
    for name in sorted(frame["filename"].unique())[:n]:
        rows = frame[frame["filename"] == name]
        out.append(
            (
                f"{name}.jpg" if not name.endswith(".jpg") else name,
                [
                    {
                        "label": r.cell_type,
                        "x": float(r.xmin),
                        "y": float(r.ymin),
                        "w": float(r.xmax - r.xmin),
                        "h": float(r.ymax - r.ymin),
                    }
                    for r in rows.itertuples()
                ],
            )
        )
    return out


@pytest.fixture
def batches(shared_data: Path, tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    labels = {}
    images = shared_data.joinpath(*RACCOON, "images")
    calm_dir = tmp_path / "calm"
    calm_dir.mkdir()
    table = pd.read_csv(shared_data.joinpath(*RACCOON, "data", "raccoon_labels.csv"))
    for name, rows in table.groupby("filename"):
        labels[name] = [
            {
                "label": "raccoon",
                "x": float(r.xmin),
                "y": float(r.ymin),
                "w": float(r.xmax - r.xmin),
                "h": float(r.ymax - r.ymin),
            }
            for r in rows.itertuples()
        ]
    calm = []
    for name in sorted(labels)[:40]:
        shutil.copy(images / name, calm_dir / name)
        calm.append(
            {
                "item_id": f"p-{name}",
                "path": name,
                "label": json.dumps(labels[name]),
                "prediction": json.dumps(_jittered(labels[name], rng)),
            }
        )
    pd.DataFrame(calm).to_csv(calm_dir / "batch.csv", index=False)
    cells = tmp_path / "cells"
    cells.mkdir()
    bccd = shared_data / "detection" / "bccd" / "BCCD"
    rows = []
    for name, boxes in _bccd(shared_data / "detection" / "bccd", 30):
        shutil.copy(bccd / "JPEGImages" / name, cells / name)
        rows.append(
            {"item_id": name, "path": name, "label": boxes, "prediction": _jittered(boxes, rng)}
        )
    with (cells / "batch.jsonl").open("w") as out:  # lists, not JSON text; no image size
        out.writelines(json.dumps(r) + "\n" for r in rows)
    missing = tmp_path / "missing.csv"
    pd.DataFrame(calm[:3]).assign(path=["nowhere.jpg"] * 3).to_csv(missing, index=False)
    return {"calm": calm_dir / "batch.csv", "cells": cells / "batch.jsonl", "missing": missing}


def _imported(
    cli: Any, tmp_path: Path, shared_data: Path, name: str
) -> tuple[Workspace, list[str]]:
    """A workspace with the raccoon set imported as ``name`` (VOC boxes and images)."""
    ws = Workspace.init(tmp_path / "ws")
    w = ["-w", ws.location]
    folder = shared_data.joinpath(*RACCOON)
    args = ["--boxes", str(folder / "annotations"), "--format", "voc"]
    code, _, err = cli("import", name, *args, "--images", str(folder / "images"), *w)
    assert code == 0, err
    return ws, w


def test_monitor_a_detection_dataset(
    cli: Any, tmp_path: Path, shared_data: Path, batches: dict[str, Path]
) -> None:
    ws, w = _imported(cli, tmp_path, shared_data, "raccoon")
    code, out, err = cli("monitor", "add", "m", "--reference", "raccoon", *w)
    assert code == 0, err

    code, out, err = cli("monitor", "ingest", "m", str(batches["calm"]), "--json", *w)
    assert code == 0, err
    calm = json.loads(out)
    assert calm["alerts"] == [], calm["alerts"]
    columns = {c["column"]: c for c in calm["columns"]}
    assert {
        "brightness",
        "contrast",
        "label:boxes_per_image",
        "label:box_area",
        "label:box_aspect",
        "label:class",
    } <= set(columns)
    assert columns["brightness"]["role"] == "image"
    sent = pd.read_csv(batches["calm"])
    truth = [json.loads(t) for t in sent["label"]]
    preds = [json.loads(p) for p in sent["prediction"]]
    lab = pd.DataFrame([{"image": i, **b} for i, bs in enumerate(truth) for b in bs])
    pred = pd.DataFrame([{"image": i, **b} for i, bs in enumerate(preds) for b in bs])
    expected = assay.mean_average_precision(lab, pred)
    realised = calm["performance"]["realised"]
    assert realised["map"] == pytest.approx(expected["map"], abs=1e-9)
    assert realised["map_low"] <= realised["map"] <= realised["map_high"]
    assert realised["n"] == 40

    code, out, err = cli("monitor", "ingest", "m", str(batches["cells"]), *w)
    assert code == 0, err
    assert "realised map" in out and "ALERT image drift" in out
    assert "box drift (30 labelled): boxes_per_image, box_area, box_aspect, class" in out
    assert all(
        len(line) <= 80 for line in out.splitlines() if line.startswith(("realised", "ALERT"))
    ), out
    code, out, _ = cli("monitor", "status", "m", *w)
    assert code == 1 and "box drift" in out and "m window 2: realised map 0." in out

    code, out, err = cli("monitor", "sample", "m", "--n", "6", "--json", *w)
    assert code == 0, err
    picked = json.loads(out)
    assert len(picked) == 6
    suggested = [json.loads(p["suggested_label"]) for p in picked]
    assert any(suggested) and all(
        b["label"] in ("RBC", "WBC", "Platelets") for boxes in suggested for b in boxes
    )
    window = ws.monitors.window_frame("m")
    assert window["width"].tolist() == [640] * 30  # filled in from the files

    code, _, err = cli("monitor", "ingest", "m", str(batches["missing"]), *w)
    assert code == 2 and "nowhere.jpg" in err and len(err.strip().splitlines()) == 1
    assert ws.monitors.get("m")["windows"] == 2


def test_bad_boxes_in_a_batch_are_refused_naming_the_line(
    cli: Any, tmp_path: Path, shared_data: Path
) -> None:
    ws, w = _imported(cli, tmp_path, shared_data, "r")
    assert cli("monitor", "add", "m", "--reference", "r", *w)[0] == 0
    box = {"label": "raccoon", "x": 1, "y": 2, "w": 30, "h": 40}
    cases = {
        "no score": ([box], "line 3", "no score"),
        "not json": ("[{oops", "line 3", "is not JSON"),
        "no size": ([{**box, "w": 0, "score": 0.5}], "line 3", "positive width"),
    }
    for name, (bad, where, words) in cases.items():
        good = json.dumps([{**box, "score": 0.9}])
        rows = [
            {"item_id": "a", "path": "raccoon-1.jpg", "prediction": good},
            {
                "item_id": "b",
                "path": "raccoon-2.jpg",
                "prediction": bad if isinstance(bad, str) else json.dumps(bad),
            },
        ]
        path = tmp_path / f"{name}.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        code, _, err = cli("monitor", "ingest", "m", str(path), *w)
        assert code == 2 and where in err and words in err, (name, err)
        assert len(err.strip().splitlines()) == 1
    from assay.train.recipe import load_recipe

    ws.recipes.add("ridge", load_recipe("name: ridge\nestimator: sklearn.linear_model.Ridge\n"))
    code, _, err = cli("monitor", "add", "m2", "--reference", "r", "--recipe", "ridge", *w)
    assert code == 2 and "without a recipe" in err, err
    assert ws.monitors.get("m")["windows"] == 0

    from assay.workflows.monitor import ingest_json, sample_for_review

    sent = [
        {
            "item_id": f"x{i}",
            "path": f"raccoon-{i}.jpg",
            "prediction": [{**box, "score": 0.4 + i / 20}],
        }
        for i in range(1, 7)
    ]
    body = "\n".join(json.dumps(r) for r in sent).encode()  # an API batch: no file, no size
    ingest_json(ws, "m", body, ndjson=True, source="POST /api/monitors/m/ingest")
    window = ws.monitors.window_frame("m")
    assert window["path"].tolist() == [r["path"] for r in sent]  # under the image folder
    picked = sample_for_review(ws, "m", n=3)
    rows = [p["row"] for p in picked["payload"]]
    assert all(r["path"].startswith("raccoon-") and r["width"] > 0 for r in rows)


def test_reference_predictions_add_predicted_box_drift_and_a_map_alert(
    cli: Any, tmp_path: Path, shared_data: Path, batches: dict[str, Path]
) -> None:
    ws, w = _imported(cli, tmp_path, shared_data, "r")
    folder = shared_data.joinpath(*RACCOON)
    table = pd.read_csv(folder / "data" / "raccoon_labels.csv")
    rng = np.random.default_rng(1)
    rows = []
    for r in table.itertuples():
        box = {
            "label": "raccoon",
            "x": float(r.xmin),
            "y": float(r.ymin),
            "w": float(r.xmax - r.xmin),
            "h": float(r.ymax - r.ymin),
        }
        rows += [{"image": r.filename, **b} for b in _jittered([box], rng)]
    preds = tmp_path / "reference-predictions.csv"
    pd.DataFrame(rows).to_csv(preds, index=False)
    code, out, err = cli("monitor", "add", "m", "--reference", "r", "--predictions", str(preds), *w)
    assert code == 0, err
    assert "reference map (out of sample) 0." in out
    expected = assay.mean_average_precision(
        table.rename(columns={"filename": "image", "class": "label"}).assign(
            x=table["xmin"],
            y=table["ymin"],
            w=table["xmax"] - table["xmin"],
            h=table["ymax"] - table["ymin"],
        )[["image", "label", "x", "y", "w", "h"]],
        pd.DataFrame(rows),
    )["map"]
    assert ws.monitors.get("m")["config"]["reference_map"] == pytest.approx(expected, abs=1e-9)

    code, out, err = cli("monitor", "ingest", "m", str(batches["calm"]), "--json", *w)
    calm = json.loads(out)
    assert code == 0 and calm["alerts"] == [], calm["alerts"]
    roles = {c["column"]: c["role"] for c in calm["columns"]}
    assert roles["prediction:boxes_per_image"] == "predicted boxes"

    sent = pd.read_csv(batches["calm"])  # the same images: labels gone, boxes misplaced
    moved = [
        json.dumps(
            [{**b, "x": b["x"] + 0.6 * b["w"], "score": 0.9} for b in json.loads(p)]
            + [{**b, "y": b["y"] + 0.5 * b["h"], "score": 0.95} for b in json.loads(p)]
        )
        for p in sent["prediction"]
    ]
    unlabelled = tmp_path / "calm" / "moved.csv"
    sent.assign(prediction=moved).drop(columns="label").to_csv(unlabelled, index=False)
    code, out, err = cli("monitor", "ingest", "m", str(unlabelled), *w)
    assert code == 0, err
    assert "ALERT prediction drift (confident boxes): boxes_per_image" in out
    labelled = tmp_path / "calm" / "moved-labelled.csv"
    sent.assign(prediction=moved).to_csv(labelled, index=False)
    code, out, err = cli("monitor", "ingest", "m", str(labelled), *w)
    assert code == 0, err
    assert "is below the reference's" in out
