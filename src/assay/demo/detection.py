"""``assay demo --task detection``: real blood-cell boxes (BCCD), the whole loop.

The data (:mod:`assay.demo.detection_data`): microscope images of blood with boxes
around red cells (RBC), white cells (WBC) and platelets, copied into the workspace. The
detector is the fixed recipe :class:`assay.train.detect.HogDetector` (HOG windows and a
linear SVM per class, small settings so that the demo runs in a minute or two on a CPU).

The story, one chapter per phase:

- **Data**: training images imported as collected, with planted box errors (boxes
  dropped, moved, given another class); test images with their published boxes are the
  frozen evaluation set.
- **Collect**: two labelers with stated conventions draw the true boxes of some images;
  box agreement names the kinds of disagreement (omitted small cells, looser boxes), and
  weighted box fusion makes consensus boxes, scored against the published ones.
- **Train**: the detector's out-of-sample boxes (two-fold cross-fitting) audit the
  training boxes: overlooked, badly located, swapped and spurious boxes per image,
  scored against the planted errors.
- **Iterate**: the reviewer (the demo, which knows the published boxes) checks the most
  suspicious images and draws their true boxes; applying makes v2. The detector, held
  fixed, is trained on v1 and on v2 and compared on the frozen test set in mAP (paired
  bootstrap over images).
- **Deploy**: a monitor on v2; window 1 is the test slides, window 2 the same slides
  under a dimmer lamp (pixels x0.6): image drift, and realised mAP when the boxes come;
  a sample of images goes to the review queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from assay.demo import detection_data as dd
from assay.demo.kinds import audit_scores, decide_with_oracle, wrap
from assay.store.workspace import Workspace

__all__ = ["CHAPTERS", "SIZES", "Sizes"]

NAME, TEST, MONITOR = "cells", "cells-test", "cells-prod"
#: The dimmer lamp of the second production window: pixels multiplied by this.
DIM = 0.6


@dataclass(frozen=True)
class Sizes:
    """How big the demo is (the tests use smaller settings)."""

    train: int = 40
    test: int = 20
    labelled_twice: int = 16
    review_budget: int = 16
    max_side: int = 160
    window_cells: int = 24


#: The demo's sizes; replace to run it smaller.
SIZES = Sizes()


@dataclass
class _State:
    """What the chapters pass on: the published boxes, the planted errors, the images."""

    truth: pd.DataFrame
    planted: pd.Series
    train: list[str]
    test: list[str]
    images: Path
    memory: dict[Any, np.ndarray] = field(default_factory=dict)
    test_predictions: pd.DataFrame | None = None
    detector: Any = None


def _detector(state: _State) -> Any:
    from assay.train.detect import HogDetector

    return HogDetector(
        max_side=SIZES.max_side,
        window_cells=SIZES.window_cells,
        random_state=0,
        memory=state.memory,
    )


def _paths(state: _State, names: list[str], folder: Path | None = None) -> dict[str, str]:
    return {n: str((folder or state.images) / n) for n in names}


def _labels(ws: Workspace, ref: str) -> pd.DataFrame:
    """A detection version's boxes frame (``image`` = item id)."""
    frame = ws.dataset(ref).to_pandas()
    lists = dict(zip(frame["item_id"], frame["label"], strict=True))
    rows = [{"image": i, **dict(b)} for i, boxes in lists.items() for b in boxes]
    return pd.DataFrame(rows, columns=["image", "label", *dd.GEOMETRY])


def chapter_data(ws: Workspace, console: Console, result: Any) -> None:
    """Copy the images, plant box errors in the training boxes, import both sets."""
    from assay.store.box_formats.dataset import BoxSource

    folder = dd.bccd_folder()
    truth = dd.load_bccd(folder)
    train, test = dd.split_images(folder, SIZES.train, SIZES.test)
    images = result.workspace / "images"
    dd.copy_images(folder, train + test, images)
    noisy, planted = dd.plant_box_errors(truth[truth["image"].isin(train)], seed=0)
    notes = result.workspace / "annotations"
    v1 = ws.import_dataset(
        NAME,
        BoxSource(dd.write_coco(notes / "train.json", noisy, train), "coco", images=images),
        message="the training slides as labelled (planted box errors)",
    )
    ws.import_dataset(
        TEST,
        BoxSource(dd.write_coco(notes / "test.json", truth, test), "coco", images=images),
        message="frozen evaluation set: held-out slides, published boxes",
    )
    result.detection = _State(truth, planted, train, test, images)
    n_true = int(truth["image"].isin(train).sum())
    wrap(
        console,
        f"{v1.ref}: {len(train)} blood-smear images (BCCD, 640 x 480) with {len(noisy)} "
        f"boxes of RBC, WBC and platelets. Planted in the {n_true} published boxes: "
        f"{dd.DROP:.0%} dropped, {dd.MOVE:.0%} moved, {dd.SWAP:.0%} given another class, "
        f"all in {int((planted > 0).sum())} images. {TEST}@v1: {len(test)} "
        "held-out images with their published boxes, the frozen evaluation set.",
        "[bold]Data[/bold]",
    )
    result.facts["data"] = {
        "ref": v1.ref,
        "images": len(train),
        "boxes": len(noisy),
        "true_boxes": n_true,
        "images_with_errors": int((planted > 0).sum()),
        "test_images": len(test),
    }
    result.next_steps += [f"assay show {NAME}@v1 -w {ws.location}"]


def chapter_collect(ws: Workspace, console: Console, result: Any) -> None:
    """Two labelers on some images: box agreement, kinds of disagreement, consensus."""
    from assay._boxes import check_boxes, match_boxes
    from assay.workflows.agreement import AgreementSource, measure_agreement
    from assay.workflows.consensus import run_consensus

    state: _State = result.detection
    chosen = state.train[: SIZES.labelled_twice]
    true = state.truth[state.truth["image"].isin(chosen)]
    frame = dd.simulate_labelers(true, seed=1)
    ws.annotations.add(NAME, frame)
    rep = measure_agreement(
        AgreementSource(frame, ws, NAME),
        report=result.workspace / "agreement.html",
        title="Agreement of the labelers' boxes",
    ).report
    kinds = rep.disagreements[rep.disagreements["count"] > 0].sort_values("count", ascending=False)
    fused = run_consensus(ws, NAME).labels["label"]
    rows = [{"image": i, **b} for i, boxes in fused.items() for b in boxes]
    match = match_boxes(
        check_boxes(true[["image", "label", *dd.GEOMETRY]]), check_boxes(pd.DataFrame(rows))
    )
    found = match.left >= 0
    recall = float((match.right[found] >= 0).mean())
    shown = ", ".join(
        f"{k.replace('_', ' ')} {int(r['count'])}" for k, r in kinds.head(3).iterrows()
    )
    wrap(
        console,
        f"ana and ben box {len(chosen)} images (ana: as published; ben: boxes 15% larger, "
        f"leaves out the smallest 10%): box F1 {rep.overall['f1_50']:.2f} at IoU 0.5, "
        f"{rep.overall['f1_75']:.2f} at 0.75, mean IoU {rep.overall['mean_iou']:.2f}; "
        f"disagreements: {shown}. Consensus by weighted box fusion finds "
        f"{recall:.0%} of the published boxes.",
        "[bold]Collect[/bold]",
    )
    result.facts["collect"] = {
        "f1_50": rep.overall["f1_50"],
        "f1_75": rep.overall["f1_75"],
        "mean_iou": rep.overall["mean_iou"],
        "kinds": {str(k): int(r["count"]) for k, r in kinds.iterrows()},
        "consensus_recall": recall,
    }
    result.next_steps += [f"assay agree {NAME} -w {ws.location}"]


def _out_of_sample(state: _State, labels: pd.DataFrame) -> pd.DataFrame:
    """The detector's boxes on each training image from a fit on the other half."""
    halves = [state.train[0::2], state.train[1::2]]
    found = []
    for fit_on, predict_on in ((halves[0], halves[1]), (halves[1], halves[0])):
        detector = _detector(state).fit(_paths(state, fit_on), labels[labels["image"].isin(fit_on)])
        found.append(detector.predict(_paths(state, predict_on)))
    return pd.concat(found, ignore_index=True)


def _audit(
    ws: Workspace, state: _State, preds: pd.DataFrame, path: Path, queue: bool
) -> tuple[Any, dict[str, Any]]:
    """Audit v1 with ``preds``; score the ranking of images on the planted errors."""
    from assay.workflows.box_audit import run_box_audit

    preds.to_csv(path, index=False)
    audit = run_box_audit(ws, f"{NAME}@v1", path, queue=queue)
    items = audit.items.set_index("item_id")
    wrong = state.planted.reindex(items.index, fill_value=0).to_numpy() > 0
    score = audit_scores(
        items["label_quality"].to_numpy(), items["is_label_issue"].to_numpy(), wrong
    )
    return audit, score


def chapter_audit(ws: Workspace, console: Console, result: Any) -> None:
    """Audit v1 with the HOG detector's out-of-sample boxes, then with a strong
    detector's (simulated); score both on the planted errors, queue the second."""
    state: _State = result.detection
    hog, hog_score = _audit(
        ws,
        state,
        _out_of_sample(state, _labels(ws, f"{NAME}@v1")),
        result.workspace / "predictions-hog.csv",
        queue=False,
    )
    strong = dd.simulated_detector(state.truth[state.truth["image"].isin(state.train)], seed=2)
    audit, score = _audit(
        ws, state, strong, result.workspace / "predictions-strong.csv", queue=True
    )
    kinds = audit.to_dict()["issues"]
    wrap(
        console,
        f"audit of {NAME}@v1 with the HOG detector's out-of-sample boxes (two-fold "
        f"cross-fitting, {SIZES.max_side} px): {hog_score['flagged']} images flagged, "
        f"ranking AUPRC {hog_score['auprc']:.2f} against the images with planted errors "
        f"(random: {hog_score['base_rate']:.2f}): too weak a detector to audit blood cells. "
        "With a strong detector's boxes (simulated: the published boxes, 3% jitter, 5% "
        f"missed, 2 low-scored false boxes per image): {score['flagged']} of "
        f"{len(audit.items)} images flagged ("
        + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in kinds.items())
        + f"), precision {score['precision']:.2f}, recall {score['recall']:.2f}, AUPRC "
        f"{score['auprc']:.2f}; {audit.queued} images entered the review queue.",
        "[bold]Train[/bold]",
    )
    result.facts["audit"] = {"hog": hog_score, **score, "issues": kinds, "queued": audit.queued}
    result.next_steps.append(f"assay review list {NAME} -w {ws.location}")


def _review(ws: Workspace, state: _State) -> dict[str, int]:
    """The oracle decides the most suspicious queued images: the published boxes where
    an error was planted, else keep."""
    entries = ws.review.list(NAME, source="label_issue", status="open")
    entries = entries.sort_values("score", kind="stable").head(SIZES.review_budget)
    published = dd.box_lists(state.truth, state.train)

    def fix(entry: Any) -> Any:
        image = str(entry.item_id)
        return published[image] if state.planted.get(image, 0) > 0 else None

    return decide_with_oracle(ws, entries, fix, keep_note="checked: the boxes are right",
                              relabel_note="redrawn from the slide")


def _evaluate(ws: Workspace, state: _State, ref: str) -> tuple[Any, Any]:
    """Train the detector on ``ref``, evaluate it on the test images."""
    from assay.tasks import get_task

    detector = _detector(state).fit(_paths(state, state.train), _labels(ws, ref))
    found = detector.predict(_paths(state, state.test))
    truth = dd.box_lists(state.truth, state.test)
    lists = {n: [] for n in state.test}  # type: dict[str, list[dict[str, Any]]]
    for row in found.to_dict("records"):
        lists[row["image"]].append({k: row[k] for k in ("label", *dd.GEOMETRY, "score")})
    task = get_task("detection")
    evaluation = task.evaluate_predictions(
        [truth[n] for n in state.test], [lists[n] for n in state.test], ids=state.test
    )
    return evaluation, (detector, found)


def chapter_iterate(ws: Workspace, console: Console, result: Any) -> None:
    """The reviewer's turn makes v2; the fixed detector on v1 and v2, compared in mAP."""
    from assay.tasks import get_task

    state: _State = result.detection
    done = _review(ws, state)
    v2 = ws.review.apply(NAME, user="reviewer", message="review: the reviewer's box decisions")
    before, _ = _evaluate(ws, state, f"{NAME}@v1")
    after, (state.detector, state.test_predictions) = _evaluate(ws, state, v2.ref)
    paired = get_task("detection").compare(before, after, names=("v1", "v2"))
    head = paired.metrics["map"]
    left = int((state.planted > 0).sum()) - done["relabel"]
    a, b = before.overall["map"], after.overall["map"]
    wrap(
        console,
        f"the reviewer checked the {done['relabel'] + done['keep']} most suspicious "
        f"images ({done['relabel']} redrawn, {done['keep']} kept) -> {v2.ref}; "
        f"{left} images with planted errors left. The detector, held fixed, on the "
        f"{len(state.test)} test images: {NAME}@v1 mAP {a['value']:.3f} [{a['low']:.3f}, "
        f"{a['high']:.3f}], {v2.ref} mAP {b['value']:.3f} [{b['low']:.3f}, "
        f"{b['high']:.3f}]; difference {head['delta']:+.3f} [{head['low']:+.3f}, "
        f"{head['high']:+.3f}], paired bootstrap over images p={paired.p_value:.2g}.",
        "[bold]Iterate[/bold]",
    )
    result.facts["iterate"] = {
        "version": v2.ref,
        **done,
        "errors_left": left,
        "map_v1": a["value"],
        "map_v2": b["value"],
        "delta": head["delta"],
        "low": head["low"],
        "high": head["high"],
        "p_value": paired.p_value,
        "map50_v2": after.overall["map50"]["value"],
    }


def _batch(
    state: _State, names: list[str], found: pd.DataFrame, path: Path, prefix: str = ""
) -> Path:
    """A production batch file: image paths, the detector's boxes, the published boxes."""
    import json

    truth = dd.box_lists(state.truth, names)
    rows = []
    for name in names:
        mine = found[found["image"] == name]
        boxes = [
            {
                k: float(r[k]) if k != "label" else str(r[k])
                for k in ("label", *dd.GEOMETRY, "score")
            }
            for r in mine.to_dict("records")
        ]
        rows.append(
            {
                "item_id": name,
                "path": prefix + name,
                "label": json.dumps(truth[name]),
                "prediction": json.dumps(boxes),
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _dimmed(state: _State, folder: Path) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for name in state.test:
        with Image.open(state.images / name) as image:
            pixels = np.asarray(image.convert("RGB"), dtype=float) * DIM
            Image.fromarray(pixels.astype(np.uint8)).save(folder / name, quality=95)


def _windows(ws: Workspace, state: _State, production: Path) -> list[dict[str, Any]]:
    """Write and ingest the two production batches: the test slides with the v2
    detector's boxes, and the same slides dimmed with its boxes on them."""
    from assay.workflows.monitor import ingest_file

    dim = state.images / "dim"  # under the image folder: review pages can show them
    _dimmed(state, dim)
    dim_found = state.detector.predict(_paths(state, state.test, dim))
    assert state.test_predictions is not None  # made by chapter_iterate
    files = [
        _batch(state, state.test, state.test_predictions, production / "window-1.csv"),
        _batch(state, state.test, dim_found, production / "window-2.csv", prefix="dim/"),
    ]
    rows: list[dict[str, Any]] = []
    for file in files:
        window = ingest_file(ws, MONITOR, file).window
        realised = (window.get("performance") or {}).get("realised") or {}
        rows.append(
            {
                "file": file.name,
                "path": str(file),
                "map": realised.get("map"),
                "low": realised.get("map_low"),
                "high": realised.get("map_high"),
                "alerts": [str(a) for a in window["alerts"]],
            }
        )
    return rows


def chapter_deploy(ws: Workspace, console: Console, result: Any) -> None:
    """Monitor v2: the test slides, then the same slides under a dimmer lamp."""
    from assay.workflows.monitor import add_monitor, sample_for_review

    reference = ws.dataset(NAME)
    add_monitor(ws, MONITOR, reference.ref)
    rows = _windows(ws, result.detection, result.workspace / "production")
    picked = sample_for_review(ws, MONITOR, n=5)
    wrap(
        console,
        f"monitor {MONITOR} (reference {reference.ref}) reads each batch's "
        "images, the detector's boxes and, when they arrive, the published boxes.",
        "[bold]Deploy[/bold]",
    )
    for row, what in zip(
        rows, ("the test slides", f"the same at {DIM:.0%} brightness"), strict=True
    ):
        wrap(
            console,
            f"{row['file']} ({what}): realised mAP {row['map']:.3f} "
            f"[{row['low']:.3f}, {row['high']:.3f}], {len(row['alerts'])} alert(s)",
        )
        for alert in row["alerts"]:
            wrap(console, alert, "  [red]ALERT[/red]", indent=9)
    wrap(
        console,
        f"{len(picked)} images of window 2 went to the review queue (low "
        "detector confidence and outlying brightness first).",
    )
    result.facts["deploy"] = {"windows": rows, "sampled": len(picked)}
    result.next_steps += [
        f"assay monitor status -w {ws.location}",
        f"assay monitor ingest {MONITOR} {rows[1]['path']} -w {ws.location}",
    ]


CHAPTERS = [chapter_data, chapter_collect, chapter_audit, chapter_iterate, chapter_deploy]
