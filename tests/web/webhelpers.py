"""Helpers of the web tests: the digits workspace, users, signing in."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator
from typing import Any

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


#: The labels of the multi-label dataset, in the order the tags widget lists them (its
#: digit keys 1, 2, ...).
TAGS = ["billing", "bug", "feature", "ui", "urgent"]


def kinds_frames(n: int = 30) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A regression frame (scikit-learn's diabetes: ten features, the disease
    progression ``target`` as a float) and a multi-label frame (tickets with a list of
    tags from :data:`TAGS`), ``n`` rows each."""
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True, as_frame=True)
    prices = x.head(n).copy()
    prices.insert(0, "item_id", [f"p{i}" for i in range(n)])
    prices["target"] = y.head(n).astype(float) + 0.25
    rng = np.random.default_rng(0)
    tags = [sorted(rng.choice(TAGS, size=int(rng.integers(0, 3)), replace=False).tolist())
            for _ in range(n)]
    tags[0], tags[1] = ["bug", "ui"], []
    tickets = pd.DataFrame({"item_id": [f"t{i}" for i in range(n)],
                            "text": [f"ticket number {i}" for i in range(n)], "tags": tags})
    return prices, tickets


def fill_kinds(ws: Workspace, n_queued: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Import ``diabetes`` (regression) and ``tickets`` (multi-label) and queue the first
    ``n_queued`` items of each with a suggested label (the digits and users come from
    :func:`fill`, called first)."""
    prices, tickets = kinds_frames()
    ws.import_dataset("diabetes", prices, label="target", id="item_id", task="regression")
    ws.import_dataset("tickets", tickets, label="tags", id="item_id", task="multilabel")
    head = prices.head(n_queued)
    ws.review.add("diabetes", pd.DataFrame({
        "item_id": head["item_id"], "reason": "large residual",
        "score": np.linspace(0.01, 0.2, n_queued), "given_label": head["target"],
        "suggested_label": head["target"] + 12.5}), source="label_issue")
    head = tickets.head(n_queued)
    suggested = [sorted((set(t) - {"ui"}) | {"urgent"}) for t in head["tags"]]
    ws.review.add("tickets", pd.DataFrame({
        "item_id": head["item_id"], "reason": "tags disagree with the model",
        "score": np.linspace(0.01, 0.2, n_queued), "given_label": head["tags"],
        "suggested_label": suggested}), source="label_issue")
    return prices, tickets


@contextlib.contextmanager
def serving(ws: Workspace, secret_key: str = "b" * 32) -> Iterator[str]:
    """The app over ``ws`` on a free loopback port (uvicorn in a thread); yields its URL."""
    import socket
    import threading
    import time

    import uvicorn

    from assay.web import create_app
    from assay.web.serve import HTTP_PROTOCOL

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(create_app(ws, secret_key=secret_key), host="127.0.0.1",
                            port=port, log_level="warning", http=HTTP_PROTOCOL)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 15 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def chromium_page(executable: str) -> Iterator[Any]:
    """A Playwright page in Debian's headless chromium at ``executable``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        tab.set_default_timeout(15_000)
        try:
            yield tab
        finally:
            browser.close()


def chromium_path() -> str:
    """Debian's chromium on PATH; a failure in CI (where it must be installed), else a skip."""
    import os
    import shutil

    import pytest

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is not installed; .ci/run must apt-get install chromium")
        pytest.skip("chromium is not on PATH (apt-get install -y chromium)")
    return path
