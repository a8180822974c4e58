"""A new user's detection path through the real CLI on data the demo does not use:
32 chess-board photos (Roboflow Chess Pieces, ``valid/``, COCO, 12 classes).

import (native COCO) -> export COCO and YOLO -> re-import, same boxes; ``plan-sample`` with
Label Studio rectangles; three labelers' boxes -> ``annotations import`` -> ``agree`` ->
``consensus --commit``; the fixed HogDetector's out-of-sample boxes (two-fold, in Python)
as COCO results -> ``audit --predictions`` -> ``review decide/apply`` a box fix with a
box-level diff; ``slices --predictions`` (mAP equal to ``assay.mean_average_precision``);
``monitor add --predictions`` and ``monitor ingest`` a batch of test photos with boxes;
``train`` and ``curve`` with the HOG recipe (small settings, as a YAML recipe).

Simulated labelers (stated conventions; the set has one labeler): ``roboflow`` is the
published boxes; ``careful`` moves every corner by N(0, 2% of the box side) and leaves
out 2% of boxes; ``sloppy`` draws boxes 15% of the side looser on every side, moves
corners by N(0, 12%) and leaves out 25% of boxes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

N_IMAGES = 32
GEOM = ["x", "y", "w", "h"]
#: Small HOG settings: chess pieces are ~130 x 200 px on 2048 x 1371 photos.
HOG = {"max_side": 160, "window_cells": 12, "random_state": 0}
pytestmark = pytest.mark.slow


def _coco_boxes(coco: dict[str, Any]) -> pd.DataFrame:
    """A COCO file's boxes as a frame (image = file name, label = class name)."""
    names = {i["id"]: i["file_name"] for i in coco["images"]}
    classes = {c["id"]: c["name"] for c in coco["categories"]}
    rows = [
        {
            "image": names[a["image_id"]],
            "label": classes[a["category_id"]],
            **dict(zip(GEOM, map(float, a["bbox"]), strict=True)),
        }
        for a in coco["annotations"]
    ]
    return pd.DataFrame(rows, columns=["image", "label", *GEOM])


def _sorted(boxes: pd.DataFrame) -> pd.DataFrame:
    return boxes.sort_values(["image", "label", *GEOM]).reset_index(drop=True)


@pytest.fixture(scope="module")
def chess(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, Any]:
    """The first 32 photos of ``valid/`` (by file name) as their own COCO file."""
    folder = shared_data / "detection" / "chess-pieces"
    coco = json.loads((folder / "valid" / "_annotations.coco.json").read_text())
    images = sorted(coco["images"], key=lambda i: i["file_name"])[:N_IMAGES]
    ids = {i["id"] for i in images}
    subset = {
        **coco,
        "images": images,
        "annotations": [a for a in coco["annotations"] if a["image_id"] in ids],
    }
    path = tmp_path_factory.mktemp("chess") / "chess.coco.json"
    path.write_text(json.dumps(subset))
    return {
        "coco": path,
        "images": folder / "valid",
        "test": folder / "test",
        "boxes": _coco_boxes(subset),
        "sizes": {i["file_name"]: (i["width"], i["height"]) for i in images},
    }


@pytest.fixture
def w(tmp_path: Path, cli, db_url: str | None, chess: dict[str, Any]) -> list[str]:
    args = ["init", str(tmp_path / "ws")] + (["--db", db_url] if db_url else [])
    assert cli(*args)[0] == 0
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
    assert f"chess@v1: {N_IMAGES} rows" in out
    return w


def _exported(cli, w: list[str], ref: str, path: Path) -> pd.DataFrame:
    code, out, err = cli("export", ref, "--format", "coco", str(path), *w)
    assert code == 0, err
    return _sorted(_coco_boxes(json.loads(path.read_text())))


def test_coco_and_yolo_round_trip(cli, w: list[str], chess: dict[str, Any], tmp_path: Path) -> None:
    given = _sorted(chess["boxes"])
    out_coco = _exported(cli, w, "chess", tmp_path / "out.json")
    pd.testing.assert_frame_equal(out_coco, given)
    # Exported files hold no images: re-imports name the folder of the photos.
    code, _, err = cli(
        "import", "again", "--boxes", str(tmp_path / "out.json"), "--format", "coco", *w
    )
    assert code == 2 and "--images" in err and err.count("\n") == 1
    assert (
        cli(
            "import",
            "again",
            "--boxes",
            str(tmp_path / "out.json"),
            "--format",
            "coco",
            "--images",
            str(chess["images"]),
            *w,
        )[0]
        == 0
    )
    pd.testing.assert_frame_equal(_exported(cli, w, "again", tmp_path / "again.json"), given)

    code, out, err = cli("export", "chess", "--format", "yolo", str(tmp_path / "yolo"), *w)
    assert code == 0, err
    assert len(list((tmp_path / "yolo").rglob("*.txt"))) == N_IMAGES + 1  # + classes.txt
    assert (
        cli(
            "import",
            "yolo",
            "--boxes",
            str(tmp_path / "yolo"),
            "--format",
            "yolo",
            "--images",
            str(chess["images"]),
            *w,
        )[0]
        == 0
    )
    back = _exported(cli, w, "yolo", tmp_path / "yolo.json")
    assert (back[["image", "label"]] == given[["image", "label"]]).all().all()
    # YOLO stores normalised centres: pixels come back to within a thousandth.
    np.testing.assert_allclose(back[GEOM].to_numpy(), given[GEOM].to_numpy(), atol=1e-3)


def _labeler(
    boxes: pd.DataFrame,
    sizes: dict[str, tuple[int, int]],
    rng: np.random.Generator,
    *,
    loose: float,
    jitter: float,
    omit: float,
) -> dict[str, list[dict[str, Any]]]:
    """One simulated labeler's boxes per image (conventions in the module docstring)."""
    out: dict[str, list[dict[str, Any]]] = {image: [] for image in sizes}
    for b in boxes.to_dict("records"):
        if rng.random() < omit:
            continue
        width, height = sizes[b["image"]]
        dx, dy = rng.normal(0, jitter * b["w"], 2), rng.normal(0, jitter * b["h"], 2)
        x0 = max(0.0, b["x"] - loose * b["w"] + dx[0])
        y0 = max(0.0, b["y"] - loose * b["h"] + dy[0])
        x1 = min(width, b["x"] + (1 + loose) * b["w"] + dx[1])
        y1 = min(height, b["y"] + (1 + loose) * b["h"] + dy[1])
        out[b["image"]].append({"label": b["label"], "x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0})
    return out


def test_plan_sample_for_a_second_labeler(cli, w: list[str], tmp_path: Path) -> None:
    tasks = tmp_path / "ls" / "tasks.json"
    code, out, err = cli(
        "plan-sample",
        "chess",
        "--n",
        "6",
        "--out",
        str(tmp_path / "s.csv"),
        "--label-studio",
        str(tasks),
        *w,
    )
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "s.csv")) == 6 and len(json.loads(tasks.read_text())) == 6
    config = (tasks.parent / "label_config.xml").read_text()
    assert "<RectangleLabels" in config and config.count("<Label value=") == 12
    code, out, err = cli("plan-sample", "chess", "--ci-width", "0.2", *w)
    assert code == 2 and "--n" in err and err.count("\n") == 1


def test_two_labelers_agree_and_consensus(
    cli, w: list[str], chess: dict[str, Any], tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    boxes, sizes = chess["boxes"], chess["sizes"]
    drawn = {
        "roboflow": _labeler(boxes, sizes, rng, loose=0, jitter=0, omit=0),
        "careful": _labeler(boxes, sizes, rng, loose=0, jitter=0.02, omit=0.02),
        "sloppy": _labeler(boxes, sizes, rng, loose=0.15, jitter=0.12, omit=0.25),
    }
    rows = [
        {"item": image, "annotator": name, "label": json.dumps(own)}
        for name, per_image in drawn.items()
        for image, own in per_image.items()
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "labelers.csv", index=False)
    code, out, err = cli("annotations", "import", "chess", str(tmp_path / "labelers.csv"), *w)
    assert code == 0, err
    assert f"{3 * N_IMAGES} annotations of {N_IMAGES} items by 3 annotators" in out

    code, out, err = cli("agree", "chess", "--json", "--report", str(tmp_path / "a.html"), *w)
    assert code == 0, err
    report = json.loads(out)
    assert report["kind"] == "detection" and report["n_annotators"] == 3
    f1 = {(p["annotator_a"], p["annotator_b"]): p["f1_50"] for p in report["pairs"]}
    assert all(0.0 <= v <= 1.0 for v in f1.values())
    assert f1[("careful", "roboflow")] > f1[("roboflow", "sloppy")]
    assert f1[("careful", "sloppy")] < f1[("careful", "roboflow")]
    code, out, err = cli("agree", "chess", "--report", str(tmp_path / "a.html"), *w)
    assert code == 0, err
    assert all(len(line) <= 80 for line in out.splitlines() if not line.startswith("Report:"))
    pairs = out.split("labeler pairs (worst first):\n")[1].splitlines()
    assert "sloppy" in pairs[1] and "careful ~ roboflow" in pairs[3]
    kinds = {d["kind"]: d for d in report["disagreements"]}
    assert kinds["missing"]["flagged"] and "sloppy" in kinds["missing"]["who"]
    assert kinds["loose_tight"]["flagged"]
    f1_50 = report["overall"]["f1_50"]  # boxes have no alpha: the gate compares box F1
    gate = ["agree", "chess", "--report", str(tmp_path / "a.html"), *w, "--min-alpha"]
    code, out, err = cli(*gate, f"{f1_50 + 0.01:.3f}")
    assert code == 1 and f"box F1 at IoU 0.5 {f1_50:.3f} is below --min-alpha" in err
    code, out, err = cli(*gate, f"{f1_50 - 0.01:.3f}", "--json")
    assert code == 0 and json.loads(out)["gate"]["statistic"] == "box F1 at IoU 0.5", err

    code, out, err = cli("consensus", "chess", "--json", *w)
    assert code == 0, err
    quality = {a["annotator"]: a["quality"] for a in json.loads(out)["annotators"]}
    assert min(quality, key=quality.get) == "sloppy"
    code, out, err = cli("consensus", "chess", "--commit", *w)
    assert code == 0 and "chess@v2" in out, err
    code, out, err = cli("diff", "chess@v1", "chess@v2", "--wide", *w)
    assert code == 0, err
    assert "moved (IoU" in " ".join(out.replace("\u2502", " ").split())


@pytest.fixture(scope="module")
def out_of_sample(chess: dict[str, Any]) -> pd.DataFrame:
    """The fixed HogDetector's boxes on each photo from a fit on the other half."""
    from assay.train.detect import HogDetector

    images = sorted(chess["sizes"])
    paths = {n: str(chess["images"] / n) for n in images}
    found, memory = [], {}  # type: list[pd.DataFrame], dict[Any, Any]
    for fit_on, predict_on in ((images[0::2], images[1::2]), (images[1::2], images[0::2])):
        detector = HogDetector(**HOG, memory=memory).fit(
            {n: paths[n] for n in fit_on}, chess["boxes"][chess["boxes"]["image"].isin(fit_on)]
        )
        found.append(detector.predict({n: paths[n] for n in predict_on}))
    return pd.concat(found, ignore_index=True)


def _coco_results(preds: pd.DataFrame, gt: Path, path: Path) -> Path:
    """The boxes as COCO results on the numeric ids of the exported COCO file ``gt``."""
    coco = json.loads(gt.read_text())
    image = {i["file_name"]: i["id"] for i in coco["images"]}
    category = {c["name"]: c["id"] for c in coco["categories"]}
    path.write_text(
        json.dumps(
            [
                {
                    "image_id": image[r["image"]],
                    "category_id": category[r["label"]],
                    "bbox": [float(r[k]) for k in GEOM],
                    "score": float(r["score"]),
                }
                for r in preds.to_dict("records")
            ]
        )
    )
    return path


def _review_a_box_fix(cli, w: list[str]) -> None:
    """Decide the first queued image: delete its box 1, change box 2's class."""
    code, out, err = cli("review", "list", "chess", "--json", *w)
    assert code == 0, err
    entry = json.loads(out)[0]
    boxes = [dict(b) for b in entry["given_label"]]
    removed, old = boxes[0]["label"], boxes[1]["label"]
    new = "white-queen" if old != "white-queen" else "black-queen"
    boxes[1]["label"] = new
    code, out, err = cli(
        "review",
        "decide",
        str(entry["id"]),
        "--relabel",
        json.dumps(boxes[1:]),
        "--note",
        "box 1 is no piece",
        *w,
    )
    assert code == 0, err
    code, out, err = cli("review", "apply", "chess", *w)
    assert code == 0 and "chess@v2" in out, err
    code, out, err = cli("diff", "chess@v1", "chess@v2", "--wide", *w)
    assert code == 0, err
    text = " ".join(out.replace("\u2502", " ").split())  # the table's cells, unwrapped
    assert f"box 1 removed ({removed})" in text
    assert f"class changed {old} -> {new}" in text


def test_audit_review_slices_with_out_of_sample_boxes(
    cli, w: list[str], chess: dict[str, Any], out_of_sample: pd.DataFrame, tmp_path: Path
) -> None:
    import assay

    preds = out_of_sample
    gt = tmp_path / "gt.json"
    assert cli("export", "chess", "--format", "coco", str(gt), *w)[0] == 0
    results = _coco_results(preds, gt, tmp_path / "results.json")
    code, out, err = cli(
        "audit",
        "chess",
        "--predictions",
        str(results),
        "--coco",
        str(gt),
        "--json",
        "--report",
        str(tmp_path / "audit.html"),
        *w,
    )
    assert code == 0, err
    audit = json.loads(out)
    assert audit["n_images"] == N_IMAGES and 0 < audit["queued"] == audit["n_flagged"]
    assert set(audit["issues"]) == {"overlooked", "badly_located", "swapped", "spurious"}
    _review_a_box_fix(cli, w)

    code, out, err = cli(
        "slices", "chess@v1", "--predictions", str(results), "--coco", str(gt), "--json", *w
    )
    assert code == 0, err
    expected = assay.mean_average_precision(chess["boxes"], preds)["map"]
    analysis = json.loads(out)
    assert analysis["metric"] == "map"
    assert analysis["map"] == pytest.approx(expected, abs=1e-9)


def _batch(chess: dict[str, Any], path: Path) -> Path:
    """Six test photos with a detector's boxes (fit on the 32) and their published boxes."""
    from assay.train.detect import HogDetector

    coco = json.loads((chess["test"] / "_annotations.coco.json").read_text())
    labels = _coco_boxes(coco)
    images = sorted(i["file_name"] for i in coco["images"])[:6]
    detector = HogDetector(**HOG).fit(
        {n: str(chess["images"] / n) for n in chess["sizes"]}, chess["boxes"]
    )
    found = detector.predict({n: str(chess["test"] / n) for n in images})
    pd.DataFrame(
        [
            {
                "path": str(chess["test"] / n),
                "prediction": json.dumps(
                    found.loc[found["image"] == n, ["label", *GEOM, "score"]].to_dict("records")
                ),
                "label": json.dumps(
                    labels.loc[labels["image"] == n, ["label", *GEOM]].to_dict("records")
                ),
            }
            for n in images
        ]
    ).to_csv(path, index=False)
    return path


def test_monitor_a_batch(
    cli,
    w: list[str],
    chess: dict[str, Any],
    out_of_sample: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out_of_sample.to_csv(tmp_path / "reference.csv", index=False)
    code, out, err = cli(
        "monitor",
        "add",
        "chess-prod",
        "--reference",
        "chess@v1",
        "--predictions",
        str(tmp_path / "reference.csv"),
        *w,
    )
    assert code == 0, err
    assert "reference map (out of sample)" in out
    reference_map = out.split("reference map (out of sample) ")[1][:5]
    _exported(cli, w, "chess@v1", tmp_path / "gt.json")  # numeric ids, as a detector gives
    results = _coco_results(out_of_sample, tmp_path / "gt.json", tmp_path / "results.json")
    add = ["monitor", "add", "chess-ids", "--reference", "chess@v1", "--predictions",
           str(results), *w]
    code, out, err = cli(*add)
    assert code == 2 and "--coco" in err, err
    code, out, err = cli(*add, "--coco", str(tmp_path / "gt.json"))
    assert code == 0, err
    assert f"reference map (out of sample) {reference_map}" in out
    batch = _batch(chess, tmp_path / "batch.csv")
    code, out, err = cli("monitor", "ingest", "chess-prod", str(batch), "--json", *w)
    assert code == 0, err
    assert "map" in out
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = cli("monitor", "ingest", "chess-prod", str(batch), *w)
    assert code == 0 and "window 2 of chess-prod" in out, err
    assert all(len(line) <= 80 for line in out.splitlines()), out
    code, out, err = cli("monitor", "status", *w)
    assert code in (0, 1), err
    assert "chess-prod window" in out and "realised map" in out
    code, out, err = cli("monitor", "sample", "chess-prod", "--n", "2", *w)
    assert code == 0 and "Queued 2" in out, err


def _few(chess: dict[str, Any], start: int, stop: int, path: Path) -> Path:
    """Photos ``start:stop`` of the 32 as a COCO file of their own."""
    coco = json.loads(chess["coco"].read_text())
    keep = {i["id"] for i in coco["images"][start:stop]}
    images = [i for i in coco["images"] if i["id"] in keep]
    notes = [a for a in coco["annotations"] if a["image_id"] in keep]
    path.write_text(json.dumps({**coco, "images": images, "annotations": notes}))
    return path


def test_train_the_fixed_recipe_and_curve(
    cli, w: list[str], chess: dict[str, Any], tmp_path: Path
) -> None:
    test = json.loads((chess["test"] / "_annotations.coco.json").read_text())
    keep = {i["id"] for i in sorted(test["images"], key=lambda i: i["file_name"])[:8]}
    (tmp_path / "test.json").write_text(
        json.dumps(
            {
                **test,
                "images": [i for i in test["images"] if i["id"] in keep],
                "annotations": [a for a in test["annotations"] if a["image_id"] in keep],
            }
        )
    )
    code, out, err = cli(
        "import",
        "chess-test",
        "--boxes",
        str(tmp_path / "test.json"),
        "--format",
        "coco",
        "--images",
        str(chess["test"]),
        *w,
    )
    assert code == 0, err
    recipe = tmp_path / "hog.yaml"
    recipe.write_text("detector: hog\nparams: {max_side: 160, window_cells: 12}\n")
    assert cli("recipe", "add", "hog-small", str(recipe), *w)[0] == 0
    code, out, err = cli(
        "train", "chess", "--recipe", "hog-small", "--eval", "chess-test", "--json", *w
    )
    assert code == 0, err
    experiment = json.loads(out)
    head = experiment["headline"]
    assert experiment["task"] == "detection" and head["metric"] == "map"
    assert (experiment["n_train"], experiment["n_eval"]) == (N_IMAGES, 8)
    assert 0.0 <= head["low"] <= head["value"] <= head["high"] <= 1.0


# The curve reads the version once and writes nothing: the database backend does not
# change it, and the other tests here cover both backends.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_clean_vs_collect_curve(cli, w: list[str], tmp_path: Path) -> None:
    """On 32 photos the small HOG detector flags most of them, so the curve after
    cleaning has fewer than 3 training sizes: the output says so, with no verdict and
    no 'nan' (the curve as labelled still has its numbers)."""
    recipe = tmp_path / "hog.yaml"
    recipe.write_text("detector: hog\nparams: {max_side: 160, window_cells: 12}\n")
    assert cli("recipe", "add", "hog-small", str(recipe), *w)[0] == 0
    code, out, err = cli("curve", "chess", "--recipe", "hog-small", "--repeats", "1", *w)
    assert code == 0, err
    assert "nan" not in out and "?" not in out
    assert all(len(line) <= 80 for line in out.splitlines())
    flat = " ".join(out.split())
    assert "- after cleaning (n=32): map cannot be drawn" in flat
    assert "- now (as labelled) (n=32): map 0." in flat
    assert "verdict: none (the curve after cleaning cannot be drawn:" in flat
    assert "fewer than the 3 training sizes a curve needs" in flat
    assert "no intervals from a single split" in flat
    code, out, err = cli("curve", "chess", "--recipe", "hog-small", "--repeats", "1", "--json", *w)
    assert code == 0, err
    result = json.loads(out)
    assert result["verdict"] == "none" and "flagged" in result["no_verdict"]
