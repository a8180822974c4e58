"""Helpers of the web tests: the digits workspace, users, signing in."""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient
from sklearn.datasets import load_digits

from assay.store.users import add_user
from assay.store.workspace import Workspace

PASSWORD = "correct horse battery"
N_ITEMS = 120
N_QUEUED = 12


@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    return x, y


def digits_frame(n: int = N_ITEMS) -> pd.DataFrame:
    """The first ``n`` scikit-learn digits: 64 pixel columns and an integer label."""
    x, y = _digits()
    frame = pd.DataFrame(x[:n], columns=[f"pixel_{i}" for i in range(64)])
    frame.insert(0, "item_id", [f"d{i}" for i in range(n)])
    frame["label"] = y[:n]
    return frame


def fill(ws: Workspace) -> pd.DataFrame:
    """Import the digits, queue the first items, add one user of each role."""
    frame = digits_frame()
    ws.import_dataset("digits", frame, label="label", id="item_id")
    queued = frame.head(N_QUEUED)
    ws.review.add(
        "digits",
        pd.DataFrame({
            "item_id": queued["item_id"],
            "reason": [f"low self-confidence #{i}" for i in range(N_QUEUED)],
            "score": np.linspace(0.01, 0.5, N_QUEUED),
            "given_label": queued["label"],
            "suggested_label": (queued["label"] + 1) % 10,
        }),
        source="label_issue",
    )
    for name, role in (("ada", "admin"), ("rita", "reviewer"), ("rob", "reviewer"),
                       ("vic", "viewer")):
        add_user(ws, name, role=role, password=PASSWORD)
    return frame


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign ``client`` in through the form; return the session's CSRF token."""
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"username": name, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


class FakeClock:
    """Time that moves only when a test says so (no sleeps)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
