"""Demo chapter: a production stream, drift alerts, and feedback to the review queue.

The model (the fixed recipe) is monitored against the training rows. Window 1 is the
held-out digits as they are; window 2 is the same kind of data degraded the way a new
scanner would degrade it (blur and sensor noise) with a shift in class mix (more 1s and
7s), and its labels arrive later. The monitor raises data-drift and accuracy alerts,
and sends drifted, low-confidence items to the review queue.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rich.console import Console
from scipy.ndimage import gaussian_filter

from assay.demo.data import PIXELS
from assay.demo.recipes import ensure_recipe
from assay.store.workspace import Workspace
from assay.workflows.monitor import add_monitor, ingest_frame, sample_for_review

__all__ = ["CHAPTERS", "degrade"]

def degrade(frame: pd.DataFrame, *, blur: float, noise: float, seed: int) -> pd.DataFrame:
    """Blur each 8x8 image (Gaussian, sigma ``blur``) and add sensor noise (sd ``noise``)."""
    rng = np.random.default_rng(seed)
    images = frame[PIXELS].to_numpy(dtype=float).reshape(-1, 8, 8)
    blurred = np.stack([gaussian_filter(img, sigma=blur) for img in images])
    noisy = blurred + rng.normal(0.0, noise, size=blurred.shape)
    out = frame.copy()
    out[PIXELS] = np.clip(np.rint(noisy), 0, 16).reshape(len(frame), 64)
    return out


def _shifted_mix(test: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Twice as many 1s and 7s as the reference mix."""
    extra = test[test["label"].isin([1, 7])].sample(frac=1.0, random_state=seed)
    return pd.concat([test, extra]).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def chapter_deploy(ws: Workspace, console: Console, result) -> None:  # type: ignore[no-untyped-def]
    """Monitor two production windows of held-out digits; queue items for labeling."""
    recipe = ensure_recipe(ws)
    reference = ws.dataset("digits")
    add_monitor(ws, "digits-prod", reference.ref, recipe=recipe)
    test = ws.dataset("digits-test").to_pandas()
    clean = ingest_frame(
        ws, "digits-prod", test.drop(columns=["label", "item_id"]),
        source="window 1 (as collected)",
    ).window
    shifted = degrade(_shifted_mix(test, seed=3), blur=0.6, noise=1.0, seed=3)
    bad = ingest_frame(
        ws, "digits-prod", shifted.drop(columns=["item_id"]), source="window 2 (new scanner)"
    ).window
    picked = sample_for_review(ws, "digits-prod", n=30, seed=0)
    drifted = sum(1 for c in bad["columns"] if c.get("drifted"))
    perf = bad.get("performance") or {}
    real = (perf.get("realised") or {}).get("accuracy")
    console.print(
        f"[bold]Deploy[/bold]  monitor digits-prod: window 1 (held-out digits) raises "
        f"{len(clean['alerts'])} alert(s); window 2 (blur + noise, more 1s and 7s) drifts in "
        f"{drifted} columns"
        + (f", accuracy falls to {real:.2f}" if real is not None else "")
        + f" and raises {len(bad['alerts'])} alert(s). {len(picked)} production items were "
        "sent to the review queue for labeling."
    )
    for alert in bad["alerts"]:
        console.print(f"  [red]ALERT[/red] {alert}")
    result.facts["deploy"] = {
        "clean_alerts": clean["alerts"],
        "alerts": bad["alerts"],
        "drifted_columns": drifted,
        "queued": len(picked),
    }
    result.next_steps.append(f"assay monitor status -w {ws.location}")
    result.next_steps.append(f"assay review list digits --source drift_sample -w {ws.location}")


CHAPTERS = [chapter_deploy]
