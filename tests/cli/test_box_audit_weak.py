"""The box audit names a weak detector in one line (rule: AP50 of its boxes against the
audited labels below ``WEAK_AP50`` = 0.25), on 8 real chess photos (Roboflow Chess
Pieces, ``valid/``).

Two simulated detectors (stated): ``good`` predicts every labelled box with its corners
moved by N(0, 3% of the side), score U(0.5, 1), and leaves out one box per image;
``blind`` predicts boxes of real sizes at random places with random classes, score
U(0, 1) (no better than chance).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assay.workflows.box_audit import WEAK_AP50, weak_detector_warning

N_IMAGES = 8


@pytest.fixture(scope="module")
def chess(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, Any]:
    folder = shared_data / "detection" / "chess-pieces" / "valid"
    coco = json.loads((folder / "_annotations.coco.json").read_text())
    images = sorted(coco["images"], key=lambda i: i["file_name"])[:N_IMAGES]
    ids = {i["id"] for i in images}
    notes = [a for a in coco["annotations"] if a["image_id"] in ids]
    path = tmp_path_factory.mktemp("weak") / "chess.json"
    path.write_text(json.dumps({**coco, "images": images, "annotations": notes}))
    return {"coco": path, "images": folder, "doc": {**coco, "images": images, "annotations": notes}}


def _results(doc: dict[str, Any], blind: bool, path: Path) -> Path:
    """COCO results (numeric ids of ``doc``) of the good or the blind detector."""
    rng = np.random.default_rng(0)
    sizes = {i["id"]: (i["width"], i["height"]) for i in doc["images"]}
    classes = sorted({a["category_id"] for a in doc["annotations"]})
    out, seen = [], set()
    for a in doc["annotations"]:
        x, y, w, h = a["bbox"]
        if blind:
            width, height = sizes[a["image_id"]]
            box = [rng.uniform(0, width - w), rng.uniform(0, height - h), w, h]
            out.append(
                {
                    "image_id": a["image_id"],
                    "category_id": int(rng.choice(classes)),
                    "bbox": box,
                    "score": float(rng.uniform()),
                }
            )
            continue
        if a["image_id"] not in seen:
            seen.add(a["image_id"])
            continue  # the good detector misses one box per image
        x1, y1, x2, y2 = np.array([x, y, x + w, y + h]) + rng.normal(0, 0.03, 4) * [w, h, w, h]
        out.append(
            {
                "image_id": a["image_id"],
                "category_id": a["category_id"],
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "score": float(rng.uniform(0.5, 1)),
            }
        )
    path.write_text(json.dumps(out))
    return path


def test_the_rule() -> None:
    assert weak_detector_warning(float("nan")) is None
    assert weak_detector_warning(WEAK_AP50) is None
    line = weak_detector_warning(0.03)
    assert line is not None and "AP50 0.03" in line and "base rate" in line


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_audit_warns_on_a_blind_detector_only(
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
    for blind in (False, True):
        results = _results(chess["doc"], blind, tmp_path / f"r{blind}.json")
        audit = [
            "audit",
            "chess",
            "--predictions",
            str(results),
            "--coco",
            str(chess["coco"]),
            "--no-queue",
            *w,
        ]
        code, out, err = cli(*audit, "--json")
        assert code == 0, err
        result = json.loads(out)
        assert (result["detector_ap50"] < WEAK_AP50) is blind, result["detector_ap50"]
        assert (result["weak_detector"] is not None) is blind
        code, out, err = cli(*audit)
        assert code == 0, err
        assert ("weak detector: its boxes reach AP50" in " ".join(out.split())) is blind
        assert all(len(line) <= 80 for line in out.splitlines()), out


def _narrow(out: str) -> list[str]:
    """Lines wider than 80 columns (a "Report:" path line may be)."""
    return [line for line in out.splitlines() if len(line) > 80 and not line.startswith("Report:")]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_box_output_fits_80_columns(
    cli, chess: dict[str, Any], tmp_path: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``show``, ``audit`` and ``review show`` on boxes, at COLUMNS=80: every line fits;
    ``show`` gives a count per image, ``--wide`` every box, ``--json`` the boxes."""
    monkeypatch.setenv("COLUMNS", "80")
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
    code, out, err = cli("show", "chess", *w)
    assert code == 0 and not _narrow(out), _narrow(out)
    flat = " ".join(out.replace("\u2502", " ").split())
    assert "boxes:" in flat and "'x':" not in flat
    code, out, err = cli("show", "chess", "--wide", *w)
    assert code == 0 and "'x':" in out, err
    results = _results(chess["doc"], True, tmp_path / "blind.json")
    code, out, err = cli(
        "audit", "chess", "--predictions", str(results), "--coco", str(chess["coco"]), *w
    )
    assert code == 0 and not _narrow(out), _narrow(out)
    code, out, err = cli("review", "list", "chess", "--json", *w)
    assert code == 0, err
    entry = json.loads(out)[0]
    code, out, err = cli("review", "show", str(entry["id"]), *w)
    assert code == 0 and not _narrow(out), _narrow(out)
    assert "boxes:" in out or "1 box:" in out
